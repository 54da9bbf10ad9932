"""The SQLite database (through aiosqlite): the indexed corpus, the question log, feedback, chat settings.

One file holds everything. The corpus and its index are replaced in a single transaction, so a
crash mid-reload leaves the old corpus or the new one, never a mix. The schema is versioned with
`PRAGMA user_version`; older databases are migrated forward, newer ones refused.
"""

from __future__ import annotations

import asyncio
import bisect
import io
import logging
import itertools
import re
import secrets
from array import array
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import BinaryIO
from datetime import datetime, timezone
from pathlib import Path

import aiosqlite

from .corpus import Document, Paragraph
from .pseudonym import KEY_BYTES, Pseudonyms, key_path, load_key

log = logging.getLogger(__name__)

__all__ = ["Store", "StoreError", "StaleBuild", "Stats", "StoredCorpus", "SCHEMA_VERSION"]

SCHEMA_VERSION = 2
CHUNK_BYTES = 1 << 20  # the index is stored in pieces of this size

# Each entry migrates from version i to i + 1; the first one creates the schema.
_MIGRATIONS: list[str] = [
    """
    CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    CREATE TABLE documents (
        row INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, file TEXT NOT NULL, title TEXT NOT NULL,
        source TEXT, date TEXT, url TEXT, text TEXT NOT NULL,
        layout BLOB NOT NULL);  -- paragraphs and sentences packed (see _pack), for a fast start-up
    CREATE TABLE paragraphs (
        doc INTEGER NOT NULL REFERENCES documents(row), number INTEGER NOT NULL,
        start INTEGER NOT NULL, "end" INTEGER NOT NULL, PRIMARY KEY (doc, number)) WITHOUT ROWID;
    CREATE TABLE sentences (
        position INTEGER PRIMARY KEY, doc INTEGER NOT NULL, paragraph INTEGER NOT NULL,
        number INTEGER NOT NULL, start INTEGER NOT NULL, "end" INTEGER NOT NULL);
    CREATE TABLE index_chunks (seq INTEGER PRIMARY KEY, data BLOB NOT NULL);  -- the serialised index, in pieces
    CREATE TABLE sentence_table (id INTEGER PRIMARY KEY CHECK (id = 1), data BLOB NOT NULL);
    CREATE TABLE questions (
        id INTEGER PRIMARY KEY, ts REAL NOT NULL, chat_id INTEGER NOT NULL, user_hash TEXT NOT NULL,
        question TEXT NOT NULL, answered INTEGER NOT NULL, top_doc TEXT, latency_ms REAL NOT NULL);
    CREATE INDEX questions_ts ON questions (ts);
    CREATE INDEX questions_user ON questions (user_hash);
    CREATE TABLE feedback (
        question_id INTEGER NOT NULL, user_hash TEXT NOT NULL, value INTEGER NOT NULL, ts REAL NOT NULL,
        PRIMARY KEY (question_id, user_hash));
    CREATE TABLE chat_settings (
        chat_id INTEGER NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL, PRIMARY KEY (chat_id, key));
    CREATE TABLE secrets (name TEXT PRIMARY KEY, value BLOB NOT NULL);
    """,
    # 2: no raw chat id (private chat ids are user ids): keyed pseudonyms instead, under a key kept outside
    # the database; the salt once stored here is deleted, which leaves older rows linked to nobody.
    """
    ALTER TABLE questions RENAME TO questions_v1;
    CREATE TABLE questions (
        id INTEGER PRIMARY KEY, ts REAL NOT NULL, chat_hash TEXT NOT NULL, user_hash TEXT NOT NULL,
        question TEXT NOT NULL, answered INTEGER NOT NULL, top_doc TEXT, latency_ms REAL NOT NULL);
    INSERT INTO questions SELECT id, ts, '', user_hash, question, answered, top_doc, latency_ms FROM questions_v1;
    DROP TABLE questions_v1;
    CREATE INDEX questions_ts ON questions (ts);
    CREATE INDEX questions_user ON questions (user_hash);
    ALTER TABLE chat_settings RENAME TO chat_settings_v1;
    CREATE TABLE chat_settings (
        chat_hash TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL, PRIMARY KEY (chat_hash, key));
    DELETE FROM secrets;
    """,
]
assert len(_MIGRATIONS) == SCHEMA_VERSION
# The part of a migration SQL cannot do, by the index of its script: a Store method run in the same
# transaction, after the script and before the version bump.
_MIGRATION_STEPS = {1: "_hash_chat_settings"}
_TABLES = set(re.findall(r"CREATE TABLE (\w+)", "".join(_MIGRATIONS)))  # what the current schema holds


class StoreError(Exception):
    """The database cannot be used (newer schema, unreadable file); the message says what to do."""


class StaleBuild(Exception):
    """A build was no longer wanted when it came to commit (its parent process died): nothing was saved."""


@dataclass(frozen=True, slots=True)
class StoredCorpus:
    """The corpus as the database last saved it, with the serialised index."""

    fingerprint: str
    built_at: datetime
    corpus_dir: str
    documents: list[Document]
    index_data: BinaryIO  # the serialised index (Index.to_bytes), readable as a file
    sentence_table: bytes  # see Snapshot.table_bytes


@dataclass(frozen=True, slots=True)
class Stats:
    """What admins see in /stats."""

    questions_today: int
    questions_total: int
    unanswered_share: float
    median_latency_ms: float
    top_questions: list[tuple[str, int]]
    top_unanswered: list[tuple[str, int]]
    feedback_up: int
    feedback_down: int


class Store:
    """Async access to Sanad's SQLite database; open with `await Store.open(path)`."""

    def __init__(self, db: aiosqlite.Connection, path: Path, ids: Pseudonyms):
        self._db = db
        self._log = db  # the question log's writes; a connection of their own once the database is open
        self.path = path
        self._ids = ids

    @classmethod
    async def open(cls, path: str | Path, *, key: bytes | None = None, serving: bool = True) -> "Store":
        """Open (creating or migrating) the database; ids are hashed under `key`, by default the key file
        beside the database (see retrieval.pseudonym). `serving=False` is for a process that only builds
        (the rebuild child): no integrity scan, which reads every page and its parent has made, and no
        question-log connection, which it never uses."""
        path = Path(path)
        try:
            if str(path) != ":memory:":
                path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise StoreError(explain(e, path)) from e
        connection = aiosqlite.connect(path, isolation_level=None)
        try:
            db = await connection
        except Exception as e:  # sqlite3.OperationalError and friends: say which file, why, and what to do
            # aiosqlite's worker thread is still stopping: let it finish while the loop can hear it,
            # or it reports to a closed loop with a traceback after our message.
            await asyncio.to_thread(connection._thread.join)  # noqa: SLF001
            raise StoreError(explain(e, path)) from e
        store = cls(db, path, Pseudonyms(key or _key_for(path)))
        try:
            await db.execute("PRAGMA busy_timeout = 5000")
            await db.execute("PRAGMA journal_mode = WAL")
            await db.execute("PRAGMA synchronous = NORMAL")
            if serving:
                await store._check_integrity()
            await store._migrate()
            if serving and str(path) != ":memory:":  # (a second connection to :memory: would be another database)
                store._log = await _connect_log(path)
        except StoreError:
            await store.close()
            raise
        except Exception as e:
            await store.close()
            raise StoreError(explain(e, path)) from e
        return store

    async def _check_integrity(self) -> None:
        """A damaged page would otherwise go unnoticed until a write to it fails (the log then silently
        records nothing): check at start and say so. quick_check reads every page once."""
        rows = await (await self._db.execute("PRAGMA quick_check(5)")).fetchall()
        if rows and rows[0][0] != "ok":
            problems = "; ".join(" ".join(r[0].split()) for r in rows)
            raise StoreError(
                f"database {self.path} is damaged ({problems}). Recover what it holds with "
                f"`sqlite3 {self.path} .recover | sqlite3 recovered.sqlite3` and point SANAD_DB at the result, or "
                f"move it aside and run `sanad index` to start a new one (its question log would start empty)")

    async def close(self) -> None:
        if self._log is not self._db:
            await self._log.close()
        await self._db.close()

    async def _migrate(self) -> None:
        (version,) = await (await self._db.execute("PRAGMA user_version")).fetchone()
        if version > SCHEMA_VERSION:
            raise StoreError(
                f"database {self.path} has schema version {version}, newer than this Sanad "
                f"understands ({SCHEMA_VERSION}); upgrade Sanad or set SANAD_DB to another file")
        if version == SCHEMA_VERSION:
            await self._check_tables()
        for target in range(version, SCHEMA_VERSION):
            try:  # the script, its Python part and the version bump commit together or not at all
                await self._db.executescript(f"BEGIN IMMEDIATE; {_MIGRATIONS[target]};")
                if target in _MIGRATION_STEPS:
                    await getattr(self, _MIGRATION_STEPS[target])()
                await self._db.execute(f"PRAGMA user_version = {target + 1}")  # (executescript would commit first)
                await self._db.execute("COMMIT")
            except Exception:
                if self._db.in_transaction:
                    await self._db.execute("ROLLBACK")
                raise

    async def _hash_chat_settings(self) -> None:
        """Migration 2, the part SQL cannot do: key the chat settings by the chat's pseudonym."""
        rows = await (await self._db.execute("SELECT chat_id, key, value FROM chat_settings_v1")).fetchall()
        await self._db.executemany("INSERT OR REPLACE INTO chat_settings (chat_hash, key, value) VALUES (?,?,?)",
                                   [(self._ids.of("chat", c), k, v) for c, k, v in rows])
        await self._db.execute("DROP TABLE chat_settings_v1")

    async def _check_tables(self) -> None:
        """A database claiming the current version must have its tables (a development build's may not)."""
        rows = await (await self._db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")).fetchall()
        missing = _TABLES - {r[0] for r in rows}
        if missing:
            raise StoreError(f"database {self.path} lacks tables {sorted(missing)} of schema version "
                             f"{SCHEMA_VERSION}; it was made by a development build: delete it or set SANAD_DB")

    # ------------------------------------------------------------ corpus

    async def save_corpus(self, fingerprint: str, corpus_dir: str, documents: list[Document], index_blob: bytes,
                          sentence_table: bytes, *, still_wanted: Callable[[], bool] | None = None) -> datetime:
        """Replace the stored corpus and index in one transaction; returns the build time recorded.
        `still_wanted` is asked while the write lock is held, right before COMMIT: False rolls back (StaleBuild)."""
        built_at = datetime.now(timezone.utc)
        db = self._db
        await db.execute("BEGIN IMMEDIATE")
        try:
            for table in ("sentences", "paragraphs", "documents", "index_chunks", "sentence_table"):
                await db.execute(f"DELETE FROM {table}")
            await db.executemany(
                "INSERT INTO documents (row, id, file, title, source, date, url, text, layout) VALUES (?,?,?,?,?,?,?,?,?)",
                ((i, d.id, d.file, d.title, d.source, d.date, d.url, d.text, _pack(d)) for i, d in enumerate(documents)))
            await db.executemany(
                'INSERT INTO paragraphs (doc, number, start, "end") VALUES (?,?,?,?)',
                ((i, p.number, p.start, p.end) for i, d in enumerate(documents) for p in d.paragraphs))
            await db.executemany(
                'INSERT INTO sentences (position, doc, paragraph, number, start, "end") VALUES (?,?,?,?,?,?)',
                _sentence_rows(documents))
            view = memoryview(index_blob)
            await db.executemany("INSERT INTO index_chunks (seq, data) VALUES (?, ?)",
                                 ((i, view[i:i + CHUNK_BYTES]) for i in range(0, len(view), CHUNK_BYTES)))
            await db.execute("INSERT INTO sentence_table (id, data) VALUES (1, ?)", (sentence_table,))
            for key, value in (("fingerprint", fingerprint), ("built_at", built_at.isoformat()), ("corpus_dir", corpus_dir)):
                await db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, value))
            if still_wanted is not None and not still_wanted():
                raise StaleBuild("the process that asked for this build is gone; nothing was saved")
            await db.execute("COMMIT")
        except BaseException:
            # SQLite may already have rolled back (SQLITE_FULL does): a second ROLLBACK would fail and
            # replace the real cause ("database or disk is full") with "no transaction is active".
            if db.in_transaction:
                await db.execute("ROLLBACK")
            raise
        return built_at

    async def load_corpus(self) -> StoredCorpus | None:
        """The stored corpus, or None when nothing was saved yet."""
        db = self._db
        meta = dict(await (await db.execute("SELECT key, value FROM meta")).fetchall())
        table = await (await db.execute("SELECT data FROM sentence_table WHERE id = 1")).fetchone()
        if "fingerprint" not in meta or table is None:
            return None
        # Chunk by chunk: one 200 MB value would be copied in one go while holding the GIL,
        # stalling a serving event loop for a tenth of a second.
        chunks = []
        async with db.execute("SELECT data FROM index_chunks ORDER BY seq") as cursor:
            async for (chunk,) in cursor:
                chunks.append(chunk)
        # A page of rows at a time, each turned into documents here between questions: in a worker
        # thread, 50k objects made while questions run would make both take turns at the GIL, and a
        # question would wait for it again after each numpy call (up to 130 ms at 1M sentences).
        documents: list[Document] = []
        async with db.execute("SELECT id, file, title, source, date, url, text, layout FROM documents ORDER BY row") \
                as cursor:
            while page := await cursor.fetchmany(_PAGE_ROWS):
                documents += _documents(page)
        return StoredCorpus(meta["fingerprint"], datetime.fromisoformat(meta["built_at"]),
                            meta.get("corpus_dir", ""), documents, _ChunkReader(chunks), bytes(table[0]))

    # ------------------------------------------------------------ question log, feedback, settings

    async def log_question(self, *, chat_id: int, user_hash: str, question: str, answered: bool,
                           top_doc: str | None, latency_ms: float, question_id: int | None = None) -> int:
        """Record one question (under `question_id` if the caller chose it); returns its id (used by buttons
        and feedback). The chat is stored as its keyed pseudonym, never as its id."""
        cur = await self._log.execute(
            "INSERT INTO questions (id, ts, chat_hash, user_hash, question, answered, top_doc, latency_ms) "
            "VALUES (?,?,?,?,?,?,?,?)",
            (question_id, time.time(), self._ids.of("chat", chat_id), user_hash, question, int(answered), top_doc,
             latency_ms))
        return cur.lastrowid

    async def get_question(self, question_id: int, chat_id: int) -> str | None:
        """The text of a logged question if it was asked in this chat (to serve its buttons there only)."""
        row = await (await self._db.execute(
            "SELECT question FROM questions WHERE id = ? AND chat_hash = ?",
            (question_id, self._ids.of("chat", chat_id)))).fetchone()
        return row[0] if row else None

    async def add_feedback(self, question_id: int, user_hash: str, value: int) -> None:
        """Record 👍 (+1) or 👎 (-1); one vote per user per question, the latest wins."""
        await self._log.execute(
            "INSERT OR REPLACE INTO feedback (question_id, user_hash, value, ts) VALUES (?,?,?,?)",
            (question_id, user_hash, 1 if value > 0 else -1, time.time()))

    async def get_chat_setting(self, chat_id: int, key: str, default: str | None = None) -> str | None:
        row = await (await self._db.execute(
            "SELECT value FROM chat_settings WHERE chat_hash = ? AND key = ?",
            (self._ids.of("chat", chat_id), key))).fetchone()
        return row[0] if row else default

    async def set_chat_setting(self, chat_id: int, key: str, value: str) -> None:
        await self._db.execute("INSERT OR REPLACE INTO chat_settings (chat_hash, key, value) VALUES (?,?,?)",
                               (self._ids.of("chat", chat_id), key, value))

    async def stats(self, *, top: int = 5, now: float | None = None) -> Stats:
        """Usage figures for admins: volume, unanswered share, latency, top (unanswered) questions, feedback."""
        db = self._db
        now = time.time() if now is None else now
        midnight = datetime.fromtimestamp(now, timezone.utc).replace(hour=0, minute=0, second=0, microsecond=0)
        (total, unanswered) = await (await db.execute(
            "SELECT COUNT(*), COALESCE(SUM(answered = 0), 0) FROM questions")).fetchone()
        (today,) = await (await db.execute(
            "SELECT COUNT(*) FROM questions WHERE ts >= ?", (midnight.timestamp(),))).fetchone()
        latencies = [r[0] for r in await (await db.execute(
            "SELECT latency_ms FROM questions ORDER BY ts DESC LIMIT 10000")).fetchall()]
        top_q = await (await db.execute(
            "SELECT question, COUNT(*) AS n FROM questions GROUP BY question ORDER BY n DESC, MAX(ts) DESC LIMIT ?",
            (top,))).fetchall()
        top_u = await (await db.execute(
            "SELECT question, COUNT(*) AS n FROM questions WHERE answered = 0 GROUP BY question "
            "ORDER BY n DESC, MAX(ts) DESC LIMIT ?", (top,))).fetchall()
        (up, down) = await (await db.execute(
            "SELECT COALESCE(SUM(value > 0), 0), COALESCE(SUM(value < 0), 0) FROM feedback")).fetchone()
        return Stats(today, total, unanswered / total if total else 0.0,
                     statistics.median(latencies) if latencies else 0.0,
                     [tuple(r) for r in top_q], [tuple(r) for r in top_u], up, down)

    async def forget_user(self, user_hash: str) -> int:
        """Delete a user's questions and feedback (/forgetme) from the file itself; returns how many questions went."""
        return await self._erase(("DELETE FROM feedback WHERE user_hash = ?", (user_hash,)),
                                 ("DELETE FROM questions WHERE user_hash = ?", (user_hash,)))

    async def purge_older_than(self, days: int) -> int:
        """Retention: delete logged questions (and their feedback) older than `days` days."""
        cutoff = time.time() - days * 86400
        return await self._erase(
            ("DELETE FROM feedback WHERE question_id IN (SELECT id FROM questions WHERE ts < ?)", (cutoff,)),
            ("DELETE FROM questions WHERE ts < ?", (cutoff,)))

    async def _erase(self, *statements: tuple[str, tuple]) -> int:
        """Run deletions so that the text is gone from the disk, not only from the tables: deleted content is
        overwritten (secure_delete) and the write-ahead log, which still holds the old pages, is checkpointed
        into the database and truncated. Returns the last statement's row count."""
        db = self._db
        await db.execute("PRAGMA secure_delete = ON")  # only here: zeroing every reload's old index would cost
        try:
            await db.execute("BEGIN IMMEDIATE")
            try:
                for sql, args in statements:
                    cur = await db.execute(sql, args)
                await db.execute("COMMIT")
            except BaseException:
                if db.in_transaction:
                    await db.execute("ROLLBACK")
                raise
        finally:
            await db.execute("PRAGMA secure_delete = OFF")
        busy, _, _ = await (await db.execute("PRAGMA wal_checkpoint(TRUNCATE)")).fetchone()
        if busy:
            log.warning("deleted rows remain in %s-wal until the next checkpoint: a reader was busy", self.path.name)
        return cur.rowcount

    def pseudonym(self, kind: str, value: int | str) -> str:
        """The keyed pseudonym of a Telegram id (`kind`: "user" or "chat"), as the database stores it."""
        return self._ids.of(kind, value)

    async def secret(self, name: str) -> bytes:
        """A 32-byte key for `name` (e.g. the salt for hashing user ids), derived from the key kept outside the
        database: nothing stored here can reverse a pseudonym."""
        return self._ids.secret(name)


async def _connect_log(path: Path) -> aiosqlite.Connection:
    """The question log's own connection (and thread): a write waiting for a lock held elsewhere then
    never holds up the reads an answer needs (a group's settings, a button's question)."""
    log_db = await aiosqlite.connect(path, isolation_level=None)
    await log_db.execute("PRAGMA busy_timeout = 5000")
    await log_db.execute("PRAGMA synchronous = NORMAL")
    return log_db


def explain(error: BaseException, path: Path) -> str:
    """What an operator is told when the database cannot be opened: the cause in plain words and a way on."""
    text = str(error).lower()
    errno_ = getattr(error, "errno", None)
    if "locked" in text or "busy" in text:
        return (f"database {path} is locked by another process (another `sanad serve` or `sanad index`, or an "
                f"sqlite3 shell holding it): stop that process, then start again")
    if "full" in text or errno_ == 28:  # ENOSPC
        return f"the disk holding {path} is full: free some space, or set SANAD_DB to a file on another disk"
    if "not a database" in text or "malformed" in text or "corrupt" in text:
        return (f"{path} is damaged or is not a Sanad database: move it aside (it may hold your question log) "
                f"and run `sanad index` to build a new one, or set SANAD_DB to another file")
    if "readonly" in text or "read-only" in text or "unable to open" in text or isinstance(error, PermissionError) \
            or errno_ in (13, 30):  # EACCES, EROFS
        return (f"cannot create or write database {path}: its folder is read-only or not writable by this user; "
                f"set SANAD_DB to a writable file ({error})")
    return f"cannot use database {path}: {error}"


def _key_for(path: Path) -> bytes:
    """The key of the database at `path` (from its key file); an in-memory or unwritable one gets a key for
    this run only, so its pseudonyms do not outlive the run."""
    if str(path) == ":memory:":
        return secrets.token_bytes(KEY_BYTES)
    try:
        return load_key(key_path(path))
    except OSError as e:
        log.warning("cannot keep the id key beside %s (%s): pseudonyms hold for this run only", path.name, e)
        return secrets.token_bytes(KEY_BYTES)


class _ChunkReader(io.RawIOBase):
    """A read-only, seekable file over a list of byte strings, without joining them."""

    def __init__(self, chunks: list[bytes]):
        self._chunks = chunks
        self._starts = list(itertools.accumulate((len(c) for c in chunks), initial=0))
        self._pos = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: self._starts[-1]}[whence]
        self._pos = max(0, base + offset)
        return self._pos

    def readinto(self, buffer) -> int:
        out = memoryview(buffer).cast("B")
        done = 0
        while done < len(out) and self._pos < self._starts[-1]:
            i = bisect.bisect_right(self._starts, self._pos) - 1
            chunk = self._chunks[i]
            at = self._pos - self._starts[i]
            n = min(len(out) - done, len(chunk) - at)
            out[done:done + n] = chunk[at:at + n]
            done += n
            self._pos += n
        return done


_PAGE_ROWS = 500  # documents read and built at a time when loading (about 10 ms of the loop)


def _documents(rows: list[tuple]) -> list[Document]:
    return [Document(id_, file, title, source, date, url, text, _Paragraphs(layout))
            for id_, file, title, source, date, url, text, layout in rows]


_PAGED = -1  # a layout that opens with this holds a page per paragraph (paragraph numbers start at 1)


def _pack(doc: Document) -> bytes:
    """A document's paragraphs and sentences as int32s: per paragraph number, start, end, count, then
    each sentence's start and end. Reading this back is much faster than a row per sentence.

    A document with pages (a PDF) opens with _PAGED and gives each paragraph's page (0: none) after
    its count; databases written before pages existed hold only the first layout, and still read."""
    paged = any(p.page is not None for p in doc.paragraphs)
    out: list[int] = [_PAGED] if paged else []
    for p in doc.paragraphs:
        out += (p.number, p.start, p.end, len(p.sentences))
        if paged:
            out.append(p.page or 0)
        for a, b in p.sentences:
            out += (a, b)
    return array("i", out).tobytes()


class _Paragraphs(Sequence):
    """A stored document's paragraphs, unpacked on first use: start-up then reads a million-sentence
    corpus without building a million objects, and only documents that answer are ever unpacked."""

    __slots__ = ("_blob", "_items")

    def __init__(self, blob: bytes):
        self._blob = blob
        self._items: tuple[Paragraph, ...] | None = None

    def _all(self) -> tuple[Paragraph, ...]:
        if self._items is None:
            self._items = _unpack(self._blob)
        return self._items

    def __getitem__(self, i):
        return self._all()[i]

    def __len__(self) -> int:
        return len(self._all())

    def __eq__(self, other: object) -> bool:
        return tuple(self) == tuple(other) if isinstance(other, Sequence) else NotImplemented

    __hash__ = None


def _unpack(blob: bytes) -> tuple[Paragraph, ...]:
    values = array("i")
    values.frombytes(blob)
    paged = len(values) > 0 and values[0] == _PAGED
    paragraphs, i = [], 1 if paged else 0
    while i < len(values):
        number, start, end, count = values[i:i + 4]
        i += 4
        page = None
        if paged:
            page = values[i] or None
            i += 1
        flat = values[i:i + 2 * count]
        paragraphs.append(Paragraph(number, start, end, tuple(zip(flat[::2], flat[1::2])), page))
        i += 2 * count
    return tuple(paragraphs)


def _sentence_rows(documents: list[Document]):
    position = 0
    for i, d in enumerate(documents):
        number = 0
        for p in d.paragraphs:
            for start, end in p.sentences:
                number += 1
                yield position, i, p.number, number, start, end
                position += 1
