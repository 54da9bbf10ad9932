"""The served corpus's meaning: the model, the vector cache and the embedding, kept in step with the
snapshot the engine serves.

`serve(snapshot)` is called whenever the engine serves a new snapshot; from that moment the old
snapshot's vectors are never handed out again. `for_snapshot(snapshot)` gives the vectors only to
the snapshot they were computed for, so an answer can never mix one corpus version's sentences with
another's vectors, whatever order reloads and background jobs finish in. A failure here is logged
and costs meaning only: answers go on by words alone.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Literal, get_args

from .embedding import Embedder, load_embedder
from .embedjob import EmbeddingJob, EmbeddingState, EmbeddingStatus, write_todo
from .snapshot import Snapshot
from .vectors import Passages, Semantic, embed_pending, load_vectors, open_cache, pending

__all__ = ["Meaning", "Mode", "MODES", "WAIT_LIMIT"]

log = logging.getLogger(__name__)

# How missing vectors are made when a snapshot is served: "background" (a child process at idle
# priority; the bot), "wait" (now, with a progress bar: `sanad index`), "small" (now if few are
# missing, else words alone: one-shot commands), "off" (words alone, no model loaded).
Mode = Literal["background", "wait", "small", "off"]
MODES: tuple[str, ...] = get_args(Mode)
WAIT_LIMIT = 600  # "small": at most this many sentences embedded before answering (about 20 s on two cores)


class Meaning:
    """The model, the vector cache in Sanad's database, and the vectors of the snapshot being served."""

    def __init__(self, database: str, mode: Mode, embedder: Embedder | None, why: str = ""):
        self.database = database  # a SQLite file or a PostgreSQL URL (the child process opens the same)
        self.mode = mode
        self.embedder = embedder
        self._cache = open_cache(database) if embedder is not None else None
        self._status = EmbeddingStatus(EmbeddingState.OFF, detail=why)
        self._current: Snapshot | None = None  # the snapshot last asked to serve
        self._ready: tuple[Snapshot, Semantic] | None = None  # its vectors, once complete
        self._job: EmbeddingJob | None = None
        self._job_task: asyncio.Task | None = None
        self._lock = asyncio.Lock()  # one vector operation at a time on the cache's connection

    @classmethod
    async def open(cls, database: str | Path, mode: Mode) -> "Meaning":
        """Load the model (unless `mode` is "off"); say once in the log when there is none.
        Questions are embedded on one thread when serving: with two, OpenMP's threads wait on each
        other whenever the machine is busy (p99 0.9 s against 62 ms, `sanad bench --semantic`)."""
        if mode not in MODES:
            raise ValueError(f"vectors mode must be one of {', '.join(MODES)}, not {mode!r}")
        if mode == "off":
            return cls(str(database), mode, None, "off for this command")
        embedder, why = await asyncio.to_thread(load_embedder, 1 if mode == "background" else None)
        if embedder is None:
            log.warning("meaning search is off (%s); answers use words alone", why)
        return cls(str(database), mode, embedder, why)

    def for_snapshot(self, snapshot: Snapshot) -> Semantic | None:
        """The vectors and model for answering from `snapshot`, when every one of its sentences has one."""
        ready = self._ready
        return ready[1] if ready is not None and ready[0] is snapshot else None

    def status(self) -> EmbeddingStatus:
        """How far the served snapshot's vectors are (for /about and `sanad index`)."""
        s, job = self._status, self._job
        if s.state is EmbeddingState.EMBEDDING and job is not None:
            return EmbeddingStatus(s.state, s.done + job.done, s.total, s.detail)
        return s

    async def serve(self, snapshot: Snapshot, *, progress: bool = False) -> None:
        """From now on `snapshot` is served: use its vectors if complete, else make them as the mode says."""
        self._current, self._ready = snapshot, None  # before any await: the old vectors are gone now
        self._stop_job()
        if self.embedder is None:
            return
        self._status = EmbeddingStatus(EmbeddingState.EMBEDDING, 0, len(snapshot))
        try:
            async with self._lock:
                await self._serve(snapshot, progress)
        except Exception as e:  # noqa: BLE001 - meaning is an addition: answers go on by words alone
            log.exception("sentence vectors failed; answers use words alone")
            if snapshot is self._current:
                self._status = EmbeddingStatus(EmbeddingState.FAILED, detail=f"{type(e).__name__}: {e}")

    async def _serve(self, snapshot: Snapshot, progress: bool) -> None:
        assert self.embedder is not None and self._cache is not None
        embedder, cache, total = self.embedder, self._cache, len(snapshot)
        passages = await asyncio.to_thread(Passages.of, snapshot, embedder.model)
        # Which texts lack a vector is a query on keys alone: the vectors themselves (1.5 GB at 1M
        # sentences) are read only once there is nothing left to embed.
        todo = await asyncio.to_thread(pending, passages, cache)
        if not todo and await self._load(snapshot, passages):
            return
        if snapshot is not self._current:
            return
        waiting = {k for k, _ in todo}
        self._status = EmbeddingStatus(EmbeddingState.EMBEDDING, sum(k not in waiting for k in passages.keys), total)
        if self.mode == "wait" or (self.mode == "small" and len(todo) <= WAIT_LIMIT):
            await asyncio.to_thread(embed_pending, todo, embedder, cache, progress=progress)
            if not await self._load(snapshot, passages):
                self._status = EmbeddingStatus(EmbeddingState.FAILED, detail="vectors are missing after embedding")
        elif self.mode == "background" and self.database != ":memory:":
            todo_file = await asyncio.to_thread(write_todo, todo)
            if snapshot is not self._current:
                return
            self._job = EmbeddingJob(self.database, todo_file, embedder.model)
            self._job_task = asyncio.create_task(self._finish(self._job, snapshot, passages))
        else:
            self._status = EmbeddingStatus(EmbeddingState.EMBEDDING, self._status.done, total,
                                           "run `sanad index` to embed the corpus")

    async def _load(self, snapshot: Snapshot, passages: Passages) -> bool:
        """Serve the snapshot's vectors if the cache holds all of them (and it is still the one served)."""
        assert self.embedder is not None and self._cache is not None
        vectors, have = await asyncio.to_thread(load_vectors, passages, self._cache)
        if vectors is None or snapshot is not self._current:
            return False
        self._ready = (snapshot, Semantic(self.embedder, vectors))
        self._status = EmbeddingStatus(EmbeddingState.READY, have, len(snapshot))
        return True

    async def _finish(self, job: EmbeddingJob, snapshot: Snapshot, passages: Passages) -> None:
        """When the background job ends: its vectors are served if its snapshot still is."""
        ok = await job.wait()
        if snapshot is not self._current:
            return  # a reload came meanwhile and started its own job
        self._job = None
        try:
            async with self._lock:
                if not (ok and await self._load(snapshot, passages)) and snapshot is self._current:
                    self._status = EmbeddingStatus(EmbeddingState.FAILED, detail="the embedding process stopped")
        except Exception:  # noqa: BLE001 - as in serve
            log.exception("loading sentence vectors failed; answers use words alone")

    def _stop_job(self) -> None:
        if self._job_task is not None:
            self._job_task.cancel()
            self._job_task = None
        if self._job is not None:
            self._job.stop()
            self._job = None

    async def close(self) -> None:
        """Stop the background job (what it committed stays) and close the cache once nothing uses it."""
        self._current, self._ready = None, None
        self._stop_job()
        async with self._lock:
            if self._cache is not None:
                self._cache.close()
                self._cache = None
