"""Question files for `sanad eval`: Sanad's own JSON Lines sets, and SQuAD-format benchmarks.

A `.jsonl` set asks about the served corpus: {"id", "kind", "q", "gold": [substrings of answering
sentences]}, an empty gold meaning the corpus does not answer. A SQuAD-format `.json` file (XQuAD-R)
brings its own corpus: one document per article (its title), one paragraph per `context`, cut into
sentences by Sanad's own splitter. A returned sentence answers when it lies in the question's
paragraph and its span covers an `answer_start`. `holdout` leaves whole articles out of that corpus
(for 0.25 the articles at positions 3, 7, 11, ...), so their questions must be declined.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from .corpus import Document, Paragraph
from .segment import split_sentences

__all__ = ["Question", "QuestionSet", "load_questions", "held_out"]


@dataclass(frozen=True, slots=True)
class Question:
    """One question and what answers it: gold substrings, or (document id, offset) answer positions."""

    id: str
    kind: str
    q: str
    gold: tuple[str, ...] = ()
    spans: tuple[tuple[str, int], ...] = ()

    @property
    def answerable(self) -> bool:
        return bool(self.gold or self.spans)


@dataclass(frozen=True, slots=True)
class QuestionSet:
    """Questions, and the corpus they are asked of when the file brings one (SQuAD), else None."""

    questions: list[Question]
    documents: list[Document] | None = None


def held_out(article: int, share: float) -> bool:
    """Whether the article at this 0-based position is left out: every (1/share)-th, the last of each run."""
    if share <= 0:
        return False
    step = max(1, round(1 / share))
    return article % step == step - 1


def load_questions(path: str | Path, *, holdout: float = 0.0) -> QuestionSet:
    """Read a `.jsonl` question set or a SQuAD-format `.json` file (see the module docstring)."""
    path = Path(path)
    text = path.read_text(encoding="utf-8")
    if path.suffix == ".json" or text.lstrip().startswith('{"data"'):
        return _squad(json.loads(text), path.name, holdout)
    out = []
    for line in text.split("\n"):
        if line.strip():
            r = json.loads(line)
            out.append(Question(str(r.get("id", len(out) + 1)), r.get("kind", ""), r["q"], tuple(r.get("gold", ()))))
    return QuestionSet(out)


def _squad(data: dict, file: str, holdout: float) -> QuestionSet:
    documents: list[Document] = []
    questions: list[Question] = []
    for a, article in enumerate(data["data"]):
        kept = not held_out(a, holdout)
        doc_id = f"a{a:03d}"
        contexts = [paragraph["context"] for paragraph in article["paragraphs"]]
        text = "\n\n".join(contexts)
        starts = [sum(len(c) + 2 for c in contexts[:p]) for p in range(len(contexts))]
        for paragraph, start in zip(article["paragraphs"], starts):
            for qa in paragraph["qas"]:
                spans = tuple((doc_id, start + int(x["answer_start"])) for x in qa["answers"]) if kept else ()
                questions.append(Question(str(qa["id"]), "", qa["question"], (), spans))
        if kept:
            paragraphs = tuple(Paragraph(p + 1, start, start + len(c), tuple(split_sentences(text, start, start + len(c))))
                               for p, (c, start) in enumerate(zip(contexts, starts)))
            documents.append(Document(doc_id, file, article["title"], "Wikipedia", None, None, text, paragraphs))
    return QuestionSet(questions, documents)
