"""Webhook mode for several replicas behind a load balancer: the shared secret, our own small HTTP
server (updates in, /healthz out), and one replica registering the webhook.

Every replica of a bot derives the same secret from the token, so any replica accepts what Telegram
posts; /healthz tells the balancer which replicas can take updates; at shutdown a replica turns
unhealthy and refuses late posts (Telegram retries them on another one) while it finishes the rest.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import logging
import os
import random
import re
import socket
from collections.abc import Sequence
from datetime import datetime, timedelta, timezone
from typing import Any, Protocol
from urllib.parse import urlsplit

import tornado.httpserver
import tornado.netutil
import tornado.web
from telegram import Bot, Update, WebhookInfo
from telegram.ext import Application

from bot.ratelimit import RateLimiter, Verdict
from bot.settings import Settings, SettingsError

log = logging.getLogger(__name__)

DEFAULT_PORT = 8443
HEALTH_PATH = "/healthz"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
SECRET_LABEL = b"sanad-webhook-secret"
JITTER_SECONDS = 2.0  # replicas starting together spread their second look at the registration over this
MAX_BODY_BYTES = 2 * 1024 * 1024  # an update is a few kilobytes; anything this large is not one
RECENT_REFUSAL = timedelta(minutes=10)  # a 403 Telegram reported this recently: the registered secret is not ours


# ---------------------------------------------------------------------------
# The secret and the path


def derive_secret(token: str) -> str:
    """The webhook secret for a bot token: HMAC-SHA256(token, label), urlsafe base64 (43 characters of
    A-Za-z0-9_-), the same on every replica, and telling nothing about the token."""
    digest = hmac.new(token.encode(), SECRET_LABEL, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def webhook_secret(settings: Settings) -> str:
    """SANAD_WEBHOOK_SECRET when set, else the one derived from the token."""
    return settings.webhook_secret or derive_secret(settings.require_token())


def webhook_path(url: str) -> str:
    """The local path Telegram posts to, from the public URL given to --webhook; a clear SettingsError
    for a URL Telegram would refuse or whose path would shadow /healthz."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise SettingsError(f"--webhook must be a full https:// URL such as https://bot.example.org/sanad, got {url!r}")
    path = parts.path or "/"
    if path.rstrip("/") == HEALTH_PATH:
        raise SettingsError(f"--webhook cannot use the path {HEALTH_PATH}: the load balancer's health check answers there")
    return path


# ---------------------------------------------------------------------------
# The server


class WebhookServer:
    """Takes updates by POST on `path` (with the secret header) into the application's update queue, and
    answers GET /healthz; `begin_shutdown` turns both away with 503 while the application finishes."""

    def __init__(self, application: Application, *, path: str, secret: str) -> None:
        self._application = application
        self._path = path
        self._secret = secret.encode()
        self._refusals = RateLimiter(1, 60.0)  # a log line a minute for each kind of refusal
        self._refused = {"secret": 0, "body": 0}  # refusals since the last log line of their kind
        self._http: tornado.httpserver.HTTPServer | None = None
        self._sockets: list[socket.socket] = []
        self.stopping = False

    @property
    def port(self) -> int:
        """The port the server listens on (useful when started on port 0)."""
        return self._sockets[0].getsockname()[1]

    async def start(self, listen: str, port: int) -> None:
        """Listen on listen:port; an OSError that names the address when it cannot."""
        app = tornado.web.Application(
            # tornado reads a route as a regular expression: the path is matched as written, ( ) + included
            [(re.escape(self._path), _UpdateHandler, {"server": self}),
             (HEALTH_PATH, _HealthHandler, {"server": self})],
            log_function=lambda handler: None,  # a line per update is noise; refusals are logged below
        )
        try:
            self._sockets = tornado.netutil.bind_sockets(port, address=listen)
        except OSError as exc:
            raise OSError(f"cannot listen for the webhook on {listen}:{port}: {exc.strerror}") from None
        self._http = tornado.httpserver.HTTPServer(app, xheaders=True, max_body_size=MAX_BODY_BYTES)
        self._http.add_sockets(self._sockets)

    def begin_shutdown(self) -> None:
        """From now on /healthz says 503 and posts get 503 (Telegram retries them on another replica)."""
        self.stopping = True

    async def stop(self) -> None:
        """Stop listening and close the open connections."""
        if self._http is not None:
            self._http.stop()
            await self._http.close_all_connections()
            self._http = None

    def health(self) -> tuple[int, dict[str, Any]]:
        """200 and the corpus's figures when this replica can answer; 503 and why not otherwise."""
        if self.stopping:
            return 503, {"ready": False, "reason": "shutting down"}
        try:
            info = self._application.bot_data.state.engine.info()
        except Exception:  # noqa: BLE001 - no engine, or one that cannot say: not ready, and say so
            log.exception("health check: the engine cannot describe its corpus")
            return 503, {"ready": False, "reason": "no corpus loaded"}
        if info.sentences < 1:
            return 503, {"ready": False, "reason": "no corpus loaded"}
        return 200, {"ready": True, "documents": info.documents, "sentences": info.sentences,
                     "version": info.version}

    def receive(self, secret: str | None, body: bytes, remote: str) -> int:
        """One post from Telegram: the HTTP status to answer. A 200 means the update is queued, and will
        be handled even if shutdown begins next."""
        if self.stopping:
            return 503
        if not hmac.compare_digest((secret or "").encode(), self._secret):
            self._note("secret", "refused %s post(s) without the right secret token (latest from %s); if "
                       "SANAD_WEBHOOK_SECRET changed, restart one replica without --no-set-webhook", remote)
            return 403
        try:
            data = json.loads(body)
            if not isinstance(data, dict) or not isinstance(data.get("update_id"), int):
                raise ValueError("not a JSON object with an update_id")
            update = Update.de_json(data, self._application.bot)
        except Exception as exc:  # noqa: BLE001 - whatever the body is, the answer is 400 and one log line
            self._note("body", "refused %s post(s) that are not a Telegram update (latest from %s: %s)",
                       remote, exc.__class__.__name__)
            return 400
        self._application.update_queue.put_nowait(update)  # no await between the check above and here
        return 200

    def _note(self, kind: str, message: str, *args: Any) -> None:
        """Count a refusal, and log the count at most once a minute for each kind."""
        self._refused[kind] += 1
        if self._refusals.check(kind) is Verdict.ALLOW:
            log.warning(message, self._refused[kind], *args)
            self._refused[kind] = 0


class _UpdateHandler(tornado.web.RequestHandler):
    """POST on the webhook path: an update from Telegram."""

    def initialize(self, server: WebhookServer) -> None:
        self.server = server

    def post(self) -> None:
        status = self.server.receive(self.request.headers.get(SECRET_HEADER), self.request.body,
                                     self.request.remote_ip)
        self.set_status(status)
        self.finish()


class _HealthHandler(tornado.web.RequestHandler):
    """GET /healthz: whether the load balancer may send this replica updates."""

    def initialize(self, server: WebhookServer) -> None:
        self.server = server

    def get(self) -> None:
        status, body = self.server.health()
        self.set_status(status)
        self.set_header("Content-Type", "application/json")
        self.set_header("Cache-Control", "no-store")
        self.finish(json.dumps(body))

    def head(self) -> None:
        """HEAD /healthz: the same status, for balancers that probe with HEAD."""
        self.set_status(self.server.health()[0])
        self.finish()


# ---------------------------------------------------------------------------
# The registration


WEBHOOK_NOTE = "webhook"  # the store's note of how the webhook was last registered (a digest, not the secret)


class NoteKeeper(Protocol):
    """Where replicas share small notes: the store (retrieval.Store.get_note / set_note)."""

    async def get_note(self, name: str) -> str | None: ...

    async def set_note(self, name: str, value: str) -> None: ...


async def pause() -> None:
    """Wait a random moment before the second look at the registration (a test replaces it)."""
    await asyncio.sleep(random.uniform(0.0, JITTER_SECONDS))


def _registered(info: WebhookInfo, url: str, allowed_updates: Sequence[str]) -> bool:
    """Whether Telegram already posts to `url` with these update kinds, and has not lately been refused
    with 403 there (which means it holds another secret: getWebhookInfo never shows the secret)."""
    if info.url != url or set(info.allowed_updates or ()) != set(allowed_updates):
        return False
    refused = info.last_error_message and "403" in info.last_error_message
    recent = info.last_error_date and datetime.now(timezone.utc) - info.last_error_date < RECENT_REFUSAL
    return not (refused and recent)


async def register_webhook(bot: Bot, url: str, secret: str, allowed_updates: Sequence[str],
                           registry: NoteKeeper | None = None) -> bool:
    """Set the webhook unless it is already registered as we would set it; returns whether this replica
    set it. Replicas starting together may all see it unset: each waits a random moment and looks again,
    so one sets it and the others find it set (were two to set it, both set the same thing).

    Telegram never shows the registered secret, so `registry` (the store the replicas share) keeps a digest
    of the URL, secret and update kinds last registered: a registration made with another secret (an older
    Sanad's random one, a changed SANAD_WEBHOOK_SECRET or token) is replaced at the first start."""
    replica = f"{socket.gethostname()} pid {os.getpid()}"
    mark = hashlib.sha256(f"{url}\0{secret}\0{','.join(sorted(allowed_updates))}".encode()).hexdigest()[:32]

    async def registered() -> bool:
        if not _registered(await bot.get_webhook_info(), url, allowed_updates):
            return False
        return registry is None or await registry.get_note(WEBHOOK_NOTE) == mark

    if await registered():
        log.info("the webhook is already registered at %s; this replica (%s) leaves it as it is", url, replica)
        return False
    await pause()
    if await registered():
        log.info("another replica registered the webhook at %s meanwhile; this replica (%s) leaves it", url, replica)
        return False
    if registry is not None:  # noted first: a replica looking meanwhile finds it being set, as it will be
        await registry.set_note(WEBHOOK_NOTE, mark)
    try:
        await bot.set_webhook(url, secret_token=secret, allowed_updates=list(allowed_updates))
    except BaseException:
        if registry is not None:
            await registry.set_note(WEBHOOK_NOTE, "")
        raise
    log.info("this replica (%s) set the webhook to %s", replica, url)
    return True
