"""`sanad bench --semantic`: the answer path's time with meaning beside words alone, and embedding speed.

Answer time: a synthetic Arabic corpus (the bench's seeded workload) of N sentences, answered through
the whole line (`answer()`) once on words alone and once with a vector for every sentence; the
questions are the bench's synthetic queries and, for the question embedding's real cost, real Arabic
questions (the repository's news question sets, else the seeded ones again). The
sentence vectors are random unit vectors: computing real ones for 100k sentences takes hours here,
and the time of the dense stages (one matrix product, a top-k, the fused ranking) does not depend on
what the vectors say. The question is embedded by the real model each time: that cost is real.
Embedding speed: the real model over the bundled news corpus's sentences, and what 1M would take.
"""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np

from .answer import answer
from .bench import make_workload
from .corpus import Document, Paragraph, load_corpus
from .embedding import E5Embedder
from .snapshot import Snapshot
from .vectors import Semantic, SentenceVectors, passage_text

__all__ = ["SemanticFigures", "bench_semantic", "format_semantic"]


@dataclass(frozen=True, slots=True)
class SemanticFigures:
    sentences: int
    questions: int
    words_median_ms: float
    words_p99_ms: float
    meaning_median_ms: float
    meaning_p99_ms: float
    query_embedding_median_ms: float
    embed_sentences_per_s: float
    hours_for_1m: float


def _documents(texts: list[str], per_document: int = 20) -> list[Document]:
    docs = []
    for d in range(0, len(texts), per_document):
        chunk = [t + "." for t in texts[d:d + per_document]]
        text, paragraphs, at = "\n".join(chunk), [], 0
        for i, t in enumerate(chunk):
            paragraphs.append(Paragraph(i + 1, at, at + len(t), ((at, at + len(t)),)))
            at += len(t) + 1
        docs.append(Document(f"d{d}", "synthetic.jsonl", f"وثيقة {d // per_document}", None, None, None, text,
                             tuple(paragraphs)))
    return docs


def _ms(times: list[float]) -> tuple[float, float]:
    ordered = sorted(times)
    return statistics.median(ordered) * 1000, ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))] * 1000


def _seeds() -> Path:
    here = Path(__file__).resolve().parent.parent / "seeds"  # a checkout
    return here if here.is_dir() else Path(str(resources.files("bot.bundled.seeds")))  # an installed package


def _real_questions() -> list[str]:
    """The questions of tests/data/*.jsonl (a checkout has them; an installed package does not)."""
    from .questions import load_questions

    data = Path(__file__).resolve().parent.parent / "tests" / "data"
    return [q.q for path in sorted(data.glob("heldout*.jsonl")) for q in load_questions(path).questions]


def bench_semantic(sentences: int = 100_000, questions: int = 300, seed: int = 0, log=print) -> SemanticFigures:
    """Measure; `log` is told what is being done (building a large snapshot takes a while)."""
    work = make_workload(sentences, questions, seed)
    log(f"building a {sentences:,}-sentence snapshot…")
    snapshot = Snapshot.build(_documents(work.texts))
    model = E5Embedder(threads=1)  # as the engine answers questions (see Engine.open)
    rng = np.random.default_rng(seed)
    matrix = rng.standard_normal((len(snapshot), model.dim)).astype(np.float32)
    matrix /= np.linalg.norm(matrix, axis=1, keepdims=True)
    semantic = Semantic(model, SentenceVectors(model.model, matrix))
    asked = (_real_questions() or work.content_queries)[:questions]
    answer(snapshot, asked[0], semantic=semantic)  # warm caches
    words, meaning, embed = [], [], []
    log(f"answering {len(asked)} questions both ways…")
    for q in asked:
        t0 = time.perf_counter()
        answer(snapshot, q)
        t1 = time.perf_counter()
        answer(snapshot, q, semantic=semantic)
        t2 = time.perf_counter()
        model.query(q)
        t3 = time.perf_counter()
        words.append(t1 - t0)
        meaning.append(t2 - t1)
        embed.append(t3 - t2)
    log("embedding the bundled corpus's sentences…")
    news = Snapshot.build(load_corpus(_seeds()).documents)
    texts = [passage_text(news, p) for p in range(len(news))]
    t0 = time.perf_counter()
    model.passages(texts)
    rate = len(texts) / (time.perf_counter() - t0)
    return SemanticFigures(len(snapshot), len(asked), *_ms(words), *_ms(meaning), _ms(embed)[0], rate,
                           1_000_000 / rate / 3600)


def format_semantic(f: SemanticFigures) -> str:
    return "\n".join([
        f"answer() over {f.sentences:,} sentences, {f.questions} questions (ms)   median     p99",
        f"  words alone (BM25 path)                                {f.words_median_ms:8.2f} {f.words_p99_ms:7.2f}",
        f"  words + meaning (dense stages, fused ranking)          {f.meaning_median_ms:8.2f} {f.meaning_p99_ms:7.2f}",
        f"    of which embedding the question                      {f.query_embedding_median_ms:8.2f}",
        f"embedding sentences (e5-small 4-bit, this machine): {f.embed_sentences_per_s:.1f} a second; "
        f"1M sentences would take {f.hours_for_1m:.1f} h",
    ])
