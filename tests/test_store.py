"""The database: versioned schema, atomic corpus swap, question log, feedback, settings, privacy."""

import os
import sqlite3
import stat
import time

import pytest

from retrieval import Store, StoreError, load_corpus
from retrieval import store as store_module
from retrieval.pseudonym import key_path
from retrieval.store import SCHEMA_VERSION
from retrieval.db.schema import SQLITE_MIGRATIONS
from tests.conftest import SEEDS


def _open(store_url, tmp_path):
    """A store on the test's backend (a PostgreSQL store needs its id key file named)."""
    return Store.open(store_url, key_file=tmp_path / "id.key")


async def test_schema_is_created_versioned_and_in_wal_mode(tmp_path):
    store = await Store.open(tmp_path / "db.sqlite3")
    await store.close()
    db = sqlite3.connect(tmp_path / "db.sqlite3")
    assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert {"documents", "paragraphs", "sentences", "questions", "feedback", "chat_settings"} <= tables


async def test_a_newer_schema_is_refused_with_a_clear_message(tmp_path):
    path = tmp_path / "db.sqlite3"
    sqlite3.connect(path).execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    with pytest.raises(StoreError, match="newer"):
        await Store.open(path)


async def test_an_unusable_file_gives_a_store_error(tmp_path):
    path = tmp_path / "db.sqlite3"
    path.write_bytes(b"this is not a database" * 100)
    with pytest.raises(StoreError):
        await Store.open(path)


async def test_corpus_round_trip(store_url, tmp_path):
    docs = load_corpus(SEEDS).documents
    store = await _open(store_url, tmp_path)
    await store.save_corpus("fp1", "/corpus", docs, b"blob", b"table")
    stored = await store.load_corpus()
    await store.close()
    assert stored.fingerprint == "fp1" and stored.index_data.read() == b"blob" and stored.sentence_table == b"table"
    assert stored.corpus_dir == "/corpus"
    assert stored.documents == docs


async def test_pages_survive_the_round_trip_and_a_layout_without_pages_still_reads(store_url, tmp_path):
    from tests.documents_corpus import FOLDER
    (tmp_path / "c").mkdir()
    (tmp_path / "c" / "report.pdf").write_bytes((FOLDER / "report.pdf").read_bytes())
    docs = load_corpus(SEEDS).documents[:2] + load_corpus(tmp_path / "c").documents
    store = await _open(store_url, tmp_path)
    await store.save_corpus("fp", "/c", docs, b"blob", b"table")
    stored = (await store.load_corpus()).documents
    await store.close()
    assert stored == docs
    assert [p.page for p in stored[-1].paragraphs] == [1, 1, 1, 2, 2]
    # a layout written before pages existed: no marker, no page field
    old = store_module._pack(docs[0])
    assert store_module._unpack(old) == tuple(docs[0].paragraphs)
    assert all(p.page is None for p in store_module._unpack(old))


async def test_a_failed_save_leaves_the_previous_corpus(store_url, tmp_path):
    docs = load_corpus(SEEDS).documents
    store = await _open(store_url, tmp_path)
    await store.save_corpus("old", "/c", docs[:2], b"old", b"t")

    def broken():
        yield from ()
        raise RuntimeError("disk on fire")

    class Bad(list):
        def __iter__(self):
            return broken()

    with pytest.raises(Exception):
        await store.save_corpus("new", "/c", Bad(docs), b"new", b"t")
    stored = await store.load_corpus()
    await store.close()
    assert stored.fingerprint == "old" and len(stored.documents) == 2


async def test_question_log_stats_and_feedback(store_url, tmp_path):
    store = await _open(store_url, tmp_path)
    q1 = await store.log_question(chat_id=1, user_hash="u1", question="س1", answered=True, top_doc="d", latency_ms=2)
    await store.log_question(chat_id=1, user_hash="u1", question="س1", answered=True, top_doc="d", latency_ms=4)
    await store.log_question(chat_id=2, user_hash="u2", question="س2", answered=False, top_doc=None, latency_ms=6)
    await store.add_feedback(q1, "u1", +1)
    await store.add_feedback(q1, "u1", -1)  # latest vote wins
    await store.add_feedback(q1, "u2", +1)
    s = await store.stats()
    assert (s.questions_total, s.questions_today) == (3, 3)
    assert s.unanswered_share == pytest.approx(1 / 3) and s.median_latency_ms == 4
    assert s.top_questions[0] == ("س1", 2) and s.top_unanswered == [("س2", 1)]
    assert (s.feedback_up, s.feedback_down) == (1, 1)
    assert await store.get_question(q1, 1) == "س1" and await store.get_question(999, 1) is None
    assert await store.get_question(q1, 2) is None  # asked in another chat
    await store.close()


async def test_forget_user_and_retention(store_url, tmp_path):
    store = await _open(store_url, tmp_path)
    q = await store.log_question(chat_id=1, user_hash="u1", question="س", answered=True, top_doc=None, latency_ms=1)
    await store.add_feedback(q, "u1", 1)
    await store.log_question(chat_id=1, user_hash="u2", question="س", answered=True, top_doc=None, latency_ms=1)
    assert await store.forget_user("u1") == 1
    assert (await store.stats()).questions_total == 1 and (await store.stats()).feedback_up == 0
    await store._db.execute("UPDATE questions SET ts = ?", (time.time() - 40 * 86400,))  # (SQL of both backends)
    assert await store.purge_older_than(30) == 1
    assert (await store.stats()).questions_total == 0
    await store.close()


async def test_chat_settings_and_secret(store_url, tmp_path):
    store = await _open(store_url, tmp_path)
    assert await store.get_chat_setting(5, "answer_all", "0") == "0"
    await store.set_chat_setting(5, "answer_all", "1")
    assert await store.get_chat_setting(5, "answer_all") == "1"
    salt = await store.secret("user-salt")
    assert len(salt) == 32 and await store.secret("user-salt") == salt and await store.secret("other") != salt
    await store.close()


async def test_a_database_missing_tables_of_its_version_is_refused_clearly(tmp_path):
    path = tmp_path / "db.sqlite3"
    store = await Store.open(path)
    await store.close()
    db = sqlite3.connect(path)
    db.execute("DROP TABLE sentence_table")
    db.commit()
    db.close()
    with pytest.raises(StoreError, match="sentence_table"):
        await Store.open(path)


# ------------------------------------------------------------------ privacy (issue 13.8)

RAW_USER, RAW_GROUP = 987654321, -1001234567890


def _all_values(path) -> list:
    con = sqlite3.connect(path)
    try:
        tables = [r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        return [v for t in tables for row in con.execute(f"SELECT * FROM {t}") for v in row]
    finally:
        con.close()


async def test_no_raw_id_is_stored_and_the_key_lives_outside_the_database(tmp_path):
    path = tmp_path / "db.sqlite3"
    store = await Store.open(path)
    await store.log_question(chat_id=RAW_USER, user_hash="u", question="س", answered=True, top_doc=None, latency_ms=1)
    await store.set_chat_setting(RAW_GROUP, "auto", "on")
    salt = await store.secret("user-id")
    user = store.pseudonym("user", RAW_USER)
    assert user != store.pseudonym("chat", RAW_USER) and str(RAW_USER) not in user
    await store.close()
    values = _all_values(path)
    assert not {RAW_USER, RAW_GROUP, str(RAW_USER), str(RAW_GROUP)} & set(values)
    assert salt not in values  # no secret in the database: its hashes cannot be enumerated from it alone
    key = key_path(path)
    assert stat.S_IMODE(key.stat().st_mode) == 0o600 and len(key.read_bytes()) >= 32
    # The same database with another key (the file copied without it) links nothing to anybody.
    key.rename(tmp_path / "elsewhere.key")
    store = await Store.open(path)
    try:
        assert await store.secret("user-id") != salt and store.pseudonym("user", RAW_USER) != user
        assert await store.get_chat_setting(RAW_GROUP, "auto") is None
    finally:
        await store.close()


async def test_a_key_readable_by_others_is_tightened(tmp_path):
    path = tmp_path / "db.sqlite3"
    await (await Store.open(path)).close()
    os.chmod(key_path(path), 0o644)
    await (await Store.open(path)).close()
    assert stat.S_IMODE(key_path(path).stat().st_mode) == 0o600


async def test_forgotten_questions_leave_no_trace_in_the_files(tmp_path):
    path = tmp_path / "db.sqlite3"
    store = await Store.open(path)
    secret_text = "سؤال خاص جدا عن موعد زيارة الطبيب رقم 7731"
    try:
        await store.log_question(chat_id=1, user_hash="me", question=secret_text, answered=False, top_doc=None,
                                 latency_ms=1)
        await store.log_question(chat_id=2, user_hash="other", question="سؤال آخر", answered=False, top_doc=None,
                                 latency_ms=1)
        await store._db.execute("PRAGMA wal_checkpoint(PASSIVE)")  # the text now sits in both files
        assert await store.forget_user("me") == 1
        files = [p for p in (path, path.with_name(path.name + "-wal")) if p.exists()]
        assert all(secret_text.encode() not in p.read_bytes() for p in files)
        assert (await store.stats()).questions_total == 1
    finally:
        await store.close()


async def test_a_version_1_database_loses_its_raw_ids_and_salt_and_keeps_its_settings(tmp_path):
    path = tmp_path / "db.sqlite3"
    con = sqlite3.connect(path, isolation_level=None)
    con.executescript(SQLITE_MIGRATIONS[0] + "; PRAGMA user_version = 1;")
    con.execute("INSERT INTO questions (ts, chat_id, user_hash, question, answered, latency_ms) "
                "VALUES (1, ?, 'h', 'س', 1, 1)", (RAW_USER,))
    con.execute("INSERT INTO chat_settings VALUES (?, 'auto', 'on')", (RAW_GROUP,))
    con.execute("INSERT INTO secrets VALUES ('user-id', x'00112233')")
    con.close()
    store = await Store.open(path)
    try:
        assert await store.get_chat_setting(RAW_GROUP, "auto") == "on"
        assert (await store.stats()).questions_total == 1  # the log is kept, linked to nobody
    finally:
        await store.close()
    values = _all_values(path)
    assert RAW_USER not in values and RAW_GROUP not in values and b"\x00\x11\x22\x33" not in values


# ------------------------------------------------------------------ replicas: versions, files, key, locks (both backends)


async def test_each_saved_corpus_gets_the_next_version_and_its_builder(store_url, tmp_path):
    docs = load_corpus(SEEDS).documents
    store = await _open(store_url, tmp_path)
    try:
        assert await store.corpus_version() == 0
        first = await store.save_corpus("fp1", "/c", docs, b"blob", b"t", built_by="host-a:/c")
        second = await store.save_corpus("fp2", "/c", docs[:1], b"blob", b"t", built_by="host-b:/d")
        assert (first.version, second.version) == (1, 2) and await store.corpus_version() == 2
        stored = await store.load_corpus()
        assert (stored.version, stored.built_by, len(stored.documents)) == (2, "host-b:/d", 1)
    finally:
        await store.close()


async def test_corpus_files_are_kept_and_only_changed_ones_written_again(store_url, tmp_path):
    from retrieval.store import StoredFile

    def f(name, data, mtime=1):
        import hashlib
        return StoredFile(name, hashlib.sha256(data).hexdigest(), mtime, data)

    docs = load_corpus(SEEDS).documents
    store = await _open(store_url, tmp_path)
    try:
        await store.save_corpus("fp", "/c", docs, b"b", b"t", files=[f("a.txt", b"alpha"), f("sub/b.txt", b"beta")])
        assert [(x.name, x.mtime_ns) for x in await store.stored_files()] == [("a.txt", 1), ("sub/b.txt", 1)]
        await store.save_corpus("fp", "/c", docs, b"b", b"t", files=[f("a.txt", b"alpha", 5), f("c.txt", b"gamma")])
        assert [(x.name, x.mtime_ns) for x in await store.stored_files()] == [("a.txt", 5), ("c.txt", 1)]
        assert await store.file_data("c.txt") == b"gamma" and await store.file_data("sub/b.txt") is None
    finally:
        await store.close()


async def test_a_replica_with_another_id_key_is_refused_on_a_shared_store(postgres_url, tmp_path):
    await (await Store.open(postgres_url, key_file=tmp_path / "first.key")).close()
    with pytest.raises(StoreError, match="same key file"):
        await Store.open(postgres_url, key_file=tmp_path / "other.key")
    with pytest.raises(StoreError, match="SANAD_KEY_FILE"):
        await Store.open(postgres_url)  # no key file named at all
    store = await Store.open(postgres_url, key_file=tmp_path / "first.key")  # the right one still opens
    await store.close()


async def test_the_rebuild_lock_is_held_across_processes_and_freed_at_the_end(store_url, tmp_path):
    a, b = await _open(store_url, tmp_path), await _open(store_url, tmp_path)
    try:
        async with a.try_lock("rebuild") as got_a:
            async with b.try_lock("rebuild") as got_b:
                assert got_a and not got_b
        async with b.try_lock("rebuild") as got_b:
            assert got_b
    finally:
        await a.close()
        await b.close()


async def test_a_lock_dies_with_its_holder(store_url, tmp_path):
    """A replica killed mid-rebuild must not block every later one: the lock goes with its process."""
    import subprocess
    import sys
    key = tmp_path / "id.key"
    await (await Store.open(store_url, key_file=key)).close()
    holder = subprocess.Popen(
        [sys.executable, "-c", "import asyncio, sys\n"
         "from retrieval import Store\n"
         "async def main():\n"
         f"    store = await Store.open({store_url!r}, key_file={str(key)!r})\n"
         "    async with store.try_lock('rebuild') as got:\n"
         "        print(got, flush=True)\n"
         "        await asyncio.sleep(600)\n"
         "asyncio.run(main())\n"],
        cwd=SEEDS.parent, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "True"
        store = await Store.open(store_url, key_file=key)
        try:
            async with store.try_lock("rebuild") as got:
                assert not got
            holder.kill()
            holder.wait()
            for _ in range(100):  # PostgreSQL notices the closed connection within moments
                async with store.try_lock("rebuild") as got:
                    if got:
                        break
                import asyncio
                await asyncio.sleep(0.05)
            assert got
        finally:
            await store.close()
    finally:
        holder.kill()
        holder.stdout.close()


async def test_an_unreachable_postgresql_is_said_at_once_without_its_password(tmp_path):
    url = f"postgresql://sanad:s3cret@/sanad?host={tmp_path}/nowhere&port=5999"
    with pytest.raises(StoreError) as caught:
        await Store.open(url, key_file=tmp_path / "id.key")
    message = str(caught.value)
    assert "SANAD_DATABASE_URL" in message and "No such file" in message and "s3cret" not in message


async def test_a_save_from_an_older_version_than_the_stored_one_saves_nothing(store_url, tmp_path):
    """Two changes that both started from version 1 (a lock lost with its connection): the second is refused."""
    from retrieval.store import VersionConflict
    docs = load_corpus(SEEDS).documents
    store = await _open(store_url, tmp_path)
    try:
        await store.save_corpus("fp", "/c", docs, b"b", b"t", expected_version=0)
        await store.save_corpus("fp-a", "/c", docs[:2], b"b", b"t", expected_version=1)
        with pytest.raises(VersionConflict):
            await store.save_corpus("fp-b", "/c", docs[:3], b"b", b"t", expected_version=1)
        stored = await store.load_corpus()
        assert (stored.version, stored.fingerprint, len(stored.documents)) == (2, "fp-a", 2)
    finally:
        await store.close()


async def test_stores_opened_together_on_a_new_database_make_the_schema_once(store_url, tmp_path):
    import asyncio
    stores = await asyncio.gather(*(_open(store_url, tmp_path) for _ in range(3)))
    for store in stores:
        await store.close()
