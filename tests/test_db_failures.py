"""Database failure modes: read-only or full database, an old schema migrated in one transaction.

A read-only or full disk must cost persistence, never answers: a reload still swaps the new corpus
in (served from memory) and says the database could not be written, the admin sees that warning,
and questions are answered even when the question log cannot be written.
"""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest
from telegram import Update

from bot import texts
from retrieval import BuildReport, Engine, Store, StoreError
from retrieval import store as store_module
from retrieval.store import SCHEMA_VERSION
from test_handlers import ADMIN, USER, FakeEngine, buttons, feed, message, running_app

NEW_ARTICLE = ("مصر تفتتح محطة طاقة شمسية عملاقة في أسوان\n\n"
               "أسوان، 5 مايو (رويترز) — افتتحت مصر محطة بنبان للطاقة الشمسية بقدرة 1650 ميغاواط. "
               "وقال وزير الكهرباء إن المحطة ستزود مليون منزل بالكهرباء.\n")
SOLAR = "ما قدرة محطة بنبان للطاقة الشمسية؟"


async def stored_documents(path: Path) -> int:
    store = await Store.open(path)
    try:
        return len((await store.load_corpus()).documents)
    finally:
        await store.close()


# ------------------------------------------------------------------ reload with an unwritable database


async def test_full_disk_during_reload_serves_the_new_corpus_from_memory(tmp_path, corpus_dir, monkeypatch):
    engine = await Engine.open(tmp_path / "db.sqlite3", corpus_dir)
    try:
        (corpus_dir / "solar.txt").write_text(NEW_ARTICLE, encoding="utf-8")

        async def full(*args, **kwargs):
            raise sqlite3.OperationalError("database or disk is full")

        monkeypatch.setattr(engine.store, "save_corpus", full)
        report = await engine.reload()
        assert report.documents == 6 and engine.info().documents == 6
        assert engine.ask(SOLAR).answered  # the new corpus serves ...
        assert report.warning and "could not be written" in report.warning and "disk is full" in report.warning
    finally:
        await engine.close()
    assert await stored_documents(tmp_path / "db.sqlite3") == 5  # ... and the database kept the old one whole


async def test_really_full_database_keeps_the_old_corpus_and_warns(tmp_path, corpus_dir):
    """SQLite's own SQLITE_FULL (max_page_count reached), not a mock: the save rolls back cleanly."""
    engine = await Engine.open(tmp_path / "db.sqlite3", corpus_dir)
    try:
        db = engine.store._db
        (pages,) = await db.fetchone("PRAGMA page_count")
        await db.execute(f"PRAGMA max_page_count = {pages + 2}")
        big = "\n".join(f"الفقرة {i}: " + "تقع محطة بنبان للطاقة الشمسية في أسوان وتبلغ قدرتها 1650 ميغاواط. " * 20
                        for i in range(200))
        (corpus_dir / "solar.txt").write_text("محطة بنبان\n\n" + big + "\n", encoding="utf-8")
        report = await engine.reload()
        assert engine.info().documents == 6 and engine.ask(SOLAR).answered
        assert report.warning and "could not be written" in report.warning
        assert "full" in report.warning, report.warning  # the real cause, not a secondary rollback error
        assert not db._db.in_transaction
        # the connection is still usable: the question log works again once there is room
        await db.execute("PRAGMA max_page_count = 1073741823")
        await engine.store.log_question(chat_id=1, user_hash="u", question="س", answered=True, top_doc=None,
                                        latency_ms=1.0)
    finally:
        await engine.close()
    assert await stored_documents(tmp_path / "db.sqlite3") == 5


async def test_read_only_database_reload_warns_and_serves_from_memory(tmp_path, corpus_dir):
    engine = await Engine.open(tmp_path / "db.sqlite3", corpus_dir)
    try:
        # As root chmod does not stop writes; query_only gives SQLite's own SQLITE_READONLY everywhere.
        await engine.store._db.execute("PRAGMA query_only = ON")
        (corpus_dir / "solar.txt").write_text(NEW_ARTICLE, encoding="utf-8")
        report = await engine.reload()
        assert engine.ask(SOLAR).answered
        assert report.warning and "could not be written" in report.warning and "readonly" in report.warning
    finally:
        await engine.close()
    assert await stored_documents(tmp_path / "db.sqlite3") == 5


# ------------------------------------------------------------------ what the admin and the users see


async def test_reload_reply_shows_the_database_warning_to_the_admin() -> None:
    engine = FakeEngine()
    warning = "the database could not be written (database or disk is full); the corpus is served from memory only"

    async def reload() -> BuildReport:
        return BuildReport(6, 21, 101, (), 0.25, warning=warning)

    engine.reload = reload
    async with running_app(engine) as (app, request):
        await feed(app, {"message": message("/reload", user=ADMIN)})
    done = request.sent()[-1]["text"]
    assert texts.RELOAD_DB_WARNING in done and "القرص ممتلئ" in done and "١٠١" in done


@pytest.fixture
async def real_app(tmp_path, corpus_dir):
    """The bot's application over a real Engine whose database has turned read-only after start."""
    engine = await Engine.open(tmp_path / "db.sqlite3", corpus_dir)
    for connection in (engine.store._db._db, engine.store._db._log):
        await connection.execute("PRAGMA query_only = ON")
    try:
        async with running_app(engine, db_path=tmp_path / "db.sqlite3", corpus_dir=corpus_dir,
                               retention_days=0) as (app, request):
            yield app, engine, request
    finally:
        await engine.close()


async def test_questions_are_answered_when_the_question_log_cannot_be_written(real_app, caplog) -> None:
    app, engine, request = real_app
    await feed(app, {"message": message("ماذا قال لافروف عن كوريا الشمالية؟", user=USER)})
    await feed(app, {"message": message("ما عاصمة المريخ؟", user=USER)})
    answered, declined = request.sent()
    assert "<blockquote>" in answered["text"] and "لافروف" in answered["text"]
    assert "لم أجد" in declined["text"]
    assert texts.ERROR not in (answered["text"], declined["text"])
    assert any(b["text"].startswith("السياق") for b in buttons(answered))  # context buttons need no log row
    assert "logging the question failed" in caplog.text


# ------------------------------------------------------------------ schema migration


async def test_an_empty_file_is_migrated_to_the_current_schema(tmp_path):
    path = tmp_path / "db.sqlite3"
    path.write_bytes(b"")  # version 0: a zero-byte file is an empty SQLite database
    store = await Store.open(path)
    await store.close()
    con = sqlite3.connect(path)
    assert con.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    assert {"documents", "sentences", "questions"} <= {r[0] for r in con.execute("SELECT name FROM sqlite_master")}


async def test_a_version_zero_database_without_tables_is_migrated(tmp_path):
    path = tmp_path / "db.sqlite3"
    con = sqlite3.connect(path)
    con.execute("PRAGMA user_version = 0")
    con.execute("PRAGMA application_id = 0")
    con.commit()
    con.close()
    store = await Store.open(path)
    try:
        await store.log_question(chat_id=1, user_hash="u", question="س", answered=True, top_doc=None, latency_ms=1)
        assert await store.load_corpus() is None
    finally:
        await store.close()
    assert sqlite3.connect(path).execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION


async def test_a_failing_migration_changes_nothing(tmp_path, monkeypatch):
    """The migration script and the version bump commit together or not at all."""
    path = tmp_path / "db.sqlite3"
    sqlite3.connect(path).close()
    broken = store_module.SQLITE_MIGRATIONS[0] + "\nCREATE TABLE documents (x);"  # fails after creating the rest
    monkeypatch.setattr(store_module, "SQLITE_MIGRATIONS", [broken, *store_module.SQLITE_MIGRATIONS[1:]])
    with pytest.raises(StoreError, match="already exists"):
        await Store.open(path)
    con = sqlite3.connect(path)
    assert con.execute("PRAGMA user_version").fetchone()[0] == 0
    assert con.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()[0] == 0  # no half-made schema
    con.close()
    monkeypatch.undo()
    store = await Store.open(path)  # and the real migration then succeeds on the same file
    await store.close()
    assert sqlite3.connect(path).execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION


async def test_a_migration_is_applied_step_by_step_from_an_old_version(tmp_path, monkeypatch):
    """A version-1 database meets a Sanad with a version-2 schema: only the new step runs, data kept."""
    path = tmp_path / "db.sqlite3"
    store = await Store.open(path)
    await store.set_chat_setting(7, "auto", "on")
    await store.close()
    step = "ALTER TABLE chat_settings ADD COLUMN changed REAL"
    monkeypatch.setattr(store_module, "SQLITE_MIGRATIONS", [*store_module.SQLITE_MIGRATIONS, step])
    monkeypatch.setattr(store_module, "SCHEMA_VERSION", SCHEMA_VERSION + 1)
    store = await Store.open(path)
    try:
        assert await store.get_chat_setting(7, "auto") == "on"
    finally:
        await store.close()
    con = sqlite3.connect(path)
    assert con.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION + 1
    assert "changed" in [r[1] for r in con.execute("PRAGMA table_info(chat_settings)")]


# ------------------------------------------------------------------ start-up and corruption (issue 13.10)


async def test_a_write_lock_held_elsewhere_never_delays_the_reply(real_lock_app) -> None:
    app, engine, request, path = real_lock_app
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # another process holds the write lock
    try:
        await app.process_update(Update.de_json(
            {"update_id": 1, "message": message("ماذا قال لافروف عن كوريا الشمالية؟", user=USER)}, app.bot))
        (reply,) = request.sent()  # the answer is out while the lock is still held
        assert "لافروف" in reply["text"]
    finally:
        other.execute("COMMIT")
        other.close()
    await app.bot_data.state.question_log.drain()
    (logged,) = sqlite3.connect(path).execute("SELECT id FROM questions").fetchall()
    assert any(str(logged[0]) in b["callback_data"] for b in buttons(reply) if b["text"] == "👍")


async def test_a_log_write_waiting_for_a_lock_never_holds_up_the_reads_an_answer_needs(real_lock_app) -> None:
    """The question log writes on a connection of its own: a group in auto mode still reads its setting
    (and answers) while the previous question's row waits for the lock."""
    app, engine, request, path = real_lock_app
    group = -100777
    await engine.store.set_chat_setting(group, "auto", "on")
    question_log = app.bot_data.state.question_log
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    try:
        await app.process_update(Update.de_json(
            {"update_id": 2, "message": message("ماذا قال لافروف عن كوريا الشمالية؟", user=USER)}, app.bot))
        await asyncio.sleep(0.05)  # let its log write start waiting for the lock
        await app.process_update(Update.de_json({"update_id": 3, "message": message(
            "ماذا قال لافروف؟", user=USER, chat=group, chat_type="supergroup")}, app.bot))
        assert len(request.sent()) == 2 and len(question_log) == 2  # both answered; both rows still waiting
    finally:
        other.execute("COMMIT")
        other.close()
    await question_log.drain()
    assert sqlite3.connect(path).execute("SELECT COUNT(*) FROM questions").fetchone()[0] == 2


@pytest.fixture
async def real_lock_app(tmp_path, corpus_dir):
    engine = await Engine.open(tmp_path / "db.sqlite3", corpus_dir)
    try:
        async with running_app(engine, retention_days=0) as (app, request):
            yield app, engine, request, tmp_path / "db.sqlite3"
    finally:
        await engine.close()


async def test_a_database_locked_by_another_process_is_named_so(tmp_path):
    path = tmp_path / "db.sqlite3"
    await (await Store.open(path)).close()
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("PRAGMA locking_mode = EXCLUSIVE")
    other.execute("BEGIN EXCLUSIVE")
    try:
        with pytest.raises(StoreError, match="locked by another process.*stop that process"):
            await Store.open(path)
    finally:
        other.close()


async def test_a_file_that_is_not_a_database_is_named_so(tmp_path):
    path = tmp_path / "db.sqlite3"
    path.write_bytes(bytes(range(256)) * 40)
    with pytest.raises(StoreError, match="damaged or is not a Sanad database.*sanad index"):
        await Store.open(path)


async def test_a_damaged_page_is_found_at_start(tmp_path, corpus_dir):
    path = tmp_path / "db.sqlite3"
    await (await Engine.open(path, corpus_dir)).close()
    con = sqlite3.connect(path)
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    page_size = con.execute("PRAGMA page_size").fetchone()[0]
    (root,) = con.execute("SELECT rootpage FROM sqlite_master WHERE name = 'questions_ts'").fetchone()
    con.close()
    with path.open("r+b") as f:  # scribble over an index page's header
        f.seek((root - 1) * page_size)
        f.write(b"\x0d\xff\xff\xff\xff\xff\xff\xff")
    with pytest.raises(StoreError, match="is damaged.*\\.recover"):
        await Store.open(path)


def _damage_index_blob(path: Path) -> None:
    con = sqlite3.connect(path)
    con.execute("UPDATE index_chunks SET data = zeroblob(length(data)) WHERE seq = 0")
    con.commit()
    con.close()


async def test_a_damaged_index_is_rebuilt_from_the_folder_and_the_log_kept(tmp_path, corpus_dir, caplog):
    path = tmp_path / "db.sqlite3"
    engine = await Engine.open(path, corpus_dir)
    await engine.store.log_question(chat_id=1, user_hash="u", question="س", answered=True, top_doc=None, latency_ms=1)
    await engine.close()
    _damage_index_blob(path)
    engine = await Engine.open(path, corpus_dir)
    try:
        assert engine.ask("ماذا قال لافروف عن كوريا الشمالية؟").answered
        assert (await engine.store.stats()).questions_total == 1
    finally:
        await engine.close()
    assert "damaged" in caplog.text and "rebuilding" in caplog.text


async def test_a_damaged_index_without_its_folder_says_how_to_rebuild(tmp_path, corpus_dir):
    path = tmp_path / "db.sqlite3"
    await (await Engine.open(path, corpus_dir)).close()
    _damage_index_blob(path)
    with pytest.raises(StoreError, match="damaged.*sanad index.*question log is kept"):
        await Engine.open(path, tmp_path / "gone")


@pytest.mark.parametrize("error, says", [
    (sqlite3.OperationalError("attempt to write a readonly database"), "read-only"),
    (sqlite3.OperationalError("unable to open database file"), "read-only"),
    (PermissionError(13, "Permission denied"), "read-only"),
    (OSError(30, "Read-only file system"), "read-only"),
    (sqlite3.OperationalError("database or disk is full"), "disk holding .* is full"),
    (OSError(28, "No space left on device"), "disk holding .* is full"),
    (sqlite3.DatabaseError("database disk image is malformed"), "damaged"),
])
def test_each_start_up_failure_has_a_clear_message(error, says):
    """Root ignores a read-only folder and no disk can be filled here: the wording of these, from their errors."""
    import re

    assert re.search(says, store_module.explain(error, Path("/data/sanad.sqlite3")))
