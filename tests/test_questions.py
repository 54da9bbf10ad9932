"""Question files: SQuAD-format benchmarks become a corpus and answer positions; held-out articles."""

import json

from retrieval.questions import held_out, load_questions


def squad(articles: int) -> dict:
    return {"data": [{"title": f"مقال {a}", "paragraphs": [
        {"context": f"الجملة الأولى من المقال {a}. الجملة الثانية من المقال {a}.",
         "qas": [{"id": f"q{a}", "question": f"سؤال {a}؟", "answers": [{"answer_start": 30, "text": "x"}]}]}]}
        for a in range(articles)]}


def test_held_out_articles_are_every_fourth_from_the_fourth():
    assert [a for a in range(12) if held_out(a, 0.25)] == [3, 7, 11]
    assert not any(held_out(a, 0.0) for a in range(12))


def test_a_squad_file_brings_its_corpus_and_answer_positions(tmp_path):
    path = tmp_path / "set.json"
    path.write_text(json.dumps(squad(8), ensure_ascii=False), encoding="utf-8")
    loaded = load_questions(path, holdout=0.25)
    assert [d.title for d in loaded.documents] == [f"مقال {a}" for a in (0, 1, 2, 4, 5, 6)]
    assert len(loaded.questions) == 8
    kept, dropped = loaded.questions[0], loaded.questions[3]
    assert kept.answerable and not dropped.answerable
    doc = loaded.documents[0]
    (para,) = doc.paragraphs
    assert len(para.sentences) == 2  # cut by Sanad's own splitter
    doc_id, at = kept.spans[0]
    assert doc_id == doc.id and para.sentences[1][0] <= at < para.sentences[1][1]
