"""End to end: the real bot (PTB long polling, real Engine over the seeds) against the local Bot API server."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import sys
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from bot import texts
from bot.app import AnotherInstanceRunning, build_application, configure_logging, serve
from bot.instance import PROBE_SECONDS
from bot.settings import Settings
from bot.webhook import derive_secret
from botapi_fixtures import answer_then_sigterm, botapi_server, botapi_server_strict  # noqa: F401 - fixtures
from botapi_server import BotAPIServer, Call
from retrieval import Engine

ADMIN = 111
USER = 222
OTHER = 333
QUESTION = "ماذا قال لافروف عن كوريا الشمالية؟"


class RunningBot:
    """A bot serving in a background task, plus helpers to talk to it through the server."""

    def __init__(self, server: BotAPIServer, engine: Engine, task: asyncio.Task, stop: asyncio.Event) -> None:
        self.server, self.engine, self.task, self.stop = server, engine, task, stop

    async def say(self, chat: Any, user: Any, text: str, **kwargs: Any) -> tuple[dict, Call]:
        """User sends text; returns the user's message and the bot's first reply to it."""
        since = self.server.mark()
        msg = self.server.send_text(chat, user, text, **kwargs)
        reply = await self.reply_to(msg, since)
        return msg, reply

    async def reply_to(self, msg: dict, since: int, timeout: float = 8.0) -> Call:
        """The bot's first sendMessage threaded to msg."""
        return await self.server.wait_for_async(
            lambda c: (c.params.get("reply_parameters") or {}).get("message_id") == msg["message_id"],
            method="sendMessage", chat_id=msg["chat"]["id"], since=since, timeout=timeout,
        )

    def replies(self, msg: dict) -> list[Call]:
        """Every sendMessage threaded to msg so far."""
        return [c for c in self.server.calls_to("sendMessage")
                if str(c.chat_id) == str(msg["chat"]["id"])
                and (c.params.get("reply_parameters") or {}).get("message_id") == msg["message_id"]]

    async def settle(self, seconds: float = 0.3) -> None:
        """Give the bot time to (not) react."""
        await asyncio.sleep(seconds)


@pytest.fixture
async def start_bot(botapi_server_strict: BotAPIServer, tmp_path: Path, corpus_dir: Path) -> AsyncIterator[Callable[..., Any]]:  # noqa: F811
    """Factory: start the real bot against the server (torn down after the test)."""
    running: list[RunningBot] = []
    server = botapi_server_strict

    async def start(probe_seconds: float = 0.0, wait: bool = True, vectors: str = "off", **overrides: Any) -> RunningBot:
        """A bot serving in a task (probe_seconds: its look for another instance; 0 skips it, to start fast;
        vectors: how the engine makes sentence vectors, as `sanad serve` does with "background")."""
        settings = Settings(
            token=server.token, api_url=server.url, admin_ids=frozenset({ADMIN}),
            db_path=tmp_path / f"sanad{len(running)}.sqlite3", corpus_dir=corpus_dir, retention_days=0,
            **overrides,
        )
        configure_logging(settings)
        server.private(ADMIN)  # the admin has opened a chat with the bot (Telegram needs that for a chat scope)
        engine = await Engine.open(settings.db_path, settings.corpus_dir, vectors=vectors)
        application = build_application(settings, engine)
        stop = asyncio.Event()
        since = server.mark()
        task = asyncio.create_task(serve(application, stop_event=stop, install_signal_handlers=False,
                                         probe_seconds=probe_seconds))
        bot = RunningBot(server, engine, task, stop)
        running.append(bot)
        if wait:
            await _wait_polling(server, since)
        return bot

    yield start
    for bot in running:
        bot.stop.set()
        with contextlib.suppress(AnotherInstanceRunning):
            await asyncio.wait_for(bot.task, 15)
        await bot.engine.close()


async def _wait_polling(server: BotAPIServer, since: int, timeout: float = 10.0) -> None:
    """Wait until the bot has set its commands and started polling (updates queue until then)."""
    await server.wait_for_async(method="setMyCommands", since=since, timeout=timeout)
    await server.wait_for_async(method="deleteWebhook", since=since, timeout=timeout)


def bot_messages(server: BotAPIServer, chat: Any) -> list[dict]:
    return server.messages_in(chat)


def buttons(message: dict) -> list[dict]:
    return [b for row in (message.get("reply_markup") or {}).get("inline_keyboard", []) for b in row]


def entity_types(call: Call) -> set[str]:
    return {e["type"] for e in (call.result or {}).get("entities", [])}


# ---------------------------------------------------------------------------


async def test_private_question_answered_with_quotes_and_citations(start_bot, botapi_server) -> None:  # noqa: F811
    bot = await start_bot()
    server = botapi_server
    _, reply = await bot.say(server.private(USER), USER, QUESTION)
    assert reply.ok and reply.params["parse_mode"] == "HTML"
    assert {"blockquote", "bold"} <= entity_types(reply)
    assert "لافروف" in reply.text and "الفقرة" in reply.text and "أسوشيتد برس" in reply.text
    assert server.calls_to("sendChatAction")[0].params["action"] == "typing"
    labels = [b["text"] for b in buttons(reply.result)]
    assert "المزيد ⬇️" in labels and labels[0] == "السياق ١"
    # the command menus, per scope
    assert [c["command"] for c in server.commands({"type": "all_group_chats"})][0] == "ask"
    assert "reload" in [c["command"] for c in server.commands({"type": "chat", "chat_id": ADMIN})]
    assert "reload" not in [c["command"] for c in server.commands({"type": "all_private_chats"})]


async def test_unanswerable_question_is_polite_with_topics(start_bot, botapi_server) -> None:  # noqa: F811
    bot = await start_bot()
    _, reply = await bot.say(botapi_server.private(USER), USER, "ما عاصمة المريخ؟")
    assert "لم أجد" in reply.text and "كوريا" in reply.text


async def test_groups_answer_only_when_addressed(start_bot, botapi_server) -> None:  # noqa: F811
    bot = await start_bot()
    server = botapi_server
    group = server.supergroup()
    chatter = server.send_text(group, USER, "مرحبًا بالجميع، ما أخبار كوريا الشمالية اليوم؟")
    other_bot = server.send_text(group, USER, "/ask@SomeOtherBot لافروف")
    ask_msg, ask_reply = await bot.say(group, USER, f"/ask@{server.bot_username} {QUESTION}")
    assert "<blockquote>" in ask_reply.params["text"]
    mention_msg, mention_reply = await bot.say(group, OTHER, f"@{server.bot_username} من هو لافروف؟")
    assert mention_reply.ok and "لافروف" in mention_reply.text
    bot_msg = bot_messages(server, group)[0]
    _, reply_reply = await bot.say(group, OTHER, "وماذا عن كيم جونج أون؟", reply_to=bot_msg)
    assert reply_reply.ok
    await bot.settle()
    assert bot.replies(chatter) == [] and bot.replies(other_bot) == []
    # plain /ask in a basic group too
    small = server.group()
    _, plain_reply = await bot.say(small, USER, "/ask لافروف")
    assert plain_reply.ok


async def answered_in_private(bot: RunningBot) -> tuple[dict, Call, dict, dict]:
    """USER asks QUESTION in private: the chat, the bot's reply, the answer message, its «المزيد» button."""
    chat = bot.server.private(USER)
    _, reply = await bot.say(chat, USER, QUESTION)
    answer_msg = bot.server.message(chat, reply.result["message_id"])
    return chat, reply, answer_msg, next(b for b in buttons(answer_msg) if b["text"].startswith("المزيد"))


async def test_more_and_context_buttons(start_bot, botapi_server) -> None:  # noqa: F811
    bot = await start_bot()
    server = botapi_server
    chat, reply, answer_msg, more = await answered_in_private(bot)
    first_texts = reply.text
    since = server.mark()
    qid = server.press_button(answer_msg, more["callback_data"], USER)
    await server.wait_for_async(method="answerCallbackQuery", since=since)
    page2 = await server.wait_for_async(method="sendMessage", chat_id=USER, since=since)
    assert "نتائج إضافية" in page2.text and page2.text != first_texts
    assert server.callback_answer(qid) is not None

    context = next(b for b in buttons(answer_msg) if b["text"].startswith("السياق"))
    since = server.mark()
    server.press_button(answer_msg, context["callback_data"], USER)
    ctx_call = await server.wait_for_async(method="sendMessage", chat_id=USER, since=since)
    assert "سياق المقتطف" in ctx_call.text and "blockquote" in entity_types(ctx_call)

    thumbs = next(b for b in buttons(answer_msg) if b["text"] == "👍")
    since = server.mark()
    server.press_button(answer_msg, thumbs["callback_data"], USER)
    ack = await server.wait_for_async(method="answerCallbackQuery", since=since)
    assert ack.params.get("text") == texts.FEEDBACK_THANKS


async def test_forged_and_foreign_callbacks_get_polite_answers(start_bot, botapi_server) -> None:  # noqa: F811
    bot = await start_bot()
    server = botapi_server
    chat = server.private(USER)
    _, reply = await bot.say(chat, USER, QUESTION)
    answer_msg = server.message(chat, reply.result["message_id"])
    for forged in ("m:1:3:AAAAAAAA", "c:1:1:x:AAAAAAAA", "reload", "f:1:+:" + "A" * 8):
        since = server.mark()
        server.press_button(answer_msg, forged, USER, check=False)
        ack = await server.wait_for_async(method="answerCallbackQuery", since=since)
        assert ack.params.get("text") == texts.STALE_BUTTON
    await bot.settle(0.2)
    assert len(server.calls_to("sendMessage")) == 1


async def test_admin_boundary_for_reload(start_bot, botapi_server) -> None:  # noqa: F811
    bot = await start_bot()
    server = botapi_server
    _, refused = await bot.say(server.private(USER), USER, "/reload")
    assert refused.text == texts.ADMIN_ONLY
    group = server.supergroup()
    server.set_admins(group, [USER])  # a group admin is not a Sanad admin
    _, refused_group = await bot.say(group, USER, f"/reload@{server.bot_username}")
    assert refused_group.text == texts.ADMIN_ONLY
    msg = server.send_text(server.private(ADMIN), ADMIN, "/reload")
    done = await server.wait_for_async(lambda c: "اكتمل" in (c.text or ""), method="sendMessage", chat_id=ADMIN, timeout=15)
    assert "٨٩" in done.text or "الجمل" in done.text
    assert bot.replies(msg)[0].text == texts.RELOAD_STARTED


async def test_uploaded_document_becomes_answerable(start_bot, botapi_server) -> None:  # noqa: F811
    bot = await start_bot()
    server = botapi_server
    admin_chat = server.private(ADMIN)
    _, before = await bot.say(server.private(USER), USER, "ما هي أكبر فوهة بركانية على كوكب المريخ؟")
    assert "لم أجد" in before.text
    text = ("فوهة المريخ\n\nتقع أكبر فوهة بركانية على كوكب المريخ قرب جبل أوليمبوس، "
            "ويبلغ قطرها نحو ثمانين كيلومترًا بحسب قياسات المركبات الفضائية.\n")
    since = server.mark()
    server.send_document(admin_chat, ADMIN, "mars.txt", text.encode("utf-8"))
    await server.wait_for_async(lambda c: "أضفتُ" in (c.text or ""), method="sendMessage", chat_id=ADMIN, since=since, timeout=15)
    _, after = await bot.say(server.private(USER), USER, "ما هي أكبر فوهة بركانية على كوكب المريخ؟")
    assert "أوليمبوس" in after.text and "blockquote" in entity_types(after)
    # non-admins cannot upload
    since = server.mark()
    server.send_document(server.private(OTHER), OTHER, "evil.txt", "نص".encode())
    refused = await server.wait_for_async(method="sendMessage", chat_id=OTHER, since=since)
    assert refused.text == texts.ADMIN_ONLY


async def test_an_uploaded_pdf_is_quoted_with_its_page_and_read_back_with_source(start_bot, botapi_server) -> None:  # noqa: F811
    from tests.documents_corpus import FOLDER
    bot = await start_bot()
    server = botapi_server
    since = server.mark()
    server.send_document(server.private(ADMIN), ADMIN, "report.pdf", (FOLDER / "report.pdf").read_bytes())
    await server.wait_for_async(lambda c: "أضفتُ" in (c.text or ""), method="sendMessage", chat_id=ADMIN, since=since, timeout=15)
    _, reply = await bot.say(server.private(USER), USER, "ما نسبة الفاقد في شبكة التوزيع؟")
    assert "وأكد الوزير أن نسبة الفاقد في شبكة التوزيع انخفضت إلى 18 بالمئة" in reply.text and "ص ٢" in reply.text
    since = server.mark()
    server.send_text(server.private(ADMIN), ADMIN, "/source report")
    sent = await server.wait_for_async(method="sendDocument", chat_id=ADMIN, since=since, timeout=15)
    text = server.file_bytes(sent.result["document"]["file_id"]).decode("utf-8")
    assert text.startswith("تقرير وزارة المياه السنوي") and "تنتج 45 ألف متر مكعب يوميا" in text
    # a scan is refused, in Arabic, with the reason
    since = server.mark()
    server.send_document(server.private(ADMIN), ADMIN, "scan.pdf", (FOLDER / "scanned.pdf").read_bytes())
    refused = await server.wait_for_async(lambda c: "لم أقبل" in (c.text or ""), method="sendMessage",
                                          chat_id=ADMIN, since=since, timeout=15)
    assert "بلا طبقة نص" in refused.text


async def test_hostile_text_rendered_safely(start_bot, botapi_server) -> None:  # noqa: F811
    bot = await start_bot()
    server = botapi_server
    hostile = ("عنوان <b>غير مغلق & <script>alert(1)</script>\n\n"
               "يقول النص الخبيث <i>بلا إغلاق & رموز \u202e\u200f معكوسة &amp; <a href=\"javascript:x\">رابط</a> "
               "إن البطاريق الزرقاء تعيش في القطب الجنوبي.\n")
    since = server.mark()
    server.send_document(server.private(ADMIN), ADMIN, "hostile.txt", hostile.encode())
    await server.wait_for_async(lambda c: "أضفتُ" in (c.text or ""), method="sendMessage", chat_id=ADMIN, since=since, timeout=15)
    _, reply = await bot.say(server.private(USER), USER, "أين تعيش البطاريق الزرقاء؟ <script> & </b>")
    assert reply.ok and "البطاريق" in reply.text
    assert "<i>بلا إغلاق & رموز" in reply.text  # shown literally, not interpreted
    for question in ("<b>", "&", "\u202e\u200f", "</blockquote>", "<a href='x'>", "😀" * 50, "ك" * 4096):
        _, r = await bot.say(server.private(OTHER), OTHER, question)
        assert r.ok


async def test_oversized_context_is_split(start_bot, botapi_server) -> None:  # noqa: F811
    bot = await start_bot()
    server = botapi_server
    sentences = " ".join(f"الجملة رقم {i} تتحدث عن الزرافات الطويلة في السافانا الأفريقية وتصف طعامها وعاداتها اليومية." for i in range(120))
    since = server.mark()
    server.send_document(server.private(ADMIN), ADMIN, "giraffes.txt", f"الزرافات\n\n{sentences}\n".encode())
    await server.wait_for_async(lambda c: "أضفتُ" in (c.text or ""), method="sendMessage", chat_id=ADMIN, since=since, timeout=15)
    chat = server.private(USER)
    _, reply = await bot.say(chat, USER, "ما طعام الزرافات الطويلة في السافانا الأفريقية؟")
    answer_msg = server.message(chat, reply.result["message_id"])
    context = next(b for b in buttons(answer_msg) if b["text"].startswith("السياق"))
    since = server.mark()
    server.press_button(answer_msg, context["callback_data"], USER)
    await server.wait_for_async(lambda c: "الفقرة" in (c.text or ""), method="sendMessage", chat_id=USER, since=since, timeout=10)
    parts = [c for c in server.calls_to("sendMessage")[-10:] if c.index >= since and str(c.chat_id) == str(USER)]
    assert len(parts) >= 3 and all(c.ok for c in parts)
    assert all(len(c.params["text"]) <= 4096 for c in parts)


async def test_inline_query(start_bot, botapi_server) -> None:  # noqa: F811
    await start_bot()
    server = botapi_server
    qid = server.inline_query(USER, "لافروف كوريا الشمالية")
    call = await server.wait_for_async(method="answerInlineQuery", timeout=8)
    assert call.ok and server.inline_answer(qid)["results"]
    msg = server.choose_inline_result(qid, server.inline_answer(qid)["results"][0]["id"], server.private(OTHER))
    assert "لافروف" in msg["text"]


async def test_rate_limit_notice_once(start_bot, botapi_server) -> None:  # noqa: F811
    bot = await start_bot(rate_limit=3)
    server = botapi_server
    chat = server.private(USER)
    for _ in range(8):
        server.send_text(chat, USER, QUESTION)
    await server.wait_for_async(lambda c: c.text == texts.RATE_LIMITED, method="sendMessage", timeout=8)
    await bot.settle(0.5)
    sent = [c.text for c in server.calls_to("sendMessage")]
    assert sent.count(texts.RATE_LIMITED) == 1 and len(sent) == 4


async def test_a_second_instance_stops_and_the_first_keeps_serving(start_bot, botapi_server, caplog) -> None:  # noqa: F811
    """Issue 13.5: only the newcomer stops, and without cutting off the running one."""
    server = botapi_server
    first = await start_bot()
    since = server.mark()
    second = await start_bot(probe_seconds=PROBE_SECONDS, wait=False)
    with pytest.raises(AnotherInstanceRunning):
        await asyncio.wait_for(second.task, 20)
    assert "another instance is already polling" in caplog.text
    assert all(c.index < since for c in server.calls_to("setMyCommands"))  # the newcomer set nothing up
    assert not first.task.done()
    _, reply = await first.say(server.private(USER), USER, QUESTION)  # the first still answers
    assert "لافروف" in reply.text and not first.task.done()


async def test_token_never_logged(start_bot, botapi_server, caplog) -> None:  # noqa: F811
    caplog.set_level(logging.INFO)
    bot = await start_bot()
    await bot.say(botapi_server.private(USER), USER, QUESTION)
    assert botapi_server.token not in caplog.text
    assert all(botapi_server.token not in r.getMessage() for r in caplog.records)


async def test_webhook_mode_with_secret_token(botapi_server_strict, tmp_path: Path, corpus_dir: Path) -> None:  # noqa: F811
    server = botapi_server_strict
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    settings = Settings(token=server.token, api_url=server.url, db_path=tmp_path / "w.sqlite3",
                        corpus_dir=corpus_dir, retention_days=0, webhook_listen="127.0.0.1")
    engine = await Engine.open(settings.db_path, settings.corpus_dir)
    stop = asyncio.Event()
    task = asyncio.create_task(serve(build_application(settings, engine), webhook_url=f"http://127.0.0.1:{port}/hook",
                                     port=port, stop_event=stop, install_signal_handlers=False))
    try:
        hook = await server.wait_for_async(method="setWebhook", timeout=10)
        assert hook.params.get("secret_token") == derive_secret(server.token)  # no SANAD_WEBHOOK_SECRET: derived
        since = server.mark()
        msg = server.send_text(server.private(USER), USER, QUESTION)
        reply = await server.wait_for_async(method="sendMessage", chat_id=USER, since=since, timeout=10)
        assert reply.params["reply_parameters"]["message_id"] == msg["message_id"]
    finally:
        stop.set()
        await asyncio.wait_for(task, 15)
        await engine.close()
    assert server.calls_to("deleteWebhook") == []  # other replicas may still serve it


def test_serve_process_stops_gracefully_on_sigterm(botapi_server_strict, tmp_path: Path, corpus_dir: Path) -> None:  # noqa: F811
    server = botapi_server_strict
    server.private(ADMIN)
    env = {**os.environ, "TELEGRAM_BOT_TOKEN": server.token, "TELEGRAM_API_URL": server.url,
           "SANAD_DB": str(tmp_path / "p.sqlite3"), "SANAD_CORPUS": str(corpus_dir), "SANAD_ADMIN_IDS": str(ADMIN)}
    code, out, err = answer_then_sigterm(
        server, [sys.executable, "-c", "from bot.app import main; raise SystemExit(main())"], env,
        ready_method="deleteWebhook", question=QUESTION, user=USER, timeout=20)
    assert code == 0, err
    assert server.token not in out + err
    assert "shutting down" in err


# ---------------------------------------------------------------------------
# What users of good Telegram bots expect


def labels(server: BotAPIServer, chat: Any, message_id: int) -> list[str]:
    """The buttons under a message as it stands now on the server (after any edits)."""
    return [b["text"] for b in buttons(server.message(chat, message_id))]


async def test_more_pressed_twice_sends_the_next_page_once(start_bot, botapi_server) -> None:  # noqa: F811
    bot = await start_bot()
    server = botapi_server
    chat, _, answer_msg, more = await answered_in_private(bot)
    since = server.mark()
    server.press_button(answer_msg, more["callback_data"], USER)
    await server.wait_for_async(method="sendMessage", chat_id=USER, since=since)
    await server.wait_for_async(method="editMessageReplyMarkup", since=since)
    assert not any(t.startswith("المزيد") for t in labels(server, chat, answer_msg["message_id"]))  # edited in place
    assert any(t.startswith("السياق") for t in labels(server, chat, answer_msg["message_id"]))
    since = server.mark()
    qid = server.press_button(answer_msg, more["callback_data"], USER, check=False)  # a second press on the old button
    ack = await server.wait_for_async(method="answerCallbackQuery", since=since)
    assert ack.params.get("text") == texts.MORE_ALREADY_SHOWN and server.callback_answer(qid) is not None
    await bot.settle()
    assert [c for c in server.calls_to("sendMessage") if c.index >= since] == []


async def test_the_chosen_vote_is_shown(start_bot, botapi_server) -> None:  # noqa: F811
    bot = await start_bot()
    server = botapi_server
    chat, _, answer_msg, _ = await answered_in_private(bot)
    mid = answer_msg["message_id"]
    for face, other in (("👍", "👎"), ("👎", "👍")):
        button = next(b for b in buttons(server.message(chat, mid)) if b["text"].endswith(face))
        since = server.mark()
        server.press_button(mid, button["callback_data"], USER, chat=chat)
        await server.wait_for_async(method="editMessageReplyMarkup", since=since)
        now = labels(server, chat, mid)
        assert texts.CHOSEN + face in now and other in now and texts.CHOSEN + other not in now


async def test_the_bot_describes_itself_in_arabic(start_bot, botapi_server) -> None:  # noqa: F811
    await start_bot()
    assert botapi_server.descriptions["description"][""] == texts.DESCRIPTION
    assert botapi_server.descriptions["short_description"][""] == texts.SHORT_DESCRIPTION
    assert all("\u0600" <= ch <= "\u06ff" for ch in "".join(texts.SHORT_DESCRIPTION.split()) if ch.isalpha())


async def test_an_edited_question_is_answered_again(start_bot, botapi_server) -> None:  # noqa: F811
    bot = await start_bot()
    server = botapi_server
    chat = server.private(USER)
    msg, first = await bot.say(chat, USER, "ما عاصمة المريخ؟")
    assert "لم أجد" in first.text
    since = server.mark()
    server.edited_message(msg, QUESTION)
    second = await bot.reply_to(msg, since)
    assert "لافروف" in second.text and "blockquote" in entity_types(second)


async def test_greetings_and_thanks_get_a_friendly_reply_without_quotes(start_bot, botapi_server) -> None:  # noqa: F811
    bot = await start_bot()
    server = botapi_server
    for message, opening in (("السلام عليكم", "وعليكم السلام"), ("شكرا جزيلا", "العفو"), ("h", "لم أفهم")):
        _, reply = await bot.say(server.private(USER), USER, message)
        assert reply.text.startswith(opening) and "اكتب سؤالك" in reply.text
        assert "blockquote" not in entity_types(reply) and not buttons(reply.result)
    _, answered = await bot.say(server.private(USER), USER, "السلام عليكم، كم جنديا أرسلت كوريا الشمالية إلى روسيا؟")
    assert "blockquote" in entity_types(answered)


async def test_upload_rejections_are_in_arabic(start_bot, botapi_server) -> None:  # noqa: F811
    import re
    await start_bot()
    server = botapi_server
    for name, data in (("latin1.txt", "café au lait".encode("latin-1")), ("empty.txt", b"   \n"),
                       ("broken.jsonl", b'{"id": "a", "text": "\xd9\x86\xd8\xb5"}\nnot json\n')):
        since = server.mark()
        server.send_document(server.private(ADMIN), ADMIN, name, data)
        refused = await server.wait_for_async(lambda c: "لم أقبل" in (c.text or ""), method="sendMessage",
                                              chat_id=ADMIN, since=since, timeout=15)
        reason = refused.text.split("السبب:", 1)[1]
        assert not re.search(r"[A-Za-z]", reason.replace("UTF-8", "").replace("JSON", "")), reason


async def test_logs_never_show_a_raw_user_id(start_bot, botapi_server, caplog) -> None:  # noqa: F811
    caplog.set_level(logging.INFO)  # what `sanad serve` logs (PTB's own DEBUG lines print whole updates)
    bot = await start_bot()
    server = botapi_server
    stranger = 987654321
    await bot.say(server.private(stranger), stranger, "/reload")  # refused: logged
    group = server.supergroup()
    await bot.say(group, stranger, "/auto on")  # refused: not a group admin
    await bot.say(server.private(stranger), stranger, QUESTION)
    assert "refused admin action" in caplog.text and "refused /auto" in caplog.text
    assert str(stranger) not in caplog.text


async def test_a_flood_from_one_user_gets_one_notice_then_silence_and_delays_nobody(start_bot, botapi_server) -> None:  # noqa: F811
    """Issue 13.6: every update counts against its sender's limit (rate_limit 2 → 6 updates a minute)."""
    bot = await start_bot(rate_limit=2)
    server = botapi_server
    flooder = server.private(USER)
    since = server.mark()
    for i in range(150):
        server.send_text(flooder, USER, ("/help", "مرحبا", "/nosuchcommand", "/reload")[i % 4])
    others = [server.send_text(server.private(uid), uid, QUESTION) for uid in range(5000, 5010)]
    answers = [await bot.reply_to(msg, 0, timeout=20) for msg in others]
    assert all("لافروف" in a.text for a in answers)
    await bot.settle(0.5)
    to_flooder = [c for c in server.calls_to("sendMessage") if str(c.chat_id) == str(USER)]
    # six replies (help, or the question limit's own notice), one flood notice, then silence
    assert len(to_flooder) == 7 and [c.text for c in to_flooder].count(texts.FLOODING) == 1
    last_answer = max(a.index for a in answers)
    sent_before = [c for c in server.sent[since:last_answer] if c.method == "sendMessage"]
    assert len(sent_before) <= 7 + len(others)  # the others waited behind 7 messages at most, not 150


BURST = 80


async def test_button_and_inline_answers_never_wait_behind_a_burst_of_messages(start_bot, botapi_server) -> None:  # noqa: F811
    """Issue 13.7: with every message slot busy sending replies, a button press and an inline query are
    answered at once, not after the burst (the old single pool answered them after BURST - 32 replies)."""
    bot = await start_bot()
    server = botapi_server
    chat = server.private(USER)
    _, reply = await bot.say(chat, USER, QUESTION)
    answer_msg = server.message(chat, reply.result["message_id"])
    more = next(b for b in buttons(answer_msg) if b["text"].startswith("المزيد"))
    burst_users = range(6000, 6000 + BURST)
    since = server.mark()
    for uid in burst_users:
        server.send_text(server.private(uid), uid, QUESTION)
    pressed = server.press_button(answer_msg, more["callback_data"], USER)
    asked = server.inline_query(OTHER, "لافروف كوريا الشمالية")
    ack = await server.wait_for_async(method="answerCallbackQuery", since=since, timeout=30)
    inline = await server.wait_for_async(method="answerInlineQuery", since=since, timeout=30)
    assert server.callback_answer(pressed) is not None and server.inline_answer(asked)["results"]

    def burst_replies_before(call: Call) -> int:
        return sum(c.method == "sendMessage" and int(c.chat_id) in burst_users for c in server.sent[since:call.index])

    assert burst_replies_before(ack) < BURST - 48 and burst_replies_before(inline) < BURST - 48


async def test_the_bot_answers_by_words_while_embedding_then_by_meaning(start_bot, botapi_server,  # noqa: F811
                                                                       monkeypatch) -> None:
    """As `sanad serve` runs it: vectors made in the background, /about saying how far, answers never waiting."""
    monkeypatch.setenv("SANAD_SEMANTIC", "on")
    bot = await start_bot(vectors="background")
    server = botapi_server
    chat = server.private(USER)
    _, about = await bot.say(chat, USER, "/about")
    assert texts.SEMANTIC_EMBEDDING.split("(")[0] in about.text
    _, early = await bot.say(chat, USER, QUESTION)
    assert "blockquote" in entity_types(early)  # answered by words alone meanwhile
    await asyncio.wait_for(bot.engine.meaning._job_task, 120)
    _, about = await bot.say(chat, USER, "/about")
    assert texts.SEMANTIC_READY in about.text
    _, late = await bot.say(chat, USER, QUESTION)
    assert "blockquote" in entity_types(late) and bot.engine.semantic is not None
