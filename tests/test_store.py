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


async def test_corpus_round_trip(tmp_path):
    docs = load_corpus(SEEDS).documents
    store = await Store.open(tmp_path / "db.sqlite3")
    await store.save_corpus("fp1", "/corpus", docs, b"blob", b"table")
    stored = await store.load_corpus()
    await store.close()
    assert stored.fingerprint == "fp1" and stored.index_data.read() == b"blob" and stored.sentence_table == b"table"
    assert stored.corpus_dir == "/corpus"
    assert stored.documents == docs


async def test_pages_survive_the_round_trip_and_a_layout_without_pages_still_reads(tmp_path):
    from tests.documents_corpus import FOLDER
    (tmp_path / "c").mkdir()
    (tmp_path / "c" / "report.pdf").write_bytes((FOLDER / "report.pdf").read_bytes())
    docs = load_corpus(SEEDS).documents[:2] + load_corpus(tmp_path / "c").documents
    store = await Store.open(tmp_path / "db.sqlite3")
    await store.save_corpus("fp", "/c", docs, b"blob", b"table")
    stored = (await store.load_corpus()).documents
    await store.close()
    assert stored == docs
    assert [p.page for p in stored[-1].paragraphs] == [1, 1, 1, 2, 2]
    # a layout written before pages existed: no marker, no page field
    old = store_module._pack(docs[0])
    assert store_module._unpack(old) == tuple(docs[0].paragraphs)
    assert all(p.page is None for p in store_module._unpack(old))


async def test_a_failed_save_leaves_the_previous_corpus(tmp_path):
    docs = load_corpus(SEEDS).documents
    store = await Store.open(tmp_path / "db.sqlite3")
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


async def test_question_log_stats_and_feedback(tmp_path):
    store = await Store.open(tmp_path / "db.sqlite3")
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


async def test_forget_user_and_retention(tmp_path):
    store = await Store.open(tmp_path / "db.sqlite3")
    q = await store.log_question(chat_id=1, user_hash="u1", question="س", answered=True, top_doc=None, latency_ms=1)
    await store.add_feedback(q, "u1", 1)
    await store.log_question(chat_id=1, user_hash="u2", question="س", answered=True, top_doc=None, latency_ms=1)
    assert await store.forget_user("u1") == 1
    assert (await store.stats()).questions_total == 1 and (await store.stats()).feedback_up == 0
    await store._db.execute("UPDATE questions SET ts = ?", (time.time() - 40 * 86400,))
    assert await store.purge_older_than(30) == 1
    assert (await store.stats()).questions_total == 0
    await store.close()


async def test_chat_settings_and_secret(tmp_path):
    store = await Store.open(tmp_path / "db.sqlite3")
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
