import pytest

from documents_corpus import FOLDER, in_order, sentences
from retrieval.documents import DocumentError, extract


def read(name: str):
    return extract(name, (FOLDER / name).read_bytes())


def test_every_sentence_of_the_one_column_report_comes_out_in_logical_order():
    text = "\n".join(b.text for b in read("report.pdf").blocks)
    assert in_order("report.pdf", text) == len(sentences()["report.pdf"])


def test_each_paragraph_keeps_its_page():
    pages = {b.text: b.page for b in read("report.pdf").blocks}
    first, second = sentences()["report.pdf"][0], sentences()["report.pdf"][-1]
    assert [p for t, p in pages.items() if first in t] == [1]
    assert [p for t, p in pages.items() if second in t] == [2]


def test_wrapped_lines_are_joined_and_paragraphs_kept_apart():
    blocks = [b.text for b in read("report.pdf").blocks if not b.heading]
    # five sentences, five paragraphs: each wrapped over two lines, none run into the next
    assert blocks == sentences()["report.pdf"]


def test_running_header_and_page_numbers_are_dropped():
    texts = [b.text for b in read("report.pdf").blocks]
    assert not any("التقرير السنوي 2024" in t for t in texts)
    assert not any(t.strip() in {"1", "2"} for t in texts)


def test_the_title_is_the_large_heading():
    extracted = read("report.pdf")
    assert extracted.title == "تقرير وزارة المياه السنوي"
    assert [b.text for b in extracted.blocks if b.heading] == [extracted.title]


def test_two_columns_are_read_right_column_first():
    blocks = [b.text for b in read("columns.pdf").blocks]
    expected = sentences()["columns.pdf"]
    assert in_order("columns.pdf", "\n".join(blocks)) == len(expected)
    assert [blocks.index(s) for s in expected] == sorted(blocks.index(s) for s in expected)


def test_a_table_row_is_a_block_of_its_own():
    blocks = [b.text for b in read("columns.pdf").blocks]
    assert any("محطة الشمال" in b and "30" in b and len(b.split()) <= 4 for b in blocks)


def test_a_scanned_pdf_is_refused_with_the_reason():
    with pytest.raises(DocumentError, match="no text layer"):
        read("scanned.pdf")


def test_a_scanned_page_among_text_pages_is_left_out_with_a_note():
    extracted = read("annex.pdf")
    assert extracted.notes == ("page 2 has no text layer (a scanned image?), left out",)
    assert {b.page for b in extracted.blocks} == {1}


@pytest.mark.parametrize("data", [b"", b"%PDF-1.4 broken", b"not a pdf at all"])
def test_a_damaged_pdf_is_refused_not_raised(data):
    with pytest.raises(DocumentError):
        extract("bad.pdf", data)


def test_a_latin_word_hyphenated_at_the_line_end_is_joined_and_a_wide_gap_parts_paragraphs():
    from retrieval.documents.pdf import _Line, _paragraphs, _Segment

    def line(top: float, text: str) -> _Line:
        return _Line(top, top + 10, 10.0, [_Segment(100, 400, text)])

    flow = [line(0, "شركة Sie-"), line(12, "mens الألمانية."), line(40, "فقرة ثانية.")]
    blocks = _paragraphs(flow, page=3, body_size=10.0, gap=6.0)
    assert [(b.text, b.page) for b in blocks] == [("شركة Siemens الألمانية.", 3), ("فقرة ثانية.", 3)]


def test_the_order_glyphs_are_drawn_in_does_not_matter():
    import random

    import pdfplumber

    from retrieval.documents.pdf import _lines
    with pdfplumber.open(FOLDER / "report.pdf") as pdf:
        page = pdf.pages[0]
        expected = [l.text for l in _lines(page)]

        class Shuffled:  # the same glyphs, drawn in another order (a file that writes Arabic logically)
            chars = random.Random(7).sample(page.chars, len(page.chars))

        assert [l.text for l in _lines(Shuffled())] == expected
    assert sentences()["report.pdf"][0] in " ".join(expected)
