"""Sentence splitting for Arabic (and Latin) prose, keeping character offsets.

A sentence ends at . ؟ ! ? (or …) followed by a space, a closing quote or the end of the
paragraph. It does not end inside a number (8,000 / 2024-11-01 / 3.5), after a single-letter
abbreviation (U.S. / أ.), or inside a quotation: quoted speech stays in the sentence that
introduces it. Offsets let the answer quote the source exactly and show the neighbours.
"""

from __future__ import annotations

import re

__all__ = ["split_sentences"]

_TERMINATORS = ".؟!?…"
_OPEN_QUOTES = {"“": "”", "«": "»", "„": "“"}
_CLOSE_QUOTES = {"”", "»"}
_TRAILING = "”»\"')]"


def _is_abbreviation(text: str, dot: int) -> bool:
    """A dot right after a lone letter (U.S., أ.) is an abbreviation, not a sentence end."""
    if text[dot] != ".":
        return False
    before = text[dot - 1] if dot >= 1 else ""
    before2 = text[dot - 2] if dot >= 2 else " "
    return before.isalpha() and not before2.isalpha()


def split_sentences(text: str, start: int = 0, end: int | None = None) -> list[tuple[int, int]]:
    """Split text[start:end] into sentences; return (start, end) offsets into `text`, stripped of spaces."""
    end = len(text) if end is None else end
    spans, balanced = _split(text, start, end, quotes=True)
    if not balanced:  # a quote that never closes must not swallow the rest of the paragraph
        spans, _ = _split(text, start, end, quotes=False)
    return [s for s in (_strip(text, a, b) for a, b in spans) if s[1] > s[0]]


_EVENTS = re.compile(r'[.؟!?…“”«»„"]')


def _split(text: str, start: int, end: int, quotes: bool) -> tuple[list[tuple[int, int]], bool]:
    """One pass over the quote marks and terminators only (not every character: corpora are large)."""
    spans: list[tuple[int, int]] = []
    sentence_start = start
    open_quote: str | None = None  # the closing mark we wait for
    straight_open = False
    resume = start
    for m in _EVENTS.finditer(text, start, end):
        i = m.start()
        if i < resume:
            continue
        ch = text[i]
        if ch not in _TERMINATORS:
            if not quotes:
                continue
            if open_quote is None and ch in _OPEN_QUOTES:
                open_quote = _OPEN_QUOTES[ch]
            elif open_quote is not None and ch == open_quote:
                open_quote = None
            elif ch == '"':
                straight_open = not straight_open
            continue
        if open_quote is not None or straight_open:
            continue
        j = i + 1
        while j < end and text[j] in _TERMINATORS:
            j += 1
        while j < end and text[j] in _TRAILING:
            j += 1
        if (j >= end or text[j].isspace()) and not _is_abbreviation(text, i):
            spans.append((sentence_start, j))
            sentence_start = resume = j
    spans.append((sentence_start, end))
    return spans, open_quote is None and not straight_open


def _strip(text: str, a: int, b: int) -> tuple[int, int]:
    while a < b and text[a].isspace():
        a += 1
    while b > a and text[b - 1].isspace():
        b -= 1
    return a, b
