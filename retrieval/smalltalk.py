"""Greetings, thanks and chat: messages that are not questions, so they get a friendly word, not quotes.

A message is small talk when it holds nothing but the phrases of data/smalltalk.txt («السلام عليكم»،
«شكرا جزيلا»، «كيف حالك») and filler words («يا سند»), or no word of two letters («h»). A question that
merely opens with a greeting («السلام عليكم، كم جنديا أرسلت كوريا؟») is not small talk.
"""

from __future__ import annotations

import enum
import re
from functools import lru_cache
from importlib import resources

from .arabic import normalize, words

__all__ = ["SmallTalkKind", "small_talk"]


class SmallTalkKind(enum.Enum):
    """What a message that is not a question is: the reply depends on it."""

    GREETING = "greeting"
    THANKS = "thanks"
    FAREWELL = "farewell"
    CHAT = "chat"
    TOO_SHORT = "too_short"  # no word of two letters or more: «h», «ب»


_FILLER = "filler"
_REPEATS = re.compile(r"(\D)\1{2,}")  # شكراااا → شكرا, ههههه → ه (digits are left alone: 1000)


def _words(text: str) -> tuple[str, ...]:
    """The message's words, normalised, a letter repeated three times or more counted once."""
    return tuple(normalize(_REPEATS.sub(r"\1", w)) for w in words(text))


@lru_cache(maxsize=1)
def _phrases() -> dict[tuple[str, ...], str]:
    """Each phrase of data/smalltalk.txt, as normalised words, and its kind."""
    text = resources.files("retrieval").joinpath("data", "smalltalk.txt").read_text(encoding="utf-8")
    out: dict[tuple[str, ...], str] = {}
    kind = _FILLER
    for line in (line.strip() for line in text.splitlines()):
        if line.startswith("[") and line.endswith("]"):
            kind = line[1:-1]
        elif line and not line.startswith("#"):
            out[_words(line)] = kind
    return out


def small_talk(question: str) -> SmallTalkKind | None:
    """The kind of small talk `question` is, or None when it asks something (or is empty)."""
    found = _words(question)
    if not found:
        return None
    if all(len(w) < 2 for w in found):
        return SmallTalkKind.TOO_SHORT
    phrases = _phrases()
    longest = max(map(len, phrases))
    kinds: list[str] = []
    i = 0
    while i < len(found):
        for n in range(min(longest, len(found) - i), 0, -1):  # the longest phrase that starts here
            kind = phrases.get(found[i:i + n])
            if kind is not None:
                kinds.append(kind)
                i += n
                break
        else:
            return None  # a word that is no small talk: the message asks something
    first = next((k for k in kinds if k != _FILLER), None)
    return SmallTalkKind(first) if first else None
