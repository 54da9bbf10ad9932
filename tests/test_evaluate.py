"""Scoring: hit@k, MRR@5 and declines computed from ranked sentences and gold substrings."""

import json

import pytest

from retrieval.evaluate import Question, gold_match, load_questions, score
from tests.conftest import SEEDS


def test_gold_match_ignores_marks_and_tatweel():
    assert gold_match("أرسلت كوريا 8,000 جنـــدي.", ("8,000 جندي",))
    assert gold_match("مَنْ هِيَ", ("من هي",))
    assert not gold_match("جملة أخرى", ("8,000 جندي",))


def test_scores_from_ranked_lists():
    texts = ["الجواب هنا", "كلام آخر", "كلام ثالث"]
    questions = [Question("1", "fact", "س1", ("الجواب",)), Question("2", "fact", "س2", ("الجواب",)),
                 Question("3", "none", "س3", ()), Question("4", "none", "س4", ()), Question("5", "fact", "س5", ("الجواب",))]
    answers = {"س1": (True, [0, 1]), "س2": (True, [1, 2, 0]), "س3": (False, []), "س4": (True, [1]),
               "س5": (False, [])}
    s = score("x", lambda q: answers[q], questions, texts)
    assert s.hit1 == pytest.approx(1 / 3) and s.hit3 == pytest.approx(2 / 3)
    assert s.mrr5 == pytest.approx((1 + 1 / 3) / 3)
    assert (s.declined, s.unanswerable, s.wrongly_declined) == (1, 2, 1)
    assert {m["id"] for m in s.misses} == {"2", "4", "5"}
    assert s.decline_precision == pytest.approx(1 / 2) and s.decline_recall == pytest.approx(1 / 2)


def test_load_questions(tmp_path):
    path = tmp_path / "q.jsonl"
    path.write_text(json.dumps({"id": "a", "kind": "none", "q": "سؤال", "gold": []}, ensure_ascii=False) + "\n\n",
                    encoding="utf-8")
    assert load_questions(path) == [Question("a", "none", "سؤال", ())]


QUESTION_FILES = sorted((SEEDS.parent / "tests" / "data").glob("heldout*.jsonl"))


@pytest.mark.parametrize("path", QUESTION_FILES, ids=lambda p: p.name)
def test_held_out_question_files_are_well_formed(path):
    # Their figures are only worth something if every gold string stands in an article verbatim.
    articles = [p.read_text(encoding="utf-8") for p in SEEDS.glob("*.txt")]
    questions = load_questions(path)
    assert len({q.id for q in questions}) == len(questions) >= 50
    assert {q.kind for q in questions} <= {"fact", "noisy", "variant", "mixed", "none"}
    for q in questions:
        assert (q.kind == "none") == (not q.gold), q.id
        assert all(any(g in a for a in articles) for g in q.gold), q.id
