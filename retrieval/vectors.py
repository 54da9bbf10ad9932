"""Sentence vectors: computed once per (model, text), kept in Sanad's database, loaded as one matrix.

What is embedded for a sentence is its document title and the sentence ("title: sentence"), so a
sentence that names its subject only in the headline still means it. Vectors are keyed by a hash of
the model name and that text, not by position: a reload or an upload embeds only sentences it has not
seen, and a kill loses at most the batch being embedded (every batch commits). The table is a cache
outside the versioned schema: dropping it costs only the time to embed again.
"""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .embedding import Embedder
from .snapshot import Snapshot

__all__ = ["VectorCache", "PostgresVectorCache", "open_cache", "SentenceVectors", "Semantic", "Passages", "EmbedReport", "passage_text", "pending",
           "embed_pending",
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

    def _select(self, keys: list[bytes], columns: str) -> list[tuple]:
        rows: list[tuple] = []
        for i in range(0, len(keys), _LOOKUP):  # SQLite caps the parameters of one statement
            chunk = keys[i:i + _LOOKUP]
            marks = ",".join("?" * len(chunk))
            rows += self._db.execute(f"SELECT {columns} FROM sentence_vectors WHERE key IN ({marks})", chunk)
        return rows

    def rows(self, keys: list[bytes]) -> Iterator[tuple[bytes, bytes]]:
        """(key, raw float32 bytes) of those keys that have a vector, a chunk of rows at a time."""
        for i in range(0, len(keys), _LOOKUP):
            yield from self._select(keys[i:i + _LOOKUP], "key, vector")

    def get(self, keys: list[bytes]) -> dict[bytes, bytes]:
        """The stored vectors (raw float32 bytes) of those keys that have one."""
        return dict(self.rows(keys))

    def missing(self, keys: list[bytes]) -> list[bytes]:
        """The keys with no stored vector, in their order."""
        found = {k for (k,) in self._select(keys, "key")}
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


class PostgresVectorCache(VectorCache):
    """The `sentence_vectors` table of a PostgreSQL database (psycopg, synchronous), shared by replicas:
    a sentence one replica embedded is never embedded again by another. A connection the server dropped
    (a restart) is opened again once per call, so meaning search outlives the restart."""

    def __init__(self, url: str):
        self._url = url
        self._db = self._connect()
        with self._db.transaction():  # replicas starting together: one makes the table
            self._db.execute("SELECT pg_advisory_xact_lock(hashtext('sanad:sentence_vectors'))")
            self._db.execute("CREATE TABLE IF NOT EXISTS sentence_vectors (key BYTEA PRIMARY KEY, vector BYTEA NOT NULL)")

    def _connect(self):
        import psycopg
        return psycopg.connect(self._url, autocommit=True, connect_timeout=10)

    def _again(self, action):
        import psycopg
        try:
            return action()
        except psycopg.OperationalError:
            if not self._db.closed:
                raise
            self._db = self._connect()
            return action()

    def _select(self, keys: list[bytes], columns: str) -> list[tuple]:
        def select() -> list[tuple]:
            rows: list[tuple] = []
            for i in range(0, len(keys), _LOOKUP):
                cur = self._db.execute(f"SELECT {columns} FROM sentence_vectors WHERE key = ANY(%s)",
                                       (keys[i:i + _LOOKUP],))
                rows += [tuple(bytes(v) for v in row) for row in cur]
            return rows
        return self._again(select)

    def put(self, items: list[tuple[bytes, np.ndarray]]) -> None:
        rows = [(k, np.asarray(v, dtype=np.float32).tobytes()) for k, v in items]

        def put() -> None:
            with self._db.transaction(), self._db.cursor() as cur:
                cur.executemany("INSERT INTO sentence_vectors (key, vector) VALUES (%s, %s) ON CONFLICT (key) "
                                "DO UPDATE SET vector = excluded.vector", rows)
        self._again(put)


def open_cache(database: str | Path) -> VectorCache:
    """The vector cache in Sanad's database: a SQLite file, or a `postgresql://` URL."""
    from .db import is_url
    return PostgresVectorCache(str(database)) if is_url(database) else VectorCache(database)


@dataclass(frozen=True, slots=True)
class EmbedReport:
    """How many of a snapshot's sentences had vectors already, and how many were embedded now."""

    sentences: int
    cached: int
    embedded: int


@dataclass(frozen=True, slots=True)
class Passages:
    """A snapshot's sentences as embedded ("title: sentence") and their cache keys, in position order:
    computed once per snapshot, since a large corpus takes seconds to hash."""

    model: str
    keys: list[bytes]
    texts: dict[bytes, str]  # one entry per distinct text

    @classmethod
    def of(cls, snapshot: Snapshot, model: str) -> "Passages":
        keys: list[bytes] = []
        texts: dict[bytes, str] = {}
        for p in range(len(snapshot)):
            text = passage_text(snapshot, p)
            k = _key(model, text)
            keys.append(k)
            texts[k] = text
        return cls(model, keys, texts)


def pending(passages: Passages, cache: VectorCache) -> list[tuple[bytes, str]]:
    """(key, text) of every distinct passage with no vector in the cache."""
    return [(k, passages.texts[k]) for k in cache.missing(list(passages.texts))]


def embed_pending(todo: list[tuple[bytes, str]], embedder: Embedder, cache: VectorCache, *, progress: bool = False,
                  on_batch: Callable[[int], None] | None = None, shared: bool = False) -> int:
    """Embed and store (key, text) pairs a committed batch at a time; `on_batch(done)` after each.
    `shared`: other processes (replicas) may be embedding the same list, so each batch first asks the
    cache which of its texts still lack a vector (a keys-only read, far cheaper than embedding them)."""
    bar = None
    if progress and todo:
        from tqdm import tqdm
        bar = tqdm(total=len(todo), desc="embedding sentences", unit="sentence", leave=False)
    done = 0
    try:
        for i in range(0, len(todo), BATCH):
            batch = todo[i:i + BATCH]
            if shared:
                still = set(cache.missing([k for k, _ in batch]))
                batch = [(k, t) for k, t in batch if k in still]
            if batch:
                vectors = embedder.passages([text for _, text in batch])
                cache.put([(k, v) for (k, _), v in zip(batch, vectors)])
            done += len(todo[i:i + BATCH])
            if bar:
                bar.update(len(todo[i:i + BATCH]))
            if on_batch:
                on_batch(done)
    finally:
        if bar:
            bar.close()
    return done


def embed_missing(snapshot: Snapshot, embedder: Embedder, cache: VectorCache, *, progress: bool = False) -> EmbedReport:
    """Embed every sentence of the snapshot that the cache lacks (a bar on stderr with `progress`)."""
    passages = Passages.of(snapshot, embedder.model)
    todo = pending(passages, cache)
    done = embed_pending(todo, embedder, cache, progress=progress)
    waiting = {k for k, _ in todo}
    return EmbedReport(len(passages.keys), sum(k not in waiting for k in passages.keys), done)


@dataclass(frozen=True, slots=True)
class SentenceVectors:
    """One unit vector per sentence position of a snapshot (row i is position i)."""

    model: str
    matrix: np.ndarray  # (sentences, dim) float32

    def similarities(self, query: np.ndarray) -> np.ndarray:
        """Cosine similarity of every sentence to a unit query vector."""
        return self.matrix @ query


def load_vectors(passages: Passages, cache: VectorCache) -> tuple[SentenceVectors | None, int]:
    """The vectors in position order when every passage has one of the model's size, else None; and how
    many positions have one. Read a chunk at a time into one preallocated matrix (1M sentences: 1.5 GB)."""
    if not passages.keys:
        return None, 0
    first = cache.get(passages.keys[:1])
    if not first:
        return None, len(passages.keys) - len(cache.missing(passages.keys))
    width = len(next(iter(first.values())))
    rows: dict[bytes, list[int]] = {}
    for position, k in enumerate(passages.keys):
        rows.setdefault(k, []).append(position)
    matrix = np.empty((len(passages.keys), width // 4), dtype=np.float32)
    filled = 0
    for k, blob in cache.rows(list(passages.texts)):
        if len(blob) == width:  # a damaged row is missing, never misaligned
            matrix[rows[k]] = np.frombuffer(blob, dtype=np.float32)
            filled += len(rows[k])
    if filled < len(passages.keys):
        return None, filled
    return SentenceVectors(passages.model, matrix), filled


@dataclass(frozen=True, slots=True)
class Semantic:
    """What the answer path needs for meaning: the model for the question, the snapshot's vectors."""

    embedder: Embedder
    vectors: SentenceVectors

    def similarities(self, question: str) -> np.ndarray:
        """Cosine similarity of every sentence of the snapshot to the question."""
        return self.vectors.similarities(self.embedder.query(question))
