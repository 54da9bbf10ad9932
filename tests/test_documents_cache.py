from retrieval import documents
from retrieval.documents import Block, Extracted, extract
from retrieval.documents.cache import ExtractCache
from tests.documents_corpus import FOLDER


def test_the_same_bytes_are_read_once_and_changed_bytes_again(monkeypatch):
    from retrieval.documents import pdf
    calls = []
    real = pdf.read_pdf
    monkeypatch.setattr(pdf, "read_pdf", lambda data: calls.append(len(data)) or real(data))
    monkeypatch.setattr(documents, "_CACHE", ExtractCache(max_chars=1_000_000))
    data = (FOLDER / "report.pdf").read_bytes()
    first = extract("report.pdf", data)
    assert extract("copy.pdf", data) is first and len(calls) == 1
    extract("annex.pdf", (FOLDER / "annex.pdf").read_bytes())
    assert len(calls) == 2


def test_the_cache_keeps_within_its_characters_dropping_the_least_recently_used():
    cache = ExtractCache(max_chars=350)
    one, two, three = (Extracted((Block("ن" * 50),)) for _ in range(3))
    cache.put("1", one)
    cache.put("2", two)
    assert cache.get("1") is one  # now the most recently used
    cache.put("3", three)
    assert cache.get("2") is None and cache.get("1") is one and cache.get("3") is three
    assert cache.chars <= 350
    cache.put("huge", Extracted((Block("ن" * 1000),)))
    assert cache.get("huge") is None and len(cache) == 2
