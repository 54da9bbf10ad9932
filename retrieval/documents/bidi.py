"""Arabic read from a PDF back into logical order.

PDF readers give a line's characters as they stand on the page, left to right (visual order): an
Arabic line comes out reversed letter by letter, while the numbers and Latin names inside it read
left to right as they should. Turning the line around and then turning each left-to-right run
back restores the order it was typed in. The PDF reader sorts the glyphs by their place on the page
first, so the order a file happens to draw them in never matters; a line without Arabic stays as it
is. Presentation forms (the shaped letters some PDFs carry) become plain letters by NFKC.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence

__all__ = ["to_logical"]

_RTL = re.compile(r"[\u0590-\u08ff\ufb1d-\ufdff\ufe70-\ufefc]")
_LTR = re.compile(r"[A-Za-z0-9\u00c0-\u024f\u0660-\u0669\u06f0-\u06f9]")
_MIRROR = str.maketrans("()[]{}<>«»", ")(][}{><»«")  # a bracket drawn in a right-to-left line is its twin


def _direction(item: str) -> str:
    """R for Arabic letters, L for Latin letters and digits, N for spaces and punctuation."""
    if _RTL.search(item) and not _LTR.search(item[:1]):
        return "R" if not ("\u0660" <= item[:1] <= "\u0669" or "\u06f0" <= item[:1] <= "\u06f9") else "L"
    return "L" if _LTR.search(item) else "N"


def to_logical(items: Sequence[str]) -> str:
    """A line's characters (each the text of one glyph, left to right on the page) in logical order.

    A glyph's own text (a ligature such as لا) is already in logical order and stays whole."""
    normal = [unicodedata.normalize("NFKC", item) for item in items]
    if not any(_direction(item) == "R" for item in normal):
        return "".join(normal)
    out = normal[::-1]
    kinds = [_direction(item) for item in out]
    out = [item.translate(_MIRROR) if kind == "N" else item for item, kind in zip(out, kinds)]
    i = 0
    while i < len(out):
        if kinds[i] != "L":
            i += 1
            continue
        j = last = i  # a left-to-right run: from an L to the last L before the next Arabic letter
        while j < len(out) and kinds[j] != "R":
            if kinds[j] == "L":
                last = j
            j += 1
        out[i:last + 1] = [item.translate(_MIRROR) if kinds[k] == "N" else item
                           for k, item in zip(range(last, i - 1, -1), out[i:last + 1][::-1])]
        i = last + 1
    return "".join(out)
