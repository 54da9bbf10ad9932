"""The PostgreSQL fixtures themselves (tests/postgres.py): a real server, separate databases per test,
the features the store relies on (LISTEN/NOTIFY, advisory locks), and no server left behind."""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import psycopg
import pytest

from tests.conftest import ROOT
from tests.postgres import PostgresServer, find_bindir, missing_postgres


def test_the_server_runs_sql_in_a_utf8_database(postgres_url: str):
    with psycopg.connect(postgres_url) as conn:
        assert conn.execute("SELECT 1 + 1").fetchone() == (2,)
        assert conn.execute("SHOW server_encoding").fetchone() == ("UTF8",)
        assert conn.info.server_version >= 130000  # DROP DATABASE ... WITH (FORCE)
        conn.execute("CREATE TABLE t (x text)")
        conn.execute("INSERT INTO t VALUES (%s)", ("سند",))
        assert conn.execute("SELECT x, length(x) FROM t").fetchone() == ("سند", 3)


def test_each_database_is_empty_separate_and_dropped_afterwards(postgres_server: PostgresServer, postgres_url: str):
    with psycopg.connect(postgres_url) as conn:
        assert conn.execute("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'").fetchone() == (0,)
        conn.execute("CREATE TABLE only_here (x int)")
        conn.commit()
    with postgres_server.database() as other:
        assert other != postgres_url
        with psycopg.connect(other) as conn:
            assert conn.execute("SELECT to_regclass('only_here')").fetchone() == (None,)
            left_open = psycopg.connect(other)  # dropping must not wait for the test's connections
    name = urlsplit(other).path.lstrip("/")
    with psycopg.connect(postgres_server.url) as conn:
        assert conn.execute("SELECT count(*) FROM pg_database WHERE datname = %s", (name,)).fetchone() == (0,)
    with left_open, pytest.raises(psycopg.OperationalError):  # the drop ended it
        left_open.execute("SELECT 1")


def test_listen_notify_reaches_another_connection(postgres_url: str):
    with psycopg.connect(postgres_url, autocommit=True) as listener, \
            psycopg.connect(postgres_url, autocommit=True) as sender:
        listener.execute("LISTEN corpus_changed")
        sender.execute("SELECT pg_notify('corpus_changed', 'تحديث 7')")
        received = list(listener.notifies(timeout=5, stop_after=1))
    assert [(n.channel, n.payload) for n in received] == [("corpus_changed", "تحديث 7")]


def test_an_advisory_lock_held_by_one_connection_is_refused_to_another(postgres_url: str):
    with psycopg.connect(postgres_url, autocommit=True) as first, \
            psycopg.connect(postgres_url, autocommit=True) as second:
        assert first.execute("SELECT pg_try_advisory_lock(42)").fetchone() == (True,)
        assert second.execute("SELECT pg_try_advisory_lock(42)").fetchone() == (False,)
        assert second.execute("SELECT pg_try_advisory_lock(43)").fetchone() == (True,)
        first.execute("SELECT pg_advisory_unlock(42)")
        assert second.execute("SELECT pg_try_advisory_lock(42)").fetchone() == (True,)


def test_store_url_is_a_fresh_place_for_either_backend(store_url: str, request: pytest.FixtureRequest):
    if request.node.callspec.params["store_url"] == "sqlite":
        assert not Path(store_url).exists()
        with sqlite3.connect(store_url) as conn:
            conn.execute("CREATE TABLE t (x int)")
    else:
        assert store_url.startswith("postgresql://")
        with psycopg.connect(store_url) as conn:
            conn.execute("CREATE TABLE t (x int)")


CHILD = """
import sys, time
from pathlib import Path
from tests.postgres import throwaway_cluster
with throwaway_cluster(Path(sys.argv[1])) as url:
    print(url, flush=True)
    time.sleep(120)
"""


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGKILL], ids=["interrupted", "killed"])
def test_an_interrupted_or_killed_session_leaves_no_server_behind(sig: signal.Signals):
    bindir = find_bindir() or missing_postgres()
    child = subprocess.Popen([sys.executable, "-c", CHILD, str(bindir)], cwd=ROOT, stdout=subprocess.PIPE, text=True)
    url = child.stdout.readline().strip()
    assert url.startswith("postgresql://"), "the child's cluster did not start"
    folder = Path(parse_qs(urlsplit(url).query)["host"][0])
    assert (folder / "data" / "postmaster.pid").exists()
    child.send_signal(sig)
    child.wait(timeout=30)
    deadline = time.monotonic() + 30
    while folder.exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not folder.exists()
    with pytest.raises(psycopg.OperationalError):
        psycopg.connect(url, connect_timeout=2)


def test_find_bindir_prefers_pg_config_then_the_newest_debian_server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    debian = tmp_path / "postgresql"
    for version in ("13", "15"):
        (debian / version / "bin").mkdir(parents=True)
        (debian / version / "bin" / "initdb").touch()
    (debian / "16" / "bin").mkdir(parents=True)  # a client-only install: psql, no initdb
    path = tmp_path / "path"
    path.mkdir()
    monkeypatch.setenv("PATH", str(path))
    assert find_bindir(debian) == debian / "15" / "bin"
    assert find_bindir(tmp_path / "nothing") is None

    pg_config = path / "pg_config"
    pg_config.write_text(f"#!/bin/sh\necho {debian / '13' / 'bin'}\n")
    pg_config.chmod(0o755)
    assert find_bindir(debian) == debian / "13" / "bin"


def test_without_postgres_a_developer_skips_but_ci_fails(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.delenv("SANAD_REQUIRE_POSTGRES", raising=False)
    with pytest.raises(pytest.skip.Exception, match="apt-get install postgresql"):
        missing_postgres()
    monkeypatch.setenv("SANAD_REQUIRE_POSTGRES", "1")
    with pytest.raises(pytest.fail.Exception, match="SANAD_REQUIRE_POSTGRES=1"):
        missing_postgres()


def test_a_database_url_keeps_the_servers_address_and_options():
    server = PostgresServer("postgresql://postgres@/postgres?host=/tmp/sanad-pg-x&port=5432")
    assert server.url_for("t1") == "postgresql://postgres@/t1?host=/tmp/sanad-pg-x&port=5432"
    assert PostgresServer("postgresql:///postgres?host=/run/pg").url_for("t1") == "postgresql:///t1?host=/run/pg"
    assert PostgresServer("postgresql://u:p@db.example:6543/admin").url_for("t1") == "postgresql://u:p@db.example:6543/t1"
