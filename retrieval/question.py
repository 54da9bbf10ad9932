"""Stage 1 of the answer path: a question read once — its terms, what it asks for, what it counts."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum

from .arabic import normalize, words
from .wordlists import cues

__all__ = ["Kind", "ParsedQuestion", "parse", "question_kind", "counted_noun"]


class Kind(str, Enum):
    """What a question word asks for."""

    QUANTITY = "quantity"
    TIME = "time"
    PLACE = "place"
    PERSON = "person"
    REASON = "reason"


CHECKABLE = (Kind.QUANTITY, Kind.TIME)  # kinds a sentence can be checked for without understanding it


@dataclass(frozen=True, slots=True)
class ParsedQuestion:
    """The question as written, its index terms, its kind (or None) and, for كم, the counted noun's term."""

    text: str
    terms: tuple[str, ...]
    kind: Kind | None
    counted: str | None


def parse(question: str, analyze: Callable[[str], list[str]]) -> ParsedQuestion:
    """Read the question once; every later stage works from this."""
    text = question.strip()
    kind = question_kind(text)
    counted = counted_noun(text, analyze) if kind is Kind.QUANTITY else None
    return ParsedQuestion(text, tuple(analyze(text)), kind, counted)


def question_kind(question: str) -> Kind | None:
    """What the question word asks for: quantity, time, place, person, reason, or None."""
    plain = [normalize(w) for w in words(question)]
    text = f" {' '.join(plain)} "
    for kind, found in cues().question.items():
        for cue in found:
            if (" " in cue and f" {cue} " in text) or cue in plain[:3]:
                return Kind(kind)
    return None


def counted_noun(question: str, analyze: Callable[[str], list[str]]) -> str | None:
    """The term of what a كم question counts, where Arabic grammar marks it: the noun after عدد
    (كم عدد السياح → سياح), the singular accusative right after كم (كم جنديا، كم دولة), or the
    subject of "amounts to" (كم تبلغ تكلفة البناء → تكلفة). None for other questions and when another
    verb follows كم (كم تدوم الزيارة): then the noun cannot be told."""
    c = cues()
    written = words(question)
    plain = [normalize(w) for w in written]
    start = next((i + 1 for i, w in enumerate(plain) if w in c.count_words), None)
    if start is None:
        return None
    amounts = start < len(plain) and plain[start] in c.amounts_to
    start += amounts
    number_of = next((i for i in range(start, min(start + 3, len(plain))) if plain[i] in c.number_of), None)
    if number_of is not None:
        noun = written[number_of + 1:number_of + 2]
    elif amounts:
        noun = written[start:start + 1]
    else:  # an accusative ends in ا or ة; a plural verb in وا (كم أنفقوا) does not count a noun
        after = plain[start] if start < len(plain) else ""
        noun = written[start:start + 1] if after[-1:] in ("ا", "ه") and not after.endswith("وا") else []
    terms = analyze(noun[0]) if noun else []
    generic = {t for w in c.generic_counts for t in analyze(w)}
    return terms[0] if terms and terms[0] not in generic else None
