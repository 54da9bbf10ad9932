"""Compact, signed, validated callback data for inline buttons (Telegram allows 64 bytes)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from dataclasses import dataclass
from typing import Union

MAX_BYTES = 64
MAX_OFFSET = 60
_TAG_CHARS = 8
_ID = r"(0|[1-9][0-9]{0,17})"
_TAG = r"([A-Za-z0-9_-]{%d})" % _TAG_CHARS
_PATTERNS = {
    "m": re.compile(rf"^m:{_ID}:{_ID}:{_TAG}$"),
    "c": re.compile(rf"^c:{_ID}:{_ID}:([A-Za-z0-9_-]{{1,12}}):{_TAG}$"),
    "f": re.compile(rf"^f:{_ID}:([+-]):{_TAG}$"),
}


@dataclass(frozen=True)
class More:
    """Next page of results for a logged question."""

    question_id: int
    offset: int


@dataclass(frozen=True)
class ShowContext:
    """Paragraph around the sentence at a corpus position (valid for one corpus generation)."""

    question_id: int
    position: int
    generation: str


@dataclass(frozen=True)
class Feedback:
    """👍 (+1) or 👎 (-1) on a logged question."""

    question_id: int
    value: int


Action = Union[More, ShowContext, Feedback]


class InvalidCallback(ValueError):
    """Callback data that is malformed, forged or meant for another chat."""


class CallbackCodec:
    """Encodes actions into short strings bound to a chat by an HMAC tag, and back."""

    def __init__(self, key: bytes) -> None:
        self._key = key

    def _tag(self, chat_id: int, body: str) -> str:
        """First 48 bits of HMAC-SHA256 over the chat and the payload, base64url."""
        digest = hmac.new(self._key, f"{chat_id}|{body}".encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest[:6]).decode()

    def encode(self, chat_id: int, action: Action) -> str:
        """Callback data for this action in this chat."""
        if isinstance(action, More):
            body = f"m:{action.question_id}:{action.offset}"
        elif isinstance(action, ShowContext):
            body = f"c:{action.question_id}:{action.position}:{action.generation}"
        elif isinstance(action, Feedback):
            body = f"f:{action.question_id}:{'+' if action.value > 0 else '-'}"
        else:  # pragma: no cover - exhaustive
            raise TypeError(action)
        data = f"{body}:{self._tag(chat_id, body)}"
        if len(data.encode()) > MAX_BYTES:
            raise ValueError("callback data longer than 64 bytes")
        return data

    def decode(self, chat_id: int, data: str | None) -> Action:
        """Parse and authenticate callback data pressed in this chat."""
        if not data or len(data.encode("utf-8", "surrogatepass")) > MAX_BYTES:
            raise InvalidCallback("missing or oversized callback data")
        pattern = _PATTERNS.get(data[:1])
        match = pattern.match(data) if pattern else None
        if match is None:
            raise InvalidCallback("malformed callback data")
        body, _, tag = data.rpartition(":")
        if not hmac.compare_digest(tag, self._tag(chat_id, body)):
            raise InvalidCallback("callback data not issued for this chat")
        groups = match.groups()
        if data[0] == "m":
            offset = int(groups[1])
            if offset > MAX_OFFSET:
                raise InvalidCallback("offset out of range")
            return More(int(groups[0]), offset)
        if data[0] == "c":
            return ShowContext(int(groups[0]), int(groups[1]), groups[2])
        return Feedback(int(groups[0]), 1 if groups[1] == "+" else -1)


def generation_tag(built_at: object) -> str:
    """Short tag naming a corpus snapshot, so context buttons go stale after a reload."""
    digest = hashlib.sha256(str(built_at).encode()).digest()
    return base64.urlsafe_b64encode(digest[:6]).decode()
