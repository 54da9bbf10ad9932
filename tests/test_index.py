"""Index parity with rank-bm25's BM25Okapi, exact pruning, persistence and the parallel build."""

import random
import threading

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from rank_bm25 import BM25Okapi

import retrieval.index as index_module
from retrieval.index import Hit, Index

RTOL = 1e-9


def random_corpus(rng: random.Random, sentences: int, vocabulary: int, max_len: int = 15) -> list[list[str]]:
    """Zipf-like sentences: low ids are common, so some terms are in over half the sentences."""
    words = [f"w{i}" for i in range(vocabulary)]
    weights = [1 / (i + 1) for i in range(vocabulary)]
    return [rng.choices(words, weights, k=rng.randint(0, max_len)) for _ in range(sentences)]


def expected_top(ref: np.ndarray, k: int) -> list[int]:
    """rank-bm25's ranking: score desc, position asc, positive scores only."""
    order = sorted(range(len(ref)), key=lambda i: (-ref[i], i))
    return [i for i in order[:k] if ref[i] > 0]


def assert_ranking(hits: list[Hit], ref: np.ndarray, k: int) -> None:
    """Same ranking as rank-bm25's scores; positions may only swap where scores tie to 1e-9."""
    want = expected_top(ref, k)
    assert len(hits) == len(want)
    assert len({h.position for h in hits}) == len(hits)
    for hit, wanted in zip(hits, want):
        assert hit.score == pytest.approx(ref[hit.position], rel=RTOL)
        assert ref[hit.position] == pytest.approx(ref[wanted], rel=RTOL)
    assert [(-h.score, h.position) for h in hits] == sorted((-h.score, h.position) for h in hits)


def exhaustive_top(index: Index, terms, k: int) -> list[tuple[int, float]]:
    """Top k by scoring every sentence (no pruning), via the public scores_for."""
    scores = index.scores_for(terms, np.arange(len(index)))
    order = sorted(range(len(scores)), key=lambda i: (-scores[i], i))
    return [(i, float(scores[i])) for i in order[:k] if scores[i] > 0]


# ---------------------------------------------------------------------- parity with rank-bm25


@pytest.mark.parametrize("seed", range(12))
def test_scores_and_ranking_equal_rank_bm25(seed):
    rng = random.Random(seed)
    corpus = random_corpus(rng, rng.randint(1, 300), rng.randint(2, 80))
    index = Index.from_tokens(corpus, analyzer=str.split)
    bm25 = BM25Okapi(corpus)
    vocabulary = [f"w{i}" for i in range(80)] + ["unknown"]
    for _ in range(25):
        query = [rng.choice(vocabulary) for _ in range(rng.randint(0, 7))]
        k = rng.randint(1, 20)
        ref = bm25.get_scores(query)
        np.testing.assert_allclose(index.scores_for(query, range(len(corpus))), ref, rtol=RTOL, atol=1e-300)
        assert_ranking(index.search_terms(query, k), ref, k)


@settings(max_examples=150, deadline=None)
@given(
    corpus=st.lists(st.lists(st.sampled_from("abcdefgh"), max_size=12), min_size=1, max_size=40),
    query=st.lists(st.sampled_from("abcdefghz"), max_size=6),
    k=st.integers(1, 12),
)
def test_any_small_corpus_matches_rank_bm25(corpus, query, k):
    assume(any(corpus))  # rank-bm25 itself divides by zero on a corpus without terms
    index = Index.from_tokens(corpus, analyzer=str.split)
    ref = BM25Okapi(corpus).get_scores(query)
    np.testing.assert_allclose(index.scores_for(query, range(len(corpus))), ref, rtol=RTOL, atol=1e-300)
    assert_ranking(index.search_terms(query, k), ref, k)


def test_term_stats_are_rank_bm25s_including_the_floor_for_common_terms():
    rng = random.Random(7)
    corpus = random_corpus(rng, 200, 40)
    bm25 = BM25Okapi(corpus)
    stats = Index.from_tokens(corpus, analyzer=str.split).term_stats
    common = [t for t in bm25.idf if sum(t in s for s in corpus) > len(corpus) / 2]
    assert common, "the corpus must have terms in over half the sentences"
    for term in common:
        assert stats.idf(term) == bm25.epsilon * bm25.average_idf
    for term, idf in bm25.idf.items():
        assert stats.idf(term) == idf
        assert stats.df(term) == sum(term in s for s in corpus)
    assert stats.idf("unknown") == 0.0 and stats.df("unknown") == 0
    assert stats.average_idf == bm25.average_idf
    assert stats.avgdl == bm25.avgdl
    assert stats.sentences == len(corpus)
    assert stats.doc_lengths.tolist() == bm25.doc_len
    assert stats.doc_length(3) == len(corpus[3])


def test_repeated_query_term_counts_again():
    corpus = [["a", "b"], ["a", "c", "c"], ["b", "d"], ["d", "e"], ["f"], ["g"]]
    index = Index.from_tokens(corpus, analyzer=str.split)
    once = {h.position: h.score for h in index.search_terms(["c", "b"])}
    twice = {h.position: h.score for h in index.search_terms(["c", "c", "b"])}
    ref = BM25Okapi(corpus).get_scores(["c", "c", "b"])
    assert twice[1] == pytest.approx(2 * once[1], rel=RTOL) == pytest.approx(ref[1], rel=RTOL)
    assert twice[0] == pytest.approx(once[0], rel=RTOL)


def test_unknown_terms_and_empty_queries_find_nothing():
    index = Index.from_tokens([["a", "b"], ["c"], ["d"]], analyzer=str.split)
    assert index.search_terms([]) == []
    assert index.search_terms(["zz", "yy"]) == []
    assert index.search_terms({}) == []
    assert [h.position for h in index.search_terms(["zz", "c"])] == [1]
    assert index.search_terms(["c"], k=0) == []


def test_a_term_in_exactly_half_the_sentences_has_idf_zero_and_scores_nothing():
    corpus = [["a", "b"], ["b"], ["c"], ["d"]]
    index = Index.from_tokens(corpus, analyzer=str.split)
    assert index.term_stats.idf("b") == BM25Okapi(corpus).idf["b"] == 0.0
    assert index.search_terms(["b"]) == []
    assert [h.position for h in index.search_terms(["b", "a"])] == [0]


def test_k_larger_than_the_matches_returns_only_matching_sentences():
    corpus = [["a", "b"], ["c"], ["a"], ["d"], ["e"], ["f"]]
    hits = Index.from_tokens(corpus, analyzer=str.split).search_terms(["a"], k=50)
    assert [h.position for h in hits] == [2, 0]
    assert all(h.score > 0 for h in hits)


def test_mapping_weights_multiply_each_terms_contribution():
    rng = random.Random(3)
    corpus = random_corpus(rng, 150, 30)
    index = Index.from_tokens(corpus, analyzer=str.split)
    bm25 = BM25Okapi(corpus)
    weights = {"w1": 0.3, "w5": 1.0, "w12": 2.5, "unknown": 4.0}
    ref = sum(w * bm25.get_scores([t]) for t, w in weights.items())
    np.testing.assert_allclose(index.scores_for(weights, range(len(corpus))), ref, rtol=RTOL)
    assert_ranking(index.search_terms(weights, 10), ref, 10)
    # weight = count generalises the list form
    np.testing.assert_allclose(
        index.scores_for({"w1": 2, "w3": 1}, range(len(corpus))),
        bm25.get_scores(["w1", "w3", "w1"]),
        rtol=RTOL,
    )


def test_negative_idf_floor_scores_like_rank_bm25_and_only_positive_hits_are_returned():
    # Most terms are in over half the sentences, so average_idf and the floor are negative.
    corpus = [["a", "b"]] * 9 + [["a", "c"]]
    bm25 = BM25Okapi(corpus)
    assert bm25.average_idf < 0
    index = Index.from_tokens(corpus, analyzer=str.split)
    for query in (["a"], ["a", "c"], ["b", "c"], ["c", "c", "a"]):
        ref = bm25.get_scores(query)
        np.testing.assert_allclose(index.scores_for(query, range(len(corpus))), ref, rtol=RTOL)
        assert_ranking(index.search_terms(query, 5), ref, 5)
    assert index.search_terms(["a", "b"]) == []


def test_scores_for_keeps_the_order_and_duplicates_of_positions():
    corpus = [["a"], ["b", "a"], ["c"], ["a", "a"]]
    index = Index.from_tokens(corpus, analyzer=str.split)
    ref = BM25Okapi(corpus).get_scores(["a"])
    positions = [3, 0, 3, 2]
    np.testing.assert_allclose(index.scores_for(["a"], positions), ref[positions], rtol=RTOL)


def test_a_string_is_not_taken_for_a_list_of_terms():
    index = Index.from_tokens([["a"]], analyzer=str.split)
    with pytest.raises(TypeError):
        index.search_terms("a")


# ---------------------------------------------------------------------- pruning is exact


@pytest.mark.parametrize("dense_union", [index_module.DENSE_UNION_DIVISOR, 0])
@pytest.mark.parametrize("short_postings", [1, 64, index_module.SHORT_POSTINGS])
@pytest.mark.parametrize("seed", range(2))
def test_pruned_top_k_equals_exhaustive_scoring(seed, short_postings, dense_union, monkeypatch):
    # SHORT_POSTINGS=1 makes every term after the first go through the pruning steps;
    # DENSE_UNION_DIVISOR=0 keeps every list on the merge path.
    monkeypatch.setattr(index_module, "SHORT_POSTINGS", short_postings)
    monkeypatch.setattr(index_module, "DENSE_UNION_DIVISOR", dense_union)
    rng = random.Random(100 + seed)
    corpus = random_corpus(rng, 4000, 2000, max_len=20)
    index = Index.from_tokens(corpus, analyzer=str.split)
    assert (index._postings.dense_row >= 0).any()  # both lookup paths are exercised
    common = [f"w{i}" for i in range(10)]
    content = [f"w{i}" for i in range(10, 2000)]
    for _ in range(60):
        query = rng.sample(content, rng.randint(1, 6)) + rng.sample(common, rng.randint(0, 3))
        if rng.random() < 0.3:
            query = {t: rng.choice([0.25, 0.5, 1.0, 2.0]) for t in query}
        k = rng.choice([1, 3, 10, 50])
        hits = index.search_terms(query, k)
        want = exhaustive_top(index, query, k)
        assert [h.position for h in hits] == [p for p, _ in want]
        np.testing.assert_allclose([h.score for h in hits], [s for _, s in want], rtol=1e-12)


@pytest.mark.parametrize("dense_union", [index_module.DENSE_UNION_DIVISOR, 0])
def test_pruning_is_exact_for_answer_searches_with_many_light_variant_terms(dense_union, monkeypatch):
    # The answer layer's shape: a very common term, a few content terms, and rare spelling
    # variants at half weight (which the term order puts before the common term).
    monkeypatch.setattr(index_module, "DENSE_UNION_DIVISOR", dense_union)
    rng = random.Random(8)
    corpus = random_corpus(rng, 4000, 2000, max_len=20)
    index = Index.from_tokens(corpus, analyzer=str.split)
    rare = [f"w{i}" for i in range(1000, 2000)]
    for _ in range(40):
        query = {"w0": 1.0, **{t: 1.0 for t in rng.sample(rare, 2)}, **{t: 0.5 for t in rng.sample(rare, 7)}}
        k = rng.choice([10, 60])
        hits = index.search_terms(query, k)
        want = exhaustive_top(index, query, k)
        assert [h.position for h in hits] == [p for p, _ in want]
        np.testing.assert_allclose([h.score for h in hits], [s for _, s in want], rtol=1e-12)


@pytest.mark.parametrize("dense_union", [index_module.DENSE_UNION_DIVISOR, 0])
def test_pruning_is_exact_when_every_term_brings_candidates(dense_union, monkeypatch):
    # Mid-frequency terms with a small k: theta is positive from the first term on and
    # later terms are still essential, so the filters on unseen postings decide.
    monkeypatch.setattr(index_module, "SHORT_POSTINGS", 1)
    monkeypatch.setattr(index_module, "DENSE_UNION_DIVISOR", dense_union)
    rng = random.Random(21)
    corpus = random_corpus(rng, 3000, 300)
    index = Index.from_tokens(corpus, analyzer=str.split)
    mid = [f"w{i}" for i in range(8, 60)]
    for _ in range(300):
        query = rng.sample(mid, rng.randint(3, 8))
        k = rng.choice([3, 10, 30])
        hits = index.search_terms(query, k)
        want = exhaustive_top(index, query, k)
        assert [h.position for h in hits] == [p for p, _ in want]


@pytest.mark.parametrize("dense_union", [index_module.DENSE_UNION_DIVISOR, 0])
@pytest.mark.parametrize("short_postings", [1, index_module.SHORT_POSTINGS])
def test_pruning_holds_for_queries_of_common_words_only(short_postings, dense_union, monkeypatch):
    monkeypatch.setattr(index_module, "SHORT_POSTINGS", short_postings)
    monkeypatch.setattr(index_module, "DENSE_UNION_DIVISOR", dense_union)
    rng = random.Random(5)
    corpus = random_corpus(rng, 3000, 300)
    index = Index.from_tokens(corpus, analyzer=str.split)
    for query in (["w0"], ["w0", "w1"], ["w2", "w0", "w3", "w1"], ["w0", "w0", "w4"]):
        hits = index.search_terms(query, 10)
        assert [(h.position, pytest.approx(h.score, rel=1e-12)) for h in hits] == exhaustive_top(index, query, 10)


# ---------------------------------------------------------------------- building and persistence


def test_build_analyses_texts_and_search_analyses_the_question():
    texts = ["The cat sat", "a dog", "CAT and dog"]
    index = Index.build(texts, analyzer=lambda text: text.lower().split())
    assert [h.position for h in index.search("Cat!".rstrip("!"))] == [0, 2]
    assert index.search("unknown words") == []
    assert "cat" in index.vocabulary


def test_parallel_build_equals_single_process_build(monkeypatch):
    rng = random.Random(11)
    texts = [" ".join(s) for s in random_corpus(rng, 700, 300)]
    single = Index.build(texts, analyzer=str.split)
    monkeypatch.setattr(index_module, "PARALLEL_MIN_TEXTS", 100)
    monkeypatch.setattr(index_module, "CHUNK_TEXTS", 64)
    pools = []

    class RecordingPool(index_module.ProcessPoolExecutor):
        def __init__(self, *args, **kwargs):
            pools.append(self)
            super().__init__(*args, **kwargs)

    monkeypatch.setattr(index_module, "ProcessPoolExecutor", RecordingPool)
    parallel = Index.build(texts, analyzer=str.split, progress=True)
    assert len(pools) == 1  # the worker processes were used
    assert parallel.to_bytes() == single.to_bytes()
    assert list(parallel.vocabulary) == list(single.vocabulary)


def test_a_build_beside_other_threads_spawns_its_workers(monkeypatch):
    monkeypatch.setattr(index_module, "PARALLEL_MIN_TEXTS", 10)
    monkeypatch.setattr(index_module, "CHUNK_TEXTS", 20)
    methods = []
    real_context = index_module.multiprocessing.get_context
    monkeypatch.setattr(index_module.multiprocessing, "get_context", lambda m: methods.append(m) or real_context(m))
    texts = [f"w{i % 7} w{i % 3}" for i in range(50)]
    results = []
    thread = threading.Thread(target=lambda: results.append(Index.build(texts, analyzer=str.split)))
    thread.start()
    thread.join()
    assert methods == ["spawn"]
    assert results[0].to_bytes() == Index.build(texts, analyzer=str.split, workers=1).to_bytes()


def test_a_broken_worker_pool_falls_back_to_analysing_in_process(monkeypatch):
    class BrokenPool:
        def __init__(self, *args, **kwargs):
            pass

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

        def map(self, *args):
            raise index_module.BrokenProcessPool("cannot start workers")

    monkeypatch.setattr(index_module, "PARALLEL_MIN_TEXTS", 10)
    monkeypatch.setattr(index_module, "ProcessPoolExecutor", BrokenPool)
    texts = [f"w{i % 7} w{i % 3}" for i in range(50)]
    built = Index.build(texts, analyzer=str.split, progress=True)
    assert built.to_bytes() == Index.build(texts, analyzer=str.split, workers=1).to_bytes()


def test_from_tokens_equals_build_on_the_joined_texts():
    rng = random.Random(12)
    corpus = random_corpus(rng, 200, 60)
    built = Index.build([" ".join(s) for s in corpus], analyzer=str.split)
    assert Index.from_tokens(corpus, analyzer=str.split).to_bytes() == built.to_bytes()


def test_bytes_round_trip_gives_identical_results():
    rng = random.Random(13)
    corpus = random_corpus(rng, 1500, 400)
    index = Index.from_tokens(corpus, analyzer=str.split)
    loaded = Index.from_bytes(index.to_bytes(), analyzer=str.split)
    assert list(loaded.vocabulary) == list(index.vocabulary)
    assert len(loaded) == len(index)
    for name in ("sentences", "avgdl", "average_idf"):
        assert getattr(loaded.term_stats, name) == getattr(index.term_stats, name)
    assert np.array_equal(loaded.term_stats.idf_values, index.term_stats.idf_values)
    assert np.array_equal(loaded.term_stats.doc_lengths, index.term_stats.doc_lengths)
    for _ in range(40):
        query = [f"w{rng.randrange(400)}" for _ in range(rng.randint(1, 6))]
        assert loaded.search_terms(query, 10) == index.search_terms(query, 10)
        assert loaded.search(" ".join(query)) == index.search(" ".join(query))
    assert loaded.to_bytes() == index.to_bytes()


def test_from_bytes_rejects_other_data():
    with pytest.raises(Exception):
        Index.from_bytes(b"not an index", analyzer=str.split)


def test_empty_corpora():
    for corpus in ([], [[], []]):
        index = Index.from_tokens(corpus, analyzer=str.split)
        assert len(index) == len(corpus)
        assert index.search_terms(["a"]) == []
        assert Index.from_bytes(index.to_bytes(), analyzer=str.split).search_terms(["a"]) == []


def test_arrays_are_read_only():
    index = Index.from_tokens([["a", "b"], ["b"]], analyzer=str.split)
    with pytest.raises(ValueError):
        index.term_stats.idf_values[0] = 1.0
