"""The answer path's word lists, read once from data/cues.toml and normalised like the text they meet."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from functools import cache
from importlib import resources

from .arabic import normalize

__all__ = ["Cues", "cues"]


@dataclass(frozen=True, slots=True)
class Cues:
    """Every list of data/cues.toml, each normalised (see that file for what each is for)."""

    question: dict[str, tuple[str, ...]]  # kind -> cues (phrases keep their spaces)
    count_words: frozenset[str]
    number_of: frozenset[str]
    amounts_to: frozenset[str]
    generic_counts: tuple[str, ...]  # written forms: the analyser reads them
    holds: dict[str, frozenset[str]]  # kind -> words whose presence shows a sentence holds it
    titles: tuple[str, ...]
    reporting: tuple[str, ...]
    leaning: frozenset[str]


def _norm(items: list[str]) -> frozenset[str]:
    return frozenset(normalize(w) for w in items)


@cache
def cues() -> Cues:
    """The lists, loaded once per process (they ship with the package)."""
    raw = tomllib.loads(resources.files("retrieval").joinpath("data", "cues.toml").read_text(encoding="utf-8"))
    q, c, h, p = raw["question"], raw["count"], raw["holds"], raw["person"]
    return Cues(
        question={kind: tuple(" ".join(normalize(w) for w in cue.split()) for cue in items) for kind, items in q.items()},
        count_words=_norm(c["count_words"]), number_of=_norm(c["number_of"]), amounts_to=_norm(c["amounts_to"]),
        generic_counts=tuple(c["generic"]),
        holds={kind: _norm(items) for kind, items in h.items()},
        titles=tuple(p["titles"]), reporting=tuple(p["reporting"]),
        leaning=_norm(raw["extract"]["leaning"]),
    )
