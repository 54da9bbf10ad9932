"""`sanad bench`: Sanad's Index beside rank-bm25, bm25s and SQLite FTS5 on a synthetic Arabic corpus.

The corpus is generated deterministically (seeded): 12-25 words a sentence drawn from a
Zipf-distributed vocabulary of Arabic-letter words. The words are already "analysed", so
every engine tokenises on whitespace (`str.split`); `--arabic` uses Sanad's real analyser.
"""

from __future__ import annotations

import argparse
import json
import resource
import sqlite3
import statistics
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from retrieval.index import Index

ARABIC_LETTERS = "ابتثجحخدذرزسشصضطظعغفقكلمنهوي"
VOCABULARY = 50_000
COMMON_RANKS = 20  # the most frequent words; the top one is in most sentences
CONTENT_FROM_RANK = 100  # query content words are drawn below the commonest ranks
TOP_K = 10


@dataclass(frozen=True, slots=True)
class Workload:
    """A synthetic corpus with its two query sets."""

    texts: list[str]
    content_queries: list[str]
    common_queries: list[str]  # content words plus one or two of the commonest words


@dataclass(slots=True)
class EngineResult:
    """One engine's figures at one corpus size (times in milliseconds / seconds)."""

    engine: str
    build_s: float | None = None
    peak_rss_mb: float | None = None
    content_median_ms: float | None = None
    content_p99_ms: float | None = None
    common_median_ms: float | None = None
    common_p99_ms: float | None = None
    queries_timed: int = 0
    note: str = ""


@dataclass(slots=True)
class SizeResult:
    """Everything measured at one corpus size."""

    sentences: int
    engines: list[EngineResult] = field(default_factory=list)
    parity_max_rel_diff: float | None = None  # Sanad vs rank-bm25 on the sampled queries
    parity_top10_identical: float | None = None  # share of sampled queries with the same top 10
    parity_queries: int = 0
    startup_s: float | None = None
    index_mb: float | None = None
    reload_s: float | None = None
    reload_query_median_ms: float | None = None
    reload_query_p99_ms: float | None = None
    reload_query_max_ms: float | None = None
    reload_queries: int = 0


# ---------------------------------------------------------------------- workload


def make_workload(sentences: int, queries: int, seed: int = 0, vocabulary: int = VOCABULARY) -> Workload:
    """Deterministic corpus and queries: same arguments, same texts and queries."""
    rng = np.random.default_rng(seed)
    words = _arabic_words(vocabulary, rng)
    zipf = 1.0 / np.arange(1, vocabulary + 1)
    lengths = rng.integers(12, 26, sentences)
    tokens = rng.choice(vocabulary, size=int(lengths.sum()), p=zipf / zipf.sum())
    big = " ".join([words[t] for t in tokens.tolist()])
    word_chars = np.fromiter((len(w) for w in words), np.int64, vocabulary)
    ends = np.cumsum(word_chars[tokens] + 1)  # char offset just past each word's space
    last = np.cumsum(lengths) - 1
    stops = (ends[last] - 1).tolist()
    starts = [0] + ends[last[:-1]].tolist()
    texts = [big[a:b] for a, b in zip(starts, stops)]

    content_p = zipf[CONTENT_FROM_RANK:] / zipf[CONTENT_FROM_RANK:].sum()

    def content_query(size: int) -> list[str]:
        ranks = rng.choice(vocabulary - CONTENT_FROM_RANK, size=size, replace=False, p=content_p)
        return [words[CONTENT_FROM_RANK + r] for r in ranks.tolist()]

    content = [" ".join(content_query(int(rng.integers(3, 7)))) for _ in range(queries)]
    common = []
    for _ in range(queries):
        query = content_query(int(rng.integers(3, 6)))
        for rank in rng.choice(COMMON_RANKS, size=int(rng.integers(1, 3)), replace=False).tolist():
            query.insert(int(rng.integers(0, len(query) + 1)), words[rank])
        common.append(" ".join(query))
    return Workload(texts, content, common)


def _arabic_words(count: int, rng: np.random.Generator) -> list[str]:
    """`count` distinct Arabic-letter words of 2-8 letters."""
    seen: dict[str, None] = {}
    while len(seen) < count:
        sizes = rng.integers(2, 9, count)
        letters = "".join(np.array(list(ARABIC_LETTERS))[rng.integers(0, len(ARABIC_LETTERS), sizes.sum())].tolist())
        ends = np.cumsum(sizes).tolist()
        for start, end in zip([0] + ends[:-1], ends):
            seen.setdefault(letters[start:end], None)
            if len(seen) == count:
                break
    return list(seen)


# ---------------------------------------------------------------------- measuring


class PeakMemory:
    """Peak resident memory of this process over a block, in MB (Linux: VmHWM, reset on entry).

    Worker processes are not included; `children_mb` reports the largest one so far.
    """

    def __enter__(self) -> PeakMemory:
        self.resettable = _reset_peak_rss()
        self.peak_mb = 0.0
        return self

    def __exit__(self, *exc) -> None:
        hwm = _read_status_kb("VmHWM") if self.resettable else None
        self.peak_mb = (hwm if hwm is not None else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss) / 1024
        self.children_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024


def _reset_peak_rss() -> bool:
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def _read_status_kb(key: str) -> float | None:
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(key + ":"):
                    return float(line.split()[1])
    except OSError:
        pass
    return None


def time_queries(search: Callable[[str], object], queries: Sequence[str], budget_s: float) -> list[float]:
    """Milliseconds per query; stops after `budget_s` seconds (at least 5 queries)."""
    times: list[float] = []
    deadline = time.perf_counter() + budget_s
    for query in queries:
        start = time.perf_counter()
        search(query)
        end = time.perf_counter()
        times.append((end - start) * 1000)
        if end > deadline and len(times) >= 5:
            break
    return times


def _median_p99(times: list[float]) -> tuple[float | None, float | None]:
    if not times:
        return None, None
    return statistics.median(times), float(np.percentile(times, 99))


def _fill_query_times(result: EngineResult, content: list[float], common: list[float]) -> EngineResult:
    result.content_median_ms, result.content_p99_ms = _median_p99(content)
    result.common_median_ms, result.common_p99_ms = _median_p99(common)
    result.queries_timed = len(content) + len(common)
    return result


# ---------------------------------------------------------------------- one function per engine


def bench_sanad(work: Workload, analyzer: Callable[[str], list[str]], budget_s: float) -> tuple[EngineResult, Index]:
    """Sanad's Index: build from texts (analysis included), then search(question, 10)."""
    with PeakMemory() as memory:
        start = time.perf_counter()
        index = Index.build(work.texts, analyzer)
        build_s = time.perf_counter() - start
    note = f"largest analysis worker {memory.children_mb:,.0f} MB" if memory.children_mb else ""
    result = EngineResult("Sanad", build_s, memory.peak_mb, note=note)
    search = lambda q: index.search(q, TOP_K)  # noqa: E731
    return _fill_query_times(result, time_queries(search, work.content_queries, budget_s),
                             time_queries(search, work.common_queries, budget_s)), index


def bench_rank_bm25(
    work: Workload, analyzer: Callable[[str], list[str]], sample: int, index: Index, result_of: SizeResult
) -> EngineResult:
    """rank-bm25 BM25Okapi get_scores + top 10 on `sample` queries of each set; parity vs Sanad."""
    from rank_bm25 import BM25Okapi

    with PeakMemory() as memory:
        start = time.perf_counter()
        bm25 = BM25Okapi([analyzer(t) for t in work.texts])
        build_s = time.perf_counter() - start
    result = EngineResult("rank-bm25", build_s, memory.peak_mb, note=f"{sample} queries a set")
    rel_diffs, identical, refs = [], 0, []

    def search(query: str) -> None:
        scores = bm25.get_scores(analyzer(query))
        top = np.argpartition(-scores, TOP_K)[:TOP_K]
        top[np.lexsort((top, -scores[top]))]
        refs.append((query, scores))

    _fill_query_times(result, time_queries(search, work.content_queries[:sample], float("inf")),
                      time_queries(search, work.common_queries[:sample], float("inf")))
    for query, scores in refs:
        hits = index.search(query, TOP_K)
        ours = np.array([h.score for h in hits])
        theirs = np.array([scores[h.position] for h in hits])
        ranked = np.sort(scores[scores > 0])[::-1][:TOP_K]  # rank-bm25's own top-10 scores
        rel_diffs.append(_max_rel_diff(ours, theirs))
        same = len(ranked) == len(hits) and _max_rel_diff(ours, ranked) <= 1e-9
        identical += same
    result_of.parity_max_rel_diff = max(rel_diffs, default=0.0)
    result_of.parity_top10_identical = identical / len(refs) if refs else None
    result_of.parity_queries = len(refs)
    return result


def _max_rel_diff(a: np.ndarray, b: np.ndarray) -> float:
    if len(a) != len(b):
        return float("inf")
    if not len(a):
        return 0.0
    return float(np.max(np.abs(a - b) / np.maximum(np.abs(b), 1e-300)))


def bench_bm25s(work: Workload, analyzer: Callable[[str], list[str]], budget_s: float) -> EngineResult:
    """bm25s (numpy backend, its default Lucene idf) on the same tokens."""
    try:
        import bm25s
    except ImportError:
        return EngineResult("bm25s (numpy)", note="not installed (pip install bm25s)")
    with PeakMemory() as memory:
        start = time.perf_counter()
        retriever = bm25s.BM25(k1=1.5, b=0.75, backend="numpy")
        retriever.index([analyzer(t) for t in work.texts], show_progress=False)
        build_s = time.perf_counter() - start
    result = EngineResult("bm25s (numpy)", build_s, memory.peak_mb)
    k = min(TOP_K, len(work.texts))
    search = lambda q: retriever.retrieve([analyzer(q)], k=k, show_progress=False, n_threads=0)  # noqa: E731
    return _fill_query_times(result, time_queries(search, work.content_queries, budget_s),
                             time_queries(search, work.common_queries, budget_s))


def bench_fts5(work: Workload, analyzer: Callable[[str], list[str]], budget_s: float) -> EngineResult:
    """SQLite FTS5 bm25() over the analysed terms, OR of the query terms, top 10."""
    db = sqlite3.connect(":memory:")
    with PeakMemory() as memory:
        start = time.perf_counter()
        db.execute("CREATE VIRTUAL TABLE s USING fts5(body)")
        db.executemany("INSERT INTO s(rowid, body) VALUES (?, ?)",
                       ((i, " ".join(analyzer(t))) for i, t in enumerate(work.texts)))
        db.commit()
        build_s = time.perf_counter() - start
    result = EngineResult("SQLite FTS5", build_s, memory.peak_mb, note=f"sqlite {sqlite3.sqlite_version}")
    sql = "SELECT rowid, bm25(s) FROM s WHERE s MATCH ? ORDER BY bm25(s) LIMIT ?"

    def search(query: str) -> list:
        terms = analyzer(query)
        if not terms:
            return []
        return db.execute(sql, (" OR ".join('"' + t.replace('"', '""') + '"' for t in terms), TOP_K)).fetchall()

    _fill_query_times(result, time_queries(search, work.content_queries, budget_s),
                      time_queries(search, work.common_queries, budget_s))
    db.close()
    return result


def bench_startup(index: Index, analyzer: Callable[[str], list[str]], result: SizeResult) -> None:
    """Cold start: load the stored blob (what `sanad serve` does on a built database)."""
    blob = index.to_bytes()
    times = []
    for _ in range(3):
        start = time.perf_counter()
        Index.from_bytes(blob, analyzer)
        times.append(time.perf_counter() - start)
    result.startup_s = min(times)
    result.index_mb = len(blob) / 1e6


def bench_reload(work: Workload, analyzer: Callable[[str], list[str]], index: Index, result: SizeResult) -> None:
    """Rebuild in a background thread while this thread keeps answering queries."""
    done = threading.Event()
    box: dict[str, float] = {}

    def rebuild() -> None:
        start = time.perf_counter()
        Index.build(work.texts, analyzer)
        box["seconds"] = time.perf_counter() - start
        done.set()

    thread = threading.Thread(target=rebuild)
    thread.start()
    times: list[float] = []
    queries = work.content_queries + work.common_queries
    while not done.is_set():
        query = queries[len(times) % len(queries)]
        start = time.perf_counter()
        index.search(query, TOP_K)
        times.append((time.perf_counter() - start) * 1000)
        time.sleep(0.001)  # a serving loop is not a busy loop
    thread.join()
    result.reload_s = box["seconds"]
    result.reload_query_median_ms, result.reload_query_p99_ms = _median_p99(times)
    result.reload_query_max_ms = max(times, default=None)
    result.reload_queries = len(times)


# ---------------------------------------------------------------------- the run


def run_bench(
    sizes: Sequence[int],
    queries: int = 500,
    *,
    seed: int = 0,
    sample: int = 20,
    budget_s: float = 20.0,
    startup: bool = False,
    reload: bool = False,
    arabic: bool = False,
    engines: Sequence[str] = ("sanad", "rank-bm25", "bm25s", "fts5"),
    log: Callable[[str], None] | None = None,
) -> list[SizeResult]:
    """Measure every engine at every corpus size; `sample` queries a set for rank-bm25."""
    analyzer = _arabic_analyzer() if arabic else str.split
    results = []
    for sentences in sizes:
        say = log or (lambda message: None)
        say(f"{sentences:,} sentences: generating corpus")
        work = make_workload(sentences, queries, seed)
        size = SizeResult(sentences)
        say("  Sanad")
        sanad, index = bench_sanad(work, analyzer, budget_s)
        size.engines.append(sanad)
        if "rank-bm25" in engines:
            say("  rank-bm25")
            size.engines.append(bench_rank_bm25(work, analyzer, sample, index, size))
        if "bm25s" in engines:
            say("  bm25s")
            size.engines.append(bench_bm25s(work, analyzer, budget_s))
        if "fts5" in engines:
            say("  SQLite FTS5")
            size.engines.append(bench_fts5(work, analyzer, budget_s))
        if startup:
            say("  start-up")
            bench_startup(index, analyzer, size)
        if reload:
            say("  reload")
            bench_reload(work, analyzer, index, size)
        results.append(size)
    return results


def _arabic_analyzer() -> Callable[[str], list[str]]:
    from retrieval.arabic import analyze

    return analyze


# ---------------------------------------------------------------------- output


def _fmt(value: float | None, digits: int = 2) -> str:
    if value is None:
        return "-"
    return f"{value:.{digits}f}" if value < 100 else f"{value:,.0f}"


def _ratio(value: float | None, base: float | None) -> str:
    if value is None or not base:
        return "-"
    return f"{value / base:,.1f}x"


def format_table(results: Sequence[SizeResult], analyzer_name: str = "str.split") -> str:
    """Human-readable report: one block per corpus size, then the curve of medians."""
    lines = []
    for size in results:
        sanad = size.engines[0]
        lines.append(
            f"\n{size.sentences:,} sentences (Zipf {VOCABULARY:,}-word vocabulary, 12-25 words a sentence, "
            f"analyzer {analyzer_name}, top {TOP_K})"
        )
        lines.append(
            f"{'engine':<14}{'build s':>9}{'peak MB':>9}{'content med':>13}{'p99':>8}{'common med':>12}"
            f"{'p99':>9}{'median vs Sanad':>22}  note"
        )
        for e in size.engines:
            ratio = f"{_ratio(e.content_median_ms, sanad.content_median_ms)} / " \
                    f"{_ratio(e.common_median_ms, sanad.common_median_ms)}"
            lines.append(
                f"{e.engine:<14}{_fmt(e.build_s):>9}{_fmt(e.peak_rss_mb, 0):>9}{_fmt(e.content_median_ms, 3):>13}"
                f"{_fmt(e.content_p99_ms, 3):>8}{_fmt(e.common_median_ms, 3):>12}{_fmt(e.common_p99_ms, 3):>9}"
                f"{ratio:>22}  {e.note}"
            )
        if size.parity_queries:
            lines.append(
                f"parity vs rank-bm25 on {size.parity_queries} queries: max relative score difference "
                f"{size.parity_max_rel_diff:.1e}, same top {TOP_K} scores {size.parity_top10_identical:.0%}"
            )
        if size.startup_s is not None:
            lines.append(f"start-up: Index.from_bytes {size.startup_s:.3f} s for a {size.index_mb:,.0f} MB blob")
        if size.reload_s is not None:
            lines.append(
                f"reload: rebuild {size.reload_s:.1f} s in a thread; {size.reload_queries} queries meanwhile, "
                f"median {_fmt(size.reload_query_median_ms, 3)} ms, p99 {_fmt(size.reload_query_p99_ms, 3)} ms, "
                f"max {_fmt(size.reload_query_max_ms, 1)} ms"
            )
    if len(results) > 1:
        names = [e.engine for e in results[0].engines]
        lines.append("\nmedian ms (content / common queries)")
        lines.append(f"{'sentences':>11}" + "".join(f"{n:>22}" for n in names))
        for size in results:
            cells = [f"{_fmt(e.content_median_ms, 3)} / {_fmt(e.common_median_ms, 3)}" for e in size.engines]
            lines.append(f"{size.sentences:>11,}" + "".join(f"{c:>22}" for c in cells))
    lines.append("times in ms; build includes analysis; peak MB is the whole process (corpus included)")
    return "\n".join(lines).lstrip("\n")


def plot(results: Sequence[SizeResult], path: str) -> None:
    """Median query time against corpus size, per engine (matplotlib, optional)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sizes = [r.sentences for r in results]
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for position, name in enumerate(e.engine for e in results[0].engines):
        rows = [next(e for e in r.engines if e.engine == name) for r in results]
        colour = f"C{position}"
        if all(e.content_median_ms is not None for e in rows):
            ax.plot(sizes, [e.content_median_ms for e in rows], "o-", color=colour, label=f"{name}, content")
        if all(e.common_median_ms is not None for e in rows):
            ax.plot(sizes, [e.common_median_ms for e in rows], "s--", color=colour, label=f"{name}, + common words")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("sentences")
    ax.set_ylabel(f"median query time, ms (top {TOP_K})")
    ax.set_title("BM25 query time on a synthetic Arabic corpus (2 cores)")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


# ---------------------------------------------------------------------- the whole engine


@dataclass
class EngineFigures:
    """The served pipeline at one size: build from .jsonl, cold start of `sanad ask`, reload while serving."""

    sentences: int
    build_s: float
    build_peak_mb: float | None
    startup_s: float
    reload_s: float
    reload_max_stall_ms: float
    reload_max_stall_at_s: float  # when, in seconds from the start of the reload
    quiet_max_stall_ms: float  # the same measure over 5 s of serving without a reload: the machine's own
    reload_max_block_ms: float  # the loop's worst lateness during the reload, its own questions included
    reload_questions: int
    reload_query_median_ms: float
    reload_query_max_ms: float


def write_jsonl_corpus(work: Workload, folder: Path, per_document: int = 20) -> Path:
    """The workload's sentences as a .jsonl archive, `per_document` one-sentence paragraphs a document."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "synthetic.jsonl"
    with path.open("w", encoding="utf-8") as f:
        for d in range(0, len(work.texts), per_document):
            text = "\n".join(t + "." for t in work.texts[d:d + per_document])
            f.write(json.dumps({"id": f"d{d // per_document}", "title": f"وثيقة {d // per_document}", "text": text},
                               ensure_ascii=False) + "\n")
    return path


def bench_engine(sentences: int, seed: int = 0, log: Callable[[str], None] | None = None) -> EngineFigures:
    """Measure the engine as `sanad` runs it, on a synthetic corpus in a temporary folder."""
    import asyncio
    import os
    import subprocess
    import sys

    from .engine import Engine

    say = log or (lambda message: None)
    work = make_workload(sentences, 50, seed=seed)
    with tempfile.TemporaryDirectory() as tmp:
        corpus, db = Path(tmp) / "corpus", Path(tmp) / "sanad.sqlite3"
        archive = write_jsonl_corpus(work, corpus)
        env = {**os.environ, "SANAD_DB": str(db), "SANAD_CORPUS": str(corpus)}
        say(f"engine: building {sentences:,} sentences from .jsonl ...")
        t0 = time.perf_counter()
        index_run = subprocess.run([sys.executable, "-m", "bot.cli", "index"], env=env, capture_output=True, text=True)
        build_s = time.perf_counter() - t0
        if index_run.returncode:
            raise RuntimeError(index_run.stderr)
        peak = _child_peak_mb()
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-m", "bot.cli", "ask", "--json", work.content_queries[0]], env=env,
                       capture_output=True, check=True)
        startup_s = time.perf_counter() - t0
        say("engine: reloading while answering ...")
        stall, stall_at, times, reload_s, quiet, whole = asyncio.run(
            _reload_while_serving(Engine, db, corpus, archive, work.content_queries + work.common_queries))
    times.sort()
    return EngineFigures(sentences, build_s, peak, startup_s, reload_s, stall * 1000, stall_at, quiet * 1000,
                         whole * 1000, len(times), times[len(times) // 2] * 1000 if times else 0.0,
                         times[-1] * 1000 if times else 0.0)


async def _reload_while_serving(engine_class, db: Path, corpus: Path, archive: Path, questions: list[str]):
    """Reload while answering a question every 20 ms; first the same for a few seconds without a reload.

    A 10 ms timer on the loop measures how late it wakes. Lateness spent answering our own
    questions (they run on the loop, as in the bot) is the cost of a question, not of the reload,
    so each stall is counted without it; the quiet run shows what this machine alone adds."""
    import asyncio
    import os

    engine = await engine_class.open(db, corpus)
    for question in questions:  # a serving bot is warm: its word caches are filled
        engine.ask(question)

    async def serve_while(work) -> tuple[float, float, list[float], float, float]:
        worst, worst_at, whole, times, done = 0.0, 0.0, 0.0, [], False
        asking: list[tuple[float, float]] = []  # (start, end) of each question on the loop

        async def ticker() -> None:
            nonlocal worst, worst_at, whole
            while not done:
                t = time.perf_counter()
                await asyncio.sleep(0.01)
                end = time.perf_counter()
                busy = sum(min(b, end) - max(a, t) for a, b in asking if b > t and a < end)
                whole = max(whole, end - t - 0.01)
                late = end - t - 0.01 - busy
                if late > worst:
                    worst, worst_at = late, end - t0

        async def asker() -> None:
            i = 0
            while not done:
                t = time.perf_counter()
                engine.ask(questions[i % len(questions)])
                end = time.perf_counter()
                times.append(end - t)
                asking.append((t, end))
                del asking[:-50]
                i += 1
                await asyncio.sleep(0.02)

        tasks = [asyncio.create_task(ticker()), asyncio.create_task(asker())]
        t0 = time.perf_counter()
        await work()
        elapsed = time.perf_counter() - t0
        done = True
        await asyncio.gather(*tasks)
        return worst, worst_at, times, elapsed, whole

    quiet = (await serve_while(lambda: asyncio.sleep(5.0)))[0]
    os.utime(archive)  # the folder changed: a real rebuild
    worst, worst_at, times, reload_s, whole = await serve_while(engine.reload)
    await engine.close()
    return worst, worst_at, times, reload_s, quiet, whole


def _child_peak_mb() -> float:
    """Peak resident memory of the largest child process so far (the `sanad index` run), in MB."""
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024


def format_engine(figures: Sequence[EngineFigures]) -> str:
    lines = ["the whole engine (sanad index / sanad ask / reload while serving), synthetic .jsonl corpus",
             f"{'sentences':>10} {'build s':>8} {'peak MB':>8} {'start-up s':>10} {'reload s':>9} "
             f"{'max loop stall ms (at s)':>24} {'same, no reload':>15} {'incl. questions':>15} "
             f"{'questions during reload':>24} {'their median/max ms':>20}",
             "(a stall is how late a 10 ms timer on the serving loop wakes, less the time the loop spent "
             "answering the questions asked meanwhile)"]
    for f in figures:
        lines.append(f"{f.sentences:>10,} {f.build_s:>8.1f} {_fmt(f.build_peak_mb, 0):>8} {f.startup_s:>10.2f} "
                     f"{f.reload_s:>9.1f} {f'{f.reload_max_stall_ms:.0f} ({f.reload_max_stall_at_s:.1f})':>24} "
                     f"{f.quiet_max_stall_ms:>15.0f} {f.reload_max_block_ms:>15.0f} {f.reload_questions:>24,} "
                     f"{f.reload_query_median_ms:>9.2f}/{f.reload_query_max_ms:.1f}")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """`sanad bench`: parse arguments, run, print the table (or JSON), optionally plot."""
    parser = argparse.ArgumentParser(prog="sanad bench", description=__doc__)
    parser.add_argument("--sentences", type=int, nargs="+", default=[100_000], help="corpus sizes")
    parser.add_argument("--queries", type=int, default=500, help="queries in each set (content, common)")
    parser.add_argument("--sample", type=int, default=20, help="queries a set for rank-bm25 (slow)")
    parser.add_argument("--budget", type=float, default=20.0, help="seconds at most per engine and query set")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--engines", nargs="*", default=["rank-bm25", "bm25s", "fts5"],
                        choices=["rank-bm25", "bm25s", "fts5"], help="competitors beside Sanad")
    parser.add_argument("--startup", action="store_true", help="time loading a stored index")
    parser.add_argument("--reload", action="store_true", help="time a rebuild while answering queries")
    parser.add_argument("--arabic", action="store_true", help="use Sanad's Arabic analyser instead of str.split")
    parser.add_argument("--json", action="store_true", help="print JSON instead of the table")
    parser.add_argument("--plot", metavar="PATH", help="write a PNG of median query time against size")
    parser.add_argument("--semantic", action="store_true",
                        help="instead: answer time with sentence vectors beside words alone, and embedding speed")
    parser.add_argument("--engine", action="store_true",
                        help="instead: the whole engine per size (build from .jsonl, cold start, reload while serving)")
    args = parser.parse_args(argv)
    if args.semantic:
        from .bench_semantic import bench_semantic, format_semantic

        for n in args.sentences:
            figures = bench_semantic(n, min(args.queries, 300), args.seed, (lambda m: None) if args.json else print)
            print(json.dumps(asdict(figures)) if args.json else format_semantic(figures))
        return 0
    if args.engine:
        figures = [bench_engine(n, args.seed, None if args.json else print) for n in args.sentences]
        print(json.dumps([asdict(f) for f in figures]) if args.json else format_engine(figures))
        return 0
    log = None if args.json else (lambda message: print(message, flush=True))
    results = run_bench(
        args.sentences, args.queries, seed=args.seed, sample=args.sample, budget_s=args.budget,
        startup=args.startup, reload=args.reload, arabic=args.arabic, engines=args.engines, log=log,
    )
    if args.json:
        print(json.dumps([asdict(r) for r in results], ensure_ascii=False, indent=1))
    else:
        print(format_table(results, "retrieval.arabic.analyze" if args.arabic else "str.split"))
    if args.plot:
        plot(results, args.plot)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
