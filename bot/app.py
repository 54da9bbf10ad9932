"""Building and running the PTB Application: handlers, commands, polling or webhook, shutdown."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import sys

from telegram import (
    BotCommand,
    BotCommandScopeAllGroupChats,
    BotCommandScopeAllPrivateChats,
    BotCommandScopeChat,
    Update,
)
from telegram.error import Conflict, InvalidToken, NetworkError, TelegramError
from telegram.constants import ParseMode
from telegram.request import BaseRequest
from telegram.ext import (
    AIORateLimiter,
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    CommandHandler,
    Defaults,
    InlineQueryHandler,
    MessageHandler,
    filters,
)

from bot import admin, floodgate, handlers, texts
from bot.handlers import CONTEXT_TYPES, NO_PREVIEW, BotState, SanadContext
from bot.instance import PROBE_SECONDS, another_instance_polling
from bot.lanes import UpdateLanes
from bot.paths import provide_corpus
from bot.ratelimit import RateLimiter, Verdict
from bot.seams import EngineSeam
from bot.settings import Settings, SettingsError
from bot.webhook import DEFAULT_PORT, HEALTH_PATH, WebhookServer, register_webhook, webhook_path, webhook_secret
from retrieval import ReloadError, StoreError

log = logging.getLogger(__name__)

PURGE_INTERVAL_SECONDS = 6 * 3600
PURGE_JOB = "sanad-retention-purge"
ALLOWED_UPDATES = [Update.MESSAGE, Update.EDITED_MESSAGE, Update.CALLBACK_QUERY, Update.INLINE_QUERY]

PRIVATE_COMMANDS = [
    BotCommand("help", "طريقة السؤال"),
    BotCommand("about", "ما تغطيه المصادر"),
    BotCommand("forgetme", "حذف أسئلتي المسجّلة"),
]
GROUP_COMMANDS = [
    BotCommand("ask", "اسأل سؤالًا"),
    BotCommand("help", "طريقة السؤال"),
    BotCommand("about", "ما تغطيه المصادر"),
    BotCommand("auto", "الإجابة التلقائية (لمشرفي المجموعة)"),
]
ADMIN_COMMANDS = [
    *PRIVATE_COMMANDS,
    BotCommand("reload", "إعادة بناء الفهرس"),
    BotCommand("remove", "حذف مستند"),
    BotCommand("add", "إضافة صفحة من رابطها"),
    BotCommand("source", "النص المستخرج من مستند"),
    BotCommand("stats", "إحصاءات الأسئلة"),
]


CONCURRENT_UPDATES = 32
SHUTDOWN_SECONDS = 25.0  # webhook mode: how long updates already taken may still run after SIGTERM


class AnotherInstanceRunning(RuntimeError):
    """Telegram reported a conflict: another process is polling with the same token."""


# ---------------------------------------------------------------------------
# Logging: the token never shows


class RedactingFormatter(logging.Formatter):
    """Formats like the wrapped formatter, then removes the bot token from the text."""

    def __init__(self, inner: logging.Formatter | None, secrets_: list[str]) -> None:
        super().__init__()
        self._inner = inner or logging.Formatter(logging.BASIC_FORMAT)
        self._secrets = [s for s in secrets_ if s]

    def format(self, record: logging.LogRecord) -> str:
        """Format the record and redact every secret in the result."""
        text = self._inner.format(record)
        for secret in self._secrets:
            text = text.replace(secret, "<redacted>")
        return text


def configure_logging(settings: Settings, level: int = logging.INFO) -> None:
    """Log to stderr, silence httpx request lines, and redact the token everywhere."""
    root = logging.getLogger()
    if not root.handlers:
        logging.basicConfig(
            level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
        )
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("httpcore").setLevel(logging.WARNING)
    protect_token(settings.token)


def protect_token(token: str | None) -> None:
    """Wrap every root handler's formatter so the token is replaced before output."""
    if not token:
        return
    for handler in logging.getLogger().handlers:
        formatter = handler.formatter
        if isinstance(formatter, RedactingFormatter):
            if token not in formatter._secrets:  # noqa: SLF001
                formatter._secrets.append(token)  # noqa: SLF001
            continue
        handler.setFormatter(RedactingFormatter(formatter, [token]))


# ---------------------------------------------------------------------------
# Application


def build_application(
    settings: Settings,
    engine: EngineSeam,
    *,
    request: BaseRequest | None = None,
    get_updates_request: BaseRequest | None = None,
) -> Application:
    """The PTB Application wired to the engine, with every handler registered.

    `serve` calls on_startup and on_shutdown itself (it runs polling or its own webhook server, not
    run_polling), so they are not registered as post_init / post_shutdown, which only run_polling and
    run_webhook call.
    """
    builder = (
        ApplicationBuilder()
        .token(settings.require_token())
        .base_url(settings.base_url)
        .base_file_url(settings.base_file_url)
        .defaults(Defaults(parse_mode=ParseMode.HTML, link_preview_options=NO_PREVIEW))
        .context_types(CONTEXT_TYPES)
        .rate_limiter(AIORateLimiter(max_retries=3))
        # Answering takes milliseconds but each reply is a network round trip: handle updates
        # concurrently, with enough connections, so one slow chat never queues everyone else;
        # button and inline answers in a lane of their own, never behind replies to messages.
        .concurrent_updates(UpdateLanes(CONCURRENT_UPDATES, CONCURRENT_UPDATES))
    )
    if request is not None:
        builder = builder.request(request)
    else:
        builder = builder.connection_pool_size(CONCURRENT_UPDATES * 3).pool_timeout(10.0)
    if get_updates_request is not None:
        builder = builder.get_updates_request(get_updates_request)
    application = builder.build()
    application.bot_data.state = BotState.create(settings, engine)
    register_handlers(application)
    return application


def register_handlers(application: Application) -> None:
    """Attach user, admin, button and inline handlers plus the central error handler."""
    private = filters.ChatType.PRIVATE
    groups = filters.ChatType.GROUPS
    new = filters.UpdateType.MESSAGE
    edited = filters.UpdateType.EDITED_MESSAGE  # a corrected question is answered again
    add = application.add_handler
    add(floodgate.handler(), group=floodgate.GROUP)  # every update counts against its sender's limit
    # Documents are uploads; only private chats (elsewhere they are ignored).
    # Admin commands run without blocking other updates (a reload takes a while).
    add(CommandHandler("reload", admin.reload_command, filters=new, block=False))
    add(CommandHandler("remove", admin.remove_command, filters=new, block=False))
    add(CommandHandler("add", admin.add_command, filters=new, block=False))
    add(CommandHandler("source", admin.source_command, filters=new))
    add(CommandHandler("stats", admin.stats_command, filters=new))
    add(MessageHandler(filters.Document.ALL & private & new, admin.document_upload, block=False))
    # User commands.
    add(CommandHandler("start", handlers.start, filters=new))
    add(CommandHandler("help", handlers.help_command, filters=new))
    add(CommandHandler("about", handlers.about, filters=new))
    add(CommandHandler("forgetme", handlers.forget_me, filters=new))
    add(CommandHandler("ask", handlers.ask_command, filters=new | edited))
    add(CommandHandler("auto", handlers.auto_command, filters=new))
    # Plain messages.
    add(MessageHandler(filters.TEXT & ~filters.COMMAND & private & (new | edited), handlers.private_text))
    add(MessageHandler(filters.TEXT & ~filters.COMMAND & groups & (new | edited), handlers.group_text))
    add(MessageHandler(filters.COMMAND & private & new, handlers.unknown_command))
    add(
        MessageHandler(
            private & new & ~filters.TEXT & ~filters.StatusUpdate.ALL & ~filters.Document.ALL,
            handlers.not_text,
        )
    )
    add(CallbackQueryHandler(handlers.on_callback))
    add(InlineQueryHandler(handlers.inline_query))
    application.add_error_handler(handlers.error_handler)


async def on_startup(application: Application) -> None:
    """Set the command menus and the bot's profile, and schedule the retention purge (after initialize)."""
    await set_commands(application)
    await set_profile(application)
    state: BotState = application.bot_data.state
    if state.settings.retention_days > 0 and application.job_queue is not None:
        # first=1: an interval started "now" is already past when the scheduler reads it, and would
        # first run a whole interval later
        application.job_queue.run_repeating(purge_old_questions, interval=PURGE_INTERVAL_SECONDS, first=1,
                                            name=PURGE_JOB)


async def on_shutdown(application: Application) -> None:
    """Unschedule the retention purge (the job queue itself stops with the application); let the
    question log finish its pending writes."""
    await application.bot_data.state.question_log.drain(timeout=10)
    if application.job_queue is not None:
        for job in application.job_queue.get_jobs_by_name(PURGE_JOB):
            job.schedule_removal()


async def set_profile(application: Application) -> None:
    """The bot's description ("What can this bot do?") and short description, in Arabic."""
    for setter, text in ((application.bot.set_my_description, texts.DESCRIPTION),
                         (application.bot.set_my_short_description, texts.SHORT_DESCRIPTION)):
        try:
            await setter(text)
        except TelegramError as exc:
            log.warning("setting the bot's description failed: %s", exc.message)


async def set_commands(application: Application) -> None:
    """Command menus per scope: private chats, groups, and each admin's private chat."""
    bot = application.bot
    state: BotState = application.bot_data.state
    scoped = [
        (PRIVATE_COMMANDS, BotCommandScopeAllPrivateChats()),
        (GROUP_COMMANDS, BotCommandScopeAllGroupChats()),
    ]
    scoped += [(ADMIN_COMMANDS, BotCommandScopeChat(admin_id)) for admin_id in sorted(state.settings.admin_ids)]
    for commands, scope in scoped:
        try:
            await bot.set_my_commands(commands, scope=scope)
        except TelegramError as exc:  # e.g. an admin who never opened a chat with the bot
            log.warning("set_my_commands for %s failed: %s", scope.type, exc.message)


async def purge_old_questions(context: SanadContext) -> None:
    """A JobQueue job: delete question log rows older than the retention period."""
    state = context.state
    try:
        removed = await state.engine.store.purge_older_than(state.settings.retention_days)
        if removed:
            log.info("retention: purged %s old question rows", removed)
    except Exception:  # noqa: BLE001 - a purge failure must not stop the bot
        log.exception("retention purge failed")


# ---------------------------------------------------------------------------
# Running


async def serve(
    application: Application,
    *,
    webhook_url: str | None = None,
    port: int | None = None,
    set_webhook: bool = True,
    stop_event: asyncio.Event | None = None,
    install_signal_handlers: bool = True,
    probe_seconds: float = PROBE_SECONDS,
    shutdown_seconds: float = SHUTDOWN_SECONDS,
) -> None:
    """Run until SIGINT/SIGTERM (or stop_event), then shut down gracefully; first, when polling, make sure no
    other instance polls with this token (AnotherInstanceRunning), for `probe_seconds`. With a webhook,
    `set_webhook=False` leaves the registration to other replicas, and the updates already taken are
    finished within `shutdown_seconds` of the signal."""
    settings: Settings = application.bot_data.state.settings
    stop = stop_event or asyncio.Event()
    loop = asyncio.get_running_loop()
    installed: list[int] = []
    if install_signal_handlers:
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.add_signal_handler(sig, stop.set)
                installed.append(sig)
    try:
        async with application:
            if not webhook_url and probe_seconds > 0 and await another_instance_polling(
                    application.bot, ALLOWED_UPDATES, probe_seconds):
                log.error("another instance is already polling with this bot token; this one stops "
                          "(and leaves it serving)")
                raise AnotherInstanceRunning(
                    "Another instance is already polling with this bot token; it keeps serving. "
                    "Stop it first, or use webhook mode or a different token."
                )
            await on_startup(application)
            try:
                if webhook_url:
                    await _serve_webhook(application, settings, webhook_url, port or DEFAULT_PORT, set_webhook,
                                         stop, shutdown_seconds)
                else:
                    await _serve_polling(application, stop)
            finally:
                await on_shutdown(application)
    finally:
        for sig in installed:
            loop.remove_signal_handler(sig)


async def _serve_polling(application: Application, stop: asyncio.Event) -> None:
    """Long polling until `stop`; then the updater stops fetching and the application finishes what it has."""
    conflicts = RateLimiter(1, 60.0)  # a log line a minute

    def on_polling_error(exc: TelegramError) -> None:
        if isinstance(exc, Conflict):  # a newcomer's probe, or a rival: this instance keeps serving
            if conflicts.check("conflict") is Verdict.ALLOW:
                log.warning(
                    "another process polled with this bot token (%s); this instance keeps serving", exc.message
                )
            return
        log.warning("polling error: %s: %s", exc.__class__.__name__, exc.message)

    try:
        await application.updater.start_polling(allowed_updates=ALLOWED_UPDATES, error_callback=on_polling_error)
        log.info("polling for updates as @%s", application.bot.username)
        await application.start()
        await stop.wait()
        log.info("shutting down")
    finally:
        if application.updater is not None and application.updater.running:
            await application.updater.stop()
        if application.running:
            await application.stop()


async def _serve_webhook(
    application: Application,
    settings: Settings,
    webhook_url: str,
    port: int,
    set_webhook: bool,
    stop: asyncio.Event,
    shutdown_seconds: float,
) -> None:
    """Our webhook server until `stop`; then /healthz and late posts get 503 at once, the updates already
    taken are finished (within `shutdown_seconds`), and only then does the server close. The webhook is
    never deleted: the other replicas still serve it."""
    secret = webhook_secret(settings)
    protect_token(secret)
    server = WebhookServer(application, path=webhook_path(webhook_url), secret=secret)
    await application.start()
    try:
        await server.start(settings.webhook_listen, port)
        log.info("webhook server on %s:%s, health check at %s", settings.webhook_listen, server.port, HEALTH_PATH)
        if set_webhook:
            await register_webhook(application.bot, webhook_url, secret, ALLOWED_UPDATES,
                                   registry=application.bot_data.state.engine.store)
        else:
            log.info("leaving the webhook registration to the other replicas (--no-set-webhook)")
        await stop.wait()
        log.info("shutting down")
    finally:
        server.begin_shutdown()
        await _finish_updates(application, shutdown_seconds)
        await server.stop()


async def _finish_updates(application: Application, deadline: float) -> None:
    """Stop the application, which first runs every update already queued or in flight to completion
    (PTB's Application.stop() puts a stop marker at the end of the update queue, waits until the queue
    is done, then for the tasks made with create_task, such as block=False handlers); give up after
    `deadline` seconds, so a stuck handler cannot hold the shutdown for ever."""
    if not application.running:
        return
    try:
        await asyncio.wait_for(application.stop(), deadline)
    except TimeoutError:
        log.warning("updates were still being handled %s s after the shutdown began; they are abandoned",
                    deadline)


async def run(settings: Settings, *, webhook_url: str | None = None, port: int | None = None,
              set_webhook: bool = True) -> None:
    """Open the engine on the configured corpus and serve Telegram until stopped."""
    from retrieval import Engine

    settings.require_token()
    if webhook_url:
        webhook_path(webhook_url)  # a URL Telegram would refuse is named before the corpus is loaded
    configure_logging(settings)
    provide_corpus(settings.corpus_dir)
    engine = await Engine.open(settings.database, settings.corpus_dir, vectors="background",
                               key_file=settings.id_key_file)
    follower = asyncio.create_task(engine.follow(), name="sanad-follow-corpus")  # serve what other replicas save
    try:
        application = build_application(settings, engine)
        await serve(application, webhook_url=webhook_url, port=port, set_webhook=set_webhook)
    finally:
        follower.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await follower
        await engine.close()


def run_bot(settings: Settings, *, webhook_url: str | None = None, port: int | None = None,
            set_webhook: bool = True) -> int:
    """Synchronous entry point for `sanad serve`; returns the process exit code."""
    try:
        asyncio.run(run(settings, webhook_url=webhook_url, port=port, set_webhook=set_webhook))
    except SettingsError as exc:
        print(f"sanad: {exc}", file=sys.stderr)
        return 2
    except InvalidToken:
        print("sanad: Telegram rejected TELEGRAM_BOT_TOKEN (invalid token).", file=sys.stderr)
        return 2
    except AnotherInstanceRunning as exc:
        print(f"sanad: {exc}", file=sys.stderr)
        return 3
    except NetworkError as exc:  # at start-up: the Bot API server cannot be reached
        print(f"sanad: cannot reach the Telegram Bot API at {settings.api_url} ({exc.message}). "
              "Check the network and TELEGRAM_API_URL.", file=sys.stderr)
        return 1
    except TelegramError as exc:  # at start-up: e.g. setWebhook refused the URL
        print(f"sanad: Telegram refused a start-up call: {exc.message}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    except (StoreError, ReloadError) as exc:  # the database or the corpus: the message says what to do
        print(f"sanad: {getattr(exc, 'reason', exc)}", file=sys.stderr)
        return 1
    except OSError as exc:  # unreadable corpus or database, port in use, ...
        print(f"sanad: {exc}", file=sys.stderr)
        return 1
    return 0


def main(*, webhook_url: str | None = None, port: int | None = None, set_webhook: bool = True) -> int:
    """`sanad serve`: settings from config/sanad.toml and the environment, then run the bot."""
    from bot.settings import load_settings

    try:
        settings = load_settings()
    except SettingsError as exc:
        print(f"sanad: {exc}", file=sys.stderr)
        return 2
    return run_bot(settings, webhook_url=webhook_url, port=port, set_webhook=set_webhook)
