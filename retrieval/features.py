"""Stage 4 of the answer path: what is measured of each candidate sentence.

BM25; coverage (the idf-weighted share of the question's terms it holds, through any expansion);
exact coverage (through the question's own spellings only); whether it holds what the question word
asks for (a number for كم, a time for متى, a named person for من); and, with sentence vectors, its
similarity in meaning to the question, alone and with its paragraph neighbours.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache

import numpy as np

from .arabic import ARTICLES, normalize, term, words
from .candidates import Candidate
from .expansion import Expansion
from .question import Kind, ParsedQuestion
from .snapshot import Snapshot
from .wordlists import cues

__all__ = ["Features", "measure", "holds"]

_YEAR = re.compile(r"\b(19|20)\d\d\b")


@dataclass(slots=True)
class Features:
    """One candidate sentence, measured."""

    position: int
    bm25: float
    coverage: float
    exact_coverage: float
    holds: bool  # holds the kind of thing the question asks for (and, for كم, the counted noun)
    terms: set[str]
    similarity: float = 0.0  # to the question in meaning (0 without vectors)
    context_similarity: float = 0.0  # mean over the sentence and its paragraph neighbours


def measure(snapshot: Snapshot, question: ParsedQuestion, expansions: list[Expansion],
            candidates: list[Candidate], similarities: np.ndarray | None = None, *,
            counted_check: bool = True) -> list[Features]:
    """The features of every candidate, in the candidates' order. With `counted_check`, a كم question's
    sentence holds a number only beside the thing it counts (كم جنديا: a number of soldiers)."""
    analyze = snapshot.index.analyzer
    total_idf = sum(e.idf for e in expansions) or 1.0
    counted = next((e for e in expansions if e.term == question.counted), None) if counted_check else None
    counted_forms = counted.forms.keys() - counted.typos if counted else set()
    out = []
    for c in candidates:
        text = snapshot.text(c.position)
        sentence_terms = set(analyze(text))
        coverage = sum(e.idf * e.covered(sentence_terms) for e in expansions) / total_idf
        exact = sum(e.idf for e in expansions if sentence_terms & e.own) / total_idf
        held = holds(question.kind, text, sentence_terms) and (counted is None or bool(sentence_terms & counted_forms))
        f = Features(c.position, c.bm25, coverage, exact, held, sentence_terms)
        if similarities is not None:
            f.similarity = float(similarities[c.position])
            around = [similarities[p] for p in (snapshot.neighbour(c.position, -1), snapshot.neighbour(c.position, 1))
                      if p is not None]
            f.context_similarity = float((similarities[c.position] * (3 - len(around)) + sum(around)) / 3)
        out.append(f)
    return out


def holds(kind: Kind | None, sentence: str, terms: set[str]) -> bool:
    """Whether a sentence (with its index terms) contains the kind of thing the question asks for."""
    if kind is None:
        return False
    if kind is Kind.QUANTITY and any(t[:1].isdigit() for t in terms):  # digits, and number words (الدول الثلاث)
        return True
    plain = [normalize(w) for w in words(sentence)]
    if kind is Kind.PERSON:
        return names_a_person(plain)
    if kind is Kind.TIME and _YEAR.search(sentence):
        return True
    return bool(set(plain) & cues().holds.get(kind.value, frozenset()))


@cache
def _person_cues() -> frozenset[str]:
    """The words after which a name may come: a title bare, with و or the article; a reporting verb, bare or with و."""
    c = cues()
    return frozenset(normalize(p + w) for w in c.titles for p in ("", "و", *ARTICLES)) | frozenset(
        normalize(p + w) for w in c.reporting for p in ("", "و"))


def names_a_person(plain: list[str]) -> bool:
    """Whether normalised words name a person after a title or a reporting verb: past the title's own
    complements (الدفاع، الكوري), the next word that is neither one with the article nor a function
    word is a name. Arabic writes no capitals; this is the cue it gives."""
    person_cues = _person_cues()
    for i, w in enumerate(plain):
        if w in person_cues:
            for after in plain[i + 1:i + 5]:
                t = term(after) if "\u0600" <= after[:1] <= "\u06ff" else None
                if t is None or t[0].isdigit():  # Latin, a digit, a function word, a number word (قال ثلاثة)
                    break
                if not after.startswith(ARTICLES):
                    return True  # past the title's complements: وزير الدفاع الأمريكي لويد ...
    return False
