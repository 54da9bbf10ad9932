"""Where Sanad's store lives, behind one small async seam: a SQLite file (the embedded default) or a
PostgreSQL database (`postgresql://...`, shared by replicas on several machines).

SQL is written once, in the dialect both understand (`?` placeholders, `ON CONFLICT ... DO UPDATE`,
`RETURNING`); each backend adapts the few things that differ: the schema's types, the schema version's
home, locks across processes, change notices, and how deleted text is scrubbed from the disk.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from typing import Any, Protocol

__all__ = ["Database", "Reader", "Writer", "is_url", "open_database", "CHANGES_CHANNEL"]

CHANGES_CHANNEL = "sanad_corpus"  # PostgreSQL: the NOTIFY channel a new corpus version is announced on


class Reader(Protocol):
    """Statements inside one transaction: every read sees the same committed state."""

    async def fetchone(self, sql: str, args: Sequence[Any] = ()) -> tuple | None: ...

    async def fetchall(self, sql: str, args: Sequence[Any] = ()) -> list[tuple]: ...

    def pages(self, sql: str, args: Sequence[Any] = (), size: int = 500) -> AsyncIterator[list[tuple]]: ...


class Writer(Reader, Protocol):
    """An exclusive write transaction: commits when its block ends, rolls back on an exception."""

    async def execute(self, sql: str, args: Sequence[Any] = ()) -> int: ...

    async def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None: ...

    async def announce(self, payload: str) -> None:
        """Tell other processes, at commit, that the corpus changed (PostgreSQL NOTIFY; SQLite: they poll)."""


class Database(Protocol):
    """One store: single statements (each its own transaction), transactions, locks across processes."""

    dialect: str  # "sqlite" or "postgres"
    where: str  # for messages: the file, or the address without its password
    target: str  # what was opened: a path or a URL (a child process opens the same)

    async def fetchone(self, sql: str, args: Sequence[Any] = ()) -> tuple | None: ...

    async def fetchall(self, sql: str, args: Sequence[Any] = ()) -> list[tuple]: ...

    async def execute(self, sql: str, args: Sequence[Any] = ()) -> int: ...

    async def log_fetchone(self, sql: str, args: Sequence[Any] = ()) -> tuple | None:
        """A question-log write, on a lane of its own so that it never holds up the reads an answer needs."""

    def read(self) -> AbstractAsyncContextManager[Reader]: ...

    def write(self) -> AbstractAsyncContextManager[Writer]: ...

    def try_lock(self, name: str) -> AbstractAsyncContextManager[bool]:
        """Hold a lock named `name` across processes (and machines, on PostgreSQL) for the block; yields
        False at once, without waiting, when another holder has it. A dead holder's lock is released."""

    async def wait_for_change(self, timeout: float) -> None:
        """Return when another process may have committed a corpus (a notice), or after `timeout`."""

    async def erase(self, statements: Sequence[tuple[str, Sequence[Any]]]) -> int:
        """Delete in one transaction so that the text is gone from the disk too; the last statement's count."""

    async def schema_version(self) -> int: ...

    async def table_names(self) -> set[str]: ...

    async def check_integrity(self) -> None: ...

    async def close(self) -> None: ...


def is_url(target: str | Path) -> bool:
    """Whether `target` names a PostgreSQL database rather than a SQLite file."""
    return str(target).startswith(("postgresql://", "postgres://"))


async def open_database(target: str | Path, *, serving: bool = True) -> Database:
    """Connect to a SQLite file or a PostgreSQL URL; `serving=False` (a rebuild child) opens no log lane."""
    if is_url(target):
        from .postgres import PostgresDatabase
        return await PostgresDatabase.open(str(target), serving=serving)
    from .sqlite import SqliteDatabase
    return await SqliteDatabase.open(Path(target), serving=serving)
