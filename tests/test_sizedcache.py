"""Caches capped in bytes (issue 13.9)."""

from __future__ import annotations

from retrieval.sizedcache import SizedCache, sized_cache


def test_a_sized_cache_stays_within_its_budget_and_keeps_the_newest() -> None:
    cache = SizedCache(50_000)
    for i in range(10_000):
        cache.put(f"كلمة{i}", f"term{i}")
        assert cache.bytes <= 50_000
    assert "كلمة9999" in cache and "كلمة0" not in cache and 0 < len(cache) < 10_000


def test_keys_too_long_to_be_words_are_not_kept() -> None:
    cache = SizedCache(1 << 20)
    assert cache.put("س" * 5000, "x") == "x" and len(cache) == 0 and cache.bytes == 0


def test_sized_cache_decorator_computes_once() -> None:
    calls: list[str] = []

    @sized_cache(10_000)
    def upper(word: str) -> str:
        calls.append(word)
        return word.upper()

    assert upper("ab") == upper("ab") == "AB" and calls == ["ab"] and "ab" in upper.cache
