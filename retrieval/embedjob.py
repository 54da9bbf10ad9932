"""Embedding a corpus in the background: a spawned child process at idle priority.

The bot and `/reload` never wait for it: answers use words alone until every sentence of the served
snapshot has a vector, then meaning too. The child commits every batch, so a kill (of it or of the
bot) loses at most one batch; it dies with its parent (retrieval/childproc.py), so no embedding
outlives the bot.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
from dataclasses import dataclass
from enum import Enum
from pathlib import Path

from .childproc import die_with_parent, idle_priority, parent_alive

__all__ = ["EmbeddingState", "EmbeddingStatus", "EmbeddingJob"]


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


def _child(db_path: str, todo: list[tuple[bytes, str]], parent: int, done) -> None:
    """The child's whole life: embed `todo` into the database's vector cache, counting into `done`."""
    die_with_parent(parent)
    idle_priority()
    from .embedding import E5Embedder
    from .vectors import VectorCache, embed_pending

    def progress(n: int) -> None:
        done.value = n
        if not parent_alive(parent):  # what is committed stays; nothing more is embedded for nobody
            os._exit(1)

    with VectorCache(db_path) as cache:
        embed_pending(todo, E5Embedder(threads=1), cache, on_batch=progress)


class EmbeddingJob:
    """One background embedding of (key, text) pairs; `await job.wait()` returns True when complete."""

    def __init__(self, db_path: Path, todo: list[tuple[bytes, str]]):
        ctx = multiprocessing.get_context("spawn")
        self.total = len(todo)
        self._done = ctx.Value("q", 0, lock=False)
        self._process = ctx.Process(target=_child, args=(str(db_path), todo, os.getpid(), self._done),
                                    daemon=True, name="sanad-embed")
        self._process.start()

    @property
    def done(self) -> int:
        return int(self._done.value)

    async def wait(self, poll: float = 0.5) -> bool:
        """Until the child ends; True when it embedded everything."""
        while self._process.is_alive():
            await asyncio.sleep(poll)
        self._process.join()
        return self._process.exitcode == 0

    def stop(self) -> None:
        """Kill the child now (what it committed stays)."""
        if self._process.is_alive():
            self._process.kill()
        self._process.join(timeout=5)
