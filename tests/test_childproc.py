"""Children die with their parent (issue 13.4): real processes, a real SIGKILL, and no stale commit."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from retrieval import Engine, Store
from retrieval.engine import STALE_UPLOAD_SECONDS

ROOT = Path(__file__).resolve().parent.parent

# A parent that starts a pool worker (as the engine and the index do) and prints the worker's pid.
PARENT = textwrap.dedent("""
    import multiprocessing, os, sys, time
    from concurrent.futures import ProcessPoolExecutor
    from retrieval import childproc

    def arm(parent):
        if sys.argv[2] == "fallback":
            childproc._watch_parent(parent)  # the portable path, as on systems without prctl
        else:
            childproc.die_with_parent(parent)

    if __name__ == "__main__":
        pool = ProcessPoolExecutor(1, mp_context=multiprocessing.get_context(sys.argv[1]),
                                   initializer=arm, initargs=(os.getpid(),))
        print(pool.submit(os.getpid).result(), flush=True)
        pool.submit(time.sleep, 600)
        time.sleep(600)
""")


def _alive(pid: int) -> bool:
    """Whether pid runs (a zombie waiting to be reaped by init has died)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    except OSError:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        return True
    return state not in ("Z", "X")


@pytest.fixture(autouse=True)
def _no_orphans() -> Iterator[None]:
    """A failed test leaves no child of its own behind."""
    yield
    for pid in _started:
        if _alive(pid):
            os.kill(pid, signal.SIGKILL)
    _started.clear()


_started: list[int] = []


def _kill_parent_of_child(args: list[str]) -> int:
    """Run a parent script that prints its child's pid, SIGKILL the parent, return the child's pid."""
    parent = subprocess.Popen([sys.executable, *args], cwd=ROOT, stdout=subprocess.PIPE, text=True,
                              env={**os.environ, "PYTHONPATH": str(ROOT)})
    try:
        child = int(parent.stdout.readline())
        _started.append(child)
        assert _alive(child)
        parent.send_signal(signal.SIGKILL)
        parent.wait()
    finally:
        if parent.poll() is None:
            parent.kill()
        parent.stdout.close()
    return child


def _wait_gone(pid: int, seconds: float = 20.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not _alive(pid):
            return True
        time.sleep(0.05)
    return False


@pytest.mark.parametrize("start, mode", [("spawn", "prctl"), ("fork", "prctl"), ("spawn", "fallback")])
def test_a_worker_dies_when_its_parent_is_killed(tmp_path, start, mode):
    script = tmp_path / "parent.py"
    script.write_text(PARENT)
    child = _kill_parent_of_child([str(script), start, mode])
    assert _wait_gone(child), f"worker {child} outlived its parent"


async def test_a_build_whose_parent_is_gone_never_commits(tmp_path, corpus_dir):
    """The build child's last check before COMMIT: a parent that is not its parent any more means stale."""
    db = tmp_path / "db.sqlite3"
    await (await Engine.open(db, corpus_dir)).close()
    store = await Store.open(db)
    before = (await store.load_corpus()).built_at
    await store.close()
    (corpus_dir / "000_567f2c53f91ef5fe.txt").unlink()
    finished = subprocess.Popen([sys.executable, "-c", "pass"])
    finished.wait()
    gone = finished.pid  # the "parent" that started the build has exited
    code = (f"from retrieval.engine import _child_build\n"
            f"_child_build({str(db)!r}, None, {str(corpus_dir)!r}, {gone})")
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode != 0 and "StaleBuild" in result.stderr
    store = await Store.open(db)
    try:
        stored = await store.load_corpus()
        assert stored.built_at == before and len(stored.documents) == 5  # the old corpus, untouched
    finally:
        await store.close()


async def test_interrupted_upload_files_are_removed_at_start(tmp_path, corpus_dir):
    stale, fresh = corpus_dir / ".upload-abc.tmp", corpus_dir / ".upload-def.tmp"
    for path in (stale, fresh):
        path.write_bytes(b"half an upload")
    old = time.time() - STALE_UPLOAD_SECONDS - 60
    os.utime(stale, (old, old))
    engine = await Engine.open(tmp_path / "db.sqlite3", corpus_dir)
    await engine.close()
    assert not stale.exists() and fresh.exists()  # a fresh one may be another instance's upload in progress


# The engine's own build child: a parent reloads with every corpus "large", the child reports its pid.
ENGINE_PARENT = textwrap.dedent("""
    import asyncio, os, sys, time
    from retrieval import engine as engine_module

    def build_forever(*args):
        print(os.getpid(), flush=True)
        time.sleep(600)

    async def main():
        e = await engine_module.Engine.open(sys.argv[1], sys.argv[2])
        engine_module.CHILD_PROCESS_BYTES = 0
        engine_module._child_build = build_forever
        await e.reload()

    if __name__ == "__main__":
        asyncio.run(main())
""")


def test_the_engine_build_child_dies_with_the_bot(tmp_path, corpus_dir):
    script = tmp_path / "bot.py"
    script.write_text(ENGINE_PARENT)
    child = _kill_parent_of_child([str(script), str(tmp_path / "db.sqlite3"), str(corpus_dir)])
    assert _wait_gone(child), f"build child {child} outlived the bot"
