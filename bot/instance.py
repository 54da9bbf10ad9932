"""One instance per token: a newcomer finds the running instance and stops, without cutting it off.

Telegram serves one getUpdates at a time per token: a new call ends the pending one with 409 Conflict.
When both instances stopped on a conflict, each one's last getUpdates (PTB confirms what it fetched)
ended the other's poll, and both exited. Now the running instance never stops on a conflict (it polls
again a second later, losing nothing), and a starting instance first probes, before it confirms any
update or sets anything up: its own poll ended by a conflict within `PROBE_SECONDS` means another
instance is polling, and it stops there.
"""

from __future__ import annotations

import asyncio
import math

from telegram import Bot
from telegram.error import Conflict

PROBE_SECONDS = 2.5  # longer than PTB's pause (1 s) after a conflict before the running instance polls again
_TERMINATED = "terminated by other getupdates"
_PENDING_PAUSE = 0.25  # updates are waiting: let a running instance take them, then look again


async def another_instance_polling(bot: Bot, allowed_updates: list[str], seconds: float = PROBE_SECONDS) -> bool:
    """Whether another process is polling with this bot's token (see the module docstring). Confirms no
    update: whatever is pending stays for whoever serves it."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while (remaining := deadline - loop.time()) > 0:
        try:
            updates = await bot.get_updates(timeout=max(1, math.ceil(remaining)), limit=1,
                                            allowed_updates=allowed_updates)
        except Conflict as exc:  # (a webhook's conflict is not an instance: start_polling removes the webhook)
            return _TERMINATED in exc.message.lower()
        if updates:
            await asyncio.sleep(_PENDING_PAUSE)
    return False
