"""BM25 over sentences: rank-bm25's BM25Okapi numbers, served by a pruned inverted index.

rank-bm25 computes the corpus statistics (idf with its epsilon floor, average length);
this module stores every posting's BM25 contribution in CSR numpy arrays and answers
top-k queries with MaxScore pruning, which is exact: it only skips sentences that
provably cannot reach the k-th best score.
"""

from __future__ import annotations

import io
import math
import multiprocessing
import os
import tempfile
import threading
from array import array
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from typing import BinaryIO

import numpy as np
from rank_bm25 import BM25Okapi

from .childproc import die_with_parent

Analyzer = Callable[[str], list[str]]
Terms = Sequence[str] | Mapping[str, float]

K1 = 1.5
B = 0.75
EPSILON = 0.25

FORMAT_VERSION = 1
PARALLEL_MIN_TEXTS = 50_000  # below this, starting worker processes costs more than it saves
CHUNK_TEXTS = 20_000
WORKERS = 2
SHORT_POSTINGS = 16384  # the first (rarest) terms are summed at once up to this many postings
DENSE_DIVISOR = 16  # terms in >= 1/16 of the sentences get a dense tf row
DENSE_UNION_DIVISOR = 16  # merging lists this long (vs sentences) goes through dense arrays


@dataclass(frozen=True, slots=True)
class Hit:
    """One search result: `position` indexes the texts given to `Index.build`."""

    position: int
    score: float


@dataclass(frozen=True, slots=True)
class TermStats:
    """Corpus statistics the answer layer needs (no-answer decision, variant expansion)."""

    term_ids: Mapping[str, int]
    idf_values: np.ndarray  # float64, per term id; rank-bm25's idf incl. the epsilon floor
    doc_freqs: np.ndarray  # int64, per term id: sentences containing the term
    doc_lengths: np.ndarray  # int32, per position: number of terms in the sentence
    sentences: int
    avgdl: float
    average_idf: float  # rank-bm25's mean idf before flooring; floor = epsilon * average_idf

    def idf(self, term: str) -> float:
        """rank-bm25's idf of `term`; 0.0 for a term not in the corpus (as `get_scores` does)."""
        tid = self.term_ids.get(term)
        return 0.0 if tid is None else float(self.idf_values[tid])

    def df(self, term: str) -> int:
        """Number of sentences containing `term`."""
        tid = self.term_ids.get(term)
        return 0 if tid is None else int(self.doc_freqs[tid])

    def doc_length(self, position: int) -> int:
        """Number of analysed terms in the sentence at `position`."""
        return int(self.doc_lengths[position])


@dataclass(frozen=True, slots=True)
class Postings:
    """The inverted index in CSR form: term id -> sorted positions and their BM25 contributions.

    `weights[p]` is idf x tf(k1+1)/(tf + norm) for posting p, precomputed in float64 with
    the expression rank-bm25's `get_scores` uses, so sums equal its scores. Terms in at
    least 1/DENSE_DIVISOR of the sentences also get a dense row of tf (uint8) so that
    looking candidates up in them is a gather rather than a binary search.
    """

    indptr: np.ndarray  # int64, len V+1
    docs: np.ndarray  # int32, positions, sorted within each term
    weights: np.ndarray  # float64, per posting
    max_weight: np.ndarray  # float64, per term: its largest contribution (MaxScore bound)
    idf: np.ndarray  # float64, per term
    norm: np.ndarray  # float64, per position: k1 * (1 - b + b * dl / avgdl)
    dense_row: np.ndarray  # int32, per term: row in dense_tf or -1
    dense_tf: np.ndarray  # uint8, (dense terms, sentences)

    def of(self, tid: int) -> tuple[np.ndarray, np.ndarray]:
        """Positions and contributions of term `tid`."""
        start, end = self.indptr[tid], self.indptr[tid + 1]
        return self.docs[start:end], self.weights[start:end]

    def length(self, tid: int) -> int:
        """Number of sentences containing term `tid`."""
        return int(self.indptr[tid + 1] - self.indptr[tid])

    def add_to(self, scores: np.ndarray, docs: np.ndarray, tid: int, weight: float) -> None:
        """scores[i] += weight x contribution of term `tid` to sentence docs[i] (docs sorted)."""
        row = self.dense_row[tid]
        if row >= 0:
            tf = self.dense_tf[row, docs]
            hit = np.flatnonzero(tf)
            tf = tf[hit].astype(np.float64)
            scores[hit] += weight * (self.idf[tid] * (tf * (K1 + 1) / (tf + self.norm[docs[hit]])))
            return
        t_docs, t_w = self.of(tid)
        in_docs, in_term = _match(docs, t_docs)
        scores[in_docs] += weight * t_w[in_term]


def _match(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Indices (ia, ib) with a[ia] == b[ib], for sorted arrays of unique positions.

    Binary search of the shorter in the longer when they differ much in size; otherwise
    a merge (a stable sort of the two sorted runs, which timsort does in one pass).
    """
    n, m = len(a), len(b)
    if n == 0 or m == 0:
        return np.zeros(0, np.intp), np.zeros(0, np.intp)
    if n * math.log2(m + 1) <= 2 * (n + m) or m * math.log2(n + 1) <= 2 * (n + m):
        if n <= m:
            at = np.searchsorted(b, a)
            at[at == m] = 0
            ia = np.flatnonzero(b[at] == a)
            return ia, at[ia]
        at = np.searchsorted(a, b)
        at[at == n] = 0
        ib = np.flatnonzero(a[at] == b)
        return at[ib], ib
    both = np.concatenate((a, b))
    order = np.argsort(both, kind="stable")  # equal pairs: a's element first
    pair = np.flatnonzero(both[order[1:]] == both[order[:-1]])
    return order[pair], order[pair + 1] - n


class Index:
    """An immutable BM25Okapi index over analysed sentences; build it with `build`,
    `from_tokens` or `from_bytes`, never with the constructor directly."""

    __slots__ = ("analyzer", "term_stats", "_terms", "_postings")

    def __init__(self, analyzer: Analyzer, terms: list[str], postings: Postings, stats: TermStats) -> None:
        self.analyzer = analyzer
        self.term_stats = stats
        self._terms = tuple(terms)
        self._postings = postings
        for arr in (*(getattr(postings, f) for f in Postings.__slots__), stats.idf_values, stats.doc_freqs):
            arr.flags.writeable = False
        stats.doc_lengths.flags.writeable = False

    # ------------------------------------------------------------------ building

    @classmethod
    def build(
        cls, texts: Sequence[str], analyzer: Analyzer | None = None, *, progress: bool = False, workers: int = WORKERS
    ) -> Index:
        """Analyse `texts` (in `workers` processes above PARALLEL_MIN_TEXTS) and index them.

        Workers are forked from a single-threaded process. Beside other threads (a reload
        next to a serving loop) forking is unsafe, so they are spawned; should spawning
        fail (it re-imports __main__, which an unguarded script cannot survive), the
        analysis runs in-process instead.
        """
        analyzer = analyzer or _default_analyzer()
        chunks = [texts[i : i + CHUNK_TEXTS] for i in range(0, len(texts), CHUNK_TEXTS)]
        start_method = "fork" if threading.active_count() == 1 else "spawn"  # before tqdm's thread
        parallel = len(texts) >= PARALLEL_MIN_TEXTS and workers > 1 and (os.cpu_count() or 1) > 1
        bar = _progress_bar(len(texts), "analysing") if progress else None
        encoded = None
        if parallel and _picklable(analyzer):
            try:
                context = multiprocessing.get_context(start_method)
                with ProcessPoolExecutor(workers, mp_context=context, initializer=die_with_parent,
                                         initargs=(os.getpid(),)) as pool:  # no orphans if we are killed
                    encoded = _merge(pool.map(_analyze_chunk, [analyzer] * len(chunks), chunks), bar)
            except BrokenProcessPool:
                if bar is not None:
                    bar.reset()
        if encoded is None:
            encoded = _merge((_analyze_chunk(analyzer, chunk) for chunk in chunks), bar)
        if bar is not None:
            bar.close()
        return cls._from_encoded(analyzer, *encoded)

    @classmethod
    def from_tokens(cls, token_lists: Iterable[list[str]], analyzer: Analyzer | None = None) -> Index:
        """Index sentences that are already analysed; `analyzer` is kept for questions."""
        analyzer = analyzer or _default_analyzer()
        return cls._from_encoded(analyzer, *_merge([_encode(token_lists)], None))

    @classmethod
    def _from_encoded(cls, analyzer: Analyzer, terms: list[str], ids: np.ndarray, lengths: np.ndarray) -> Index:
        """Turn term ids (one per token, sentence after sentence) into the CSR postings."""
        n = len(lengths)
        v = len(terms)
        keys = _position_of_token(lengths, len(ids))
        keys += ids.astype(np.int64) * max(n, 1)
        keys.sort()
        starts = np.flatnonzero(np.diff(keys)) + 1 if len(keys) else np.zeros(0, np.int64)
        starts = np.concatenate(([0], starts)) if len(keys) else starts
        tf = np.diff(np.append(starts, len(keys))).astype(np.float64)
        keys = keys[starts]
        term_of_posting = keys // max(n, 1)
        docs = (keys - term_of_posting * max(n, 1)).astype(np.int32)
        del keys, starts
        doc_freqs = np.bincount(term_of_posting, minlength=v).astype(np.int64)
        indptr = np.zeros(v + 1, np.int64)
        np.cumsum(doc_freqs, out=indptr[1:])

        avgdl = int(lengths.sum()) / n if n else 0.0
        idf, average_idf = _rank_bm25_idf(terms, doc_freqs, n, avgdl)
        norm = _norm(lengths, avgdl) if v else np.zeros(n)
        # The same float64 expression, in the same order, as BM25Okapi.get_scores.
        weights = tf * (K1 + 1)
        weights /= tf + norm[docs]
        weights = idf[term_of_posting] * weights
        del term_of_posting
        max_weight = np.maximum.reduceat(weights, indptr[:-1]) if v else np.zeros(0)
        max_tf = np.maximum.reduceat(tf, indptr[:-1]) if v else np.zeros(0)
        dense_terms = np.flatnonzero((doc_freqs * DENSE_DIVISOR >= n) & (max_tf <= 255))
        dense_row = np.full(v, -1, np.int32)
        dense_row[dense_terms] = np.arange(len(dense_terms), dtype=np.int32)
        dense_tf = np.zeros((len(dense_terms), n), np.uint8)
        for row, tid in enumerate(dense_terms.tolist()):
            start, end = indptr[tid], indptr[tid + 1]
            dense_tf[row, docs[start:end]] = tf[start:end]
        postings = Postings(indptr, docs, weights, max_weight, idf, norm, dense_row, dense_tf)
        stats = TermStats(dict(zip(terms, range(v))), idf, doc_freqs, lengths.astype(np.int32), n, avgdl, average_idf)
        return cls(analyzer, terms, postings, stats)

    # ------------------------------------------------------------------ persistence

    def to_bytes(self) -> bytes:
        """Serialise as an uncompressed npz of numeric arrays (no pickle), for SQLite."""
        if any("\0" in term for term in self._terms):
            raise ValueError("a term contains NUL, which the vocabulary encoding reserves")
        vocab = np.frombuffer("\0".join(self._terms).encode("utf-8"), dtype=np.uint8)
        s, p = self.term_stats, self._postings
        params = np.array([FORMAT_VERSION, K1, B, EPSILON, s.avgdl, s.average_idf, len(self._terms)], np.float64)
        # Through a temporary file rather than BytesIO: growing a BytesIO copies hundreds of
        # MB while holding the GIL, which would stall a serving event loop for ~0.2 s.
        with tempfile.TemporaryFile() as out:
            np.savez(
                out,
                params=params,
                vocab=vocab,
                doc_lengths=s.doc_lengths,
                **{name: getattr(p, name) for name in Postings.__slots__ if name != "norm"},
            )
            out.seek(0)
            return out.read()

    @classmethod
    def from_bytes(cls, blob: bytes | BinaryIO, analyzer: Analyzer | None = None) -> Index:
        """Load an index written by `to_bytes` (the bytes, or a file holding them) without re-analysing."""
        analyzer = analyzer or _default_analyzer()
        with np.load(blob if hasattr(blob, "read") else io.BytesIO(blob), allow_pickle=False) as z:
            a = {name: z[name] for name in z.files}
        version, k1, b, epsilon, avgdl, average_idf, v = a["params"].tolist()
        if (int(version), k1, b, epsilon) != (FORMAT_VERSION, K1, B, EPSILON):
            raise ValueError(f"unsupported index format {a['params'][:4].tolist()}")
        terms = a["vocab"].tobytes().decode("utf-8").split("\0") if int(v) else []
        lengths = a["doc_lengths"]
        norm = _norm(lengths, avgdl) if terms else np.zeros(len(lengths))
        postings = Postings(norm=norm, **{name: a[name] for name in Postings.__slots__ if name != "norm"})
        term_ids = dict(zip(terms, range(len(terms))))
        stats = TermStats(term_ids, a["idf"], np.diff(a["indptr"]), lengths, len(lengths), avgdl, average_idf)
        return cls(analyzer, terms, postings, stats)

    # ------------------------------------------------------------------ querying

    def __len__(self) -> int:
        return self.term_stats.sentences

    @property
    def vocabulary(self) -> Sequence[str]:
        """Every indexed term, in term-id order (first occurrence in the corpus)."""
        return self._terms

    def search(self, question: str, k: int = 10) -> list[Hit]:
        """Analyse `question` with the index's analyzer and return the top `k` sentences."""
        return self.search_terms(self.analyzer(question), k)

    def search_terms(self, terms: Terms, k: int = 10) -> list[Hit]:
        """Top `k` sentences by BM25 (score desc, position asc), only scores > 0.

        A list scores like rank-bm25's `get_scores(terms)` (a repeated term counts again);
        a mapping multiplies each term's contribution by its weight.
        """
        ids, weights = self._resolve(terms)
        if k <= 0 or not ids:
            return []
        if any(w * self.term_stats.idf_values[t] < 0 for t, w in zip(ids, weights)):
            # Negative contributions break MaxScore's upper bounds: score every posting.
            docs, scores = self._score_all(ids, weights)
        else:
            docs, scores = self._max_score(ids, weights, k)
        return _top(docs, scores, k)

    def scores_for(self, terms: Terms, positions: Sequence[int] | np.ndarray) -> np.ndarray:
        """Exact BM25 scores of the sentences at `positions` (float64, same order)."""
        unique, inverse = np.unique(np.asarray(positions, dtype=np.int64), return_inverse=True)
        scores = np.zeros(len(unique))
        for tid, weight in zip(*self._resolve(terms)):
            self._postings.add_to(scores, unique, tid, weight)
        return scores[inverse.reshape(-1)]

    def _resolve(self, terms: Terms) -> tuple[list[int], list[float]]:
        """Known terms with their weights (a list's repeated term gets weight = count)."""
        if isinstance(terms, str):
            raise TypeError("pass a list of terms (or use search() for a question string)")
        if isinstance(terms, Mapping):
            items = terms.items()
        else:
            counts: dict[str, int] = {}
            for term in terms:
                counts[term] = counts.get(term, 0) + 1
            items = counts.items()
        ids, weights = [], []
        for term, weight in items:
            tid = self.term_stats.term_ids.get(term)
            if tid is not None and weight:
                ids.append(tid)
                weights.append(float(weight))
        return ids, weights

    def _score_all(self, ids: list[int], weights: list[float]) -> tuple[np.ndarray, np.ndarray]:
        """Exhaustive term-at-a-time scoring into a dense array."""
        scores = np.zeros(len(self))
        for tid, weight in zip(ids, weights):
            docs, w = self._postings.of(tid)
            scores[docs] += weight * w
        docs = np.flatnonzero(scores)
        return docs, scores[docs]

    def _max_score(self, ids: list[int], weights: list[float], k: int) -> tuple[np.ndarray, np.ndarray]:
        """Candidates that surely include the exact top k, with exact scores (MaxScore).

        Terms go from the shortest posting list to the longest (ties: larger upper bound,
        weight x largest contribution, first), so a very common term comes last, when the
        bounds still to come are its own alone. (By bound, several rare terms of small
        weight, spelling variants, would follow it and keep its 800k postings from being
        pruned: 25 ms against 0.9 ms.) Any order is exact; this one prunes most.
        The first terms' short lists are summed at once into candidates with partial
        scores. `theta`, the k-th best partial score, is a lower bound of the final k-th
        best score: a later term whose bound plus the bounds after it reaches theta may
        still bring in new sentences, so its postings are merged into the candidates;
        any other term is only looked up for the candidates (a gather for very common
        terms, a binary search or merge otherwise). A candidate whose partial score
        plus the bounds of the terms still to come is below theta is dropped. All
        contributions are >= 0 here, so a partial score never exceeds the true one and
        nothing that could reach the top k is ever dropped: the pruning is exact.
        """
        p = self._postings
        bounds = [w * float(p.max_weight[t]) for t, w in zip(ids, weights)]
        order = sorted(range(len(ids)), key=lambda i: (p.length(ids[i]), -bounds[i]))
        # rest[s]: the most that terms order[s:] can add to any sentence
        rest = np.cumsum([bounds[i] for i in order][::-1])[::-1].tolist() + [0.0]
        first, taken = 1, p.length(ids[order[0]])
        while first < len(order) and taken + p.length(ids[order[first]]) <= SHORT_POSTINGS:
            taken += p.length(ids[order[first]])
            first += 1
        lists = [p.of(ids[i]) for i in order[:first]]
        cand, partial = _sum_by_position([d for d, _ in lists], [weights[i] * w for (_, w), i in zip(lists, order)])
        theta = 0.0
        for step in range(first, len(order) + 1):
            if len(partial) >= k:
                theta = max(theta, _kth_largest(partial, k))
            cut = theta * (1 - 1e-12)  # float slack: sums in another order differ by ulps
            if theta > 0:
                keep = partial >= cut - rest[step]
                if not keep.all():
                    cand, partial = cand[keep], partial[keep]
            if step == len(order) or rest[step] <= 0:
                break
            i = order[step]
            if theta > 0 and rest[step] < cut:
                p.add_to(partial, cand, ids[i], weights[i])
                continue
            docs, w = p.of(ids[i])
            w = weights[i] * w  # a fresh array; postings are read-only
            # A sentence not seen so far has none of the earlier terms: w + rest bounds it.
            floor = cut - rest[step + 1] if theta > 0 else -math.inf
            if (len(cand) + len(docs)) * DENSE_UNION_DIVISOR >= len(self):
                cand, partial = _union_dense(len(self), cand, partial, docs, w, floor)
                continue
            in_cand, in_term = _match(cand, docs)
            partial[in_cand] += w[in_term]
            if len(in_cand) and len(partial) >= k:  # sentences with this term too raise theta
                theta = max(theta, _kth_largest(partial, k))
                floor = theta * (1 - 1e-12) - rest[step + 1]
            fresh = w >= floor
            fresh[in_term] = False
            if fresh.any():
                cand, partial = _sum_by_position([cand, docs[fresh]], [partial, w[fresh]])
        return cand, partial


def _union_dense(
    n: int, cand: np.ndarray, partial: np.ndarray, docs: np.ndarray, w: np.ndarray, floor: float
) -> tuple[np.ndarray, np.ndarray]:
    """Add a term's contributions to the candidates and admit its new postings with w >= floor.

    Through arrays over all sentences: for lists this long, cheaper than sorting them together.
    """
    present = np.zeros(n, np.bool_)
    present[cand] = True
    scores = np.zeros(n)
    scores[cand] = partial
    take = present[docs] | (w >= floor)
    docs = docs[take]
    scores[docs] += w[take]
    present[docs] = True
    cand = np.flatnonzero(present)
    return cand.astype(np.int32), scores[cand]


def _sum_by_position(doc_lists: list[np.ndarray], weight_lists: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Union of sorted position lists with the weights summed per position, in list order."""
    if len(doc_lists) == 1:
        return doc_lists[0], weight_lists[0]
    docs = np.concatenate(doc_lists)
    order = np.argsort(docs, kind="stable")  # timsort: one merge pass over sorted runs
    docs, weights = docs[order], np.concatenate(weight_lists)[order]
    starts = np.flatnonzero(np.concatenate(([True], docs[1:] != docs[:-1])))
    if len(starts) == len(docs):
        return docs, weights
    return docs[starts], np.add.reduceat(weights, starts)


def _kth_largest(values: np.ndarray, k: int) -> float:
    return float(np.partition(values, len(values) - k)[len(values) - k])


def _top(docs: np.ndarray, scores: np.ndarray, k: int) -> list[Hit]:
    """The k best positive scores, ties broken by position."""
    positive = scores > 0
    docs, scores = docs[positive], scores[positive]
    if len(scores) > k:
        kth = np.partition(scores, len(scores) - k)[len(scores) - k]
        keep = scores >= kth
        docs, scores = docs[keep], scores[keep]
    order = np.lexsort((docs, -scores))[:k]
    return [Hit(d, s) for d, s in zip(docs[order].tolist(), scores[order].tolist())]


def _position_of_token(lengths: np.ndarray, tokens: int) -> np.ndarray:
    """Sentence position of every token (int64), like np.repeat(arange(n), lengths).

    Built from bincount and cumsum, which release the GIL, where np.repeat holds it for
    the whole array (hundreds of ms at a million sentences, stalling a serving loop).
    """
    starts = np.cumsum(lengths, dtype=np.int64) - lengths
    bumps = np.bincount(starts[1:], minlength=tokens + 1)[:tokens]
    return np.cumsum(bumps, out=bumps)


def _norm(lengths: np.ndarray, avgdl: float) -> np.ndarray:
    """Per-sentence length normalisation, k1 * (1 - b + b * dl / avgdl), as rank-bm25 computes it."""
    return K1 * ((1 - B) + B * lengths.astype(np.float64) / avgdl)


def _rank_bm25_idf(terms: list[str], doc_freqs: np.ndarray, n: int, avgdl: float) -> tuple[np.ndarray, float]:
    """Idf per term id, computed by rank-bm25's own `BM25Okapi._calc_idf`.

    `BM25Okapi(corpus)` would build a Python dict per sentence (too slow and too big at
    a million sentences), so the instance is made without `__init__`, given the corpus
    size and the document frequencies counted with numpy, and asked for the idf. Terms
    are passed in first-occurrence order, as rank-bm25 would, so even the floor
    (epsilon x the mean of all raw idf, negative ones included) is summed identically.
    """
    if not terms:
        return np.zeros(0), 0.0
    bm25 = BM25Okapi.__new__(BM25Okapi)
    bm25.k1, bm25.b, bm25.epsilon = K1, B, EPSILON
    bm25.corpus_size, bm25.avgdl, bm25.idf, bm25.doc_len = n, avgdl, {}, []
    bm25._calc_idf(dict(zip(terms, doc_freqs.tolist())))
    idf = np.fromiter((bm25.idf[t] for t in terms), np.float64, len(terms))
    return idf, float(bm25.average_idf)


def _encode(token_lists: Iterable[list[str]]) -> tuple[list[str], np.ndarray, np.ndarray]:
    """Local vocabulary (first-occurrence order), term id per token, tokens per sentence."""
    vocab: dict[str, int] = {}
    ids = array("i")
    lengths = array("i")
    for tokens in token_lists:
        lengths.append(len(tokens))
        ids.extend([vocab.setdefault(t, len(vocab)) for t in tokens])
    return list(vocab), np.frombuffer(ids, np.int32), np.frombuffer(lengths, np.int32)


def _analyze_chunk(analyzer: Analyzer, texts: Sequence[str]) -> tuple[list[str], np.ndarray, np.ndarray]:
    """Worker: analyse and encode one chunk of texts."""
    return _encode(map(analyzer, texts))


def _merge(encoded_chunks: Iterable[tuple[list[str], np.ndarray, np.ndarray]], bar) -> tuple:
    """Join chunk encodings into one vocabulary; chunk order keeps first-occurrence order."""
    vocab: dict[str, int] = {}
    all_ids, all_lengths = [], []
    for terms, ids, lengths in encoded_chunks:
        remap = np.fromiter((vocab.setdefault(t, len(vocab)) for t in terms), np.int32, len(terms))
        all_ids.append(remap[ids] if len(ids) else ids)
        all_lengths.append(lengths)
        if bar is not None:
            bar.update(len(lengths))
    ids = np.concatenate(all_ids) if all_ids else np.zeros(0, np.int32)
    lengths = np.concatenate(all_lengths) if all_lengths else np.zeros(0, np.int32)
    return list(vocab), ids, lengths


def _picklable(analyzer: Analyzer) -> bool:
    import pickle

    try:
        pickle.dumps(analyzer)
    except Exception:
        return False
    return True


def _progress_bar(total: int, desc: str):
    from tqdm import tqdm

    return tqdm(total=total, desc=desc, unit=" sentences", unit_scale=True)


def _default_analyzer() -> Analyzer:
    from retrieval.arabic import analyze

    return analyze
