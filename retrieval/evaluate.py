"""Scoring the engine on a question file, beside off-the-shelf BM25 set-ups on the same sentences.

A question file is JSON Lines: {"id", "kind", "q", "gold": [substrings of answering sentences]};
an empty gold means the corpus does not answer and the right reply is to decline. Every system
ranks the same sentence units (the snapshot's sentences), so the figures compare methods only.
"""

from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

import numpy as np
import pyarabic.araby as araby
from rank_bm25 import BM25Okapi

from .answer import Policy, answer
from .questions import Question, QuestionSet, load_questions
from .ranking import zscores
from .arabic import analyze
from .snapshot import Snapshot, sentence_texts
from .vectors import Semantic

__all__ = ["Question", "QuestionSet", "Scores", "load_questions", "evaluate", "baselines", "ablations", "gold_match",
           "answers", "score"]

K = 5  # ranks scored (MRR@5)


@dataclass(slots=True)
class Scores:
    """hit@1, hit@3, MRR@5 over answerable questions; declines over unanswerable ones; and the misses."""

    name: str
    hit1: float = 0.0
    hit3: float = 0.0
    mrr5: float = 0.0
    declined: int = 0
    unanswerable: int = 0
    wrongly_declined: int = 0
    misses: list[dict] = field(default_factory=list)

    @property
    def decline_precision(self) -> float:
        """Of the questions declined, the share the corpus really does not answer."""
        declined = self.declined + self.wrongly_declined
        return self.declined / declined if declined else 1.0

    @property
    def decline_recall(self) -> float:
        """Of the questions the corpus does not answer, the share declined."""
        return self.declined / self.unanswerable if self.unanswerable else 1.0

    def as_dict(self) -> dict:
        return {"name": self.name, "hit@1": round(self.hit1, 4), "hit@3": round(self.hit3, 4),
                "mrr@5": round(self.mrr5, 4), "declined": self.declined, "unanswerable": self.unanswerable,
                "answerable_declined": self.wrongly_declined, "decline_precision": round(self.decline_precision, 4),
                "decline_recall": round(self.decline_recall, 4), "misses": self.misses}


def _plain(text: str) -> str:
    return araby.strip_tatweel(araby.strip_tashkeel(text))


def gold_match(text: str, gold: tuple[str, ...]) -> bool:
    """A sentence answers when it contains a gold substring (diacritics and tatweel ignored)."""
    plain = _plain(text)
    return any(_plain(g) in plain for g in gold)


def answers(snapshot: Snapshot, question: Question, position: int) -> bool:
    """Whether the sentence at `position` answers: it holds a gold substring, or covers an answer position."""
    if question.gold:
        return gold_match(snapshot.text(position), question.gold)
    loc = snapshot.locate(position)
    return any(doc == loc.doc.id and loc.start <= at < loc.end for doc, at in question.spans)


# A system maps a question to (answered, ranked sentence positions).
System = Callable[[str], tuple[bool, list[int]]]


def score(name: str, system: System, questions: list[Question], snapshot: Snapshot) -> Scores:
    s = Scores(name)
    answerable = [q for q in questions if q.answerable]
    for q in questions:
        answered, ranked = system(q.q)
        if not q.answerable:
            s.unanswerable += 1
            s.declined += not answered
            if answered:
                s.misses.append({"id": q.id, "q": q.q, "expected": "(decline)",
                                 "first": snapshot.text(ranked[0]) if ranked else ""})
            continue
        rank = next((i for i, p in enumerate(ranked[:K]) if answers(snapshot, q, p)), None) if answered else None
        s.wrongly_declined += not answered
        s.hit1 += rank == 0
        s.hit3 += rank is not None and rank < 3
        s.mrr5 += 1 / (rank + 1) if rank is not None else 0.0
        if rank != 0:
            s.misses.append({"id": q.id, "q": q.q, "expected": q.gold[0] if q.gold else _expected(snapshot, q),
                             "rank": None if rank is None else rank + 1,
                             "first": snapshot.text(ranked[0]) if answered and ranked else "(declined)"})
    n = max(1, len(answerable))
    s.hit1, s.hit3, s.mrr5 = s.hit1 / n, s.hit3 / n, s.mrr5 / n
    return s


def _expected(snapshot: Snapshot, question: Question) -> str:
    """The sentence holding a question's first answer position (for the list of misses)."""
    doc, at = question.spans[0]
    return next((snapshot.text(p) for p in range(len(snapshot)) if answers(snapshot, question, p)), f"{doc}@{at}")


def sanad_system(snapshot: Snapshot, policy: Policy = Policy(), semantic: Semantic | None = None) -> System:
    def run(question: str) -> tuple[bool, list[int]]:
        a = answer(snapshot, question, top=K, policy=policy, semantic=semantic)
        return a.answered, [e.position for e in a.extracts]
    return run


def evaluate(snapshot: Snapshot, questions: list[Question], policy: Policy = Policy(),
             semantic: Semantic | None = None) -> Scores:
    return score("Sanad", sanad_system(snapshot, policy, semantic), questions, snapshot)


# ------------------------------------------------------------------ off-the-shelf set-ups

def _bm25_system(tokenize: Callable[[str], list[str]], texts: list[str]) -> System:
    bm25 = BM25Okapi([tokenize(t) for t in texts])

    def run(question: str) -> tuple[bool, list[int]]:
        scores = bm25.get_scores(tokenize(question))
        order = [int(i) for i in np.argsort(-scores, kind="stable")[:K] if scores[i] > 0]
        return bool(order), order
    return run


def _pyarabic_tokens(text: str) -> list[str]:
    return [araby.normalize_hamza(araby.strip_tatweel(araby.strip_tashkeel(w)), method="tasheel")
            for w in araby.tokenize(text)]


def _fts5_system(texts: list[str]) -> System:
    db = sqlite3.connect(":memory:")
    db.execute("CREATE VIRTUAL TABLE s USING fts5(t, tokenize='unicode61 remove_diacritics 2')")
    db.executemany("INSERT INTO s (rowid, t) VALUES (?, ?)", ((i, t) for i, t in enumerate(texts)))
    word = re.compile(r"\w+")

    def run(question: str) -> tuple[bool, list[int]]:
        words = word.findall(question)
        if not words:
            return False, []
        query = " OR ".join(f'"{w}"' for w in words)
        rows = db.execute("SELECT rowid FROM s WHERE s MATCH ? ORDER BY bm25(s) LIMIT ?", (query, K)).fetchall()
        return bool(rows), [r[0] for r in rows]
    return run


def _bm25s_scores(texts: list[str]) -> Callable[[str], np.ndarray] | None:
    """bm25s over Snowball-stemmed texts: a question's score for every text (zeros when none of its
    words is known); None when bm25s or PyStemmer is not installed."""
    try:
        import bm25s
        import Stemmer
    except ImportError:
        return None
    stemmer = Stemmer.Stemmer("arabic")
    retriever = bm25s.BM25()
    retriever.index(bm25s.tokenize(texts, stemmer=stemmer, show_progress=False), show_progress=False)

    def scores(question: str) -> np.ndarray:
        out = np.zeros(len(texts))
        tokens = bm25s.tokenize([question], stemmer=stemmer, show_progress=False)
        if tokens.vocab:
            docs, found = retriever.retrieve(tokens, k=len(texts), show_progress=False)
            out[docs[0]] = found[0]
        return out
    return scores


def _bm25s_system(texts: list[str]) -> System | None:
    scores = _bm25s_scores(texts)
    if scores is None:
        return None

    def run(question: str) -> tuple[bool, list[int]]:
        found = scores(question)
        ranked = [int(i) for i in np.argsort(-found, kind="stable")[:K] if found[i] > 0]
        return bool(ranked), ranked
    return run


def _dense_system(semantic: Semantic) -> System:
    """The embedding model alone: cosine similarity, best first; it never declines."""
    def run(question: str) -> tuple[bool, list[int]]:
        sims = semantic.similarities(question)
        return True, [int(i) for i in np.argsort(-sims, kind="stable")[:K]]
    return run


def _fusion_system(texts: list[str], semantic: Semantic, lexical_share: float = 0.3) -> System | None:
    """bm25s + Snowball fused with the embedding model: z-scores over all sentences, 0.3 / 0.7."""
    scores = _bm25s_scores(texts)
    if scores is None:
        return None

    def run(question: str) -> tuple[bool, list[int]]:
        fused = lexical_share * zscores(scores(question)) + (1 - lexical_share) * zscores(semantic.similarities(question))
        return True, [int(i) for i in np.argsort(-fused, kind="stable")[:K]]
    return run


def baselines(snapshot: Snapshot, questions: list[Question], *, all_setups: bool = True,
              semantic: Semantic | None = None) -> list[Scores]:
    """Figures for the off-the-shelf set-ups over the same sentences (just whitespace rank-bm25 unless all);
    with `semantic`, also the embedding model alone and fused with bm25s."""
    texts = sentence_texts(list(snapshot.documents))
    systems: list[tuple[str, System | None]] = [("rank-bm25, whitespace tokens", _bm25_system(str.split, texts))]
    if all_setups:
        systems += [
            ("rank-bm25, pyarabic tokens + strip + hamza", _bm25_system(_pyarabic_tokens, texts)),
            ("SQLite FTS5 unicode61 remove_diacritics (OR)", _fts5_system(texts)),
            ("bm25s + Snowball Arabic (PyStemmer)", _bm25s_system(texts)),
        ]
        if semantic is not None:
            systems += [("multilingual-e5-small 4-bit, cosine", _dense_system(semantic)),
                        ("bm25s + e5, z-scores fused 0.3 / 0.7", _fusion_system(texts, semantic))]
    return [score(name, system, questions, snapshot) if system else Scores(f"{name}: not installed")
            for name, system in systems]


def ablations(snapshot: Snapshot, questions: list[Question], semantic: Semantic | None = None) -> list[Scores]:
    """Sanad with one stage or feature switched off at a time, to show which the figures support."""
    base = Policy()
    out = []
    if semantic is not None:
        for name, policy, sem in (
            ("no meaning at all (words only, lexical decline rules)", base, None),
            ("no dense candidates (vectors only rerank BM25's)", Policy(dense_candidates=0), semantic),
            ("no neighbour similarity", Policy(context_weight=0.0), semantic),
            ("no sentence similarity (neighbourhood only)", Policy(similarity_weight=0.0), semantic),
            ("no lexical score in the ranking", Policy(lexical_weight=0.0), semantic),
            ("never decline (calibrated threshold 0)", Policy(answer_probability=0.0), semantic),
        ):
            out.append(score(name, sanad_system(snapshot, policy, sem), questions, snapshot))
    for name, stemmer in (("stemmer: none (normalisation only)", "none"), ("stemmer: Snowball Arabic", "snowball")):
        try:
            other = Snapshot.build(list(snapshot.documents), analyzer=partial(analyze, stemmer=stemmer))
        except ImportError:
            out.append(Scores(f"{name}: not installed"))
            continue
        out.append(score(name, sanad_system(other, base, semantic), questions, snapshot))
    for name, policy in (
        ("no spelling variants (nor clitic forms, nor transliteration)", Policy(variant_weight=0.0)),
        ("no coverage rerank (BM25 order)", Policy(coverage_weight=0.0)),
        ("no question-kind bonus", Policy(kind_bonus=0.0)),
        ("no number/time check on كم/متى", Policy(kind_required=False)),
        ("no one-letter matching of unknown words", Policy(typo_weight=0.0)),
        ("no stricter bar for guessed spellings alone", Policy(guess_coverage=0.0)),
        ("no near-synonyms (data/synonyms.txt)", Policy(synonym_weight=0.0)),
    ):
        out.append(score(name, sanad_system(snapshot, policy, semantic), questions, snapshot))
    return out
