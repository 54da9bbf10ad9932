"""Scoring: hit@k, MRR@5 and declines computed from ranked sentences and gold substrings."""

import json

import pytest

from retrieval.evaluate import Question, answers, gold_match, load_questions, score
from retrieval.corpus import Document, Paragraph
from retrieval.snapshot import Snapshot
from tests.conftest import SEEDS


def test_gold_match_ignores_marks_and_tatweel():
    assert gold_match("أرسلت كوريا 8,000 جنـــدي.", ("8,000 جندي",))
    assert gold_match("مَنْ هِيَ", ("من هي",))
    assert not gold_match("جملة أخرى", ("8,000 جندي",))


def snapshot_of(texts: list[str]) -> Snapshot:
    """One document, one paragraph per text, one sentence per paragraph."""
    text, paragraphs, at = "\n".join(texts), [], 0
    for i, t in enumerate(texts):
        paragraphs.append(Paragraph(i + 1, at, at + len(t), ((at, at + len(t)),)))
        at += len(t) + 1
    return Snapshot.build([Document("d", "d.txt", "عنوان", None, None, None, text, tuple(paragraphs))])


def test_scores_from_ranked_lists():
    texts = ["الجواب هنا", "كلام آخر", "كلام ثالث"]
    questions = [Question("1", "fact", "س1", ("الجواب",)), Question("2", "fact", "س2", ("الجواب",)),
                 Question("3", "none", "س3", ()), Question("4", "none", "س4", ()), Question("5", "fact", "س5", ("الجواب",))]
    answers = {"س1": (True, [0, 1]), "س2": (True, [1, 2, 0]), "س3": (False, []), "س4": (True, [1]),
               "س5": (False, [])}
    s = score("x", lambda q: answers[q], questions, snapshot_of(texts))
    assert s.hit1 == pytest.approx(1 / 3) and s.hit3 == pytest.approx(2 / 3)
    assert s.mrr5 == pytest.approx((1 + 1 / 3) / 3)
    assert (s.declined, s.unanswerable, s.wrongly_declined) == (1, 2, 1)
    assert {m["id"] for m in s.misses} == {"2", "4", "5"}
    assert s.decline_precision == pytest.approx(1 / 2) and s.decline_recall == pytest.approx(1 / 2)


def test_load_questions(tmp_path):
    path = tmp_path / "q.jsonl"
    path.write_text(json.dumps({"id": "a", "kind": "none", "q": "سؤال", "gold": []}, ensure_ascii=False) + "\n\n",
                    encoding="utf-8")
    assert load_questions(path).questions == [Question("a", "none", "سؤال", ())]


QUESTION_FILES = sorted((SEEDS.parent / "tests" / "data").glob("heldout*.jsonl"))


@pytest.mark.parametrize("path", QUESTION_FILES, ids=lambda p: p.name)
def test_held_out_question_files_are_well_formed(path):
    # Their figures are only worth something if every gold string stands in an article verbatim.
    articles = [p.read_text(encoding="utf-8") for p in SEEDS.glob("*.txt")]
    questions = load_questions(path).questions
    assert len({q.id for q in questions}) == len(questions) >= 50
    assert {q.kind for q in questions} <= {"fact", "noisy", "variant", "mixed", "none"}
    for q in questions:
        assert (q.kind == "none") == (not q.gold), q.id
        assert all(any(g in a for a in articles) for g in q.gold), q.id


def test_an_answer_position_is_a_hit_only_in_the_sentence_that_covers_it():
    snap = snapshot_of(["الجملة الأولى", "الجملة الثانية"])
    q = Question("1", "", "س", spans=(("d", 16),))  # inside the second sentence
    assert not answers(snap, q, 0) and answers(snap, q, 1)
    assert not answers(snap, Question("2", "", "س", spans=(("other", 16),)), 1)
