"""The question log, written after the reply: an answer never waits for the database.

A write lock held by another process made every answer wait 5 s (SQLite's busy timeout) when the
question was logged before replying. The reply now goes first; its buttons carry a question id
chosen here, and the row is written under that id in a background task. Should the write fail or
the backlog be full, the answer has been given all the same: only its "more" and feedback buttons
then find no question (and say so politely).
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Awaitable

log = logging.getLogger(__name__)

MAX_PENDING = 1000  # writes waiting for the database; beyond this, questions go unlogged (and we say so)
ID_BITS = 52  # question ids: random, well within callback data's 64 bytes and JSON's exact integers
TASK_NAME = "sanad-question-log"


class QuestionLog:
    """Background writes of logged questions, bounded in number; `drain` waits for them (shutdown, tests)."""

    def __init__(self, max_pending: int = MAX_PENDING) -> None:
        self.max_pending = max_pending
        self._tasks: set[asyncio.Task] = set()
        self.dropped = 0

    @staticmethod
    def new_id() -> int:
        """A fresh question id, known before the row is written (so the reply can carry it)."""
        return secrets.randbits(ID_BITS) or 1

    def submit(self, write: Awaitable[object]) -> bool:
        """Run `write` in the background; False (and the write is dropped) when too many are pending."""
        if len(self._tasks) >= self.max_pending:
            if hasattr(write, "close"):
                write.close()  # never awaited: release the coroutine quietly
            self.dropped += 1
            if self.dropped == 1 or self.dropped % 1000 == 0:
                log.warning("the database is not keeping up: %s questions were not logged", self.dropped)
            return False
        task = asyncio.create_task(self._run(write), name=TASK_NAME)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return True

    @staticmethod
    async def _run(write: Awaitable[object]) -> None:
        try:
            await write
        except Exception:  # noqa: BLE001 - read-only, full or locked database: the answer was given anyway
            log.exception("logging the question failed; answered without history")

    async def drain(self, timeout: float | None = None) -> None:
        """Wait for the pending writes (at most `timeout` seconds)."""
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=timeout)

    def __len__(self) -> int:
        """Writes still pending."""
        return len(self._tasks)
