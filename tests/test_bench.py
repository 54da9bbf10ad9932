"""The bench on a tiny corpus: deterministic workload, the report's structure, parity figures (no timing checks)."""

import json
from collections import Counter

import pytest

from retrieval import bench


def test_workload_is_deterministic_and_shaped_as_documented():
    first = bench.make_workload(300, 20, seed=4)
    assert first == bench.make_workload(300, 20, seed=4)
    assert first != bench.make_workload(300, 20, seed=5)
    assert len(first.texts) == 300 and len(first.content_queries) == len(first.common_queries) == 20
    arabic = set(bench.ARABIC_LETTERS)
    for text in first.texts:
        words = text.split(" ")
        assert 12 <= len(words) <= 25
        assert all(word and set(word) <= arabic for word in words)
    for query in first.content_queries:
        assert 3 <= len(query.split()) <= 6


def test_common_word_queries_contain_a_word_in_most_sentences():
    work = bench.make_workload(2000, 30, seed=1)
    top_word, _ = Counter(" ".join(work.texts).split()).most_common(1)[0]
    share = sum(top_word in text.split() for text in work.texts) / len(work.texts)
    assert share > 0.5  # rank-bm25's idf floor is exercised
    common = {w for q in work.common_queries for w in q.split()} - {w for q in work.content_queries for w in q.split()}
    assert common


@pytest.fixture(scope="module")
def tiny_run():
    return bench.run_bench([2000], queries=30, sample=10, budget_s=5, startup=True, reload=True)


def test_tiny_run_reports_every_engine_with_parity(tiny_run):
    (size,) = tiny_run
    assert size.sentences == 2000
    names = [e.engine for e in size.engines]
    assert names[:2] == ["Sanad", "rank-bm25"] and "SQLite FTS5" in names and len(names) == 4
    for engine in size.engines:
        if engine.note.startswith("not installed"):
            continue
        assert engine.build_s is not None and engine.build_s >= 0
        assert engine.content_median_ms is not None and engine.content_p99_ms >= engine.content_median_ms
        assert engine.common_median_ms is not None and engine.queries_timed >= 10
    assert size.parity_queries == 20
    assert size.parity_max_rel_diff <= 1e-9
    assert size.parity_top10_identical == 1.0
    assert size.startup_s is not None and size.index_mb > 0
    assert size.reload_s is not None and size.reload_queries >= 1


def test_table_json_and_cli(tiny_run, capsys):
    table = bench.format_table(tiny_run)
    for label in ("Sanad", "rank-bm25", "SQLite FTS5", "parity vs rank-bm25", "start-up", "reload"):
        assert label in table
    assert bench.main(["--sentences", "500", "--queries", "8", "--sample", "3", "--json", "--engines", "fts5"]) == 0
    (size,) = json.loads(capsys.readouterr().out)
    assert size["sentences"] == 500
    assert [e["engine"] for e in size["engines"]] == ["Sanad", "SQLite FTS5"]
