"""Crash safety with real processes: SIGKILL `sanad index` and an upload at many moments.

After every kill the database must hold the old corpus or the new one, never a mix: the documents,
sentences, fingerprint and the stored index blob all agree with one of the two, and SQLite's
integrity check passes. An upload killed at any moment leaves its file whole or absent in the
corpus folder; a leftover `.upload-*.tmp` is never read as part of the corpus.

Bounded: a generated archive of ~12k sentences indexes in about a second; each kill lands within
that second, some at random moments and some exactly while the save transaction is being written
(detected by the write-ahead log growing).
"""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from conftest import ROOT, SEEDS
from retrieval import Engine, Store, analyze, load_corpus
from retrieval.index import Index

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL")

SENTENCES = 12_000


def generated_archive(path: Path, sentences: int, seed: int = 6) -> None:
    """A .jsonl archive of Arabic documents built from the seed corpus's words."""
    words = sorted({w.strip("،.؟!:«»()\"") for d in load_corpus(SEEDS).documents for w in d.text.split()} - {""})
    rng = random.Random(seed)
    with path.open("w", encoding="utf-8") as f:
        for doc in range(sentences // 50):
            paragraphs = [" ".join(" ".join(rng.choices(words, k=rng.randint(6, 14))) + "." for _ in range(10))
                          for _ in range(5)]
            f.write(json.dumps({"id": f"g{doc}", "title": f"وثيقة {doc}", "source": "اختبار",
                                "date": "2024-01-01", "text": "\n".join(paragraphs)}, ensure_ascii=False) + "\n")


@dataclass(frozen=True)
class Version:
    """What one saved corpus looks like in the database."""

    fingerprint: str
    documents: int
    sentences: int


async def stored_version(db: Path) -> Version:
    """Open the database like Sanad does and check it is one whole corpus version."""
    con = sqlite3.connect(db)
    try:
        assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        rows = con.execute("SELECT COUNT(*) FROM sentences").fetchone()[0]
    finally:
        con.close()
    store = await Store.open(db)
    try:
        stored = await store.load_corpus()
    finally:
        await store.close()
    assert stored is not None, "the database lost its corpus"
    sentences = sum(len(p.sentences) for d in stored.documents for p in d.paragraphs)
    assert rows == sentences
    index = Index.from_bytes(stored.index_data, analyze)  # the blob loads ...
    assert len(index) == sentences  # ... and belongs to these sentences
    return Version(stored.fingerprint, len(stored.documents), sentences)


def sanad_index(db: Path, corpus: Path) -> subprocess.Popen:
    env = {**os.environ, "SANAD_DB": str(db), "SANAD_CORPUS": str(corpus), "PYTHONUNBUFFERED": "1"}
    return subprocess.Popen([sys.executable, "-m", "bot.cli", "index"], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def fresh_copy(old: Path, db: Path) -> None:
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    shutil.copy(old, db)


def kill_when(proc: subprocess.Popen, ready, timeout: float = 30.0) -> bool:
    """SIGKILL the process as soon as ready() holds; False if it exited first."""
    deadline = time.monotonic() + timeout
    while proc.poll() is None and time.monotonic() < deadline:
        if ready():
            proc.send_signal(signal.SIGKILL)
            proc.communicate()
            return True
        time.sleep(0.0005)
    proc.communicate(timeout=30)
    return False


def wal_bigger_than(db: Path, size: int):
    wal = Path(f"{db}-wal")

    def ready() -> bool:
        try:
            return wal.stat().st_size > size
        except FileNotFoundError:
            return False
    return ready


def after(seconds: float):
    deadline = time.monotonic() + seconds
    return lambda: time.monotonic() >= deadline


async def test_sigkill_during_sanad_index_leaves_old_or_new_corpus(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    shutil.copytree(SEEDS, corpus)
    db, old_db = tmp_path / "sanad.sqlite3", tmp_path / "old.sqlite3"
    engine = await Engine.open(old_db, corpus)  # the corpus that was serving before
    await engine.close()
    old = await stored_version(old_db)
    assert (old.documents, old.sentences) == (5, len(engine.snapshot))

    generated_archive(corpus / "archive.jsonl", SENTENCES)
    fresh_copy(old_db, db)
    t0 = time.monotonic()
    proc = sanad_index(db, corpus)
    out, err = proc.communicate(timeout=120)
    full_run = time.monotonic() - t0
    assert proc.returncode == 0, err
    new = await stored_version(db)
    assert new.fingerprint != old.fingerprint and new.documents > old.documents and new.sentences > 10_000

    rng = random.Random(int(os.environ.get("SANAD_CRASH_SEED", "6")))
    moments = [after(rng.uniform(0.1, full_run)) for _ in range(3)]
    # ... and inside the save transaction: the first page written, half-way, late in it
    moments += [wal_bigger_than(db, 0), wal_bigger_than(db, 1 << 20), wal_bigger_than(db, 3 << 20)]
    seen = []
    for moment in moments:
        fresh_copy(old_db, db)
        killed = kill_when(sanad_index(db, corpus), moment)
        version = await stored_version(db)
        assert version in (old, new), f"a mix of two corpora: {version} (old {old}, new {new})"
        seen.append((killed, "old" if version == old else "new"))
    print("index kills (killed, corpus after):", seen)
    assert sum(killed for killed, _ in seen) >= 4, seen  # the kills really landed while indexing
    # A killed run leaves a database the next start serves from and rebuilds cleanly.
    engine = await Engine.open(db, corpus)
    try:
        assert (len(engine.snapshot.documents), len(engine.snapshot)) == (new.documents, new.sentences)
    finally:
        await engine.close()


UPLOAD_DRIVER = """
import asyncio, sys
from retrieval import Engine

async def main(db, corpus, name, payload):
    engine = await Engine.open(db, corpus)
    data = open(payload, 'rb').read()
    print('READY', flush=True)
    await engine.add_file(name, data, max_bytes=len(data))
    print('DONE', flush=True)
    await engine.close()

asyncio.run(main(*sys.argv[1:]))
"""


def upload_article(sentences: int = 20_000) -> bytes:
    rng = random.Random(7)
    words = ["المريخ", "فوهة", "بركانية", "كوكب", "قرب", "جبل", "أوليمبوس", "قطرها", "كيلومترا", "المركبات"]
    paragraphs = [" ".join(" ".join(rng.choices(words, k=9)) + "." for _ in range(20)) for _ in range(sentences // 20)]
    return ("فوهات المريخ\n\n" + "\n".join(paragraphs) + "\n").encode("utf-8")


def test_sigkill_during_upload_leaves_the_file_whole_or_absent(tmp_path: Path) -> None:
    data = upload_article()
    payload = tmp_path / "payload.bin"
    payload.write_bytes(data)
    name = "mars.txt"
    seed_files = sorted(p.name for p in SEEDS.iterdir())

    def start(corpus: Path, db: Path) -> subprocess.Popen:
        proc = subprocess.Popen([sys.executable, "-c", UPLOAD_DRIVER, str(db), str(corpus), name, str(payload)],
                                cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        assert proc.stdout.readline().strip() == "READY", proc.stderr.read()
        return proc

    def temporaries(corpus: Path) -> list[Path]:
        return list(corpus.glob(".upload-*.tmp"))

    # How long an upload runs uninterrupted here, so that the random kills land inside it.
    corpus, db = tmp_path / "corpus-timing", tmp_path / "db-timing.sqlite3"
    shutil.copytree(SEEDS, corpus)
    proc = start(corpus, db)
    t0 = time.monotonic()
    proc.communicate(timeout=120)
    duration = time.monotonic() - t0

    rng = random.Random(6)
    outcomes = []
    triggers = ["tmp-file", "tmp-file", "random", "random", "random"]
    for i, trigger in enumerate(triggers):
        corpus, db = tmp_path / f"corpus{i}", tmp_path / f"db{i}.sqlite3"
        shutil.copytree(SEEDS, corpus)
        proc = start(corpus, db)
        ready = (lambda c=corpus: bool(temporaries(c))) if trigger == "tmp-file" else after(rng.uniform(0.0, 0.8 * duration))
        killed = kill_when(proc, ready)
        target = corpus / name
        files = sorted(p.name for p in corpus.iterdir() if not p.name.startswith(".upload-"))
        if target.exists():
            assert target.read_bytes() == data, "a partial upload reached the corpus folder"
            assert files == sorted(seed_files + [name])
        else:
            assert files == seed_files
        # Whatever the kill left behind, the corpus loads: a stray temporary file is not read.
        leftovers = temporaries(corpus)
        loaded = load_corpus(corpus)
        assert not loaded.skipped, loaded.skipped
        assert len(loaded.documents) == 5 + target.exists()
        if trigger == "tmp-file" and killed:
            assert leftovers or target.exists()
        outcomes.append((trigger, killed, target.exists(), len(leftovers)))
    print("upload kills (trigger, killed, file present, temporaries left):", outcomes)
    assert sum(killed for _, killed, _, _ in outcomes) >= 3, outcomes


def test_temporary_upload_files_are_ignored_by_corpus_loading(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    shutil.copytree(SEEDS, corpus)
    (corpus / ".upload-abc123.tmp").write_bytes("نص مقطوع في منتصف الكتا".encode()[:-1])
    (corpus / ".upload-def456.tmp").write_bytes(b"\x00\xff binary")
    loaded = load_corpus(corpus)
    assert len(loaded.documents) == 5 and not loaded.skipped
    assert all(not d.file.startswith(".") for d in loaded.documents)
