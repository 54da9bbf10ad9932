"""Update lanes (issue 13.7): with every message slot taken, a callback or inline query still runs."""

from __future__ import annotations

import asyncio

from telegram import Update

from bot.lanes import UpdateLanes

USER = {"id": 5, "is_bot": False, "first_name": "م"}


def _update(kind: str, n: int) -> Update:
    payload = {
        "message": {"message_id": n, "date": 0, "chat": {"id": 5, "type": "private"}, "from": USER, "text": "س"},
        "callback_query": {"id": str(n), "from": USER, "chat_instance": "c", "data": "x"},
        "inline_query": {"id": str(n), "from": USER, "query": "س", "offset": ""},
    }[kind]
    return Update.de_json({"update_id": n, kind: payload}, None)


async def test_answers_run_while_every_message_slot_is_taken() -> None:
    lanes = UpdateLanes(message_slots=2, answer_slots=1)
    release = asyncio.Event()
    order: list[str] = []

    async def work(name: str, wait: bool) -> None:
        order.append(f"start {name}")
        if wait:
            await release.wait()

    async with lanes:
        busy = [asyncio.create_task(lanes.process_update(_update("message", i), work(f"m{i}", True)))
                for i in range(3)]  # two run and wait for the send limit, one waits for a slot
        await asyncio.sleep(0)
        await lanes.process_update(_update("callback_query", 10), work("callback", False))
        await lanes.process_update(_update("inline_query", 11), work("inline", False))
        assert order == ["start m0", "start m1", "start callback", "start inline"]  # m2 still waits
        release.set()
        await asyncio.gather(*busy)
    assert order[-1] == "start m2"
