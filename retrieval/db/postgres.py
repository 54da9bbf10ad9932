"""The PostgreSQL backend (psycopg 3, async, with a connection pool): one database shared by replicas.

A new corpus is announced with NOTIFY in the transaction that saves it, so every replica LISTENing
hears of it at commit; a lock across machines is a session advisory lock, released by the server
when its holder's connection dies.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import hashlib
import logging
from collections.abc import AsyncIterator, Iterable, Sequence
from typing import Any

import psycopg
from psycopg.conninfo import conninfo_to_dict
from psycopg_pool import AsyncConnectionPool, PoolTimeout

from . import CHANGES_CHANNEL

__all__ = ["PostgresDatabase", "redacted", "adapt"]

log = logging.getLogger(__name__)

POOL_SIZE = 8  # answers need none; the log, settings, votes and a build share these
LISTEN_RETRY_SECONDS = 5.0
CONNECT_SECONDS = 10


@functools.lru_cache(maxsize=256)
def adapt(sql: str) -> str:
    """Sanad's SQL (`?` placeholders) in psycopg's form (`%s`); the statements hold no other `?` or `%`."""
    if "%" in sql:
        raise ValueError(f"a literal % in SQL meant for both backends: {sql[:60]}")
    return sql.replace("?", "%s")


def redacted(url: str) -> str:
    """The address of a database without its password, for messages and logs."""
    try:
        parts = conninfo_to_dict(url)
    except psycopg.ProgrammingError:
        return "postgresql://(unreadable address)"
    host = parts.get("host", "")
    where = f"{host}:{parts['port']}" if parts.get("port") else host
    user = f"{parts['user']}@" if parts.get("user") else ""
    return f"postgresql://{user}{where}/{parts.get('dbname', '')}"


def _lock_key(name: str) -> int:
    """An advisory lock's 64-bit key, named after what it guards."""
    return int.from_bytes(hashlib.blake2b(f"sanad:{name}".encode(), digest_size=8).digest(), "big", signed=True)


class _Statements:
    """Reads and writes on one connection (inside whatever transaction it is in)."""

    def __init__(self, conn: psycopg.AsyncConnection):
        self._conn = conn

    async def fetchone(self, sql: str, args: Sequence[Any] = ()) -> tuple | None:
        cur = await self._conn.execute(adapt(sql), args)
        return await cur.fetchone()

    async def fetchall(self, sql: str, args: Sequence[Any] = ()) -> list[tuple]:
        cur = await self._conn.execute(adapt(sql), args)
        return await cur.fetchall()

    async def pages(self, sql: str, args: Sequence[Any] = (), size: int = 500) -> AsyncIterator[list[tuple]]:
        # A server-side cursor: a large corpus is read a page at a time, not all at once.
        async with self._conn.cursor(name=f"sanad_pages_{id(self)}") as cur:
            await cur.execute(adapt(sql), args)
            while page := await cur.fetchmany(size):
                yield page

    async def execute(self, sql: str, args: Sequence[Any] = ()) -> int:
        cur = await self._conn.execute(adapt(sql), args)
        return cur.rowcount

    async def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        async with self._conn.cursor() as cur:
            await cur.executemany(adapt(sql), list(rows))

    async def script(self, sql: str) -> None:
        await self._conn.execute(sql)  # (no parameters: PostgreSQL runs several statements in one go)

    async def announce(self, payload: str) -> None:
        await self._conn.execute("SELECT pg_notify(%s, %s)", (CHANGES_CHANNEL, payload))

    async def set_schema_version(self, version: int) -> None:
        await self._conn.execute("UPDATE schema_version SET version = %s", (version,))

    async def lock_schema(self) -> None:
        """Replicas starting together on a new database: one makes the schema, the others wait, then find it."""
        await self._conn.execute("SELECT pg_advisory_xact_lock(%s)", (_lock_key("schema"),))
        await _ensure_version_table(self._conn)

    async def schema_version(self) -> int:
        row = await (await self._conn.execute("SELECT version FROM schema_version")).fetchone()
        return row[0] if row else 0


class PostgresDatabase:
    """A PostgreSQL database; open with `await PostgresDatabase.open(url)`."""

    dialect = "postgres"

    def __init__(self, url: str, pool: AsyncConnectionPool):
        self.target = url
        self.where = redacted(url)
        self._pool = pool
        self._listener: psycopg.AsyncConnection | None = None

    @classmethod
    async def open(cls, url: str, *, serving: bool = True) -> "PostgresDatabase":
        """Connect once first, so that a wrong address, user or password is said at once in the server's
        own words (the pool would retry quietly until its timeout); then open the pool."""
        probe = await psycopg.AsyncConnection.connect(url, autocommit=True, connect_timeout=CONNECT_SECONDS)
        await probe.close()
        # check: a connection the server dropped (a restart, a failover) is replaced before use, so no answer's
        # question-log write or setting read meets it
        pool = AsyncConnectionPool(url, min_size=1, max_size=POOL_SIZE if serving else 2, open=False,
                                   kwargs={"autocommit": True}, timeout=CONNECT_SECONDS, name="sanad",
                                   check=AsyncConnectionPool.check_connection)
        try:
            await pool.open(wait=True, timeout=CONNECT_SECONDS)
        except BaseException as e:
            await pool.close()
            if isinstance(e, PoolTimeout):
                raise _unreachable(url) from None
            raise
        return cls(url, pool)

    async def close(self) -> None:
        if self._listener is not None:
            await self._listener.close()
            self._listener = None
        await self._pool.close()

    async def fetchone(self, sql: str, args: Sequence[Any] = ()) -> tuple | None:
        async with self._pool.connection() as conn:
            return await _Statements(conn).fetchone(sql, args)

    async def fetchall(self, sql: str, args: Sequence[Any] = ()) -> list[tuple]:
        async with self._pool.connection() as conn:
            return await _Statements(conn).fetchall(sql, args)

    async def execute(self, sql: str, args: Sequence[Any] = ()) -> int:
        async with self._pool.connection() as conn:
            return await _Statements(conn).execute(sql, args)

    log_fetchone = fetchone  # the pool gives the question log a connection of its own anyway

    @contextlib.asynccontextmanager
    async def read(self) -> AsyncIterator[_Statements]:
        """One snapshot of the database for every read in the block (REPEATABLE READ)."""
        async with self._pool.connection() as conn:
            async with conn.transaction():
                await conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
                yield _Statements(conn)

    @contextlib.asynccontextmanager
    async def write(self) -> AsyncIterator[_Statements]:
        async with self._pool.connection() as conn:
            async with conn.transaction():
                yield _Statements(conn)

    @contextlib.asynccontextmanager
    async def try_lock(self, name: str) -> AsyncIterator[bool]:
        """A session advisory lock on a connection held for the block (PostgreSQL ends it if we die)."""
        key = _lock_key(name)
        async with self._pool.connection() as conn:
            (got,) = await (await conn.execute("SELECT pg_try_advisory_lock(%s)", (key,))).fetchone()
            if not got:
                yield False
                return
            try:
                yield True
            finally:
                with contextlib.suppress(psycopg.Error):
                    await conn.execute("SELECT pg_advisory_unlock(%s)", (key,))

    async def wait_for_change(self, timeout: float) -> None:
        """Wait for a NOTIFY on the corpus channel (or `timeout`); a lost listening connection is opened
        again, and the caller's poll after the timeout covers what was announced meanwhile."""
        try:
            if self._listener is None or self._listener.closed:
                self._listener = await psycopg.AsyncConnection.connect(self.target, autocommit=True,
                                                                       connect_timeout=CONNECT_SECONDS)
                await self._listener.execute(f"LISTEN {CHANGES_CHANNEL}")
            async for _ in self._listener.notifies(timeout=timeout, stop_after=1):
                pass
        except psycopg.Error as e:
            log.warning("listening for corpus changes on %s failed (%s); retrying", self.where, e)
            if self._listener is not None:
                with contextlib.suppress(psycopg.Error):
                    await self._listener.close()
            self._listener = None
            await asyncio.sleep(min(timeout, LISTEN_RETRY_SECONDS))

    async def erase(self, statements: Sequence[tuple[str, Sequence[Any]]]) -> int:
        """Delete, then VACUUM the tables touched so that dead rows holding the text are reclaimed."""
        count = 0
        async with self.write() as tx:
            for sql, args in statements:
                count = await tx.execute(sql, args)
        async with self._pool.connection() as conn:  # (VACUUM cannot run inside a transaction)
            await conn.execute("VACUUM feedback, questions")  # frees the dead rows' space for reuse
        return count

    async def schema_version(self) -> int:
        """0 for a new database (no version table yet); the table is made under the schema lock."""
        row = await self.fetchone("SELECT to_regclass('schema_version') IS NOT NULL")
        if not row[0]:
            return 0
        (version,) = await self.fetchone("SELECT version FROM schema_version")
        return version

    async def table_names(self) -> set[str]:
        rows = await self.fetchall("SELECT table_name FROM information_schema.tables "
                                   "WHERE table_schema = current_schema()")
        return {r[0] for r in rows}

    async def check_integrity(self) -> None:
        """The server checks its own pages."""


async def _ensure_version_table(conn: psycopg.AsyncConnection) -> None:
    await conn.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
    await conn.execute("INSERT INTO schema_version (version) SELECT 0 WHERE NOT EXISTS (SELECT 1 FROM schema_version)")


def _unreachable(url: str) -> Exception:
    from ..store import StoreError
    return StoreError(f"cannot connect to the PostgreSQL database {redacted(url)} within {CONNECT_SECONDS} s: check "
                      "SANAD_DATABASE_URL, that the server runs, and that this user may connect")

