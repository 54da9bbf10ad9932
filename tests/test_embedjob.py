"""The background embedding: it fills the cache, and it dies with the process that started it."""

import os
import signal
import subprocess
import sys
import textwrap
import time

from retrieval.embedding import E5Embedder
from retrieval.embedjob import EmbeddingJob, write_todo
from retrieval.vectors import VectorCache
from tests.conftest import ROOT


async def test_the_job_embeds_every_pending_text_into_the_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("SANAD_SEMANTIC", "on")
    todo = [(bytes([i]) * 16, f"جملة رقم {i}.") for i in range(5)]
    todo_file = write_todo(todo)
    job = EmbeddingJob(tmp_path / "v.sqlite3", todo_file, E5Embedder(threads=1).model)
    assert await job.wait(poll=0.05)
    assert job.done == 5 and not os.path.exists(todo_file)
    with VectorCache(tmp_path / "v.sqlite3") as cache:
        assert cache.missing([k for k, _ in todo]) == []


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie (exited, not yet reaped by init) is not alive
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(")")[-1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def test_the_child_dies_when_its_parent_is_killed(tmp_path):
    script = textwrap.dedent(f"""
        import sys, time
        sys.path.insert(0, {str(ROOT)!r})
        from retrieval.embedding import E5Embedder
        from retrieval.embedjob import EmbeddingJob, write_todo
        todo = [(i.to_bytes(16, 'big'), f'جملة طويلة رقم {{i}} ' * 20) for i in range(5000)]
        job = EmbeddingJob({str(tmp_path / 'v.sqlite3')!r}, write_todo(todo), E5Embedder(threads=1).model)
        while job.done == 0:
            time.sleep(0.05)
        print(job._process.pid, flush=True)
        time.sleep(600)
    """)
    parent = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    try:
        child = int(parent.stdout.readline())
        assert _alive(child)
        parent.send_signal(signal.SIGKILL)
        parent.wait()
        deadline = time.monotonic() + 30
        while _alive(child) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not _alive(child)
    finally:
        parent.kill()


async def test_a_job_for_another_model_fails_and_embeds_nothing(tmp_path):
    todo = [(b"k" * 16, "جملة.")]
    job = EmbeddingJob(tmp_path / "v.sqlite3", write_todo(todo), "some-other-model")
    assert not await job.wait(poll=0.05)
    with VectorCache(tmp_path / "v.sqlite3") as cache:
        assert cache.missing([b"k" * 16]) == [b"k" * 16]
