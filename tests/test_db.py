"""The database seam (retrieval/db): the same statements on both backends, consistent reads, notices."""

import asyncio

import pytest

from retrieval.db import is_url, open_database
from retrieval.db.postgres import adapt, redacted
from retrieval.db.sqlite import split_script


def test_a_postgresql_address_is_shown_without_its_password():
    shown = redacted("postgresql://sanad:s3cret@db.example.org:5433/sanad?sslmode=require")
    assert "s3cret" not in shown and shown == "postgresql://sanad@db.example.org:5433/sanad"
    assert is_url("postgresql://x/y") and is_url("postgres://x/y") and not is_url("/var/lib/sanad.sqlite3")


def test_statements_are_written_once_with_question_marks():
    assert adapt("SELECT a FROM t WHERE b = ? AND c = ?") == "SELECT a FROM t WHERE b = %s AND c = %s"
    with pytest.raises(ValueError):
        adapt("SELECT '100%'")  # a literal % would be read as a placeholder by psycopg


def test_a_script_is_split_where_sqlite_says_statements_end():
    script = "CREATE TABLE a (x TEXT DEFAULT 'a;b');\n  -- note\nCREATE TABLE b (y);\n"
    assert split_script(script) == ["CREATE TABLE a (x TEXT DEFAULT 'a;b');", "-- note\nCREATE TABLE b (y);"]


async def test_statements_transactions_and_pages_behave_the_same_on_both(store_url):
    db = await open_database(store_url)
    try:
        await db.execute("CREATE TABLE t (k TEXT PRIMARY KEY, v INTEGER NOT NULL)")
        async with db.write() as tx:
            await tx.executemany("INSERT INTO t (k, v) VALUES (?, ?)", [(f"k{i:03}", i) for i in range(1200)])
        with pytest.raises(RuntimeError):
            async with db.write() as tx:
                await tx.execute("DELETE FROM t")
                raise RuntimeError("rolled back")
        assert await db.fetchone("SELECT COUNT(*) FROM t") == (1200,)
        async with db.read() as r:
            pages = [len(p) async for p in r.pages("SELECT k FROM t ORDER BY k", size=500)]
        assert pages == [500, 500, 200]
        assert await db.log_fetchone("INSERT INTO t (k, v) VALUES (?, ?) ON CONFLICT (k) DO UPDATE "
                                     "SET v = excluded.v RETURNING v", ("k000", 7)) == (7,)
    finally:
        await db.close()


async def test_a_read_sees_one_state_while_another_process_commits(store_url):
    """A replica loading a corpus must never read half of one version and half of the next."""
    reader, writer = await open_database(store_url), await open_database(store_url)
    try:
        await writer.execute("CREATE TABLE t (v INTEGER NOT NULL)")
        await writer.execute("INSERT INTO t (v) VALUES (1)")
        async with reader.read() as r:
            assert await r.fetchone("SELECT v FROM t") == (1,)
            await writer.execute("UPDATE t SET v = 2")
            assert await r.fetchone("SELECT v FROM t") == (1,)  # the same snapshot to the end of the read
        assert await reader.fetchone("SELECT v FROM t") == (2,)
    finally:
        await reader.close()
        await writer.close()


async def test_a_notice_wakes_a_waiting_postgresql_replica_at_commit(postgres_url):
    listener, writer = await open_database(postgres_url), await open_database(postgres_url)
    try:
        await listener.wait_for_change(0.01)  # starts listening
        waiting = asyncio.create_task(listener.wait_for_change(60))
        await asyncio.sleep(0.1)
        assert not waiting.done()
        async with writer.write() as tx:
            await tx.announce("7")
        await asyncio.wait_for(waiting, 10)  # woken by the notice, long before its minute
    finally:
        await listener.close()
        await writer.close()
