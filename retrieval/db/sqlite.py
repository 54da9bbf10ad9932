"""The SQLite backend (through aiosqlite): one file, WAL mode, a second connection for the question log.

Processes on one machine share the file: a lock file beside it (`flock`) is the lock across processes,
and a process learns of another's new corpus by polling (a one-row read, between questions).
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import logging
import os
import sqlite3
from collections.abc import AsyncIterator, Iterable, Sequence
from pathlib import Path
from typing import Any

import aiosqlite

__all__ = ["SqliteDatabase", "split_script"]

log = logging.getLogger(__name__)


class _Statements:
    """Reads and writes on one connection (inside whatever transaction it is in)."""

    def __init__(self, db: aiosqlite.Connection):
        self._db = db

    async def fetchone(self, sql: str, args: Sequence[Any] = ()) -> tuple | None:
        return await (await self._db.execute(sql, args)).fetchone()

    async def fetchall(self, sql: str, args: Sequence[Any] = ()) -> list[tuple]:
        return list(await (await self._db.execute(sql, args)).fetchall())

    async def pages(self, sql: str, args: Sequence[Any] = (), size: int = 500) -> AsyncIterator[list[tuple]]:
        async with self._db.execute(sql, args) as cursor:
            while page := await cursor.fetchmany(size):
                yield list(page)

    async def execute(self, sql: str, args: Sequence[Any] = ()) -> int:
        return (await self._db.execute(sql, args)).rowcount

    async def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        await self._db.executemany(sql, rows)

    async def script(self, sql: str) -> None:
        """Several statements, inside the current transaction (executescript would commit it first)."""
        for statement in split_script(sql):
            await self._db.execute(statement)

    async def announce(self, payload: str) -> None:
        """Nothing to send: other processes poll the corpus version."""

    async def set_schema_version(self, version: int) -> None:
        await self._db.execute(f"PRAGMA user_version = {int(version)}")

    async def lock_schema(self) -> None:
        """Nothing more: a write transaction (BEGIN IMMEDIATE) already excludes every other writer."""

    async def schema_version(self) -> int:
        (version,) = await self.fetchone("PRAGMA user_version")
        return version


def split_script(sql: str) -> list[str]:
    """The complete statements of a script, in order (SQLite's own test of where a statement ends)."""
    statements, current = [], ""
    for part in sql.split(";"):
        current += part + ";"
        if sqlite3.complete_statement(current):
            if current.strip(" \n\t;"):
                statements.append(current.strip())
            current = ""
    return statements


class SqliteDatabase(_Statements):
    """Sanad's SQLite file; open with `await SqliteDatabase.open(path)`."""

    dialect = "sqlite"

    def __init__(self, db: aiosqlite.Connection, path: Path):
        super().__init__(db)
        self._log = db  # the question log's lane: a connection of its own once open
        self._write_lock = asyncio.Lock()  # one write transaction at a time on the shared connection
        self.path = path
        self.where = str(path)
        self.target = str(path)

    @classmethod
    async def open(cls, path: Path, *, serving: bool = True) -> "SqliteDatabase":
        if str(path) != ":memory:":
            path.parent.mkdir(parents=True, exist_ok=True)
        connection = aiosqlite.connect(path, isolation_level=None)
        try:
            db = await connection
        except Exception:
            # aiosqlite's worker thread is still stopping: let it finish while the loop can hear it,
            # or it reports to a closed loop with a traceback after the caller's message.
            await asyncio.to_thread(connection._thread.join)  # noqa: SLF001
            raise
        database = cls(db, path)
        try:
            await db.execute("PRAGMA busy_timeout = 5000")
            await _wal(db)
            await db.execute("PRAGMA synchronous = NORMAL")
            if serving and str(path) != ":memory:":  # (a second connection to :memory: is another database)
                database._log = await _connect(path)
        except BaseException:
            await database.close()
            raise
        return database

    async def close(self) -> None:
        if self._log is not self._db:
            await self._log.close()
        await self._db.close()

    async def log_fetchone(self, sql: str, args: Sequence[Any] = ()) -> tuple | None:
        return await (await self._log.execute(sql, args)).fetchone()

    @contextlib.asynccontextmanager
    async def read(self) -> AsyncIterator[_Statements]:
        """A read transaction on a connection of its own: a consistent view while another process commits,
        without holding up (or taking in) the statements the shared connection runs meanwhile."""
        if str(self.path) == ":memory:":
            yield self
            return
        db = await _connect(self.path)
        try:
            await db.execute("BEGIN")
            yield _Statements(db)
        finally:
            await db.close()  # (a read-only transaction: closing ends it)

    @contextlib.asynccontextmanager
    async def write(self) -> AsyncIterator[_Statements]:
        async with self._write_lock:
            db = self._db
            await db.execute("BEGIN IMMEDIATE")
            try:
                yield self
                await db.execute("COMMIT")
            except BaseException:
                # SQLite may already have rolled back (SQLITE_FULL does): a second ROLLBACK would fail and
                # replace the real cause ("database or disk is full") with "no transaction is active".
                if db.in_transaction:
                    await db.execute("ROLLBACK")
                raise

    @contextlib.asynccontextmanager
    async def try_lock(self, name: str) -> AsyncIterator[bool]:
        """An exclusive `flock` on `<database>.<name>.lock`: the kernel releases it when its holder dies."""
        if str(self.path) == ":memory:":
            yield True
            return
        lock_path = self.path.with_name(f"{self.path.name}.{name}.lock")
        try:
            # readable by all: `sanad add` run by another user of the database can still take the lock
            fd = await asyncio.to_thread(os.open, lock_path, os.O_RDONLY | os.O_CREAT, 0o644)
        except OSError as e:  # a folder this user cannot write: no other process of it can share the lock either
            log.warning("cannot use the lock file %s (%s); going on without a lock across processes", lock_path, e)
            yield True
            return
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                yield False
                return
            try:
                yield True
            finally:
                fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            os.close(fd)

    async def wait_for_change(self, timeout: float) -> None:
        await asyncio.sleep(timeout)  # SQLite sends no notices: the caller polls the version

    async def erase(self, statements: Sequence[tuple[str, Sequence[Any]]]) -> int:
        """Deleted content is overwritten (secure_delete) and the write-ahead log, which still holds the old
        pages, is checkpointed into the database and truncated; all under the write lock, so no other write
        transaction on this connection runs with secure_delete on or stands in the checkpoint's way."""
        db = self._db
        async with self._write_lock:
            await db.execute("PRAGMA secure_delete = ON")  # only here: zeroing every reload's old index would cost
            try:
                await db.execute("BEGIN IMMEDIATE")
                try:
                    count = 0
                    for sql, args in statements:
                        count = (await db.execute(sql, args)).rowcount
                    await db.execute("COMMIT")
                except BaseException:
                    if db.in_transaction:
                        await db.execute("ROLLBACK")
                    raise
            finally:
                await db.execute("PRAGMA secure_delete = OFF")
            busy, _, _ = await self.fetchone("PRAGMA wal_checkpoint(TRUNCATE)")
        if busy:
            log.warning("deleted rows remain in %s-wal until the next checkpoint: a reader was busy", self.path.name)
        return count

    async def table_names(self) -> set[str]:
        return {r[0] for r in await self.fetchall("SELECT name FROM sqlite_master WHERE type = 'table'")}

    async def check_integrity(self) -> None:
        """quick_check reads every page once; a damaged page would otherwise go unnoticed until a write fails."""
        from ..store import StoreError
        rows = await self.fetchall("PRAGMA quick_check(5)")
        if rows and rows[0][0] != "ok":
            problems = "; ".join(" ".join(r[0].split()) for r in rows)
            raise StoreError(
                f"database {self.path} is damaged ({problems}). Recover what it holds with "
                f"`sqlite3 {self.path} .recover | sqlite3 recovered.sqlite3` and point SANAD_DB at the result, or "
                f"move it aside and run `sanad index` to start a new one (its question log would start empty)")


async def _wal(db: aiosqlite.Connection, seconds: float = 5.0) -> None:
    """Put the file in WAL mode. Two processes opening a new file at once: the switch may fail at once
    with "locked" (SQLite does not always wait for that lock), so the loser tries again a moment later,
    for a few seconds; a file locked for longer (another program holding it) is reported as locked."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while True:
        try:
            await db.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as e:
            if "locked" not in str(e) or loop.time() >= deadline:
                raise
            await asyncio.sleep(0.1)


async def _connect(path: Path) -> aiosqlite.Connection:
    db = await aiosqlite.connect(path, isolation_level=None)
    await db.execute("PRAGMA busy_timeout = 5000")
    await db.execute("PRAGMA synchronous = NORMAL")
    return db
