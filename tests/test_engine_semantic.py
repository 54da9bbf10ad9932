"""The engine with meaning: vectors made as the mode says, served once complete, redone on reload."""

import asyncio

import pytest

from retrieval import Engine
from retrieval.embedjob import EmbeddingState


@pytest.fixture
def semantic_on(monkeypatch):
    monkeypatch.setenv("SANAD_SEMANTIC", "on")


async def test_wait_embeds_the_corpus_before_answering(tmp_path, corpus_dir, semantic_on):
    engine = await Engine.open(tmp_path / "db.sqlite3", corpus_dir, vectors="wait")
    try:
        status = engine.embedding_status()
        assert status.state is EmbeddingState.READY and status.done == status.total == len(engine.snapshot)
        assert engine.semantic is not None
        assert engine.semantic.vectors.matrix.shape[0] == len(engine.snapshot)
        assert engine.ask("كم جنديا أرسلت كوريا الشمالية إلى روسيا؟").answered
    finally:
        await engine.close()
    # A second opening finds every vector in the database: nothing to embed.
    again = await Engine.open(tmp_path / "db.sqlite3", corpus_dir, vectors="small")
    try:
        assert again.embedding_status().state is EmbeddingState.READY
    finally:
        await again.close()


async def test_background_answers_with_words_until_the_vectors_are_complete(tmp_path, corpus_dir, semantic_on):
    engine = await Engine.open(tmp_path / "db.sqlite3", corpus_dir, vectors="background")
    try:
        assert engine.embedding_status().state is EmbeddingState.EMBEDDING
        assert engine.semantic is None
        assert engine.ask("كم جنديا أرسلت كوريا الشمالية إلى روسيا؟").answered  # words alone meanwhile
        await asyncio.wait_for(engine.meaning._job_task, 120)
        assert engine.embedding_status().state is EmbeddingState.READY and engine.semantic is not None
        before = len(engine.snapshot)
        (corpus_dir / "new.txt").write_text("عنوان جديد\nافتتحت مدينة النخيل محطة لتحلية المياه بسعة كبيرة.\n",
                                            encoding="utf-8")
        await engine.reload()
        status = engine.embedding_status()
        assert status.state is EmbeddingState.EMBEDDING and status.total > before
        assert status.done == before  # the old sentences' vectors are reused: only the new ones are pending
        await asyncio.wait_for(engine.meaning._job_task, 120)
        assert engine.semantic is not None and engine.semantic.vectors.matrix.shape[0] == len(engine.snapshot)
    finally:
        await engine.close()


async def test_off_means_words_alone_and_says_why(tmp_path, corpus_dir, monkeypatch, caplog):
    monkeypatch.setenv("SANAD_SEMANTIC", "off")
    engine = await Engine.open(tmp_path / "db.sqlite3", corpus_dir, vectors="background")
    try:
        assert [r.getMessage() for r in caplog.records if "meaning search is off" in r.getMessage()] == [
            "meaning search is off (SANAD_SEMANTIC=off); answers use words alone"]
        status = engine.embedding_status()
        assert status.state is EmbeddingState.OFF and "SANAD_SEMANTIC" in status.detail
        assert engine.semantic is None and engine.ask("كم جنديا أرسلت كوريا الشمالية إلى روسيا؟").answered
    finally:
        await engine.close()


async def test_a_reload_during_embedding_stops_the_old_job_and_never_serves_its_vectors(tmp_path, corpus_dir,
                                                                                       semantic_on):
    engine = await Engine.open(tmp_path / "db.sqlite3", corpus_dir, vectors="background")
    try:
        from retrieval.vectors import Passages

        old_snapshot, old_job = engine.snapshot, engine.meaning._job
        old_process = old_job._process
        old_passages = Passages.of(old_snapshot, engine.meaning.embedder.model)
        (corpus_dir / "new.txt").write_text("عنوان جديد\nافتتحت مدينة النخيل محطة لتحلية المياه بسعة كبيرة.\n",
                                            encoding="utf-8")
        await engine.reload()
        assert not old_process.is_alive()  # the old snapshot's job is killed at the swap
        assert engine.meaning._job is not old_job
        await asyncio.wait_for(engine.meaning._job_task, 120)
        assert engine.semantic.vectors.matrix.shape[0] == len(engine.snapshot)
        # Vectors finished for the old snapshot, late, are never served for the new one.
        assert engine.meaning.for_snapshot(old_snapshot) is None
        await engine.meaning._load(old_snapshot, old_passages)
        assert engine.meaning.for_snapshot(old_snapshot) is None
        assert engine.semantic.vectors.matrix.shape[0] == len(engine.snapshot)
    finally:
        await engine.close()


async def test_close_during_embedding_kills_the_child_and_leaves_no_task(tmp_path, corpus_dir, semantic_on):
    engine = await Engine.open(tmp_path / "db.sqlite3", corpus_dir, vectors="background")
    process, task = engine.meaning._job._process, engine.meaning._job_task
    await engine.close()
    await asyncio.sleep(0)
    assert not process.is_alive() and process.exitcode is not None and task.cancelled()


async def test_a_vector_failure_costs_meaning_only(tmp_path, corpus_dir, semantic_on, monkeypatch):
    from retrieval import meaning

    def broken(*args, **kwargs):
        raise OSError("disk gone")

    monkeypatch.setattr(meaning, "pending", broken)
    engine = await Engine.open(tmp_path / "db.sqlite3", corpus_dir, vectors="background")
    try:
        status = engine.embedding_status()
        assert status.state is EmbeddingState.FAILED and "disk gone" in status.detail
        assert engine.semantic is None and engine.ask("كم جنديا أرسلت كوريا الشمالية إلى روسيا؟").answered
        await engine.reload()  # a reload still succeeds: meaning failing never fails the corpus
        assert engine.embedding_status().state is EmbeddingState.FAILED
    finally:
        await engine.close()
