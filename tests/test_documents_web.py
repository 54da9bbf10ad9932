import pytest

from documents_corpus import FOLDER, sentences
from retrieval.documents import DocumentError, extract


def test_the_article_comes_out_without_the_site_chrome():
    extracted = extract("news.html", (FOLDER / "news.html").read_bytes())
    texts = [b.text for b in extracted.blocks]
    for s in sentences()["news.html"]:
        assert s in texts
    for chrome in ("الرئيسية", "الأكثر قراءة", "أسعار الذهب", "جميع الحقوق محفوظة", "تسجيل الدخول"):
        assert not any(chrome in t for t in texts), chrome


def test_title_date_site_and_address_become_the_citation():
    extracted = extract("news.html", (FOLDER / "news.html").read_bytes(), url="http://127.0.0.1/page.html")
    assert extracted.title == "رحلات مباشرة إلى طوكيو"
    assert extracted.date == "2025-03-14"
    assert extracted.source == "أخبار الخليج"
    assert extracted.url == "https://news.example/air/tokyo"  # the page's own canonical address


def test_a_page_in_windows_1256_is_read():
    page = "<html><head><meta charset='windows-1256'></head><body><article><p>" + \
        "أعلنت وزارة الصحة افتتاح مستشفى جديد في المدينة يضم مئتي سرير لعلاج المرضى من كل الأعمار.</p>" + \
        "<p>وقال الوزير إن المستشفى يبدأ استقبال المرضى في الشهر المقبل بعد اكتمال تجهيزه بالكامل.</p>" + \
        "</article></body></html>"
    extracted = extract("p.html", page.encode("cp1256"))
    assert any("مستشفى جديد" in b.text for b in extracted.blocks)


def test_a_page_without_article_text_is_refused():
    with pytest.raises(DocumentError, match="no article text"):
        extract("empty.html", b"<html><body><script>var x = 1;</script></body></html>")


def test_an_unknown_format_is_refused():
    with pytest.raises(DocumentError, match="not a document format"):
        extract("x.odt", b"...")
