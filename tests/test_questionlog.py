"""The question log written after the reply (issue 13.10): bounded, awaitable per question."""

from __future__ import annotations

import asyncio

from bot.questionlog import QuestionLog


async def test_writes_run_in_the_background_and_can_be_awaited_per_question() -> None:
    log, gate, rows = QuestionLog(), asyncio.Event(), []

    async def write(n: int) -> None:
        await gate.wait()
        rows.append(n)

    first, second = log.new_id(), log.new_id()
    assert first != second
    asyncio.get_running_loop().call_soon(lambda: log.submit(first, write(1)))  # a button may wait before this
    asyncio.get_running_loop().call_soon(gate.set)
    await log.written(first)
    assert rows == [1]
    assert log.submit(second, write(2)) and len(log) == 1
    await log.drain()
    assert sorted(rows) == [1, 2] and len(log) == 0


async def test_a_full_backlog_drops_writes_instead_of_growing(caplog) -> None:
    log, gate = QuestionLog(max_pending=2), asyncio.Event()
    assert log.submit(log.new_id(), gate.wait()) and log.submit(log.new_id(), gate.wait())
    dropped = log.new_id()
    assert not log.submit(dropped, gate.wait()) and log.dropped == 1 and len(log) == 2
    assert "not logged" in caplog.text
    await log.written(dropped)  # returns at once: that row will never come
    gate.set()
    await log.drain()


async def test_a_failed_write_is_logged_not_raised(caplog) -> None:
    log = QuestionLog()

    async def fail() -> None:
        raise OSError("disk full")

    log.submit(log.new_id(), fail())
    await log.drain()
    assert "logging the question failed" in caplog.text
