"""The library's reasons (English, for logs and the command line) in Arabic, for admins in Telegram.

An upload refused, a file skipped or a reload failed is explained to the admin in Arabic only: each
known reason has its wording here; an unknown one gets a general Arabic sentence (and stays in the
log in full).
"""

from __future__ import annotations

import re

from bot.render import num

__all__ = ["arabic_reason"]

# (pattern of the English reason, Arabic wording; {1}, {2} are the pattern's groups)
_REASONS: tuple[tuple[re.Pattern[str], str], ...] = tuple((re.compile(p, re.IGNORECASE), a) for p, a in (
    (r"^file name must be a plain name", "يجب أن يكون اسم الملف اسمًا بسيطًا، دون مجلدات."),
    (r"^only \.txt, \.jsonl, \.pdf", "أقبل ملفات بامتداد ‎.txt‎ أو ‎.jsonl‎ أو ‎.pdf‎ أو ‎.docx‎ أو ‎.html‎ فقط."),
    (r"^file name may hold only", "يجوز أن يحوي اسم الملف حروفًا وأرقامًا ومسافات والرموز ‎. _ - ( )‎ فقط."),
    (r"^reserved file name", "هذا الاسم محجوز؛ اختر للملف اسمًا آخر."),
    (r"too large \((\d+) bytes, limit (\d+)\)", "حجم الملف ({1} بايت) يتجاوز الحد المسموح به ({2} بايت)."),
    (r"^page too large \(more than (\d+) bytes\)", "حجم الصفحة يتجاوز الحد المسموح به ({1} بايت)."),
    (r"^the PDF has no text layer", "ملف PDF بلا طبقة نص (صورة ممسوحة ضوئيًا على الأرجح)، ولا أقرأ الصور: "
                                    "أرسل ملفًا نصه قابل للتحديد."),
    (r"^page (\d+) has no text layer", "الصفحة {1} بلا طبقة نص (صورة ممسوحة)، فتركتها."),
    (r"^(?:not a readable PDF|the PDF cannot be read)", "تعذّرت قراءة ملف PDF؛ قد يكون تالفًا أو محميًا بكلمة مرور."),
    (r"^not a readable Word", "تعذّرت قراءة ملف Word؛ قد يكون تالفًا أو ليس بصيغة docx."),
    (r"^the Word file holds no text", "ملف Word لا يحوي نصًّا."),
    (r"^no article text found on the page", "لم أجد في الصفحة نص مقال، بل عناصر الموقع وحدها."),
    (r"^the page's text encoding cannot be read", "تعذّرت معرفة ترميز نص الصفحة."),
    (r"^not a document format", "صيغة الملف ليست مما أقرؤه."),
    (r"^no content left after removing headings", "لم يبقَ في المستند نص بعد حذف العناوين والتسميات."),
    (r"^the address must start with", "يجب أن يبدأ الرابط بـ http:// أو https:// وأن يحمل اسم موقع."),
    (r"^the address answered with an error \(HTTP (\d+)\)", "ردّ الموقع بخطأ (رمز {1})."),
    (r"^the address cannot be reached", "تعذّر الوصول إلى الرابط؛ تحقّق منه أو حاول لاحقًا."),
    (r"^the address did not answer in time", "لم يردّ الموقع في الوقت المحدد؛ حاول لاحقًا."),
    (r"^the address gives .*not a web page", "الرابط لا يؤدي إلى صفحة ويب أو ملف PDF أو Word."),
    (r"^binary file", "الملف ثنائي، وليس نصًّا بترميز UTF-8."),
    (r"^not UTF-8 text \(byte (\d+)\)", "الملف ليس نصًّا بترميز UTF-8 (عند البايت {1})."),
    (r"^not UTF-8 text", "الملف ليس نصًّا بترميز UTF-8."),
    (r"^empty file", "الملف فارغ."),
    (r"^line (\d+) is not valid JSON", "السطر {1} ليس JSON صالحًا."),
    (r"^line (\d+) has no 'text' field", "السطر {1} لا يحوي الحقل text."),
    (r"^malformed JSON", "سطر JSON غير صالح."),
    (r"^no 'text' field with content", "لا نص في الحقل text."),
    (r"^no documents in the file", "لا يحوي الملف أي مستند."),
    (r"^no content left after removing boilerplate", "لم يبقَ في الملف نص بعد حذف عناصر الموقع (القوائم والتذييلات)."),
    (r"^duplicate of (.+)$", "نسخة مكررة من الملف {1}."),
    (r"^unreadable metadata", "ملف البيانات الوصفية تالف، فلم أعتمد عليه."),
    (r"^unreadable", "تعذّرت قراءة الملف."),
    (r"^corpus folder missing", "مجلد المصادر غير موجود."),
    (r"^no usable documents", "لا توجد في مجلد المصادر مستندات صالحة."),
    (r"^the database could not be written .*nothing was changed", "تعذّرت الكتابة في قاعدة البيانات المشتركة؛ لم أغيّر شيئًا."),
    (r"^the database could not be written .*full", "تعذّرت الكتابة في قاعدة البيانات: القرص ممتلئ."),
    (r"^the database could not be written .*read-?only", "تعذّرت الكتابة في قاعدة البيانات: الملف للقراءة فقط."),
    (r"^the database could not be written", "تعذّرت الكتابة في قاعدة البيانات، فالمصادر تعمل من الذاكرة فقط."),
    (r"^document id (.+) is already used by (.+): give", "المعرّف {1} مستخدم من قبلُ في {2}؛ اختر للمستند معرّفًا آخر."),
    (r"^a file named (.+) is already in the corpus",
     "في المصادر ملف بالاسم {1}؛ لم أستبدله: احذف مستنداته بالأمر /remove أولًا، أو غيّر اسم الملف."),
    (r"^line (\d+) reuses the id (.+) of an earlier line", "السطر {1} يكرر المعرّف {2} الوارد في سطر سابق."),
    (r"^another process is rebuilding the corpus now",
     "تجري الآن إعادة بناء المصادر في نسخة أخرى من البوت (أو بأمر من الخادم)؛ لم أغيّر شيئًا. حاول بعد قليل."),
    (r"^the corpus changed in another process meanwhile",
     "تغيّرت المصادر في نسخة أخرى من البوت أثناء ذلك؛ لم أحفظ شيئًا حتى لا يضيع أحد التغييرين. حاول مجددًا."),
    (r"^cannot copy the stored corpus files into", "تعذّر نسخ ملفات المصادر المحفوظة إلى مجلد هذه النسخة؛ لم أغيّر شيئًا."),
    (r"^the record of (.+) is no longer in (.+) \(the file changed",
     "لم أجد سجل المستند {1} في الملف {2}، فقد تغيّر الملف منذ آخر تحديث؛ لم أحذف شيئًا. أعد التحميل ثم حاول مجددًا."),
))
_UNKNOWN = "تعذّرت معالجة الملف لسبب تقني سُجّل في سجل الخادم."


def arabic_reason(reason: str) -> str:
    """The Arabic wording of one of the library's reasons (numbers in Arabic digits)."""
    for pattern, arabic in _REASONS:
        if m := pattern.search(reason.strip()):
            return arabic.format(None, *(num(int(g)) if g.isdigit() else g for g in m.groups()))
    return _UNKNOWN
