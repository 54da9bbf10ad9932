"""Webhook mode (bot/webhook.py): the shared secret, our server over HTTP on 127.0.0.1, one replica
registering the webhook, and a graceful shutdown; the bot answers through the local Bot API server."""

from __future__ import annotations

import asyncio
import logging
import os
import re
import socket
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import httpx
import pytest
from telegram import Bot, Update
from telegram.ext import Application, ApplicationHandlerStop, MessageHandler, TypeHandler, filters

from bot import webhook
from bot.app import build_application, configure_logging, on_shutdown, serve
from bot.settings import Settings, SettingsError
from bot.webhook import SECRET_HEADER, WebhookServer, derive_secret, register_webhook, webhook_path
from botapi_fixtures import answer_then_sigterm, botapi_server, botapi_server_strict  # noqa: F401 - fixtures
from botapi_server import BotAPIServer
from local_http import closed_port
from retrieval import CorpusInfo, Engine
from test_handlers import FakeEngine

USER = 222
QUESTION = "ماذا قال لافروف عن كوريا الشمالية؟"
SECRET = "the-right-secret"
ALLOWED = ["message", "edited_message", "callback_query", "inline_query"]


# ---------------------------------------------------------------------------
# The secret and the path


def test_the_derived_secret_is_shared_by_replicas_and_fits_telegram():
    token = "123456:AAbcdefghijklmnopqrstuvwxyz0123456789"
    secret = derive_secret(token)
    assert secret == derive_secret(token)  # every replica of the bot derives the same one
    assert re.fullmatch(r"[A-Za-z0-9_-]{1,256}", secret)
    assert secret != derive_secret("123456:another-token") and token not in secret and "AAbcdef" not in secret


def test_a_configured_secret_wins_over_the_derived_one():
    settings = Settings(token="1:abc", webhook_secret="configured")
    assert webhook.webhook_secret(settings) == "configured"
    assert webhook.webhook_secret(Settings(token="1:abc")) == derive_secret("1:abc")


@pytest.mark.parametrize("url, path", [("https://bot.example.org/sanad", "/sanad"), ("https://bot.example.org", "/")])
def test_the_path_comes_from_the_url(url, path):
    assert webhook_path(url) == path


@pytest.mark.parametrize("url", ["bot.example.org/sanad", "ftp://bot.example.org/x", "https:///x",
                                 "https://bot.example.org/healthz"])
def test_an_unusable_url_is_named(url):
    with pytest.raises(SettingsError, match="--webhook"):
        webhook_path(url)


# ---------------------------------------------------------------------------
# The server, driven over HTTP


@dataclass
class Hooked:
    """An application taking updates through a WebhookServer, and what its handlers saw."""

    api: BotAPIServer
    server: WebhookServer
    client: httpx.AsyncClient
    seen: list[int]  # update ids, as the first handler group saw them

    def update(self, text: str) -> dict[str, Any]:
        """A user's message in the test server (so replies to it are valid) as an update to post."""
        message = self.api.send_text(self.api.private(USER), USER, text, deliver=False)
        return {"update_id": 1000 + message["message_id"], "message": message}

    async def post(self, update: dict[str, Any], secret: str | None = SECRET) -> int:
        headers = {SECRET_HEADER: secret} if secret is not None else {}
        return (await self.client.post("/hook", json=update, headers=headers)).status_code


async def _hooked(api: BotAPIServer, engine: Any) -> AsyncIterator[Hooked]:
    settings = Settings(token=api.token, api_url=api.url, retention_days=0)
    application = build_application(settings, engine)
    seen: list[int] = []

    async def record(update: Update, context: Any) -> None:
        seen.append(update.update_id)

    application.add_handler(TypeHandler(Update, record), group=-100)
    async with application:
        await application.start()
        server = WebhookServer(application, path="/hook", secret=SECRET)
        await server.start("127.0.0.1", 0)
        try:
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{server.port}") as client:
                yield Hooked(api, server, client, seen)
        finally:
            server.begin_shutdown()
            await application.stop()
            await server.stop()
            await on_shutdown(application)


@pytest.fixture
async def hooked(botapi_server_strict: BotAPIServer, engine: Engine) -> AsyncIterator[Hooked]:  # noqa: F811
    async for h in _hooked(botapi_server_strict, engine):
        yield h


async def test_an_update_with_the_right_secret_is_answered(hooked):
    since = hooked.api.mark()
    update = hooked.update(QUESTION)
    assert await hooked.post(update) == 200
    reply = await hooked.api.wait_for_async(method="sendMessage", chat_id=USER, since=since, timeout=10)
    assert reply.params["reply_parameters"]["message_id"] == update["message"]["message_id"]
    assert "لافروف" in reply.text


async def test_a_wrong_or_missing_secret_is_refused_and_logged_without_secrets(hooked, caplog):
    caplog.set_level(logging.WARNING)
    wrong, missing = hooked.update("سؤال بسر خاطئ"), hooked.update("سؤال بلا سر")
    assert await hooked.post(wrong, secret="not-the-secret") == 403
    assert await hooked.post(missing, secret=None) == 403
    assert await hooked.post(hooked.update("سؤال بسر خاطئ آخر"), secret=SECRET + "x") == 403
    # an update with the right secret, posted after them, is handled; none of the refused ones ever was
    since = hooked.api.mark()
    right = hooked.update(QUESTION)
    assert await hooked.post(right) == 200
    await hooked.api.wait_for_async(method="sendMessage", chat_id=USER, since=since, timeout=10)
    assert hooked.seen == [right["update_id"]]
    refusals = [r.getMessage() for r in caplog.records if "without the right secret token" in r.getMessage()]
    assert len(refusals) == 1  # one line a minute, not one a post
    assert SECRET not in caplog.text and "not-the-secret" not in caplog.text and hooked.api.token not in caplog.text


@pytest.mark.parametrize("body", [b"not json", b"[1, 2]", b'{"message": {}}', b'{"update_id": "7"}'])
async def test_a_body_that_is_not_an_update_gets_400(hooked, body):
    response = await hooked.client.post("/hook", content=body, headers={SECRET_HEADER: SECRET})
    assert response.status_code == 400


async def test_health_is_200_with_a_corpus_then_503_once_shutting_down(hooked, engine):
    response = await hooked.client.get("/healthz")
    info = engine.info()
    assert response.status_code == 200 and info.sentences > 0
    assert response.json() == {"ready": True, "documents": info.documents, "sentences": info.sentences,
                               "version": info.version}
    assert (await hooked.client.head("/healthz")).status_code == 200
    hooked.server.begin_shutdown()
    response = await hooked.client.get("/healthz")
    assert response.status_code == 503 and response.json()["ready"] is False
    assert (await hooked.client.head("/healthz")).status_code == 503
    # a late post is turned away (Telegram retries it elsewhere) and never handled
    assert await hooked.post(hooked.update(QUESTION)) == 503
    assert hooked.seen == []


class EmptyEngine(FakeEngine):
    """An engine whose corpus has no sentence (nothing to answer from)."""

    def info(self) -> CorpusInfo:
        return CorpusInfo(0, 0, 0, self.built_at, "/empty")


async def test_health_is_503_without_a_corpus(botapi_server):  # noqa: F811
    async for h in _hooked(botapi_server, EmptyEngine()):
        response = await h.client.get("/healthz")
        assert response.status_code == 503 and response.json() == {"ready": False, "reason": "no corpus loaded"}


# ---------------------------------------------------------------------------
# The registration


def _second_waits_for_the_first(api: BotAPIServer, pauses: list[str]) -> Any:
    """A stand-in for webhook.pause: the first replica to pause goes on at once; any later one waits
    until setWebhook has reached the server, as a replica with a longer random pause would."""

    async def pause() -> None:
        pauses.append("paused")
        if len(pauses) > 1:
            await api.wait_for_async(method="setWebhook", timeout=10)

    return pause


async def test_replicas_racing_to_register_set_the_webhook_once(botapi_server_strict, monkeypatch, caplog):  # noqa: F811
    api = botapi_server_strict
    caplog.set_level(logging.INFO)
    pauses: list[str] = []
    second_waits = _second_waits_for_the_first(api, pauses)

    async def pause() -> None:  # the first to pause goes on only once the other has paused too: a true race
        await second_waits()
        if len(pauses) == 1:
            await until(lambda: len(pauses) == 2)

    monkeypatch.setattr(webhook, "pause", pause)
    url, secret = "http://127.0.0.1:1/hook", derive_secret(api.token)
    async with Bot(api.token, base_url=api.base_url) as one, Bot(api.token, base_url=api.base_url) as two:
        results = await asyncio.gather(register_webhook(one, url, secret, ALLOWED),
                                       register_webhook(two, url, secret, ALLOWED))
        assert sorted(results) == [False, True]
        assert len(pauses) == 2  # both found it unset at first: the second look settled it
        assert await register_webhook(one, url, secret, ALLOWED) is False  # a later start leaves it too
    assert len(api.calls_to("setWebhook")) == 1
    assert api.webhook["url"] == url and api.webhook["secret_token"] == secret
    assert "another replica registered the webhook" in caplog.text and "set the webhook to" in caplog.text


async def test_other_update_kinds_are_registered_again(botapi_server_strict, monkeypatch):  # noqa: F811
    api = botapi_server_strict
    monkeypatch.setattr(webhook, "pause", _second_waits_for_the_first(api, []))
    url, secret = "http://127.0.0.1:1/hook", derive_secret(api.token)
    async with Bot(api.token, base_url=api.base_url) as bot:
        await bot.set_webhook(url, secret_token=secret, allowed_updates=["message"])
        assert await register_webhook(bot, url, secret, ALLOWED) is True
        assert set((await bot.get_webhook_info()).allowed_updates) == set(ALLOWED)


async def test_a_recent_403_means_the_registered_secret_is_not_ours():
    info = webhook.WebhookInfo(url="https://x.org/h", has_custom_certificate=False, pending_update_count=1,
                               allowed_updates=ALLOWED, last_error_date=datetime.now(timezone.utc),
                               last_error_message="Wrong response from the webhook: 403 Forbidden")
    assert not webhook._registered(info, "https://x.org/h", ALLOWED)  # noqa: SLF001
    old = webhook.WebhookInfo(url="https://x.org/h", has_custom_certificate=False, pending_update_count=1,
                              allowed_updates=ALLOWED, last_error_date=datetime(2020, 1, 1, tzinfo=timezone.utc),
                              last_error_message="Wrong response from the webhook: 403 Forbidden")
    assert webhook._registered(old, "https://x.org/h", ALLOWED)  # noqa: SLF001


# ---------------------------------------------------------------------------
# Replicas: the real bot, as `sanad serve --webhook` runs it


@dataclass
class Replica:
    """A bot serving webhook updates in a task."""

    application: Application
    engine: Engine
    task: asyncio.Task
    stop: asyncio.Event
    port: int

    async def health(self) -> httpx.Response:
        async with httpx.AsyncClient() as client:
            return await client.get(f"http://127.0.0.1:{self.port}/healthz")

    async def wait_ready(self) -> None:
        """Until /healthz answers 200 (bounded)."""
        for _ in range(200):
            try:
                if (await self.health()).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            assert not self.task.done(), self.task.exception()
            await asyncio.sleep(0.05)
        raise AssertionError("the replica never became ready")


@pytest.fixture
async def replicas(botapi_server_strict: BotAPIServer, tmp_path: Path, corpus_dir: Path):  # noqa: F811
    """Factory: replicas of one bot (one token) against one Bot API server; stopped after the test."""
    api = botapi_server_strict
    started: list[Replica] = []

    async def prepare(url: str | None = None, port: int | None = None) -> tuple[Application, Engine, str, int]:
        port = port or closed_port()
        settings = Settings(token=api.token, api_url=api.url, db_path=tmp_path / "shared.sqlite3",
                            corpus_dir=corpus_dir, retention_days=0, webhook_listen="127.0.0.1")
        configure_logging(settings)
        engine = await Engine.open(settings.db_path, settings.corpus_dir, vectors="off")
        return build_application(settings, engine), engine, url or f"http://127.0.0.1:{port}/hook", port

    def start(prepared: tuple[Application, Engine, str, int], **kwargs: Any) -> Replica:
        application, engine, url, port = prepared
        stop = asyncio.Event()
        task = asyncio.create_task(serve(application, webhook_url=url, port=port, stop_event=stop,
                                         install_signal_handlers=False, **kwargs))
        replica = Replica(application, engine, task, stop, port)
        started.append(replica)
        return replica

    yield prepare, start
    for replica in started:
        replica.stop.set()
        await asyncio.wait_for(replica.task, 30)
        await replica.engine.close()


def _registration_lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    """What the replicas logged about registering the webhook (one line each)."""
    return [r.getMessage() for r in caplog.records if r.name == "bot.webhook" and "this replica" in r.getMessage()]


async def until(condition: Any, attempts: int = 400) -> None:
    """Wait until condition() holds (bounded: about 20 s)."""
    for _ in range(attempts):
        if condition():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("the condition never held")


async def test_two_replicas_set_the_webhook_once_and_both_answer(replicas, botapi_server, monkeypatch, caplog):  # noqa: F811
    caplog.set_level(logging.INFO)
    prepare, start = replicas
    api = botapi_server
    monkeypatch.setattr(webhook, "pause", _second_waits_for_the_first(api, []))
    first = await prepare()
    second = await prepare(url=first[2])  # behind one balancer, both are registered under one URL
    one, two = start(first), start(second)
    await one.wait_ready()
    await two.wait_ready()
    await until(lambda: len(_registration_lines(caplog)) == 2)  # each replica has had its say
    assert len(api.calls_to("setWebhook")) == 1
    assert api.webhook["secret_token"] == derive_secret(api.token)
    # Telegram posts to the registered URL (the first replica): answered
    since = api.mark()
    api.send_text(api.private(USER), USER, QUESTION)
    reply = await api.wait_for_async(method="sendMessage", chat_id=USER, since=since, timeout=10)
    assert "لافروف" in reply.text
    # the second replica accepts the same secret, though nobody configured one: a balancer may send it anything
    message = api.send_text(api.private(USER), USER, QUESTION, deliver=False)
    since = api.mark()
    async with httpx.AsyncClient() as client:
        response = await client.post(f"http://127.0.0.1:{two.port}/hook", json={"update_id": 99999, "message": message},
                                     headers={SECRET_HEADER: api.webhook["secret_token"]})
    assert response.status_code == 200
    reply = await api.wait_for_async(method="sendMessage", chat_id=USER, since=since, timeout=10)
    assert reply.params["reply_parameters"]["message_id"] == message["message_id"]
    # stopping a replica never deletes the webhook: the other one still serves it
    two.stop.set()
    await asyncio.wait_for(two.task, 30)
    assert api.calls_to("deleteWebhook") == [] and api.webhook["url"] == first[2]


# ---------------------------------------------------------------------------
# Graceful shutdown


class Gate:
    """A handler for «بطيء» that signals it has started, waits to be released, then replies."""

    def __init__(self) -> None:
        self.entered = asyncio.Event()
        self.release = asyncio.Event()

    async def handle(self, update: Update, context: Any) -> None:
        self.entered.set()
        await self.release.wait()
        await update.message.reply_text("انتهيت")
        raise ApplicationHandlerStop

    def install(self, application: Application) -> None:
        application.add_handler(MessageHandler(filters.Regex("^بطيء"), self.handle), group=-50)


async def test_shutdown_finishes_the_update_in_flight_and_turns_away_late_ones(replicas, botapi_server, caplog):  # noqa: F811
    caplog.set_level(logging.INFO)
    prepare, start = replicas
    api = botapi_server
    prepared = await prepare()
    gate = Gate()
    gate.install(prepared[0])
    replica = start(prepared)
    await replica.wait_ready()
    await api.wait_for_async(method="setWebhook", timeout=10)
    since = api.mark()
    api.send_text(api.private(USER), USER, "بطيء من فضلك")  # Telegram posts it to the replica
    await asyncio.wait_for(gate.entered.wait(), 10)
    replica.stop.set()  # what SIGTERM does
    await until(lambda: "shutting down" in caplog.text)
    response = await replica.health()  # the balancer stops sending at once
    assert response.status_code == 503 and response.json() == {"ready": False, "reason": "shutting down"}
    late = api.send_text(api.private(USER), USER, QUESTION, deliver=False)
    async with httpx.AsyncClient() as client:
        refused = await client.post(f"http://127.0.0.1:{replica.port}/hook", json={"update_id": 424242, "message": late},
                                    headers={SECRET_HEADER: api.webhook["secret_token"]})
    assert refused.status_code == 503  # Telegram retries it, on another replica
    assert not replica.task.done()  # the update in flight holds the shutdown
    gate.release.set()
    await asyncio.wait_for(replica.task, 30)
    replies = [c for c in api.calls_to("sendMessage") if c.index >= since]
    assert [(c.ok, c.text) for c in replies] == [(True, "انتهيت")]  # the slow one's reply, and no answer to the late one
    assert api.calls_to("deleteWebhook") == []


async def test_a_stuck_update_cannot_hold_the_shutdown_for_ever(replicas, botapi_server, caplog):  # noqa: F811
    caplog.set_level(logging.WARNING)
    prepare, start = replicas
    api = botapi_server
    prepared = await prepare()
    gate = Gate()  # never released
    gate.install(prepared[0])
    replica = start(prepared, shutdown_seconds=0.5)
    await replica.wait_ready()
    await api.wait_for_async(method="setWebhook", timeout=10)
    api.send_text(api.private(USER), USER, "بطيء جدًا")
    await asyncio.wait_for(gate.entered.wait(), 10)
    replica.stop.set()
    await asyncio.wait_for(replica.task, 30)  # returns, though the handler never finished
    assert "still being handled" in caplog.text
    gate.release.set()


async def test_a_replica_with_no_set_webhook_never_touches_the_registration(replicas, botapi_server, caplog):  # noqa: F811
    """And when the registration carries another secret (Telegram reports 403s), a replica that may
    register sets it again, after which the update refused so far is answered."""
    caplog.set_level(logging.INFO)
    prepare, start = replicas
    api = botapi_server
    passive = await prepare()
    url = passive[2]
    async with Bot(api.token, base_url=api.base_url) as bot:  # registered earlier, with an old secret
        await bot.set_webhook(url, secret_token="an-old-secret", allowed_updates=ALLOWED)
    since = api.mark()
    replica = start(passive, set_webhook=False)
    await replica.wait_ready()
    message = api.send_text(api.private(USER), USER, QUESTION)
    await until(lambda: any(d["status"] == 403 for d in api.webhook_deliveries))
    assert [c.method for c in api.sent[since:] if "webhook" in c.method.lower()] == []
    assert "leaving the webhook registration to the other replicas" in caplog.text
    start(await prepare(url=url))  # a replica that may register: Telegram's recent 403 says the secret differs
    reply = await api.wait_for_async(lambda c: (c.params.get("reply_parameters") or {}).get("message_id")
                                     == message["message_id"], method="sendMessage", since=since, timeout=20)
    assert "لافروف" in reply.text
    assert len(api.calls_to("setWebhook")) == 2 and api.webhook["secret_token"] == derive_secret(api.token)


def test_the_serve_process_in_webhook_mode_stops_on_sigterm_without_deleting_the_webhook(
        botapi_server_strict, tmp_path: Path, corpus_dir: Path):  # noqa: F811
    """`sanad serve --webhook` as an operator runs it: answers, then SIGTERM ends it with exit code 0,
    the webhook still registered, and neither the token nor the derived secret in its output."""
    api = botapi_server_strict
    port = closed_port()
    url = f"http://127.0.0.1:{port}/hook"
    env = {**os.environ, "TELEGRAM_BOT_TOKEN": api.token, "TELEGRAM_API_URL": api.url, "SANAD_WEBHOOK_LISTEN": "127.0.0.1",
           "SANAD_DB": str(tmp_path / "p.sqlite3"), "SANAD_CORPUS": str(corpus_dir)}
    code, out, err = answer_then_sigterm(
        api, [sys.executable, "-m", "bot.cli", "serve", "--webhook", url, "--port", str(port)], env,
        ready_method="setWebhook", question=QUESTION, user=USER)
    assert code == 0, err
    assert "shutting down" in err and "set the webhook to" in err
    assert api.token not in out + err and derive_secret(api.token) not in out + err
    assert api.calls_to("deleteWebhook") == [] and api.webhook["url"] == url


async def test_a_port_in_use_is_named(botapi_server, engine):  # noqa: F811
    application = build_application(Settings(token=botapi_server.token, api_url=botapi_server.url), engine)
    server = WebhookServer(application, path="/hook", secret=SECRET)
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        with pytest.raises(OSError, match=f"cannot listen for the webhook on 127.0.0.1:{port}"):
            await server.start("127.0.0.1", port)


async def test_a_webhook_path_with_pattern_characters_is_matched_as_written(botapi_server):  # noqa: F811
    api = botapi_server
    app = build_application(Settings(token=api.token, api_url=api.url), FakeEngine())
    server = WebhookServer(app, path="/sanad(1)+x", secret="s")
    await app.initialize()
    await app.start()
    await server.start("127.0.0.1", 0)
    try:
        async with httpx.AsyncClient() as client:
            response = await client.post(f"http://127.0.0.1:{server.port}/sanad(1)+x", json={"update_id": 1},
                                         headers={SECRET_HEADER: "s"})
        assert response.status_code == 200
    finally:
        server.begin_shutdown()
        await app.stop()
        await server.stop()
        await app.shutdown()


async def test_a_registration_made_with_another_secret_is_replaced_once_at_the_first_start(  # noqa: F811
        botapi_server_strict, monkeypatch):
    """An older Sanad registered the webhook with a random secret: same URL and update kinds, and Telegram
    shows no secret. The store's note says it was not ours: the first replica sets it, the next leaves it."""
    from test_handlers import FakeStore
    api = botapi_server_strict
    monkeypatch.setattr(webhook, "pause", _second_waits_for_the_first(api, []))
    url, secret, shared = "http://127.0.0.1:1/hook", derive_secret(api.token), FakeStore()
    async with Bot(api.token, base_url=api.base_url) as bot:
        await bot.set_webhook(url, secret_token="an-old-random-secret", allowed_updates=ALLOWED)
        assert await register_webhook(bot, url, secret, ALLOWED, registry=shared) is True
        assert api.webhook["secret_token"] == secret
        assert await register_webhook(bot, url, secret, ALLOWED, registry=shared) is False  # the next replica
    assert len(api.calls_to("setWebhook")) == 2  # the old registration, and ours once
