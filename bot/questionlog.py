"""The question log, written after the reply: an answer never waits for the database.

A write lock held by another process made every answer wait 5 s (SQLite's busy timeout) when the
question was logged before replying. The reply now goes first; its buttons carry a question id
chosen here, and the row is written under that id in a background task. Should the write fail or
the backlog be full, the answer has been given all the same: only its "more" and feedback buttons
then find no question (and say so politely).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from collections.abc import Awaitable

log = logging.getLogger(__name__)

MAX_PENDING = 1000  # writes waiting for the database; beyond this, questions go unlogged (and we say so)
ID_BITS = 52  # question ids: random, well within callback data's 64 bytes and JSON's exact integers
TASK_NAME = "sanad-question-log"
SETTLE_SECONDS = 3.0  # how long a button waits for its question's row before saying it is gone


class QuestionLog:
    """Background writes of logged questions, bounded in number; `written` waits for one question's row,
    `drain` for all (shutdown, tests)."""

    def __init__(self, max_pending: int = MAX_PENDING) -> None:
        self.max_pending = max_pending
        self._rows: dict[int, asyncio.Event] = {}  # question id -> set once its write has ended (or never will)
        self._tasks: set[asyncio.Task] = set()
        self.dropped = 0

    def new_id(self) -> int:
        """A fresh question id, known before the reply (which carries it) and before its row is written: a
        button pressed as soon as the reply arrives waits for the row (see `written`). Pass it to `submit`."""
        question_id = secrets.randbits(ID_BITS) or 1
        self._rows[question_id] = asyncio.Event()
        return question_id

    def submit(self, question_id: int, write: Awaitable[object]) -> bool:
        """Run `write` (the row of `question_id`) in the background; False (and the write is dropped) when
        too many are pending."""
        if len(self._tasks) >= self.max_pending:
            if hasattr(write, "close"):
                write.close()  # never awaited: release the coroutine quietly
            self._ended(question_id)
            self.dropped += 1
            if self.dropped == 1 or self.dropped % 1000 == 0:
                log.warning("the database is not keeping up: %s questions were not logged", self.dropped)
            return False
        task = asyncio.create_task(self._run(question_id, write), name=TASK_NAME)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return True

    async def written(self, question_id: int, timeout: float = SETTLE_SECONDS) -> None:
        """Wait (at most `timeout` seconds) until the row of `question_id` is written or has failed."""
        if (row := self._rows.get(question_id)) is not None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(row.wait(), timeout)

    async def _run(self, question_id: int, write: Awaitable[object]) -> None:
        try:
            await write
        except Exception:  # noqa: BLE001 - read-only, full or locked database: the answer was given anyway
            log.exception("logging the question failed; answered without history")
        finally:
            self._ended(question_id)

    def _ended(self, question_id: int) -> None:
        if (row := self._rows.pop(question_id, None)) is not None:
            row.set()

    async def drain(self, timeout: float | None = None) -> None:
        """Wait for the pending writes (at most `timeout` seconds)."""
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=timeout)

    def __len__(self) -> int:
        """Writes still pending."""
        return len(self._tasks)
