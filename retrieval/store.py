"""Sanad's store: the indexed corpus and its files, the question log, feedback, chat settings.

It lives in a SQLite file (the embedded default) or a PostgreSQL database shared by replicas; the SQL
here is written once for both (retrieval/db). The corpus and its index are replaced in a single
transaction, so a crash mid-reload leaves the old corpus or the new one, never a mix, and each saved
corpus gets the next version number, which other processes watch to serve it too. The schema is
versioned (retrieval/db/schema.py); older databases are migrated forward, newer ones refused.
"""

from __future__ import annotations

import bisect
import hashlib
import hmac
import io
import logging
import itertools
import secrets
from array import array
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import BinaryIO
from datetime import datetime, timezone
from pathlib import Path

from .corpus import Document, Paragraph
from .db import Database, is_url, open_database
from .db.schema import POSTGRES_CREATE, POSTGRES_FIRST, POSTGRES_MIGRATIONS, SCHEMA_VERSION, SQLITE_MIGRATIONS
from .pseudonym import KEY_BYTES, Pseudonyms, key_path, load_key

log = logging.getLogger(__name__)

__all__ = ["Store", "StoreError", "StaleBuild", "VersionConflict", "Stats", "StoredCorpus", "StoredFile", "SavedCorpus",
           "SCHEMA_VERSION"]

CHUNK_BYTES = 1 << 20  # the index is stored in pieces of this size

# The part of a SQLite migration SQL cannot do, by the index of its script: a Store method run in the same
# transaction, after the script and before the version bump.
_MIGRATION_STEPS = {1: "_hash_chat_settings"}
_TABLES = {"meta", "documents", "paragraphs", "sentences", "index_chunks", "sentence_table", "questions", "feedback",
           "chat_settings", "secrets", "corpus_files"}  # what the current schema holds


class StoreError(Exception):
    """The database cannot be used (newer schema, unreadable file); the message says what to do."""


class StaleBuild(Exception):
    """A build was no longer wanted when it came to commit (its parent process died): nothing was saved."""


class VersionConflict(Exception):
    """Another process saved a corpus after this build started from an older one: nothing was saved, so
    neither change silently replaces the other."""


@dataclass(frozen=True, slots=True)
class StoredFile:
    """One file of the corpus folder as the store keeps it (the bytes are fetched only when needed)."""

    name: str  # its path inside the corpus folder, with forward slashes
    sha256: str
    mtime_ns: int
    data: bytes | None = None


@dataclass(frozen=True, slots=True)
class SavedCorpus:
    """What saving a corpus recorded: when, and the version number it got."""

    built_at: datetime
    version: int


@dataclass(frozen=True, slots=True)
class StoredCorpus:
    """The corpus as the database last saved it, with the serialised index."""

    fingerprint: str
    built_at: datetime
    corpus_dir: str
    documents: list[Document]
    index_data: BinaryIO  # the serialised index (Index.to_bytes), readable as a file
    sentence_table: bytes  # see Snapshot.table_bytes
    version: int = 0  # counts saved corpora; another process's save makes it larger
    built_by: str = ""  # the host and folder it was built from (for the log and the operator)
    code: str = ""  # the indexing code that built it (corpus.indexing_code); another code's index is rebuilt


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
    """Async access to Sanad's database; open with `await Store.open(path or postgresql:// URL)`."""

    def __init__(self, db: Database, ids: Pseudonyms):
        self._db = db
        self._ids = ids
        self.target = db.target  # the path or URL it was opened with (a child process opens the same)
        self.where = db.where  # for messages: the file, or the address without its password
        self.shared = db.dialect == "postgres"  # replicas on other machines may use it too

    @classmethod
    async def open(cls, target: str | Path, *, key: bytes | None = None, key_file: Path | None = None,
                   serving: bool = True) -> "Store":
        """Open (creating or migrating) the database, a SQLite file or a `postgresql://` URL. Ids are hashed
        under `key`, by default read from `key_file` (for a SQLite file: the key file beside it; see
        retrieval.pseudonym). Replicas must share the key: a database written under another key is refused.
        `serving=False` is for a process that only builds (the rebuild child): no integrity scan, which
        reads every page and its parent has made, and no question-log lane, which it never uses."""
        try:  # (the SQLite backend makes the file's folder; an OSError there is explained below)
            db = await open_database(target, serving=serving)
        except StoreError:
            raise
        except Exception as e:  # sqlite3.OperationalError, psycopg.Error and friends: say which, why, what to do
            raise StoreError(explain(e, _where(target))) from e
        try:
            store = cls(db, Pseudonyms(key or _key_for(target, key_file)))
            if serving:
                await db.check_integrity()
            await store._migrate()
            await store._check_key()
        except StoreError:
            await db.close()
            raise
        except BaseException as e:
            await db.close()
            if isinstance(e, Exception):
                raise StoreError(explain(e, db.where)) from e
            raise
        return store

    async def close(self) -> None:
        await self._db.close()

    async def _migrate(self) -> None:
        """Bring the schema to this code's version in one transaction that holds the schema lock, reading the
        version inside it: replicas starting together migrate once, the others find it done."""
        if await self._db.schema_version() == SCHEMA_VERSION:
            await self._check_tables()
            return
        async with self._db.write() as tx:
            await tx.lock_schema()
            version = await tx.schema_version()
            if version > SCHEMA_VERSION:
                raise StoreError(
                    f"database {self.where} has schema version {version}, newer than this Sanad understands "
                    f"({SCHEMA_VERSION}); upgrade Sanad or point SANAD_DB / SANAD_DATABASE_URL elsewhere")
            for source, script in self._steps(version):
                # every script, its Python part and the version bump commit together or not at all
                await tx.script(script)
                if not self.shared and source in _MIGRATION_STEPS:
                    await getattr(self, _MIGRATION_STEPS[source])(tx)
            if version < SCHEMA_VERSION:
                await tx.set_schema_version(SCHEMA_VERSION)

    def _steps(self, version: int) -> list[tuple[int, str]]:
        """(version migrated from, script) in order, for this backend."""
        if not self.shared:
            return [(v, SQLITE_MIGRATIONS[v]) for v in range(version, SCHEMA_VERSION)]
        if version == 0:  # a new PostgreSQL database: the current schema in one script
            return [(SCHEMA_VERSION - 1, POSTGRES_CREATE)]
        if version < POSTGRES_FIRST:
            raise StoreError(f"database {self.where} claims schema version {version}, older than any "
                             "PostgreSQL database Sanad made")
        return [(v, POSTGRES_MIGRATIONS[v]) for v in range(version, SCHEMA_VERSION)]

    async def _hash_chat_settings(self, tx) -> None:
        """Migration 2, the part SQL cannot do: key the chat settings by the chat's pseudonym."""
        rows = await tx.fetchall("SELECT chat_id, key, value FROM chat_settings_v1")
        await tx.executemany("INSERT OR REPLACE INTO chat_settings (chat_hash, key, value) VALUES (?,?,?)",
                             [(self._ids.of("chat", c), k, v) for c, k, v in rows])
        await tx.execute("DROP TABLE chat_settings_v1")

    async def _check_tables(self) -> None:
        """A database claiming the current version must have its tables (a development build's may not)."""
        missing = _TABLES - await self._db.table_names()
        if missing:
            raise StoreError(f"database {self.where} lacks tables {sorted(missing)} of schema version "
                             f"{SCHEMA_VERSION}; it was made by a development build: delete it or point "
                             "SANAD_DB / SANAD_DATABASE_URL elsewhere")

    async def _check_key(self) -> None:
        """Every process using a shared database must hash ids under the same key, or a replica would file
        one chat's settings and one user's questions under other names: a check value of the key is kept, and
        a replica holding another key is stopped with a way on. A SQLite file whose key was lost goes on
        under a new one (#13: older rows are then linked to nobody), and says so."""
        check = hmac.new(self._ids.secret("key-check"), b"sanad", hashlib.sha256).hexdigest()[:16]
        # The first process to write it wins (replicas starting together compare against the same value).
        await self._db.execute("INSERT INTO meta (key, value) VALUES ('key_check', ?) ON CONFLICT (key) DO NOTHING",
                               (check,))
        (stored,) = await self._db.fetchone("SELECT value FROM meta WHERE key = 'key_check'")
        if stored != check:
            if self.shared:
                raise StoreError(
                    f"database {self.where} was written with another id key than this process holds: every "
                    "replica must have the same key file (SANAD_KEY_FILE): copy it from the first machine. If that "
                    "key is lost for good, run `DELETE FROM meta WHERE key = 'key_check'` (earlier questions and "
                    "chat settings are then linked to nobody)")
            log.warning("the id key of %s changed: earlier questions and chat settings are linked to nobody", self.where)
            await self._db.execute("UPDATE meta SET value = ? WHERE key = 'key_check'", (check,))

    # ------------------------------------------------------------ corpus

    async def save_corpus(self, fingerprint: str, corpus_dir: str, documents: list[Document], index_blob: bytes,
                          sentence_table: bytes, *, files: Sequence[StoredFile] | None = None, built_by: str = "",
                          code: str = "", expected_version: int | None = None,
                          still_wanted: Callable[[], bool] | None = None) -> SavedCorpus:
        """Replace the stored corpus, its index and (given `files`) its files in one transaction, under the
        next version number, announced to other processes at commit. `expected_version`: the version the
        build started from; if another process saved since, nothing is saved (VersionConflict). `still_wanted`
        is asked while the write lock is held, right before COMMIT: False rolls back (StaleBuild)."""
        built_at = datetime.now(timezone.utc)
        async with self._db.write() as db:
            row = await db.fetchone("SELECT value FROM meta WHERE key = 'version'")
            current = int(row[0]) if row else 0
            if expected_version is not None and current != expected_version:
                raise VersionConflict(f"another process saved corpus version {current} while this build started "
                                      f"from version {expected_version}; nothing was saved")
            version = current + 1
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
                                 ((i, bytes(view[i:i + CHUNK_BYTES])) for i in range(0, len(view), CHUNK_BYTES)))
            await db.execute("INSERT INTO sentence_table (id, data) VALUES (1, ?)", (sentence_table,))
            if files is not None:
                await _replace_files(db, files)
            for key, value in (("fingerprint", fingerprint), ("built_at", built_at.isoformat()),
                               ("corpus_dir", corpus_dir), ("version", str(version)), ("built_by", built_by),
                               ("code", code)):
                await db.execute("INSERT INTO meta (key, value) VALUES (?, ?) "
                                 "ON CONFLICT (key) DO UPDATE SET value = excluded.value", (key, value))
            await db.announce(str(version))
            if still_wanted is not None and not still_wanted():
                raise StaleBuild("the process that asked for this build is gone; nothing was saved")
        return SavedCorpus(built_at, version)

    async def corpus_version(self) -> int:
        """The version number of the stored corpus (0: none yet): one indexed read, cheap between questions."""
        row = await self._db.fetchone("SELECT value FROM meta WHERE key = 'version'")
        return int(row[0]) if row else 0

    async def load_corpus(self) -> StoredCorpus | None:
        """The stored corpus, or None when nothing was saved yet; read in one transaction, so a corpus saved
        meanwhile by another process is never half read."""
        async with self._db.read() as db:
            meta = dict(await db.fetchall("SELECT key, value FROM meta"))
            table = await db.fetchone("SELECT data FROM sentence_table WHERE id = 1")
            if "fingerprint" not in meta or table is None:
                return None
            # Chunk by chunk: one 200 MB value would be copied in one go while holding the GIL,
            # stalling a serving event loop for a tenth of a second.
            chunks = []
            async for page in db.pages("SELECT data FROM index_chunks ORDER BY seq", size=8):
                chunks += [bytes(c) for (c,) in page]
            # A page of rows at a time, each turned into documents here between questions: in a worker
            # thread, 50k objects made while questions run would make both take turns at the GIL, and a
            # question would wait for it again after each numpy call (up to 130 ms at 1M sentences).
            documents: list[Document] = []
            async for page in db.pages("SELECT id, file, title, source, date, url, text, layout FROM documents "
                                       "ORDER BY row", size=_PAGE_ROWS):
                documents += _documents(page)
        return StoredCorpus(meta["fingerprint"], datetime.fromisoformat(meta["built_at"]),
                            meta.get("corpus_dir", ""), documents, _ChunkReader(chunks), bytes(table[0]),
                            int(meta.get("version", 0)), meta.get("built_by", ""), meta.get("code", ""))

    async def stored_files(self) -> list[StoredFile]:
        """The corpus folder's files as last saved (names, hashes and times; no bytes)."""
        rows = await self._db.fetchall("SELECT name, sha256, mtime_ns FROM corpus_files ORDER BY name")
        return [StoredFile(n, h, m) for n, h, m in rows]

    async def file_data(self, name: str) -> bytes | None:
        """The stored bytes of one corpus file."""
        row = await self._db.fetchone("SELECT data FROM corpus_files WHERE name = ?", (name,))
        return bytes(row[0]) if row else None

# ------------------------------------------------------------ question log, feedback, settings

    async def log_question(self, *, chat_id: int, user_hash: str, question: str, answered: bool,
                           top_doc: str | None, latency_ms: float, question_id: int | None = None) -> int:
        """Record one question (under `question_id` if the caller chose it); returns its id (used by buttons
        and feedback). The chat is stored as its keyed pseudonym, never as its id."""
        columns = "ts, chat_hash, user_hash, question, answered, top_doc, latency_ms"
        values = (time.time(), self._ids.of("chat", chat_id), user_hash, question, int(answered), top_doc, latency_ms)
        if question_id is not None:
            columns, values = "id, " + columns, (question_id, *values)
        marks = ",".join("?" * len(values))
        (new_id,) = await self._db.log_fetchone(f"INSERT INTO questions ({columns}) VALUES ({marks}) RETURNING id",
                                                values)
        return new_id

    async def get_question(self, question_id: int, chat_id: int) -> str | None:
        """The text of a logged question if it was asked in this chat (to serve its buttons there only)."""
        row = await self._db.fetchone("SELECT question FROM questions WHERE id = ? AND chat_hash = ?",
                                      (question_id, self._ids.of("chat", chat_id)))
        return row[0] if row else None

    async def add_feedback(self, question_id: int, user_hash: str, value: int) -> None:
        """Record 👍 (+1) or 👎 (-1); one vote per user per question, the latest wins."""
        await self._db.log_fetchone(
            "INSERT INTO feedback (question_id, user_hash, value, ts) VALUES (?,?,?,?) ON CONFLICT "
            "(question_id, user_hash) DO UPDATE SET value = excluded.value, ts = excluded.ts RETURNING value",
            (question_id, user_hash, 1 if value > 0 else -1, time.time()))

    async def get_chat_setting(self, chat_id: int, key: str, default: str | None = None) -> str | None:
        row = await self._db.fetchone("SELECT value FROM chat_settings WHERE chat_hash = ? AND key = ?",
                                      (self._ids.of("chat", chat_id), key))
        return row[0] if row else default

    async def set_chat_setting(self, chat_id: int, key: str, value: str) -> None:
        await self._db.execute("INSERT INTO chat_settings (chat_hash, key, value) VALUES (?,?,?) "
                               "ON CONFLICT (chat_hash, key) DO UPDATE SET value = excluded.value",
                               (self._ids.of("chat", chat_id), key, value))

    async def stats(self, *, top: int = 5, now: float | None = None) -> Stats:
        """Usage figures for admins: volume, unanswered share, latency, top (unanswered) questions, feedback."""
        db = self._db
        now = time.time() if now is None else now
        midnight = datetime.fromtimestamp(now, timezone.utc).replace(hour=0, minute=0, second=0, microsecond=0)
        (total, unanswered) = await db.fetchone(
            "SELECT COUNT(*), COALESCE(SUM(CASE WHEN answered = 0 THEN 1 ELSE 0 END), 0) FROM questions")
        (today,) = await db.fetchone("SELECT COUNT(*) FROM questions WHERE ts >= ?", (midnight.timestamp(),))
        latencies = [r[0] for r in await db.fetchall(
            "SELECT latency_ms FROM questions ORDER BY ts DESC LIMIT 10000")]
        top_q = await db.fetchall(
            "SELECT question, COUNT(*) AS n FROM questions GROUP BY question ORDER BY n DESC, MAX(ts) DESC LIMIT ?",
            (top,))
        top_u = await db.fetchall(
            "SELECT question, COUNT(*) AS n FROM questions WHERE answered = 0 GROUP BY question "
            "ORDER BY n DESC, MAX(ts) DESC LIMIT ?", (top,))
        (up, down) = await db.fetchone(
            "SELECT COALESCE(SUM(CASE WHEN value > 0 THEN 1 ELSE 0 END), 0), "
            "COALESCE(SUM(CASE WHEN value < 0 THEN 1 ELSE 0 END), 0) FROM feedback")
        return Stats(int(today), int(total), int(unanswered) / total if total else 0.0,
                     statistics.median(latencies) if latencies else 0.0,
                     [tuple(r) for r in top_q], [tuple(r) for r in top_u], int(up), int(down))

    async def forget_user(self, user_hash: str) -> int:
        """Delete a user's questions and feedback (/forgetme) from the disk itself; returns how many questions went."""
        return await self._db.erase([("DELETE FROM feedback WHERE user_hash = ?", (user_hash,)),
                                     ("DELETE FROM questions WHERE user_hash = ?", (user_hash,))])

    async def purge_older_than(self, days: int) -> int:
        """Retention: delete logged questions (and their feedback) older than `days` days."""
        cutoff = time.time() - days * 86400
        return await self._db.erase(
            [("DELETE FROM feedback WHERE question_id IN (SELECT id FROM questions WHERE ts < ?)", (cutoff,)),
             ("DELETE FROM questions WHERE ts < ?", (cutoff,))])

    async def get_note(self, name: str) -> str | None:
        """A small value other processes of this database share (e.g. how the webhook was registered)."""
        row = await self._db.fetchone("SELECT value FROM meta WHERE key = ?", (f"note:{name}",))
        return row[0] if row else None

    async def set_note(self, name: str, value: str) -> None:
        await self._db.execute("INSERT INTO meta (key, value) VALUES (?, ?) "
                               "ON CONFLICT (key) DO UPDATE SET value = excluded.value", (f"note:{name}", value))

    def try_lock(self, name: str):
        """A lock named `name` across every process using this database (see Database.try_lock)."""
        return self._db.try_lock(name)

    async def wait_for_change(self, timeout: float) -> None:
        """Return when another process may have saved a corpus, or after `timeout` seconds."""
        await self._db.wait_for_change(timeout)

    def pseudonym(self, kind: str, value: int | str) -> str:
        """The keyed pseudonym of a Telegram id (`kind`: "user" or "chat"), as the database stores it."""
        return self._ids.of(kind, value)

    async def secret(self, name: str) -> bytes:
        """A 32-byte key for `name` (e.g. the salt for hashing user ids), derived from the key kept outside the
        database: nothing stored here can reverse a pseudonym."""
        return self._ids.secret(name)


async def _replace_files(db, files: Sequence[StoredFile]) -> None:
    """Make the stored corpus files these: only files whose bytes changed are written again."""
    stored = dict(await db.fetchall("SELECT name, sha256 FROM corpus_files"))
    names = {f.name for f in files}
    for name in stored.keys() - names:
        await db.execute("DELETE FROM corpus_files WHERE name = ?", (name,))
    for f in files:
        if stored.get(f.name) != f.sha256:
            await db.execute("INSERT INTO corpus_files (name, data, sha256, mtime_ns) VALUES (?,?,?,?) "
                             "ON CONFLICT (name) DO UPDATE SET data = excluded.data, sha256 = excluded.sha256, "
                             "mtime_ns = excluded.mtime_ns", (f.name, f.data, f.sha256, f.mtime_ns))
        else:
            await db.execute("UPDATE corpus_files SET mtime_ns = ? WHERE name = ?", (f.mtime_ns, f.name))


def _where(target: str | Path) -> str:
    if is_url(target):
        from .db.postgres import redacted
        return redacted(str(target))
    return str(target)


def explain(error: BaseException, where: str | Path) -> str:
    """What an operator is told when the database cannot be opened: the cause in plain words and a way on."""
    where = str(where)
    text = str(error).lower()
    errno_ = getattr(error, "errno", None)
    if where.startswith("postgresql://"):
        return (f"cannot use the PostgreSQL database {where}: {' '.join(str(error).split())} (check SANAD_DATABASE_URL, "
                "that the server runs, and that this user may connect and create tables)")
    if "locked" in text or "busy" in text:
        return (f"database {where} is locked by another process (another `sanad serve` or `sanad index`, or an "
                f"sqlite3 shell holding it): stop that process, then start again")
    if "full" in text or errno_ == 28:  # ENOSPC
        return f"the disk holding {where} is full: free some space, or set SANAD_DB to a file on another disk"
    if "not a database" in text or "malformed" in text or "corrupt" in text:
        return (f"{where} is damaged or is not a Sanad database: move it aside (it may hold your question log) "
                f"and run `sanad index` to build a new one, or set SANAD_DB to another file")
    if "readonly" in text or "read-only" in text or "unable to open" in text or isinstance(error, PermissionError) \
            or errno_ in (13, 30):  # EACCES, EROFS
        return (f"cannot create or write database {where}: its folder is read-only or not writable by this user; "
                f"set SANAD_DB to a writable file ({error})")
    return f"cannot use database {where}: {error}"


def _key_for(target: str | Path, key_file: Path | None) -> bytes:
    """The id key (from `key_file`, by default the one beside a SQLite file); an in-memory or unwritable one
    gets a key for this run only, so its pseudonyms do not outlive the run."""
    if key_file is None:
        if is_url(target):
            raise StoreError("a PostgreSQL store needs the id key file every replica shares: set SANAD_KEY_FILE")
        if str(target) == ":memory:":
            return secrets.token_bytes(KEY_BYTES)
        key_file = key_path(Path(target))
    try:
        return load_key(Path(key_file))
    except OSError as e:
        if is_url(target):  # replicas must share it: a key for this run only would split the log
            raise StoreError(f"cannot read or create the id key file {key_file} ({e}): set SANAD_KEY_FILE to "
                             "a readable file, the same on every replica") from e
        log.warning("cannot keep the id key beside %s (%s): pseudonyms hold for this run only", Path(target).name, e)
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
