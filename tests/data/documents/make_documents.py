"""Generate the small Arabic document corpus the extraction tests read (PDF, DOCX; news.html is by hand).

Run from the repository root: `python tests/data/documents/make_documents.py`. Needs the test
extras (fpdf2 with uharfbuzz for shaping, python-docx) and the DejaVu Sans font from Debian's
fonts-dejavu-core (free licence; the font is embedded, subset, in the PDFs, as its licence allows).
The outputs are committed so the tests need neither the generator nor the font; SENTENCES.txt
lists every sentence each file holds, in logical order, for the order figures.
"""

from __future__ import annotations

import io
from datetime import datetime, timezone
from pathlib import Path

from docx import Document as DocxDocument
from fpdf import FPDF

HERE = Path(__file__).resolve().parent
FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")

REPORT_P1 = [
    "تقرير وزارة المياه السنوي",
    "افتتحت مدينة النخيل محطة تحلية جديدة تنتج 45 ألف متر مكعب يوميا لتزويد السكان بمياه الشرب النظيفة طوال العام.",
    "وقال المهندس Ahmed Salem مدير المشروع إن المحطة تعمل بالطاقة الشمسية منذ شهر مارس 2024 دون انقطاع.",
    "وبلغت تكلفة المشروع 120 مليون دينار مولتها الحكومة بالتعاون مع شركة Siemens الألمانية.",
]
REPORT_P2 = [
    "وتخطط الوزارة لبناء ثلاث محطات أخرى على الساحل الشمالي قبل نهاية عام 2027 لتغطية الطلب المتزايد.",
    "وأكد الوزير أن نسبة الفاقد في شبكة التوزيع انخفضت إلى 18 بالمئة بعد استبدال الأنابيب القديمة في الأحياء الشرقية.",
]
TWO_COLUMNS = [
    "انطلق مهرجان الكتاب في العاصمة بمشاركة 300 دار نشر من عشرين دولة عربية وأجنبية.",
    "ويستمر المهرجان عشرة أيام تقام خلالها ندوات عن القراءة والترجمة وأدب الأطفال.",
    "وفي العمود الثاني أعلنت اللجنة المنظمة جائزة جديدة للرواية قيمتها 50 ألف دولار.",
    "وقالت الكاتبة Laila Hassan إن الجائزة تشجع الشباب على الكتابة باللغة العربية.",
]
TABLE_INTRO = "يبين الجدول التالي إنتاج المحطات الثلاث في عام 2023 بآلاف الأمتار المكعبة."
TABLE_ROWS = [["المحطة", "الإنتاج"], ["محطة الشمال", "30"], ["محطة الجنوب", "25"]]
SCANNED_NOTE = "تلي هذه الصفحة صورة ممسوحة من محضر الاجتماع بلا طبقة نص."

DOCX_TITLE = "دليل خدمات البلدية"
DOCX_SECTIONS = [
    ("تجديد رخصة البناء", [
        "يمكن تجديد رخصة البناء عبر البوابة الإلكترونية خلال 30 يوما من تاريخ انتهائها.",
        "ويدفع المتقدم رسما قدره 200 دينار عن كل سنة تجديد.",
    ]),
    ("شكاوى النظافة", [
        "تستقبل البلدية شكاوى النظافة على الرقم 1999 على مدار الساعة طوال أيام الأسبوع.",
    ]),
]

# news.html is written by hand (a news page with its site's navigation, a "most read" box and a
# footer around the article); these are its article's sentences.
HTML_SENTENCES = [
    "أعلنت شركة الطيران الوطنية إطلاق رحلات مباشرة إلى مدينة طوكيو ابتداء من شهر يونيو المقبل.",
    "وستسير الشركة ثلاث رحلات أسبوعيا بطائرات من طراز Boeing 787 تتسع كل منها لـ 250 راكبا.",
    "وقال المدير التنفيذي للشركة إن الخط الجديد يعزز السياحة والتجارة مع اليابان.",
]


def _fpdf() -> FPDF:
    """An A4 document with a fixed creation date, so the output changes only with the generator."""
    pdf = FPDF(format="A4")
    pdf.set_creation_date(datetime(2025, 1, 1, tzinfo=timezone.utc))
    return pdf


def _pdf() -> FPDF:
    pdf = _fpdf()
    pdf.add_font("dejavu", fname=str(FONT))
    pdf.set_font("dejavu", size=13)
    pdf.set_text_shaping(True)
    pdf.set_margins(20, 20, 20)
    pdf.set_auto_page_break(False)
    return pdf


def _page(pdf: FPDF, number: int, header: str) -> None:
    """A page with a running header and a page number at the foot, as reports have."""
    pdf.add_page()
    pdf.set_font_size(9)
    pdf.cell(0, 6, header, align="R")
    pdf.set_xy(20, 282)
    pdf.cell(0, 6, str(number), align="C")
    pdf.set_xy(20, 32)
    pdf.set_font_size(13)


def report_pdf() -> bytes:
    """Two pages, one column: a title, wrapped paragraphs with numbers and Latin names."""
    pdf = _pdf()
    header = "وزارة المياه - التقرير السنوي 2024"
    _page(pdf, 1, header)
    pdf.set_font_size(17)
    pdf.multi_cell(0, 10, REPORT_P1[0], align="R")
    pdf.set_font_size(13)
    for s in REPORT_P1[1:]:
        pdf.ln(4)
        pdf.multi_cell(0, 8, s, align="R")
    _page(pdf, 2, header)
    for s in REPORT_P2:
        pdf.multi_cell(0, 8, s, align="R")
        pdf.ln(4)
    return bytes(pdf.output())


def columns_pdf() -> bytes:
    """One page in two columns (the right one read first), then a table."""
    pdf = _pdf()
    _page(pdf, 1, "نشرة الثقافة")
    width = 80
    for column, x in ((TWO_COLUMNS[:2], 110), (TWO_COLUMNS[2:], 20)):
        pdf.set_xy(x, 32)
        for s in column:
            pdf.set_x(x)
            pdf.multi_cell(width, 8, s, align="R")
            pdf.ln(4)
    pdf.set_xy(20, 150)
    pdf.multi_cell(0, 8, TABLE_INTRO, align="R")
    pdf.ln(4)
    with pdf.table(first_row_as_headings=False, text_align="RIGHT", col_widths=(60, 40), width=100, align="RIGHT") as table:
        for row in TABLE_ROWS:
            r = table.row()
            for cell in row:
                r.cell(cell)
    return bytes(pdf.output())


def _scan(pdf: FPDF) -> None:
    """A page that is only an image (a scan): no text layer to read."""
    from PIL import Image, ImageDraw
    image = Image.new("L", (600, 800), 255)
    draw = ImageDraw.Draw(image)
    for y in range(100, 700, 40):
        draw.line((80, y, 520, y), fill=0, width=6)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    pdf.add_page()
    pdf.image(buffer, x=10, y=10, w=190)


def scanned_pdf() -> bytes:
    """A scanned document: its one page has no text layer."""
    pdf = _fpdf()
    _scan(pdf)
    return bytes(pdf.output())


def annex_pdf() -> bytes:
    """A page of text, then a scanned annex."""
    pdf = _pdf()
    _page(pdf, 1, "ملحق")
    pdf.multi_cell(0, 8, SCANNED_NOTE, align="R")
    _scan(pdf)
    return bytes(pdf.output())


def guide_docx() -> bytes:
    """A Word file: a title, headings and paragraphs."""
    doc = DocxDocument()
    doc.add_heading(DOCX_TITLE, level=0)
    for heading, paragraphs in DOCX_SECTIONS:
        doc.add_heading(heading, level=1)
        for p in paragraphs:
            doc.add_paragraph(p)
    buffer = io.BytesIO()
    doc.save(buffer)
    return buffer.getvalue()


def sentences() -> dict[str, list[str]]:
    """Every content sentence of each file, in logical order."""
    return {
        "report.pdf": REPORT_P1[1:] + REPORT_P2,
        "columns.pdf": TWO_COLUMNS + [TABLE_INTRO],
        "annex.pdf": [SCANNED_NOTE],
        "guide.docx": [s for _, ps in DOCX_SECTIONS for s in ps],
        "news.html": HTML_SENTENCES,
    }


def main() -> None:
    (HERE / "report.pdf").write_bytes(report_pdf())
    (HERE / "columns.pdf").write_bytes(columns_pdf())
    (HERE / "scanned.pdf").write_bytes(scanned_pdf())
    (HERE / "annex.pdf").write_bytes(annex_pdf())
    (HERE / "guide.docx").write_bytes(guide_docx())
    lines = [f"{name}\t{s}" for name, ss in sentences().items() for s in ss]
    (HERE / "SENTENCES.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
