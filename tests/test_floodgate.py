"""The flood gate (issue 13.6): every update counts, one notice, then silence; group chatter is free."""

from __future__ import annotations

from bot import texts
from test_handlers import FakeEngine, USER, feed, message, press, running_app


async def test_every_kind_of_update_counts_and_a_flood_gets_one_notice() -> None:
    async with running_app(FakeEngine(), rate_limit=2) as (app, request):  # 6 updates a minute
        for i in range(30):
            await feed(app, {"message": message(("/help", "/about", None)[i % 3])})  # None: a sticker-like update
        sent = [p["text"] for p in request.sent()]
        assert len(sent) == 7 and sent[-1] == texts.FLOODING
        await feed(app, press("m:1:3:AAAAAAAA", chat=USER))
        assert request.sent("answerCallbackQuery") == [] and len(request.sent()) == 7  # silence, buttons too
        await feed(app, {"message": message("/help", user=USER + 1)})
        assert len(request.sent()) == 8  # others are served


async def test_a_flood_of_buttons_is_told_once() -> None:
    async with running_app(FakeEngine(), rate_limit=1) as (app, request):  # 3 updates a minute
        for _ in range(10):
            await feed(app, press("m:1:3:AAAAAAAA", chat=USER))
        answers = [p.get("text") for p in request.sent("answerCallbackQuery")]
        assert len(answers) == 4 and answers.count(texts.SLOW_DOWN_BUTTON) == 1


async def test_group_chatter_not_meant_for_the_bot_does_not_count() -> None:
    async with running_app(FakeEngine(), rate_limit=1) as (app, request):
        for _ in range(20):
            await feed(app, {"message": message("صباح الخير يا جماعة", chat=-100, chat_type="supergroup")})
        await feed(app, {"message": message("/help", chat=-100, chat_type="supergroup")})
        assert len(request.sent()) == 1 and request.sent()[0]["text"] != texts.FLOODING


async def test_a_flood_of_questions_is_told_once_not_once_per_limit() -> None:
    """The question limit's notice already told this user: the flood gate then stays silent."""
    engine = FakeEngine()
    async with running_app(engine, rate_limit=2) as (app, request):
        for _ in range(20):
            await feed(app, {"message": message("كوريا")})
        sent = [p["text"] for p in request.sent()]
        assert len(sent) == 3 and sent[-1] == texts.RATE_LIMITED and len(engine.asked) == 2
