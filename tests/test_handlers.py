"""Handlers with PTB's own objects: a real Application, a recording Bot API request, a fake engine."""

from __future__ import annotations

import contextlib

import asyncio
import hashlib
import itertools
import json
import logging
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

import pytest
from telegram import Update
from telegram.request import BaseRequest, RequestData

from bot import texts
from bot.app import ADMIN_COMMANDS, build_application, on_shutdown, on_startup, protect_token
from bot.questionlog import TASK_NAME as QUESTION_LOG_TASK
from bot.settings import Settings
from retrieval import (Answer, BuildReport, Context, CorpusInfo, DocInfo, EmbeddingState, EmbeddingStatus, Extract,
                       ReloadError, UploadError)
from test_render import telegram_visible_text

BOT_ID = 999
ADMIN = 1
USER = 2
TOKEN = "123456:TEST-TOKEN-never-logged"


# ---------------------------------------------------------------------------
# Fakes


@dataclass
class FakeStats:
    questions_today: int = 2
    questions_total: int = 5
    unanswered_share: float = 0.4
    median_latency_ms: float = 1.5
    top_questions: list = field(default_factory=lambda: [("سؤال <b>", 3)])
    top_unanswered: list = field(default_factory=list)
    feedback_up: int = 1
    feedback_down: int = 0


class FakeStore:
    def __init__(self) -> None:
        self.notes: dict[str, str] = {}
        self.questions: dict[int, dict[str, Any]] = {}
        self.feedback: dict[tuple[int, str], int] = {}
        self.settings: dict[tuple[int, str], str] = {}
        self.ids = itertools.count(1)
        self.fail_logging = False

    async def log_question(self, *, chat_id, user_hash, question, answered, top_doc, latency_ms,
                           question_id=None) -> int:
        if self.fail_logging:
            raise OSError("read-only database")
        qid = question_id or next(self.ids)
        self.questions[qid] = dict(chat_id=chat_id, user_hash=user_hash, question=question, answered=answered)
        return qid

    async def get_question(self, question_id: int, chat_id: int):
        row = self.questions.get(question_id)
        return row["question"] if row and row["chat_id"] == chat_id else None

    async def add_feedback(self, question_id: int, user_hash: str, value: int) -> None:
        self.feedback[(question_id, user_hash)] = value

    async def get_chat_setting(self, chat_id, key, default=None):
        return self.settings.get((chat_id, key), default)

    async def set_chat_setting(self, chat_id, key, value) -> None:
        self.settings[(chat_id, key)] = value

    async def stats(self, *, top: int = 5) -> FakeStats:
        return FakeStats()

    async def forget_user(self, user_hash: str) -> int:
        mine = [q for q, row in self.questions.items() if row["user_hash"] == user_hash]
        for q in mine:
            del self.questions[q]
        return len(mine)

    async def purge_older_than(self, days: int) -> int:
        return 0

    async def secret(self, name: str) -> bytes:
        return (name * 8).encode()[:32]

    def pseudonym(self, kind: str, value: int | str) -> str:
        return hashlib.sha256(f"{kind}:{value}".encode()).hexdigest()[:32]

    async def get_note(self, name: str) -> str | None:
        return self.notes.get(name)

    async def set_note(self, name: str, value: str) -> None:
        self.notes[name] = value


DOC = DocInfo(id="d1", file="d1.txt", title="كوريا", source="AP", date="2024-11-22", url="https://example.org/x")


class FakeEngine:
    def __init__(self) -> None:
        self.store = FakeStore()
        self.built_at = datetime(2024, 1, 1, tzinfo=timezone.utc)
        self.reload_error: str | None = None
        self.ask_error = False
        self.files: dict[str, bytes] = {}
        self.asked: list[tuple[str, int]] = []
        self.embedding = EmbeddingStatus(EmbeddingState.EMBEDDING, 40, 100)

    def ask(self, question: str, *, top: int = 3, offset: int = 0) -> Answer:
        if self.ask_error:
            raise RuntimeError("boom: secret internals")
        self.asked.append((question, offset))
        if "كوريا" not in question and not any(k.split(".")[0] in question for k in self.files):
            return Answer(question, False, "none", (), False, ("كوريا الشمالية",))
        total = 7
        extracts = tuple(
            Extract(rank=i + 1, score=1.0, position=100 + i, text=(t := f"جملة رقم {i} عن كوريا."),
                    spans=((t.index("كوريا"), t.index("كوريا") + 5),),
                    doc=DOC, paragraph=i + 1, sentence=1, before=None, after=None)
            for i in range(offset, min(total, offset + top))
        )
        return Answer(question, True, "high", extracts, offset + top < total, ())

    def context(self, position: int) -> Context | None:
        if not 100 <= position < 107:
            return None
        return Context(DOC, 1, "قبلها. جملة عن كوريا. بعدها.", (7, 21))

    def info(self) -> CorpusInfo:
        return CorpusInfo(5, 20, 100, self.built_at, "/corpus")

    def embedding_status(self) -> EmbeddingStatus:
        return self.embedding

    async def reload(self) -> BuildReport:
        await asyncio.sleep(0.01)
        if self.reload_error:
            raise make_error(ReloadError, self.reload_error)
        self.built_at = datetime.now(timezone.utc)
        return BuildReport(6, 21, 101, (("bad.txt", "not UTF-8 text (byte 3)"), ("twin.txt", "duplicate of <b>.txt")), 0.25)

    async def add_file(self, filename: str, data: bytes, *, max_bytes: int) -> BuildReport:
        if not data.decode("utf-8", "ignore").strip():
            raise make_error(UploadError, "empty file")
        self.files[filename] = data
        return await self.reload()

    async def add_url(self, url: str, *, max_bytes: int) -> tuple[str, BuildReport]:
        if "unreachable" in url:
            raise make_error(UploadError, "the address cannot be reached (Connection refused)")
        self.files[url] = b"page"
        return "example.org-page.html", await self.reload()

    def source_text(self, doc_id: str) -> tuple[str, str] | None:
        return ("d1.pdf", "النص المستخرج من التقرير.") if doc_id == "d1" else None

    async def remove_document(self, doc_id: str) -> BuildReport:
        if doc_id != "d1":
            raise KeyError(doc_id)
        return await self.reload()


def make_error(cls: type[Exception], reason: str) -> Exception:
    """The library's error with its documented attributes, whatever its constructor takes."""
    error = cls.__new__(cls)
    Exception.__init__(error, reason)
    error.reason = reason
    error.report = None
    return error


class RecordingRequest(BaseRequest):
    """Answers Bot API calls like Telegram would and records them."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.message_ids = itertools.count(1000)
        self.files: dict[str, bytes] = {}
        self.documents: list[Any] = []  # the files sent with sendDocument

    @property
    def read_timeout(self) -> float:
        return 1.0

    async def initialize(self) -> None:
        pass

    async def shutdown(self) -> None:
        pass

    async def do_request(self, url: str, method: str, request_data: RequestData | None = None,
                         read_timeout=None, write_timeout=None, connect_timeout=None, pool_timeout=None):
        if "/file/bot" in url:
            return 200, self.files[url.rsplit("/", 1)[1]]
        name = url.rsplit("/", 1)[1]
        params = json.loads(json.dumps(request_data.parameters)) if request_data else {}
        self.calls.append((name, params))
        result: Any = True
        if name == "getMe":
            result = {"id": BOT_ID, "is_bot": True, "first_name": "سند", "username": "SanadBot",
                      "can_join_groups": True, "can_read_all_group_messages": False, "supports_inline_queries": True}
        elif name in ("sendMessage", "editMessageText"):
            telegram_visible_text(params["text"])  # Telegram would reject invalid HTML
            chat_id = params["chat_id"]
            result = {"message_id": next(self.message_ids), "date": 0, "text": params["text"],
                      "chat": {"id": chat_id, "type": "private" if chat_id > 0 else "supergroup"},
                      "from": {"id": BOT_ID, "is_bot": True, "first_name": "سند"}}
        elif name == "sendDocument":
            result = {"message_id": next(self.message_ids), "date": 0, "chat": {"id": params["chat_id"], "type": "private"},
                      "document": {"file_id": "sent", "file_unique_id": "sent"}}
            self.documents.append(request_data.multipart_data if request_data else None)
        elif name == "getFile":
            result = {"file_id": params["file_id"], "file_unique_id": "u", "file_path": params["file_id"], "file_size": 10}
        return 200, json.dumps({"ok": True, "result": result}).encode()

    def sent(self, method: str = "sendMessage") -> list[dict[str, Any]]:
        return [params for name, params in self.calls if name == method]


# ---------------------------------------------------------------------------
# Fixtures and update builders


@contextlib.asynccontextmanager
async def running_app(engine, **settings):
    """The bot's real Application over `engine`, its Bot API calls recorded instead of sent."""
    request = RecordingRequest()
    options = {"token": TOKEN, "api_url": "http://127.0.0.1:1", "admin_ids": frozenset({ADMIN}), **settings}
    app = build_application(Settings(**options), engine, request=request, get_updates_request=RecordingRequest())
    await app.initialize()
    await app.start()
    try:
        yield app, request
    finally:
        await app.stop()
        await on_shutdown(app)
        await app.shutdown()


@pytest.fixture
async def env():
    engine = FakeEngine()
    async with running_app(engine, rate_limit=5) as (app, request):
        yield app, engine, request


_ids = itertools.count(1)


def message(text: str | None, *, user: int = USER, chat: int | None = None, chat_type: str = "private",
            entities: list | None = None, reply_to: dict | None = None, document: dict | None = None) -> dict:
    chat_id = chat if chat is not None else user
    msg: dict[str, Any] = {
        "message_id": next(_ids), "date": 0,
        "chat": {"id": chat_id, "type": chat_type, **({"title": "مجموعة"} if chat_type != "private" else {})},
        "from": {"id": user, "is_bot": False, "first_name": "مستخدم"},
    }
    if text is not None:
        msg["text"] = text
    if text and text.startswith("/"):
        cmd = text.split()[0]
        entities = (entities or []) + [{"type": "bot_command", "offset": 0, "length": len(cmd)}]
    if entities:
        msg["entities"] = entities
    if reply_to:
        msg["reply_to_message"] = reply_to
    if document:
        msg["document"] = document
    return msg


async def feed(app, payload: dict) -> None:
    update = Update.de_json({"update_id": next(_ids), **payload}, app.bot)
    await app.process_update(update)
    for _ in range(100):  # non-blocking handlers (admin) and the question log run as tasks
        pending = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()
                   and ("process_update" in repr(t) or t.get_name() == QUESTION_LOG_TASK)]
        if not pending:
            break
        await asyncio.sleep(0.01)


def press(data: str, *, chat: int, user: int = USER, message_id: int = 5) -> dict:
    return {"callback_query": {
        "id": str(next(_ids)), "chat_instance": "ci", "data": data,
        "from": {"id": user, "is_bot": False, "first_name": "مستخدم"},
        "message": {"message_id": message_id, "date": 0, "chat": {"id": chat, "type": "private"},
                    "from": {"id": BOT_ID, "is_bot": True, "first_name": "سند"}, "text": "x"},
    }}


def buttons(params: dict) -> list[dict]:
    markup = params.get("reply_markup")
    if isinstance(markup, str):
        markup = json.loads(markup)
    return [b for row in (markup or {}).get("inline_keyboard", []) for b in row]


# ---------------------------------------------------------------------------
# Private chats


async def test_private_question_answered_with_quotes_citations_and_buttons(env) -> None:
    app, engine, request = env
    await feed(app, {"message": message("ماذا حدث في كوريا؟")})
    assert request.sent("sendChatAction")[0]["action"] == "typing"
    (reply,) = request.sent()
    assert reply["parse_mode"] == "HTML"
    assert "<blockquote>" in reply["text"] and "<b>كوريا</b>" in reply["text"]
    assert 'href="https://example.org/x"' in reply["text"] and "الفقرة" in reply["text"]
    assert reply["reply_parameters"]["message_id"] > 0
    labels = [b["text"] for b in buttons(reply)]
    assert labels[:3] == ["السياق ١", "السياق ٢", "السياق ٣"]
    assert "المزيد ⬇️" in labels and "👍" in labels and "👎" in labels
    assert all(len(b["callback_data"].encode()) <= 64 for b in buttons(reply))
    (logged,) = engine.store.questions.values()
    assert logged["chat_id"] == USER and logged["user_hash"] != str(USER) and len(logged["user_hash"]) == 32


async def test_unanswered_question_suggests_topics(env) -> None:
    app, _, request = env
    await feed(app, {"message": message("ما عاصمة المريخ؟")})
    (reply,) = request.sent()
    assert "لم أجد" in reply["text"] and "كوريا الشمالية" in reply["text"]
    assert not buttons(reply)


@pytest.mark.parametrize("text", ["😀😀😀", "   ", "\u200f\u200e", "؟؟؟"])
async def test_wordless_message_gets_polite_notice(env, text: str) -> None:
    app, engine, request = env
    await feed(app, {"message": message(text)})
    assert request.sent()[0]["text"] == texts.EMPTY_QUESTION
    assert engine.asked == []


async def test_hostile_question_is_escaped(env) -> None:
    app, _, request = env
    await feed(app, {"message": message("<script>alert('x')</script> & كوريا <b>")})
    (reply,) = request.sent()
    assert "&lt;script&gt;" in reply["text"] and "&amp;" in reply["text"]


async def test_more_button_sends_next_page(env) -> None:
    app, engine, request = env
    await feed(app, {"message": message("ماذا عن كوريا؟")})
    more = next(b for b in buttons(request.sent()[0]) if b["text"].startswith("المزيد"))
    await feed(app, press(more["callback_data"], chat=USER))
    assert request.sent("answerCallbackQuery")
    page2 = request.sent()[1]
    assert "جملة رقم 3" in page2["text"] and "جملة رقم 0" not in page2["text"]
    assert engine.asked[-1][1] == 3


async def test_context_button_shows_paragraph_then_goes_stale_after_reload(env) -> None:
    app, engine, request = env
    await feed(app, {"message": message("كوريا")})
    ctx_button = buttons(request.sent()[0])[0]
    await feed(app, press(ctx_button["callback_data"], chat=USER))
    assert "<b>جملة عن كوريا.</b>" in request.sent()[-1]["text"]
    engine.built_at = datetime(2030, 1, 1, tzinfo=timezone.utc)
    sent_before = len(request.sent())
    await feed(app, press(ctx_button["callback_data"], chat=USER))
    assert request.sent("answerCallbackQuery")[-1]["text"] == texts.STALE_CORPUS
    assert len(request.sent()) == sent_before


async def test_feedback_recorded(env) -> None:
    app, engine, request = env
    await feed(app, {"message": message("كوريا")})
    up = next(b for b in buttons(request.sent()[0]) if b["text"] == "👍")
    await feed(app, press(up["callback_data"], chat=USER))
    assert list(engine.store.feedback.values()) == [1]
    assert request.sent("answerCallbackQuery")[-1]["text"] == texts.FEEDBACK_THANKS


@pytest.mark.parametrize("forged", ["m:1:3:AAAAAAAA", "f:1:+", "garbage", "x" * 64, "c:1:100:abc:AAAAAAAA"])
async def test_forged_callback_gets_polite_answer(env, forged: str) -> None:
    app, _, request = env
    await feed(app, press(forged, chat=USER))
    assert request.sent("answerCallbackQuery")[-1]["text"] == texts.STALE_BUTTON
    assert not request.sent()


async def test_callback_from_another_chat_is_refused(env) -> None:
    app, engine, request = env
    await feed(app, {"message": message("كوريا")})
    more = next(b for b in buttons(request.sent()[0]) if b["text"].startswith("المزيد"))
    await feed(app, press(more["callback_data"], chat=USER + 1, user=USER + 1))
    assert request.sent("answerCallbackQuery")[-1]["text"] == texts.STALE_BUTTON
    assert len(request.sent()) == 1


async def test_rate_limit_notifies_once_then_drops(env) -> None:
    app, engine, request = env
    for _ in range(12):
        await feed(app, {"message": message("كوريا")})
    replies = [p["text"] for p in request.sent()]
    assert len(replies) == 6 and replies[-1] == texts.RATE_LIMITED
    assert len(engine.asked) == 5
    await feed(app, {"message": message("كوريا", user=USER + 5)})  # others still answered
    assert len(engine.asked) == 6


async def test_engine_error_gets_polite_arabic_notice_without_traceback(env, caplog) -> None:
    app, engine, request = env
    engine.ask_error = True
    with caplog.at_level(logging.ERROR):
        await feed(app, {"message": message("كوريا")})
    (reply,) = request.sent()
    assert reply["text"] == texts.ERROR
    assert "boom" not in reply["text"] and "Traceback" not in reply["text"]
    assert "boom" in caplog.text


async def test_logging_failure_still_answers(env) -> None:
    app, engine, request = env
    engine.store.fail_logging = True
    await feed(app, {"message": message("كوريا")})
    (reply,) = request.sent()
    assert "<blockquote>" in reply["text"]
    # The reply went before the log failed: a button that needs the logged question says it is stale.
    more = next(b for b in buttons(reply) if b["text"].startswith("المزيد"))
    await feed(app, press(more["callback_data"], chat=USER))
    assert request.sent("answerCallbackQuery")[-1]["text"] == texts.STALE_BUTTON


class BlockedStore(FakeStore):
    """A store whose writes wait until released, like SQLite behind another process's write lock."""

    def __init__(self) -> None:
        super().__init__()
        self.released = asyncio.Event()

    async def log_question(self, **row) -> int:
        await self.released.wait()
        return await super().log_question(**row)


async def test_a_button_pressed_before_its_question_is_written_waits_for_it(env) -> None:
    app, engine, request = env
    engine.store = store = BlockedStore()
    await app.process_update(Update.de_json({"update_id": next(_ids), "message": message("كوريا")}, app.bot))
    more = next(b for b in buttons(request.sent()[0]) if b["text"].startswith("المزيد"))
    asyncio.get_running_loop().call_later(0.05, store.released.set)  # the row lands while the press waits
    await feed(app, press(more["callback_data"], chat=USER))
    assert request.sent("answerCallbackQuery")[-1].get("text") != texts.STALE_BUTTON
    assert len(request.sent()) == 2  # the next extracts


async def test_the_reply_never_waits_for_the_question_log(env) -> None:
    """Issue 13.10: reply first, log after."""
    app, engine, request = env
    engine.store = store = BlockedStore()
    await app.process_update(Update.de_json({"update_id": next(_ids), "message": message("كوريا")}, app.bot))
    (reply,) = request.sent()  # answered while the database is still locked ...
    assert "<blockquote>" in reply["text"] and store.questions == {}
    store.released.set()
    await app.bot_data.state.question_log.drain()
    (qid,) = store.questions  # ... and logged afterwards, under the id its buttons carry
    assert any(str(qid) in b["callback_data"] for b in buttons(reply) if b["text"] == "👍")


async def test_start_help_about_forgetme(env) -> None:
    app, engine, request = env
    await feed(app, {"message": message("/start")})
    assert "/ask" in request.sent()[-1]["text"] and "@SanadBot" in request.sent()[-1]["text"]
    assert "/reload" not in request.sent()[-1]["text"]
    await feed(app, {"message": message("/help", user=ADMIN)})
    assert "/reload" in request.sent()[-1]["text"]
    await feed(app, {"message": message("/start", user=ADMIN)})
    assert json.loads(json.dumps(request.sent("setMyCommands")[-1]["scope"]))["chat_id"] == ADMIN
    await feed(app, {"message": message("/about")})
    assert "٥" in request.sent()[-1]["text"] and "2024-01-01" in request.sent()[-1]["text"]
    assert "٤٠ من ١٠٠" in request.sent()[-1]["text"]  # how far the sentence vectors are
    engine.embedding = EmbeddingStatus(EmbeddingState.READY, 100, 100)
    await feed(app, {"message": message("/about")})
    assert texts.SEMANTIC_READY in request.sent()[-1]["text"]
    await feed(app, {"message": message("كوريا")})
    await feed(app, {"message": message("/forgetme")})
    assert "١" in request.sent()[-1]["text"]
    assert engine.store.questions == {}


# ---------------------------------------------------------------------------
# Groups


async def test_group_chatter_is_ignored(env) -> None:
    app, engine, request = env
    for text in ("مرحبا يا جماعة", "كوريا؟", "/ask@OtherBot كوريا", "/help@OtherBot"):
        await feed(app, {"message": message(text, chat=-100, chat_type="supergroup")})
    assert request.sent() == [] and engine.asked == []


async def test_group_ask_mention_and_reply_are_answered_threaded(env) -> None:
    app, engine, request = env
    await feed(app, {"message": message("/ask@SanadBot ماذا عن كوريا؟", chat=-100, chat_type="supergroup")})
    await feed(app, {"message": message("/ask كوريا", chat=-100, chat_type="group")})
    mention = "@SanadBot"
    await feed(app, {"message": message(f"{mention} ماذا عن كوريا", chat=-100, chat_type="supergroup",
                                        entities=[{"type": "mention", "offset": 0, "length": len(mention)}])})
    bot_msg = {"message_id": 7, "date": 0, "chat": {"id": -100, "type": "supergroup"},
               "from": {"id": BOT_ID, "is_bot": True, "first_name": "سند"}, "text": "x"}
    await feed(app, {"message": message("وماذا بعد في كوريا", chat=-100, chat_type="supergroup", reply_to=bot_msg)})
    assert len(request.sent()) == 4
    assert all(p["reply_parameters"]["message_id"] for p in request.sent())
    assert [q for q, _ in engine.asked] == ["ماذا عن كوريا؟", "كوريا", "ماذا عن كوريا", "وماذا بعد في كوريا"]


async def test_group_auto_mode_answers_questions_only(env) -> None:
    app, engine, request = env
    await engine.store.set_chat_setting(-100, "auto", "on")
    await feed(app, {"message": message("كيف الحال مع كوريا؟", chat=-100, chat_type="supergroup")})
    await feed(app, {"message": message("صباح الخير", chat=-100, chat_type="supergroup")})
    assert len(engine.asked) == 1


# ---------------------------------------------------------------------------
# Admin


@pytest.mark.parametrize("command", ["/reload", "/stats", "/remove d1", "/add https://example.org/a.html", "/source d1"])
async def test_non_admin_is_refused_and_logged(env, caplog, command: str) -> None:
    app, engine, request = env
    with caplog.at_level(logging.WARNING):
        await feed(app, {"message": message(command)})
        await feed(app, {"message": message(command, chat=-100, chat_type="supergroup")})
    assert [p["text"] for p in request.sent()] == [texts.ADMIN_ONLY] * 2
    assert "refused admin action" in caplog.text
    assert engine.built_at.year == 2024


async def test_admin_reload_reports_counts_and_skipped(env) -> None:
    app, engine, request = env
    await feed(app, {"message": message("/reload", user=ADMIN)})
    texts_sent = [p["text"] for p in request.sent()]
    assert texts_sent[0] == texts.RELOAD_STARTED
    assert "١٠١" in texts_sent[-1] and "bad.txt" in texts_sent[-1] and "&lt;b&gt;.txt" in texts_sent[-1]
    assert "ليس نصًّا بترميز UTF-8 (عند البايت ٣)" in texts_sent[-1] and "not UTF-8" not in texts_sent[-1]


async def test_failed_reload_says_why(env) -> None:
    app, engine, request = env
    engine.reload_error = "no usable documents"
    await feed(app, {"message": message("/reload", user=ADMIN)})
    assert "لا توجد في مجلد المصادر مستندات صالحة" in request.sent()[-1]["text"]
    assert "ما زالت المصادر السابقة" in request.sent()[-1]["text"]


async def test_admin_upload_and_remove(env) -> None:
    app, engine, request = env
    request.files["f1"] = "نص عن المريخ".encode()
    doc = {"file_id": "f1", "file_unique_id": "u1", "file_name": "mars.txt", "file_size": 20}
    await feed(app, {"message": message(None, user=ADMIN, document=doc)})
    assert engine.files == {"mars.txt": "نص عن المريخ".encode()}
    assert "mars.txt" in request.sent()[-1]["text"] and "١٠١" in request.sent()[-1]["text"]
    await feed(app, {"message": message("/remove nope", user=ADMIN)})
    assert "nope" in request.sent()[-1]["text"]
    await feed(app, {"message": message("/remove d1", user=ADMIN)})
    assert request.sent()[-1]["text"].startswith("<b>✅")


async def test_admin_adds_a_page_by_its_address(env) -> None:
    app, engine, request = env
    await feed(app, {"message": message("/add", user=ADMIN)})
    assert request.sent()[-1]["text"] == texts.ADD_USAGE
    await feed(app, {"message": message("/add https://example.org/page.html", user=ADMIN)})
    assert "https://example.org/page.html" in engine.files
    assert "example.org-page.html" in request.sent()[-1]["text"] and "١٠١" in request.sent()[-1]["text"]
    await feed(app, {"message": message("/add http://unreachable.example/x.html", user=ADMIN)})
    visible = telegram_visible_text(request.sent()[-1]["text"])
    assert "تعذّر الوصول إلى الرابط" in visible and "Connection" not in visible
    await feed(app, {"message": message("/add https://example.org/b.html", user=ADMIN, chat=-100,
                                        chat_type="supergroup")})
    assert request.sent()[-1]["text"] == texts.UPLOAD_NOT_PRIVATE and "https://example.org/b.html" not in engine.files


async def test_admin_reads_back_a_documents_stored_text_as_a_file(env) -> None:
    app, engine, request = env
    await feed(app, {"message": message("/source d1", user=ADMIN)})
    (sent,) = request.sent("sendDocument")
    assert "d1.pdf" in sent["caption"]
    (files,) = request.documents
    assert any("النص المستخرج من التقرير.".encode() in bytes(f[1]) for f in files.values())
    await feed(app, {"message": message("/source nope", user=ADMIN)})
    assert "nope" in request.sent()[-1]["text"] and len(request.sent("sendDocument")) == 1


@pytest.mark.parametrize(
    "doc,reason",
    [
        ({"file_id": "f", "file_unique_id": "u", "file_name": "x.exe", "file_size": 5}, texts.UPLOAD_BAD_TYPE),
        ({"file_id": "f", "file_unique_id": "u", "file_name": "x.txt", "file_size": 10**9}, "يتجاوز"),
    ],
)
async def test_bad_upload_is_refused_before_download(env, doc, reason) -> None:
    app, engine, request = env
    await feed(app, {"message": message(None, user=ADMIN, document=doc)})
    assert reason in telegram_visible_text(request.sent()[-1]["text"])
    assert not request.sent("getFile") and engine.files == {}


async def test_upload_error_from_engine_is_reported(env) -> None:
    app, engine, request = env
    request.files["e"] = b"   "
    doc = {"file_id": "e", "file_unique_id": "u", "file_name": "../../etc/passwd.txt", "file_size": 3}
    await feed(app, {"message": message(None, user=ADMIN, document=doc)})
    assert "السبب: الملف فارغ." in request.sent()[-1]["text"]


async def test_non_admin_upload_refused(env) -> None:
    app, engine, request = env
    doc = {"file_id": "f", "file_unique_id": "u", "file_name": "x.txt", "file_size": 5}
    await feed(app, {"message": message(None, document=doc)})
    assert request.sent()[-1]["text"] == texts.ADMIN_ONLY and not request.sent("getFile")


async def test_stats(env) -> None:
    app, _, request = env
    await feed(app, {"message": message("/stats", user=ADMIN)})
    joined = "".join(p["text"] for p in request.sent())
    assert "٤٠٪" in joined and "سؤال &lt;b&gt;" in joined


async def test_stats_are_given_in_private_only(env) -> None:
    """Issue 13.8: /stats quotes other users' questions; in a group it would publish them."""
    app, _, request = env
    await feed(app, {"message": message("/stats", user=ADMIN, chat=-100, chat_type="supergroup")})
    assert [p["text"] for p in request.sent()] == [texts.STATS_PRIVATE_ONLY]


async def test_refused_admin_attempts_are_logged_once_a_minute_by_pseudonym(env, caplog) -> None:
    """Issues 13.6 and 13.8: a flood of refused commands is one log line, and no line holds a raw id."""
    app, _, request = env
    stranger, group = 555000111, -1009990001
    with caplog.at_level(logging.INFO):
        for command in ("/reload", "/stats", "/remove d1"):
            await feed(app, {"message": message(command, user=stranger, chat=group, chat_type="supergroup")})
    assert caplog.text.count("refused admin action") == 1
    assert str(stranger) not in caplog.text and str(group) not in caplog.text


# ---------------------------------------------------------------------------
# Inline mode, commands, logging


async def test_inline_query_offers_extracts(env) -> None:
    app, _, request = env
    await feed(app, {"inline_query": {"id": "iq1", "from": {"id": USER, "is_bot": False, "first_name": "م"},
                                      "query": "كوريا", "offset": ""}})
    (call,) = request.sent("answerInlineQuery")
    results = call["results"]
    assert len(results) == 5 and results[0]["type"] == "article"
    content = results[0]["input_message_content"]
    assert content["parse_mode"] == "HTML" and "<blockquote>" in content["message_text"]
    telegram_visible_text(content["message_text"])


async def test_startup_sets_commands_per_scope(env) -> None:
    app, _, request = env
    await on_startup(app)
    scopes = [json.loads(p["scope"]) if isinstance(p["scope"], str) else p["scope"] for p in request.sent("setMyCommands")]
    assert [s["type"] for s in scopes] == ["all_private_chats", "all_group_chats", "chat"]
    assert scopes[2]["chat_id"] == ADMIN
    admin_cmds = request.sent("setMyCommands")[2]["commands"]
    admin_cmds = json.loads(admin_cmds) if isinstance(admin_cmds, str) else admin_cmds
    assert [c["command"] for c in admin_cmds] == [c.command for c in ADMIN_COMMANDS]


def test_token_is_redacted_from_logs(caplog) -> None:
    handler = logging.StreamHandler()
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        protect_token(TOKEN)
        record = logging.LogRecord("x", logging.INFO, "f", 1, "GET https://api/bot%s/getMe", (TOKEN,), None)
        assert TOKEN not in handler.format(record) and "<redacted>" in handler.format(record)
    finally:
        root.removeHandler(handler)


async def test_the_retention_purge_is_a_job_of_the_job_queue() -> None:
    from bot.app import PURGE_INTERVAL_SECONDS, PURGE_JOB

    engine = FakeEngine()
    purged: list[int] = []

    async def purge_older_than(days: int) -> int:
        purged.append(days)
        return 0

    engine.store.purge_older_than = purge_older_than
    async with running_app(engine, retention_days=7) as (app, _):
        await on_startup(app)
        (job,) = app.job_queue.get_jobs_by_name(PURGE_JOB)
        assert job.job.trigger.interval.total_seconds() == PURGE_INTERVAL_SECONDS
        for _ in range(1000):  # first run: a second after start-up
            if purged:
                break
            await asyncio.sleep(0.01)
        assert purged == [7]
        await on_shutdown(app)
        await asyncio.sleep(0)
        assert not [j for j in app.job_queue.get_jobs_by_name(PURGE_JOB) if not j.removed]
    async with running_app(FakeEngine(), retention_days=0) as (app, _):  # 0: keep everything
        await on_startup(app)
        assert app.job_queue.get_jobs_by_name(PURGE_JOB) == ()


async def test_replies_get_html_and_no_link_preview_from_the_defaults(env) -> None:
    app, _, request = env
    assert app.bot.defaults.parse_mode == "HTML" and app.bot.defaults.link_preview_options.is_disabled
    await feed(app, {"message": message("ماذا حدث في كوريا؟")})
    (reply,) = request.sent()
    assert reply["parse_mode"] == "HTML" and reply["link_preview_options"]["is_disabled"]


async def test_handlers_get_the_typed_shared_state(env) -> None:
    from bot.handlers import BotState, SanadContext

    app, engine, _ = env
    context = SanadContext(app)
    assert isinstance(context.state, BotState) and context.state.engine is engine


async def test_small_talk_is_not_logged_as_a_question(env) -> None:
    app, engine, request = env
    engine.ask = lambda question, **kw: Answer(question, False, "none", (), False, (), "small_talk")
    await feed(app, {"message": message("السلام عليكم")})
    (reply,) = request.sent()
    assert reply["text"].startswith("وعليكم السلام") and not buttons(reply) and engine.store.questions == {}
