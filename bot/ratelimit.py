"""Per-key sliding-window rate limits with a single polite notice per limited stretch."""

from __future__ import annotations

import time
from collections import OrderedDict, deque
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from enum import Enum


class Verdict(Enum):
    """What to do with one event."""

    ALLOW = "allow"
    NOTIFY = "notify"  # refused; tell the user once
    DROP = "drop"  # refused silently (already told)


@dataclass
class _Window:
    """Timestamps of recent allowed events and whether the user was told off."""

    hits: deque[float] = field(default_factory=deque)
    notified: bool = False


class RateLimiter:
    """At most `limit` events per `period` seconds per key; memory bounded by `max_keys`."""

    def __init__(
        self,
        limit: int,
        period: float = 60.0,
        *,
        max_keys: int = 50_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if limit < 1 or period <= 0:
            raise ValueError("limit must be >= 1 and period > 0")
        self.limit = limit
        self.period = period
        self.max_keys = max_keys
        self._clock = clock
        self._windows: OrderedDict[Hashable, _Window] = OrderedDict()

    def check(self, key: Hashable) -> Verdict:
        """Record an attempt for key and say whether it may proceed."""
        now = self._clock()
        window = self._windows.get(key)
        if window is None:
            window = _Window()
            self._windows[key] = window
            while len(self._windows) > self.max_keys:
                self._windows.popitem(last=False)
        else:
            self._windows.move_to_end(key)
        while window.hits and now - window.hits[0] >= self.period:
            window.hits.popleft()
        if len(window.hits) < self.limit:
            window.hits.append(now)
            window.notified = False
            return Verdict.ALLOW
        if window.notified:
            return Verdict.DROP
        window.notified = True
        return Verdict.NOTIFY

    def notified(self, key: Hashable) -> bool:
        """Whether key was told off and has not been allowed an event since."""
        window = self._windows.get(key)
        return window is not None and window.notified

    def retry_after(self, key: Hashable) -> float:
        """Seconds until key may act again (0 when it may act now)."""
        window = self._windows.get(key)
        if window is None or len(window.hits) < self.limit:
            return 0.0
        return max(0.0, self.period - (self._clock() - window.hits[0]))

    def __len__(self) -> int:
        """Number of keys currently tracked."""
        return len(self._windows)
