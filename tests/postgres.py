"""A real PostgreSQL server for the tests: a throwaway cluster per session, a fresh database per test.

Fixtures (imported by conftest.py):
- ``postgres_server`` (session): the server; started here unless ``SANAD_TEST_DATABASE_URL`` names one.
- ``postgres_url`` (test): the URL of a new, empty database on it, dropped after the test.
- ``store_url`` (test, parametrised "sqlite" / "postgres"): a SQLite file path or a PostgreSQL URL,
  so one store test runs against both backends.

Without PostgreSQL's binaries the tests that use them skip, saying how to install it, unless
``SANAD_REQUIRE_POSTGRES=1`` (set by .ci/run), which makes them fail: CI never skips them silently.
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import NoReturn
from urllib.parse import quote, urlsplit

import psycopg
import pytest
from psycopg import sql

DEBIAN_BINARIES = Path("/usr/lib/postgresql")
INSTALL_HINT = (
    "PostgreSQL's server binaries (initdb, pg_ctl) were not found, so the PostgreSQL tests cannot run. "
    "Install them (Debian/Ubuntu: `sudo apt-get install postgresql`; macOS: `brew install postgresql`) "
    "or point SANAD_TEST_DATABASE_URL at a server whose user may create databases."
)
PORT = 5432  # the socket lives in the cluster's own folder, so the usual port collides with nothing


def find_bindir(debian_root: Path = DEBIAN_BINARIES) -> Path | None:
    """The folder holding initdb and pg_ctl: `pg_config --bindir`, else the newest Debian version,
    else the folder of an initdb on PATH. A folder without initdb (a client-only install) is passed over."""
    candidates: list[Path] = []
    if pg_config := shutil.which("pg_config"):
        done = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True)
        if done.returncode == 0:
            candidates.append(Path(done.stdout.strip()))

    def version(folder: Path) -> tuple[int, ...]:
        return tuple(int(part) for part in folder.parent.name.split(".") if part.isdigit())

    candidates += sorted(debian_root.glob("*/bin"), key=version, reverse=True)
    if initdb := shutil.which("initdb"):
        candidates.append(Path(initdb).resolve().parent)
    return next((folder for folder in candidates if (folder / "initdb").is_file()), None)


def missing_postgres() -> NoReturn:
    """Skip the test for want of PostgreSQL, or fail it when SANAD_REQUIRE_POSTGRES=1 (CI)."""
    if os.environ.get("SANAD_REQUIRE_POSTGRES") == "1":
        pytest.fail(INSTALL_HINT + " SANAD_REQUIRE_POSTGRES=1 forbids skipping them.", pytrace=False)
    pytest.skip(INSTALL_HINT)


def _as_cluster_owner() -> list[str]:
    """The command prefix that runs a PostgreSQL program as the cluster's owner: initdb refuses root,
    so as root it is the `postgres` system user (the Debian package creates it), else ourselves."""
    if os.geteuid() != 0:
        return []
    try:
        pwd.getpwnam("postgres")
    except KeyError:
        raise RuntimeError(
            "running as root, and initdb refuses root: a 'postgres' system user is needed to own "
            "the test cluster (Debian's postgresql package creates it)"
        ) from None
    return ["runuser", "-u", "postgres", "--"]


@contextmanager
def throwaway_cluster(bindir: Path) -> Iterator[str]:
    """Create and start a PostgreSQL cluster in a temporary folder, listening only on a unix socket
    there; yield the URL of its `postgres` database; stop it and remove the folder afterwards.

    The stopping is done by a small watchdog process that waits for its stdin to close: we close it
    when the block ends, and the kernel closes it if this process dies, even by SIGKILL, so an
    interrupted test run leaves no server behind.
    """
    owner = _as_cluster_owner()
    folder = Path(tempfile.mkdtemp(prefix="sanad-pg-"))
    if owner:
        shutil.chown(folder, user="postgres")
    data, log = folder / "data", folder / "server.log"
    pg_ctl = [*owner, str(bindir / "pg_ctl"), "-D", str(data)]
    watchdog = subprocess.Popen(
        [sys.executable, __file__, "--stop-when-stdin-closes", str(folder), *pg_ctl],
        stdin=subprocess.PIPE,
        start_new_session=True,  # a Ctrl-C at the terminal reaches pytest, not the watchdog
    )
    try:
        # Trust auth and the C locale with UTF-8: no passwords, and the same collation on every machine.
        _run([*owner, str(bindir / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust",
              "--encoding=UTF8", "--no-locale", "--no-sync"], folder)
        with open(data / "postgresql.conf", "a") as conf:
            conf.write(
                f"listen_addresses = ''\nunix_socket_directories = '{folder}'\nport = {PORT}\n"
                "fsync = off\nsynchronous_commit = off\nfull_page_writes = off\ntimezone = 'UTC'\n"
            )
        _run([*pg_ctl, "-l", str(log), "-w", "-t", "60", "start"], folder, log)
        url = f"postgresql://postgres@/postgres?host={quote(str(folder), safe='/')}&port={PORT}"
        with psycopg.connect(url, connect_timeout=10) as conn:  # pg_ctl -w waited; this proves the URL
            conn.execute("SELECT 1")
        yield url
    finally:
        watchdog.stdin.close()
        watchdog.wait(timeout=60)


def _run(command: list[str], cwd: Path, log: Path | None = None) -> None:
    """Run a PostgreSQL program; on failure raise with its output (and the server log) in the message."""
    done = subprocess.run(command, cwd=cwd, capture_output=True, text=True)
    if done.returncode != 0:
        server_log = log.read_text(errors="replace")[-3000:] if log and log.exists() else ""
        raise RuntimeError(f"{' '.join(command)} failed ({done.returncode}):\n{done.stdout}{done.stderr}{server_log}")


def _stop_when_stdin_closes(folder: str, pg_ctl: list[str]) -> None:
    """The watchdog: wait until the test session closes our stdin or dies, then stop its cluster at once
    (no checkpoint: the data is thrown away) and remove the folder."""
    sys.stdin.buffer.read()
    subprocess.run([*pg_ctl, "-m", "immediate", "-w", "stop"], cwd=folder, capture_output=True)
    shutil.rmtree(folder, ignore_errors=True)


class PostgresServer:
    """A PostgreSQL server the tests may create and drop databases on, reached by a URL to its
    maintenance database (a user with the CREATEDB right)."""

    def __init__(self, url: str):
        self.url = url

    def url_for(self, dbname: str) -> str:
        """The server's URL with another database name."""
        parts = urlsplit(self.url)  # urlunsplit would drop the // of "postgresql:///db?host=..."
        return f"{parts.scheme}://{parts.netloc}/{quote(dbname)}" + (f"?{parts.query}" if parts.query else "")

    @contextmanager
    def database(self) -> Iterator[str]:
        """A new, empty UTF-8 database with a unique name; yields its URL, drops it afterwards even if
        connections to it are still open (WITH (FORCE), PostgreSQL 13 and newer)."""
        name = f"sanad_test_{uuid.uuid4().hex[:16]}"
        # template0: CREATE DATABASE from template1 fails while anyone else is connected to template1.
        self._execute(sql.SQL("CREATE DATABASE {} TEMPLATE template0 ENCODING 'UTF8'").format(sql.Identifier(name)))
        try:
            yield self.url_for(name)
        finally:
            self._execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))

    def _execute(self, statement: sql.Composable) -> None:
        with psycopg.connect(self.url, autocommit=True, connect_timeout=10) as conn:
            conn.execute(statement)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """The session's PostgreSQL server: SANAD_TEST_DATABASE_URL's, else a throwaway cluster started here."""
    if url := os.environ.get("SANAD_TEST_DATABASE_URL"):
        yield PostgresServer(url)
        return
    bindir = find_bindir()
    if bindir is None:
        missing_postgres()
    started = time.monotonic()
    with throwaway_cluster(bindir) as url:
        print(f"\nPostgreSQL from {bindir} ready in {time.monotonic() - started:.1f} s", file=sys.stderr)
        yield PostgresServer(url)


@pytest.fixture
def postgres_url(postgres_server: PostgresServer) -> Iterator[str]:
    """The URL of a fresh, empty database for this test alone."""
    with postgres_server.database() as url:
        yield url


@pytest.fixture(params=["sqlite", "postgres"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Where a store test keeps its data, once per backend: a SQLite file path, or a PostgreSQL URL."""
    if request.param == "sqlite":
        return str(tmp_path / "sanad.sqlite3")
    return request.getfixturevalue("postgres_url")


if __name__ == "__main__" and sys.argv[1:2] == ["--stop-when-stdin-closes"]:
    _stop_when_stdin_closes(sys.argv[2], sys.argv[3:])
