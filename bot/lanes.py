"""Update lanes: button and inline answers never wait behind messages.

An answerCallbackQuery or answerInlineQuery is not a message: Telegram does not count it against the
30-a-second send limit, but expires the query after a few seconds. With one pool of update slots, a
burst of questions filled every slot with replies waiting for that send limit, and buttons and inline
queries expired in the queue. Here each kind of update has its own slots.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import Any

from telegram import Update
from telegram.ext import BaseUpdateProcessor

MESSAGE_SLOTS = 32  # messages and commands handled at once (each mostly waits for its reply to be sent)
ANSWER_SLOTS = 32  # callback and inline queries handled at once, beside them
_UNBOUNDED = 1 << 20  # PTB's own bound would let waiting messages hold the slots answers need: lanes bound it


class UpdateLanes(BaseUpdateProcessor):
    """A BaseUpdateProcessor with a lane for callback and inline queries and one for everything else."""

    def __init__(self, message_slots: int = MESSAGE_SLOTS, answer_slots: int = ANSWER_SLOTS) -> None:
        super().__init__(_UNBOUNDED)
        self._messages = asyncio.Semaphore(message_slots)
        self._answers = asyncio.Semaphore(answer_slots)

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        """Run the update in its lane."""
        answer = isinstance(update, Update) and (update.callback_query or update.inline_query) is not None
        async with self._answers if answer else self._messages:
            await coroutine

    async def initialize(self) -> None:
        """Nothing to set up."""

    async def shutdown(self) -> None:
        """Nothing to release."""
