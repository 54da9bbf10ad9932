import pytest

from documents_corpus import FOLDER, in_order, sentences
from retrieval.documents import DocumentError, extract


def test_the_paragraphs_come_out_in_order_with_headings_marked():
    extracted = extract("guide.docx", (FOLDER / "guide.docx").read_bytes())
    assert extracted.title == "دليل خدمات البلدية"
    assert [b.text for b in extracted.blocks if not b.heading] == sentences()["guide.docx"]
    assert [b.text for b in extracted.blocks if b.heading] == ["دليل خدمات البلدية", "تجديد رخصة البناء", "شكاوى النظافة"]
    assert in_order("guide.docx", "\n".join(b.text for b in extracted.blocks)) == 3


def test_a_file_that_is_not_word_is_refused():
    with pytest.raises(DocumentError, match="Word"):
        extract("x.docx", b"PK\x03\x04 not really a zip")
