"""Reading the corpus: boilerplate out by general rules, metadata from sidecar or text, bad files skipped."""

import json

import pytest

from retrieval.corpus import fingerprint, load_corpus, parse_article
from tests.conftest import SEEDS

BOILERPLATE = ["Exit mobile version", "زر الذهاب إلى الأعلى", "مقالات ذات صلة", "هل ترغب بالتعليق على الموضوع؟",
               "لا تتردد في إعطاء تعليقك ومشاركة رأيك", "(انتهى)", "[email protected]", "الموقع : ar.yna.co.kr",
               "ادارة الموقع لا تتبنى", "نشر الخبر اول مرة", "ساهم كيم تونغ هيونغ", "الرئيسية", "___"]


@pytest.fixture(scope="module")
def seeds():
    return load_corpus(SEEDS)


def sentences(doc):
    return [doc.text[a:b] for p in doc.paragraphs for a, b in p.sentences]


def test_seed_corpus_loads_whole(seeds):
    assert len(seeds.documents) == 5 and seeds.skipped == []
    assert all(d.paragraphs for d in seeds.documents)


@pytest.mark.parametrize("line", BOILERPLATE)
def test_no_boilerplate_line_is_indexed(seeds, line):
    for doc in seeds.documents:
        for s in sentences(doc):
            assert line not in s if " " in line else line not in s.split()


def test_sentences_are_verbatim_substrings_of_their_file(seeds):
    for doc in seeds.documents:
        raw = (SEEDS / doc.file).read_text(encoding="utf-8")
        for s in sentences(doc):
            assert s in raw and s.strip() == s


def test_a_caption_shown_twice_is_indexed_once(seeds):
    yonhap = next(d for d in seeds.documents if d.file.startswith("004"))
    caption = [s for s in sentences(yonhap) if s.startswith("(من اليسار إلى اليمين)")]
    assert len(caption) == 1


def test_general_rules_remove_unseen_boilerplate():
    text = ("الرئيسية\n\nعنوان الخبر عن قمة اقتصادية في القاهرة\n\n"
            "القاهرة، 3 مارس (أ ف ب) — افتتحت القمة اليوم بحضور عشرين وزيرا من دول المنطقة.\n\n"
            "وقال المتحدث إن القمة ستناقش التجارة والاستثمار.\n\nShare this article\n\nأخبار ذات علاقة\n\n"
            "اقرأ أيضا\n\n(انتهى)\n\nجميع الحقوق محفوظة للموقع 2024\n")
    doc = parse_article("x", "x.txt", text)
    got = sentences(doc)
    assert got == ["القاهرة، 3 مارس (أ ف ب) — افتتحت القمة اليوم بحضور عشرين وزيرا من دول المنطقة.",
                   "وقال المتحدث إن القمة ستناقش التجارة والاستثمار."]
    assert doc.title == "عنوان الخبر عن قمة اقتصادية في القاهرة"
    assert doc.source == "فرانس برس (AFP)" and doc.date == "3 مارس"


def test_metadata_from_the_text_when_there_is_no_sidecar(tmp_path):
    for f in SEEDS.glob("*.txt"):
        (tmp_path / f.name).write_bytes(f.read_bytes())
    docs = {d.file[:3]: d for d in load_corpus(tmp_path).documents}
    assert docs["001"].title.startswith("أدانت كوريا الجنوبية")        # a short first line is the title
    assert docs["000"].source == "أسوشيتد برس (AP)"                    # dateline agency
    assert docs["003"].source == "رويترز"
    assert docs["004"].source == "يونهاب"                              # dateline after a caption
    assert docs["004"].date == "2024-11-01" and docs["004"].url == "https://ar.yna.co.kr"   # footer
    assert docs["000"].title and docs["002"].title                      # no title line: lead words


def test_sidecar_metadata_wins(seeds):
    doc = next(d for d in seeds.documents if d.file.startswith("000"))
    assert doc.title.startswith("كوريا الجنوبية والولايات المتحدة واليابان تحث")


def test_paragraph_and_sentence_numbers_are_positions(seeds):
    for doc in seeds.documents:
        assert [p.number for p in doc.paragraphs] == list(range(1, len(doc.paragraphs) + 1))


def test_bad_files_are_skipped_with_reasons(tmp_path):
    (tmp_path / "a_good.txt").write_text("عنوان جيد للخبر هنا\n\nجملة أولى مفيدة عن الموضوع هنا. وجملة ثانية.\n", encoding="utf-8")
    (tmp_path / "latin1.txt").write_bytes("caf\xe9 au lait, une phrase.".encode("latin-1"))
    (tmp_path / "binary.txt").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00")
    (tmp_path / "empty.txt").write_text("", encoding="utf-8")
    (tmp_path / "boiler.txt").write_text("زر الذهاب إلى الأعلى\nمقالات ذات صلة\n", encoding="utf-8")
    (tmp_path / "z_copy.txt").write_bytes((tmp_path / "a_good.txt").read_bytes())
    (tmp_path / "big.txt").write_text("كلمة " * 5000, encoding="utf-8")
    (tmp_path / "notes.md").write_text("ignored", encoding="utf-8")
    lines = [json.dumps({"id": "a1", "title": "ت", "source": "رويترز", "date": "2024-01-02", "url": "https://x.org/a",
                         "text": "خبر أول عن الاقتصاد. فيه جملتان."}, ensure_ascii=False),
             "{not json", json.dumps({"id": "a2"}), "",
             json.dumps({"id": "a3", "text": "خبر ثالث عن الزراعة."}, ensure_ascii=False)]
    (tmp_path / "archive.jsonl").write_text("\n".join(lines), encoding="utf-8")
    result = load_corpus(tmp_path, max_file_bytes=20_000)
    reasons = {s.file: s.reason for s in result.skipped}
    assert "UTF-8" in reasons["latin1.txt"]
    assert "binary" in reasons["binary.txt"]
    assert reasons["empty.txt"] == "empty file"
    assert "boilerplate" in reasons["boiler.txt"]
    assert "duplicate" in reasons["z_copy.txt"]
    assert "too large" in reasons["big.txt"]
    assert "malformed JSON" in reasons["archive.jsonl:2"] and "text" in reasons["archive.jsonl:3"]
    ids = sorted(d.id for d in result.documents)
    assert ids == ["a1", "a3", "a_good"]
    a1 = next(d for d in result.documents if d.id == "a1")
    assert (a1.source, a1.date, a1.url) == ("رويترز", "2024-01-02", "https://x.org/a")


def test_missing_folder_is_reported(tmp_path):
    result = load_corpus(tmp_path / "nope")
    assert result.documents == [] and "missing" in result.skipped[0].reason


def test_fingerprint_changes_with_the_folder(tmp_path):
    (tmp_path / "a.txt").write_text("نص.", encoding="utf-8")
    before = fingerprint(tmp_path)
    assert fingerprint(tmp_path) == before
    (tmp_path / "b.txt").write_text("نص آخر.", encoding="utf-8")
    assert fingerprint(tmp_path) != before


@pytest.mark.parametrize("top, title", [
    ("أسعار النفط", "أسعار النفط"), ("الذهب", "الذهب"), ("الرئيسية\n\nاقتصاد\n\nأسعار النفط", "أسعار النفط"),
])
def test_a_headline_of_one_or_two_words_is_the_title(top, title):
    text = (f"{top}\n\nلندن (رويترز) - ارتفعت أسعار النفط والذهب اليوم بعد بيانات اقتصادية قوية من الصين.\n\n"
            "وقال محللون إن الطلب سيبقى مرتفعا حتى نهاية العام.\n")
    doc = parse_article("x", "x.txt", text)
    assert doc.title == title
    assert sentences(doc)[0].startswith("لندن (رويترز)") and len(sentences(doc)) == 2


# ---------------------------------------------------------------- PDF, Word, web pages in the folder

def _document_folder(tmp_path):
    from tests.documents_corpus import FOLDER
    for name in ("report.pdf", "guide.docx", "news.html", "scanned.pdf", "annex.pdf"):
        (tmp_path / name).write_bytes((FOLDER / name).read_bytes())
    return tmp_path


def test_pdf_word_and_web_pages_join_the_corpus_with_pages(tmp_path):
    from tests.documents_corpus import sentences as expected
    loaded = load_corpus(_document_folder(tmp_path))
    docs = {d.file: d for d in loaded.documents}
    assert set(docs) == {"report.pdf", "guide.docx", "news.html", "annex.pdf"}
    for name in ("report.pdf", "guide.docx", "news.html"):
        assert sentences(docs[name]) == expected()[name]  # verbatim, in logical order, nothing else
    report = docs["report.pdf"]
    assert report.title == "تقرير وزارة المياه السنوي"
    assert [p.page for p in report.paragraphs] == [1, 1, 1, 2, 2]
    assert all(p.page is None for p in docs["guide.docx"].paragraphs)
    assert docs["news.html"].url == "https://news.example/air/tokyo" and docs["news.html"].date == "2025-03-14"


def test_a_scanned_pdf_is_skipped_and_a_scanned_page_noted(tmp_path):
    skipped = {(s.file, s.reason) for s in load_corpus(_document_folder(tmp_path)).skipped}
    assert any(f == "scanned.pdf" and "no text layer" in r for f, r in skipped)
    assert ("annex.pdf", "page 2 has no text layer (a scanned image?), left out") in skipped


def test_sidecar_metadata_gives_a_document_its_address(tmp_path):
    _document_folder(tmp_path)
    (tmp_path / "metadata.toml").write_text('["guide.docx"]\nurl = "https://city.example/guide"\n'
                                            'source = "البلدية"\n', encoding="utf-8")
    doc = next(d for d in load_corpus(tmp_path).documents if d.file == "guide.docx")
    assert (doc.url, doc.source) == ("https://city.example/guide", "البلدية")


def test_a_broken_document_is_skipped_with_its_reason(tmp_path):
    (tmp_path / "broken.pdf").write_bytes(b"%PDF-1.4 nothing here")
    (tmp_path / "broken.docx").write_bytes(b"not a zip")
    reasons = {s.file: s.reason for s in load_corpus(tmp_path).skipped}
    assert "PDF" in reasons["broken.pdf"] and "Word" in reasons["broken.docx"]
