"""Caches capped by the memory they hold, not by their number of entries.

An entry cap bounds nothing when entries can be large: 40,000 unique long questions added 319 MB to
the analysis caches, and several GB were possible. A `SizedCache` counts an estimate of the bytes of
each key and value (`sys.getsizeof`, plus the dict slot; a tuple's items are the strings of another
cache and count as references); past its budget it drops its oldest half.
Keys longer than `max_key_chars` (no word is that long: noise, or a pasted blob) are not kept at all.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from typing import TypeVar

__all__ = ["SizedCache", "sized_cache"]

V = TypeVar("V")
ENTRY_OVERHEAD = 100  # bytes of a dict slot and its hash table share, roughly
MAX_KEY_CHARS = 100
_MISSING = object()


class SizedCache(dict):
    """A dict that stays within `max_bytes` (estimated); read it like a dict, add with `put`."""

    def __init__(self, max_bytes: int, max_key_chars: int = MAX_KEY_CHARS) -> None:
        super().__init__()
        self.max_bytes = max_bytes
        self.max_key_chars = max_key_chars
        self.bytes = 0

    def put(self, key: str, value: V) -> V:
        """Keep `value` under a key not yet cached (unless it is too long to be worth it); returns `value`."""
        if len(key) > self.max_key_chars:
            return value
        self.bytes += sys.getsizeof(key) + sys.getsizeof(value) + ENTRY_OVERHEAD
        self[key] = value
        if self.bytes > self.max_bytes:
            self._drop_oldest_half()
        return value

    def clear(self) -> None:
        super().clear()
        self.bytes = 0

    def _drop_oldest_half(self) -> None:
        """Keep the newer entries that fit in half the budget (one pass, amortised over many puts)."""
        kept, total = [], 0
        for key in reversed(self):
            cost = sys.getsizeof(key) + sys.getsizeof(self[key]) + ENTRY_OVERHEAD
            if total + cost > self.max_bytes // 2:
                break
            kept.append((key, self[key]))
            total += cost
        super().clear()
        self.update(reversed(kept))
        self.bytes = total


def sized_cache(max_bytes: int) -> Callable[[Callable[[str], V]], Callable[[str], V]]:
    """Like functools.lru_cache for a one-string function, but capped in bytes; `.cache` is the SizedCache."""
    def wrap(fn: Callable[[str], V]) -> Callable[[str], V]:
        cache = SizedCache(max_bytes)
        get, put = cache.get, cache.put

        @functools.wraps(fn)
        def cached(arg: str) -> V:
            value = get(arg, _MISSING)
            return put(arg, fn(arg)) if value is _MISSING else value

        cached.cache = cache
        return cached
    return wrap
