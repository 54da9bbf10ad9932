"""Per-user sliding-window rate limits: allow, notify once, drop, recover, bounded memory."""

from __future__ import annotations

from bot.ratelimit import RateLimiter, Verdict


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_allows_up_to_limit_then_notifies_once() -> None:
    clock = Clock()
    limiter = RateLimiter(3, 60, clock=clock)
    assert [limiter.check("u") for _ in range(3)] == [Verdict.ALLOW] * 3
    assert limiter.check("u") is Verdict.NOTIFY
    assert all(limiter.check("u") is Verdict.DROP for _ in range(1000))
    assert limiter.check("other") is Verdict.ALLOW


def test_recovers_after_window_and_notifies_again_later() -> None:
    clock = Clock()
    limiter = RateLimiter(2, 60, clock=clock)
    limiter.check("u"), limiter.check("u")
    assert limiter.check("u") is Verdict.NOTIFY
    assert limiter.retry_after("u") == 60
    clock.now = 30
    assert limiter.check("u") is Verdict.DROP
    clock.now = 60
    assert limiter.check("u") is Verdict.ALLOW
    assert limiter.check("u") is Verdict.ALLOW
    assert limiter.check("u") is Verdict.NOTIFY


def test_sliding_window() -> None:
    clock = Clock()
    limiter = RateLimiter(2, 10, clock=clock)
    assert limiter.check("u") is Verdict.ALLOW
    clock.now = 5
    assert limiter.check("u") is Verdict.ALLOW
    clock.now = 9
    assert limiter.check("u") is Verdict.NOTIFY
    clock.now = 10
    assert limiter.check("u") is Verdict.ALLOW  # first hit left the window


def test_memory_is_bounded() -> None:
    limiter = RateLimiter(1, 60, max_keys=100)
    for key in range(10_000):
        limiter.check(key)
    assert len(limiter) == 100


def test_notified_says_whether_the_key_was_told_off() -> None:
    limiter = RateLimiter(1, 60.0, clock=lambda: 0.0)
    assert not limiter.notified("a")
    limiter.check("a")
    assert not limiter.notified("a")
    limiter.check("a")
    assert limiter.notified("a") and not limiter.notified("b")
