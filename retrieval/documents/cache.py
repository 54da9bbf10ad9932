"""Extracted documents kept by the hash of their bytes, so that a reload (after an upload, a removal,
/reload) reads again only the PDF, Word and web files that changed: extraction costs tens of
milliseconds a page, the rest of a build far less. Capped by the characters it holds."""

from __future__ import annotations

import hashlib
from collections import OrderedDict

from .extracted import Extracted

__all__ = ["ExtractCache"]


class ExtractCache:
    """Extracted documents by key (their bytes' hash and how they were read), least recently used out first."""

    def __init__(self, max_chars: int) -> None:
        self.max_chars = max_chars
        self.chars = 0
        self._items: OrderedDict[str, tuple[Extracted, int]] = OrderedDict()

    @staticmethod
    def key(suffix: str, data: bytes, url: str | None, digest: str | None = None) -> str:
        """What an extraction depends on: the format, the bytes (their sha256, `digest` when the caller
        has it), the address a page was fetched from."""
        return f"{suffix}\0{url or ''}\0{digest or hashlib.sha256(data).hexdigest()}"

    def get(self, key: str) -> Extracted | None:
        found = self._items.get(key)
        if found is None:
            return None
        self._items.move_to_end(key)
        return found[0]

    def put(self, key: str, extracted: Extracted) -> Extracted:
        """Keep `extracted` (unless it alone is over the cap); returns it."""
        size = sum(len(b.text) for b in extracted.blocks) + 100
        if size > self.max_chars or key in self._items:
            return extracted
        self._items[key] = (extracted, size)
        self.chars += size
        while self.chars > self.max_chars:
            _, (_, dropped) = self._items.popitem(last=False)
            self.chars -= dropped
        return extracted

    def __len__(self) -> int:
        return len(self._items)
