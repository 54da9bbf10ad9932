"""Embedding a corpus in the background: a spawned child process at idle priority.

The bot and `/reload` never wait for it: answers use words alone until every sentence of the served
snapshot has a vector, then meaning too. The child commits every batch, so a kill (of it or of the
bot) loses at most one batch; it dies with its parent (retrieval/childproc.py), so no embedding
outlives the bot.
"""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing
import os
import pickle
import random
import tempfile
from dataclasses import dataclass
from enum import Enum

from .childproc import die_with_parent, idle_priority, parent_alive

__all__ = ["EmbeddingState", "EmbeddingStatus", "EmbeddingJob", "write_todo"]


class EmbeddingState(str, Enum):
    OFF = "off"  # no model (SANAD_SEMANTIC=off, or none for this platform)
    EMBEDDING = "embedding"  # vectors being computed; answers use words alone meanwhile
    READY = "ready"  # every sentence has its vector; answers use meaning too
    FAILED = "failed"  # the embedding stopped with an error; answers use words alone


@dataclass(frozen=True, slots=True)
class EmbeddingStatus:
    """What `/about` and `sanad index` say about the sentence vectors."""

    state: EmbeddingState
    done: int = 0
    total: int = 0
    detail: str = ""


def _child(database: str, todo_file: str, model: str, parent: int, done) -> None:
    """The child's whole life: embed the (key, text) pairs pickled in `todo_file` into the database's
    vector cache with the model the keys were made for, counting into `done`."""
    die_with_parent(parent)
    idle_priority()
    from .embedding import E5Embedder
    from .vectors import BATCH, embed_pending, open_cache

    with open(todo_file, "rb") as f:
        todo = pickle.load(f)
    os.unlink(todo_file)
    embedder = E5Embedder(threads=1)
    if embedder.model != model:  # the keys would name vectors this model did not make
        raise SystemExit(f"the embedding model is {embedder.model}, the corpus was keyed for {model}")

    def progress(n: int) -> None:
        done.value = n
        if not parent_alive(parent):  # what is committed stays; nothing more is embedded for nobody
            os._exit(1)

    # Replicas on one shared store each start a job for the same new sentences: each begins at a random
    # batch and skips what another has stored meanwhile, so together they share the work.
    start = random.randrange(0, max(1, len(todo)), BATCH) if todo else 0
    with open_cache(database) as cache:
        embed_pending(todo[start:] + todo[:start], embedder, cache, on_batch=progress, shared=True)


def write_todo(todo: list[tuple[bytes, str]]) -> str:
    """The work for a child, in a temporary file (run it in a thread: a large corpus's list is
    hundreds of MB, and piped to the child on the event loop it would stall every answer)."""
    fd, path = tempfile.mkstemp(prefix="sanad-embed-", suffix=".pickle")
    with os.fdopen(fd, "wb") as f:
        pickle.dump(todo, f, protocol=pickle.HIGHEST_PROTOCOL)
    return path


class EmbeddingJob:
    """One background embedding; `await job.wait()` returns True when every pair was embedded.
    Start it on a thread that outlives it (the event loop's): the child dies with that thread."""

    def __init__(self, database: str, todo_file: str, model: str):
        ctx = multiprocessing.get_context("spawn")
        self._todo_file = todo_file
        self._done = ctx.Value("q", 0, lock=False)
        self._process = ctx.Process(target=_child, args=(str(database), todo_file, model, os.getpid(), self._done),
                                    daemon=True, name="sanad-embed")
        self._process.start()

    @property
    def done(self) -> int:
        """Pairs embedded and committed so far."""
        return int(self._done.value)

    async def wait(self, poll: float = 0.5) -> bool:
        """Until the child ends; True when it embedded everything."""
        while self._process.is_alive():
            await asyncio.sleep(poll)
        self._process.join()
        return self._process.exitcode == 0

    def stop(self) -> None:
        """Kill the child now (what it committed stays) and remove its work file if it had not read it."""
        if self._process.is_alive():
            self._process.kill()
        self._process.join(timeout=5)
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self._todo_file)
