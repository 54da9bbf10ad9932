"""The newcomer's probe (issue 13.5), against the local Bot API server: it finds a running poller and
confirms no update."""

from __future__ import annotations

import asyncio

from telegram import Bot
from telegram.error import Conflict

from bot.app import ALLOWED_UPDATES
from bot.instance import another_instance_polling
from botapi_fixtures import botapi_bot, botapi_server  # noqa: F401 - fixtures


async def test_alone_the_probe_finds_nobody_and_leaves_pending_updates(botapi_server, botapi_bot) -> None:  # noqa: F811
    botapi_server.send_text(botapi_server.private(5), 5, "سؤال ينتظر")
    assert not await another_instance_polling(botapi_bot, ALLOWED_UPDATES, 1.5)
    assert len(botapi_server.pending_updates) == 1  # nothing was confirmed


async def test_the_probe_finds_a_running_poller(botapi_server, botapi_bot) -> None:  # noqa: F811
    async def poll_like_ptb(bot: Bot) -> None:
        while True:
            try:
                await bot.get_updates(timeout=2)
            except Conflict:
                await asyncio.sleep(1)  # PTB's pause after an error

    async with Bot(botapi_server.token, base_url=botapi_server.base_url) as running:
        poller = asyncio.create_task(poll_like_ptb(running))
        while botapi_server.get_updates_count == 0:
            await asyncio.sleep(0.01)
        try:
            assert await another_instance_polling(botapi_bot, ALLOWED_UPDATES, 2.5)
        finally:
            poller.cancel()
