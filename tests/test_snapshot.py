"""The snapshot: positions map to documents, paragraphs and sentences; the stored table round-trips."""

from retrieval import Index, Snapshot, analyze
from retrieval.corpus import parse_article
from retrieval.snapshot import sentence_texts

DOCS = [
    parse_article("a", "a.txt", "عنوان الخبر الأول هنا\nالجملة الأولى. الجملة الثانية.\nفقرة ثانية وحيدة."),
    parse_article("b", "b.txt", "جملة في وثيقة أخرى. وجملة أخيرة."),
]


def test_positions_locate_their_sentences():
    snap = Snapshot.build(DOCS)
    texts = sentence_texts(DOCS)
    assert len(snap) == len(texts) == 5
    for position, text in enumerate(texts):
        assert snap.text(position) == text
    loc = snap.locate(2)
    assert (loc.doc.id, loc.paragraph, loc.sentence) == ("a", 2, 3)
    loc = snap.locate(3)
    assert (loc.doc.id, loc.paragraph, loc.sentence) == ("b", 1, 1)   # numbering restarts per document


def test_neighbours_stay_inside_the_paragraph():
    snap = Snapshot.build(DOCS)
    assert snap.neighbour(0, +1) == 1 and snap.neighbour(1, -1) == 0
    assert snap.neighbour(1, +1) is None      # next sentence is in another paragraph
    assert snap.neighbour(2, +1) is None      # next sentence is in another document
    assert snap.neighbour(0, -1) is None


def test_the_stored_table_rebuilds_the_same_snapshot():
    snap = Snapshot.build(DOCS)
    again = Snapshot(list(snap.documents), Index.from_bytes(snap.index.to_bytes(), analyze), table=snap.table_bytes())
    assert [again.locate(i) for i in range(len(again))] == [snap.locate(i) for i in range(len(snap))]
    assert again.paragraph_count == snap.paragraph_count == 3


def test_variants_group_spellings_by_skeleton():
    snap = Snapshot.build([parse_article("c", "c.txt", "زار بيونغ يانغ. ثم زار بيونج يانج. ثم عاد.")])
    groups = [g for g in snap.variants.values() if len(g) > 1]
    assert any({"بيونغ", "بيونج"} <= set(g) for g in groups)
