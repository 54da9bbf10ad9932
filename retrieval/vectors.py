"""Sentence vectors: computed once per (model, text), kept in SQLite, loaded as one matrix.

What is embedded for a sentence is its document title and the sentence ("title: sentence"), so a
sentence that names its subject only in the headline still means it. Vectors are keyed by a hash of
the model name and that text, not by position: a reload or an upload embeds only sentences it has not
seen, and a kill loses at most the batch being embedded (every batch commits). The table is a cache
outside the versioned schema: dropping it costs only the time to embed again.
"""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .embedding import Embedder
from .snapshot import Snapshot

__all__ = ["VectorCache", "SentenceVectors", "Semantic", "EmbedReport", "passage_text", "pending", "embed_pending",
           "embed_missing", "load_vectors"]

BATCH = 32  # sentences embedded (and committed) together
_LOOKUP = 500  # keys per SELECT ... IN


def passage_text(snapshot: Snapshot, position: int) -> str:
    """What is embedded for the sentence at `position`: its document's title, then the sentence."""
    loc = snapshot.locate(position)
    return f"{loc.doc.title}: {loc.text}"


def _key(model: str, text: str) -> bytes:
    return hashlib.blake2b(f"{model}\0{text}".encode(), digest_size=16).digest()


class VectorCache:
    """The `sentence_vectors` table of a SQLite file (Sanad's database), opened synchronously:
    the embedding child process and `sanad eval` write it, the engine reads it in a thread."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self._db = sqlite3.connect(self.path, timeout=30, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode = WAL")
        self._db.execute("PRAGMA busy_timeout = 30000")
        self._db.execute("CREATE TABLE IF NOT EXISTS sentence_vectors (key BLOB PRIMARY KEY, vector BLOB NOT NULL)")

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> "VectorCache":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def get(self, keys: list[bytes]) -> dict[bytes, bytes]:
        """The stored vectors (raw float32 bytes) of those keys that have one."""
        out: dict[bytes, bytes] = {}
        for i in range(0, len(keys), _LOOKUP):
            chunk = keys[i:i + _LOOKUP]
            marks = ",".join("?" * len(chunk))
            out.update(self._db.execute(f"SELECT key, vector FROM sentence_vectors WHERE key IN ({marks})", chunk))
        return out

    def missing(self, keys: list[bytes]) -> list[bytes]:
        """The keys with no stored vector, in their order."""
        found: set[bytes] = set()
        for i in range(0, len(keys), _LOOKUP):
            chunk = keys[i:i + _LOOKUP]
            marks = ",".join("?" * len(chunk))
            found.update(k for (k,) in self._db.execute(
                f"SELECT key FROM sentence_vectors WHERE key IN ({marks})", chunk))
        return [k for k in keys if k not in found]

    def put(self, items: list[tuple[bytes, np.ndarray]]) -> None:
        """Store vectors in one transaction (a kill mid-batch loses that batch only)."""
        self._db.execute("BEGIN IMMEDIATE")
        try:
            self._db.executemany("INSERT OR REPLACE INTO sentence_vectors (key, vector) VALUES (?, ?)",
                                 ((k, np.asarray(v, dtype=np.float32).tobytes()) for k, v in items))
            self._db.execute("COMMIT")
        except BaseException:
            self._db.execute("ROLLBACK")
            raise


@dataclass(frozen=True, slots=True)
class EmbedReport:
    """How many of a snapshot's sentences had vectors already, and how many were embedded now."""

    sentences: int
    cached: int
    embedded: int


def _texts(snapshot: Snapshot, model: str) -> tuple[list[bytes], dict[bytes, str]]:
    keys: list[bytes] = []
    texts: dict[bytes, str] = {}
    for p in range(len(snapshot)):
        text = passage_text(snapshot, p)
        k = _key(model, text)
        keys.append(k)
        texts[k] = text
    return keys, texts


def pending(snapshot: Snapshot, model: str, cache: VectorCache) -> list[tuple[bytes, str]]:
    """(key, text) of every distinct sentence text of the snapshot with no vector in the cache."""
    keys, texts = _texts(snapshot, model)
    return [(k, texts[k]) for k in dict.fromkeys(cache.missing(keys))]


def embed_pending(todo: list[tuple[bytes, str]], embedder: Embedder, cache: VectorCache, *, progress: bool = False,
                  on_batch: Callable[[int], None] | None = None) -> int:
    """Embed and store (key, text) pairs a committed batch at a time; `on_batch(done)` after each."""
    bar = None
    if progress and todo:
        from tqdm import tqdm
        bar = tqdm(total=len(todo), desc="embedding sentences", unit="sentence", leave=False)
    done = 0
    try:
        for i in range(0, len(todo), BATCH):
            batch = todo[i:i + BATCH]
            vectors = embedder.passages([text for _, text in batch])
            cache.put([(k, v) for (k, _), v in zip(batch, vectors)])
            done += len(batch)
            if bar:
                bar.update(len(batch))
            if on_batch:
                on_batch(done)
    finally:
        if bar:
            bar.close()
    return done


def embed_missing(snapshot: Snapshot, embedder: Embedder, cache: VectorCache, *, progress: bool = False) -> EmbedReport:
    """Embed every sentence of the snapshot that the cache lacks (a bar on stderr with `progress`)."""
    todo = pending(snapshot, embedder.model, cache)
    done = embed_pending(todo, embedder, cache, progress=progress)
    waiting = {k for k, _ in todo}
    keys, _ = _texts(snapshot, embedder.model)
    return EmbedReport(len(keys), sum(k not in waiting for k in keys), done)


@dataclass(frozen=True, slots=True)
class SentenceVectors:
    """One unit vector per sentence position of a snapshot (row i is position i)."""

    model: str
    matrix: np.ndarray  # (sentences, dim) float32

    def similarities(self, query: np.ndarray) -> np.ndarray:
        """Cosine similarity of every sentence to a unit query vector."""
        return self.matrix @ query


def load_vectors(snapshot: Snapshot, cache: VectorCache, model: str) -> tuple[SentenceVectors | None, int]:
    """The snapshot's vectors when every sentence has one, else None; and how many have one."""
    keys, _ = _texts(snapshot, model)
    found = cache.get(list(dict.fromkeys(keys)))
    if len(found) < len(set(keys)):
        return None, sum(k in found for k in keys)
    if not keys:
        return None, 0
    matrix = np.frombuffer(b"".join(found[k] for k in keys), dtype=np.float32).reshape(len(keys), -1).copy()
    return SentenceVectors(model, matrix), len(keys)


@dataclass(frozen=True, slots=True)
class Semantic:
    """What the answer path needs for meaning: the model for the question, the snapshot's vectors."""

    embedder: Embedder
    vectors: SentenceVectors

    def similarities(self, question: str) -> np.ndarray:
        """Cosine similarity of every sentence of the snapshot to the question."""
        return self.vectors.similarities(self.embedder.query(question))
