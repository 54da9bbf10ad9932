"""User-facing handlers: questions in private chats and groups, buttons, inline mode."""

from __future__ import annotations

import asyncio
import logging
import re
import secrets
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from telegram import (
    BotCommandScopeChat,
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InlineQueryResultArticle,
    InputTextMessageContent,
    LinkPreviewOptions,
    Message,
    MessageEntity,
    ReplyParameters,
    Update,
)
from telegram.constants import ChatAction, ChatMemberStatus, ChatType
from telegram.error import BadRequest, TelegramError
from telegram.ext import CallbackContext, ContextTypes, ExtBot

from bot import texts
from bot.callbacks import (
    CallbackCodec,
    Feedback,
    InvalidCallback,
    More,
    ShowContext,
    generation_tag,
)
from bot.questionlog import QuestionLog
from bot.ratelimit import RateLimiter, Verdict
from bot.render import clean, escape, num, render_answer, render_context, render_inline, shorten
from bot.seams import EngineSeam
from bot.settings import Settings
from retrieval import Answer, EmbeddingState

log = logging.getLogger(__name__)

NO_PREVIEW = LinkPreviewOptions(is_disabled=True)
INLINE_RESULTS = 5
QUESTION_MAX_CHARS = 1000
PAGES_REMEMBERED = 10_000  # «المزيد» pages already sent, so a second press does not send one twice
UPDATES_PER_QUESTION = 3  # updates of any kind (buttons, commands, ...) a user may send per question allowed


@dataclass
class BotState:
    """What handlers share: settings, the engine, limiters and per-database secrets."""

    settings: Settings
    engine: EngineSeam  # retrieval.Engine, or a test's fake
    user_limiter: RateLimiter
    chat_limiter: RateLimiter
    update_limiter: RateLimiter  # every update of a user (see bot/floodgate)
    upload_limiter: RateLimiter
    refusal_log_limiter: RateLimiter = field(default_factory=lambda: RateLimiter(1, 60.0))  # a log line a minute
    corpus_lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    pages_sent: dict[tuple[int, int, int], None] = field(default_factory=dict)  # (chat, question, offset), oldest first
    question_log: QuestionLog = field(default_factory=QuestionLog)
    _codec: CallbackCodec | None = None

    @classmethod
    def create(cls, settings: Settings, engine: EngineSeam) -> BotState:
        """State with limiters sized from the settings."""
        return cls(
            settings=settings,
            engine=engine,
            user_limiter=RateLimiter(settings.rate_limit, 60.0),
            chat_limiter=RateLimiter(settings.chat_rate_limit, 60.0),
            update_limiter=RateLimiter(settings.rate_limit * UPDATES_PER_QUESTION, 60.0),
            upload_limiter=RateLimiter(settings.uploads_per_hour, 3600.0),
        )

    async def codec(self) -> CallbackCodec:
        """The callback codec keyed by the database's secret."""
        if self._codec is None:
            try:
                key = await self.engine.store.secret("callback-data")
            except Exception:  # noqa: BLE001 - read-only or full disk: buttons valid for this run only
                log.exception("the callback key cannot be stored; using one for this run only")
                key = secrets.token_bytes(32)
            self._codec = CallbackCodec(key)
        return self._codec

    async def user_hash(self, user_id: int) -> str:
        """Keyed pseudonym of a Telegram user id (the log never stores raw ids; the key is outside the database)."""
        return self.engine.store.pseudonym("user", user_id)

    async def log_name(self, telegram_id: int) -> str:
        """How a log line names a user or chat: a short keyed pseudonym, never the raw id."""
        return "#" + (await self.user_hash(telegram_id))[:10]

    def generation(self) -> str:
        """Tag of the corpus snapshot now serving."""
        return generation_tag(self.engine.info().built_at)


    def first_time(self, chat_id: int, question_id: int, offset: int) -> bool:
        """True the first time a page of a question is asked for in a chat (a double press is not)."""
        key = (chat_id, question_id, offset)
        if key in self.pages_sent:
            return False
        self.pages_sent[key] = None
        if len(self.pages_sent) > PAGES_REMEMBERED:
            del self.pages_sent[next(iter(self.pages_sent))]
        return True


class SanadData:
    """The application's bot_data: the shared BotState, set once when the application is built."""

    def __init__(self) -> None:
        self.state: BotState | None = None


class SanadContext(CallbackContext[ExtBot, dict, dict, SanadData]):
    """The context handlers get (PTB's custom ContextTypes): the shared state, typed."""

    @property
    def state(self) -> BotState:
        """The bot's shared state."""
        state = self.bot_data.state
        if state is None:
            raise RuntimeError("the application was not built by bot.app.build_application")
        return state


CONTEXT_TYPES = ContextTypes(context=SanadContext, bot_data=SanadData)


def get_state(context: SanadContext) -> BotState:
    """The shared BotState (context.state)."""
    return context.state


async def reply_pages(
    message: Message,
    pages: Sequence[str],
    *,
    markup: InlineKeyboardMarkup | None = None,
) -> list[Message]:
    """Send HTML pages as replies threaded to message; buttons go on the last page."""
    sent: list[Message] = []
    for index, page in enumerate(pages):
        last = index == len(pages) - 1
        sent.append(
            await message.reply_text(  # HTML, no link previews: the application's Defaults
                page,
                reply_parameters=ReplyParameters(
                    message_id=message.message_id, allow_sending_without_reply=True
                ),
                reply_markup=markup if last else None,
            )
        )
    return sent


async def reply_html(message: Message, text: str) -> Message:
    """Reply with one trusted HTML string (our own copy)."""
    return (await reply_pages(message, [text]))[0]


# ---------------------------------------------------------------------------
# Commands


async def start(update: Update, context: SanadContext) -> None:
    """/start: greeting and how to ask."""
    if update.effective_message is None:
        return
    await reply_html(update.effective_message, texts.START_PRIVATE + "\n\n" + _help_text(update, context))
    chat, user = update.effective_chat, update.effective_user
    if chat is not None and user is not None and chat.type == ChatType.PRIVATE:
        if get_state(context).settings.is_admin(user.id):
            await _set_admin_menu(context, chat.id)


async def _set_admin_menu(context: SanadContext, chat_id: int) -> None:
    """Give an admin their command menu (Telegram refuses it before they open the chat)."""
    from bot.app import ADMIN_COMMANDS

    try:
        await context.bot.set_my_commands(ADMIN_COMMANDS, scope=BotCommandScopeChat(chat_id))
    except TelegramError as exc:
        log.warning("setting the admin menu failed: %s", exc.message)


async def help_command(update: Update, context: SanadContext) -> None:
    """/help: how to ask, in private and in groups."""
    if update.effective_message is None:
        return
    await reply_html(update.effective_message, _help_text(update, context))


def _help_text(update: Update, context: SanadContext) -> str:
    """Help text, with the admin section for Sanad admins."""
    username = context.bot.username if context.bot.username else "sanad_bot"
    text = texts.HELP.format(mention=escape("@" + username))
    user = update.effective_user
    if user is not None and get_state(context).settings.is_admin(user.id):
        text += texts.HELP_ADMIN
    return text


async def about(update: Update, context: SanadContext) -> None:
    """/about: what the corpus holds and when it was last built."""
    if update.effective_message is None:
        return
    engine = get_state(context).engine
    info = engine.info()
    built_text = info.built_at.strftime("%Y-%m-%d %H:%M") + " UTC"
    await reply_html(
        update.effective_message,
        texts.ABOUT.format(
            documents=num(info.documents),
            paragraphs=num(info.paragraphs),
            sentences=num(info.sentences),
            built_at=escape(built_text),
            version=num(info.version),
            semantic=semantic_text(engine),
        ),
    )


def semantic_text(engine: EngineSeam) -> str:
    """The /about line on meaning search: on, being prepared (how far), stopped by a failure, or off."""
    status = engine.embedding_status()
    if status.state is EmbeddingState.READY:
        return texts.SEMANTIC_READY
    if status.state is EmbeddingState.FAILED:
        return texts.SEMANTIC_FAILED
    if status.state is EmbeddingState.EMBEDDING:
        return texts.SEMANTIC_EMBEDDING.format(done=num(status.done), total=num(status.total))
    return texts.SEMANTIC_OFF


async def forget_me(update: Update, context: SanadContext) -> None:
    """/forgetme: delete this user's question log rows."""
    message, user = update.effective_message, update.effective_user
    if message is None or user is None:
        return
    state = get_state(context)
    await state.question_log.drain(timeout=10)  # a question asked just before is forgotten too
    try:
        removed = await state.engine.store.forget_user(await state.user_hash(user.id))
    except Exception:  # noqa: BLE001 - storage trouble must not hide the answer
        log.exception("forget_user failed")
        await reply_html(message, texts.FORGET_FAILED)
        return
    await reply_html(message, texts.FORGOT.format(count=num(removed)))


async def ask_command(update: Update, context: SanadContext) -> None:
    """/ask <question> (also /ask@BotName in groups)."""
    message = update.effective_message
    if message is None:
        return
    question = " ".join(context.args or [])
    if not question.strip():
        await reply_html(message, texts.ASK_USAGE)
        return
    await answer_question(update, context, question)


async def auto_command(update: Update, context: SanadContext) -> None:
    """/auto on|off: group admins let the bot answer every question-like message."""
    message, chat, user = update.effective_message, update.effective_chat, update.effective_user
    if message is None or chat is None or user is None:
        return
    if chat.type not in (ChatType.GROUP, ChatType.SUPERGROUP):
        await reply_html(message, texts.AUTO_GROUPS_ONLY)
        return
    state = get_state(context)
    store = state.engine.store
    arg = (context.args or [""])[0].lower()
    if arg not in ("on", "off"):
        current = await store.get_chat_setting(chat.id, "auto", "off")
        state_text = texts.AUTO_ON if current == "on" else texts.AUTO_OFF
        await reply_html(message, texts.AUTO_USAGE.format(state=state_text))
        return
    if not await _is_group_admin(update, context):
        log.warning("refused /auto from non-admin user %s in chat %s", await state.log_name(user.id),
                    await state.log_name(chat.id))
        await reply_html(message, texts.AUTO_NOT_ADMIN)
        return
    await store.set_chat_setting(chat.id, "auto", arg)
    await reply_html(message, texts.AUTO_SET_ON if arg == "on" else texts.AUTO_SET_OFF)


async def _is_group_admin(update: Update, context: SanadContext) -> bool:
    """Whether the sender administers this group (anonymous admins included)."""
    message, chat, user = update.effective_message, update.effective_chat, update.effective_user
    if message is not None and message.sender_chat is not None and chat is not None:
        return message.sender_chat.id == chat.id  # anonymous group admin
    if user is None or chat is None:
        return False
    try:
        member = await context.bot.get_chat_member(chat.id, user.id)
    except TelegramError:
        log.warning("get_chat_member failed for chat %s", await get_state(context).log_name(chat.id))
        return False
    return member.status in (ChatMemberStatus.ADMINISTRATOR, ChatMemberStatus.OWNER)


async def unknown_command(update: Update, context: SanadContext) -> None:
    """An unknown command in a private chat gets the help text."""
    await help_command(update, context)


# ---------------------------------------------------------------------------
# Questions


_QUESTION_WORDS = re.compile(
    r"^\s*(?:و|ف)?(?:ما|ماذا|من|متى|أين|اين|كيف|لماذا|لم|هل|كم|أي|اي|أيّ|ما هو|ما هي|لمن|بكم|إلى متى)\b"
)
_ARABIC = re.compile(r"[\u0600-\u06FF]")


def looks_like_question(text: str) -> bool:
    """An Arabic message that asks something (question mark or question word)."""
    if not _ARABIC.search(text) or len(text) > QUESTION_MAX_CHARS:
        return False
    stripped = text.strip()
    return stripped.endswith(("؟", "?")) or bool(_QUESTION_WORDS.match(stripped))


def addressed_text(message: Message, bot_id: int, bot_username: str | None) -> str | None:
    """The question if a group message mentions or replies to the bot, else None."""
    text = message.text or ""
    entities = message.entities or ()
    mention = f"@{bot_username}".lower() if bot_username else None
    cut: list[tuple[int, int]] = []
    for entity in entities:
        if entity.type == MessageEntity.MENTION and mention:
            if message.parse_entity(entity).lower() == mention:
                cut.append((entity.offset, entity.length))
        elif entity.type == MessageEntity.TEXT_MENTION and entity.user and entity.user.id == bot_id:
            cut.append((entity.offset, entity.length))
    if cut:
        # Offsets are in UTF-16 units: cut there, then decode back.
        raw = text.encode("utf-16-le", errors="surrogatepass")
        for offset, length in sorted(cut, reverse=True):
            raw = raw[: offset * 2] + " ".encode("utf-16-le") + raw[(offset + length) * 2 :]
        return raw.decode("utf-16-le", errors="replace")
    replied = message.reply_to_message
    if (
        replied is not None
        and replied.from_user is not None
        and replied.from_user.id == bot_id
        and not message.is_topic_message
    ):
        return text
    return None


async def private_text(update: Update, context: SanadContext) -> None:
    """In a private chat every text message is a question."""
    message = update.effective_message
    if message is None or message.text is None:
        return
    await answer_question(update, context, message.text)


async def group_text(update: Update, context: SanadContext) -> None:
    """In groups answer only when addressed (or when the chat turned auto-answer on)."""
    message, chat = update.effective_message, update.effective_chat
    if message is None or chat is None or message.text is None:
        return
    question = addressed_text(message, context.bot.id, context.bot.username)
    if question is None:
        if not looks_like_question(message.text):
            return
        store = get_state(context).engine.store
        try:
            auto = await store.get_chat_setting(chat.id, "auto", "off")
        except Exception:  # noqa: BLE001
            log.exception("reading chat setting failed")
            return
        if auto != "on":
            return
        question = message.text
    await answer_question(update, context, question)


async def not_text(update: Update, context: SanadContext) -> None:
    """Stickers, photos and the like in a private chat: ask for text."""
    if update.effective_message is not None:
        await reply_html(update.effective_message, texts.NOT_TEXT)


def normalise_question(text: str) -> str:
    """Clean a question: drop unsafe characters, collapse whitespace, cap the length."""
    text = " ".join(clean(text).split())
    return text[:QUESTION_MAX_CHARS]


def _has_words(text: str) -> bool:
    """Whether the text holds at least one letter or digit."""
    return any(ch.isalnum() for ch in text)


async def _rate_check(update: Update, state: BotState) -> bool:
    """Apply per-user and per-chat limits; tell the user once when limited."""
    message, chat, user = update.effective_message, update.effective_chat, update.effective_user
    checks: list[tuple[RateLimiter, object, str]] = []
    if user is not None:
        checks.append((state.user_limiter, user.id, texts.RATE_LIMITED))
    if chat is not None and chat.type != ChatType.PRIVATE:
        checks.append((state.chat_limiter, chat.id, texts.CHAT_RATE_LIMITED))
    for limiter, key, notice in checks:
        verdict = limiter.check(key)
        if verdict is Verdict.ALLOW:
            continue
        log.info("rate limited %s", "user" if limiter is state.user_limiter else "chat")
        if verdict is Verdict.NOTIFY and message is not None:
            await reply_html(message, notice)
        return False
    return True


def answer_keyboard(
    codec: CallbackCodec,
    chat_id: int,
    question_id: int | None,
    answer: Answer,
    *,
    offset: int,
    generation: str,
) -> InlineKeyboardMarkup | None:
    """Buttons under an answer: context per extract, more, feedback."""
    if not answer.answered or not answer.extracts:
        return None
    qid = question_id or 0
    rows: list[list[InlineKeyboardButton]] = []
    context_row = [
        InlineKeyboardButton(
            f"السياق {num(extract.rank)}",
            callback_data=codec.encode(chat_id, ShowContext(qid, extract.position, generation)),
        )
        for extract in answer.extracts
    ]
    for start in range(0, len(context_row), 3):
        rows.append(context_row[start : start + 3])
    if question_id:
        if answer.more:
            rows.append(
                [
                    InlineKeyboardButton(
                        "المزيد ⬇️",
                        callback_data=codec.encode(
                            chat_id, More(question_id, offset + len(answer.extracts))
                        ),
                    )
                ]
            )
        rows.append(
            [
                InlineKeyboardButton("👍", callback_data=codec.encode(chat_id, Feedback(question_id, 1))),
                InlineKeyboardButton("👎", callback_data=codec.encode(chat_id, Feedback(question_id, -1))),
            ]
        )
    return InlineKeyboardMarkup(rows)


async def answer_question(update: Update, context: SanadContext, raw: str) -> None:
    """Rate-limit, ask the engine, log, and reply with quotes, citations and buttons."""
    message, chat, user = update.effective_message, update.effective_chat, update.effective_user
    if message is None or chat is None:
        return
    state = get_state(context)
    if not await _rate_check(update, state):
        return
    question = normalise_question(raw)
    if not _has_words(question):
        await reply_html(message, texts.EMPTY_QUESTION)
        return
    try:
        await context.bot.send_chat_action(chat.id, ChatAction.TYPING, message_thread_id=_thread(message))
    except TelegramError:
        log.debug("send_chat_action failed")
    started = time.perf_counter()
    answer = state.engine.ask(question, top=state.settings.top)
    latency_ms = (time.perf_counter() - started) * 1000
    if answer.reason == "small_talk":  # a greeting or thanks: a friendly word and how to ask, not logged
        await reply_html(message, escape(texts.small_talk_reply(question)))
        return
    question_id = state.question_log.new_id()
    try:
        markup = answer_keyboard(
            await state.codec(), chat.id, question_id, answer, offset=0, generation=state.generation()
        )
        await reply_pages(message, render_answer(answer), markup=markup)
    finally:  # after the reply (sent or failed)
        _log_question(state, question_id, chat.id, user.id if user else 0, answer, latency_ms)


def _thread(message: Message) -> int | None:
    """Forum topic of a message, for chat actions."""
    return message.message_thread_id if message.is_topic_message else None


def _log_question(
    state: BotState, question_id: int, chat_id: int, user_id: int, answer: Answer, latency_ms: float
) -> None:
    """Log the question in the background: the reply never waits for the database, and storage trouble
    costs the buttons' history, never the answer."""
    top_doc = answer.extracts[0].doc.id if answer.answered and answer.extracts else None

    async def write() -> None:
        await state.engine.store.log_question(
            chat_id=chat_id,
            user_hash=await state.user_hash(user_id),
            question=answer.question,
            answered=bool(answer.answered),
            top_doc=top_doc,
            latency_ms=latency_ms,
            question_id=question_id,
        )

    state.question_log.submit(question_id, write())


# ---------------------------------------------------------------------------
# Buttons


async def on_callback(update: Update, context: SanadContext) -> None:
    """Dispatch a button press after authenticating its data for this chat."""
    query = update.callback_query
    if query is None:
        return
    state = get_state(context)
    message = query.message
    if message is None or not isinstance(message, Message):
        await query.answer(texts.STALE_BUTTON)
        return
    try:
        action = (await state.codec()).decode(message.chat.id, query.data)
    except InvalidCallback as exc:
        log.warning("rejected callback data in chat %s: %s", await state.log_name(message.chat.id), exc)
        await query.answer(texts.STALE_BUTTON)
        return
    if isinstance(action, ShowContext):
        await _show_context(query, message, state, action)
    elif isinstance(action, More):
        await _show_more(query, message, state, action)
    elif isinstance(action, Feedback):
        await _record_feedback(query, message, state, action)


async def _question_in_chat(state: BotState, question_id: int, chat_id: int) -> str | None:
    """The logged question if it was asked in this chat."""
    await state.question_log.written(question_id)
    return await state.engine.store.get_question(question_id, chat_id)


async def _show_more(query: CallbackQuery, message: Message, state: BotState, action: More) -> None:
    """Next page of extracts for the same question, as a new reply, once: the button then goes."""
    question = await _question_in_chat(state, action.question_id, message.chat.id)
    if question is None:
        await query.answer(texts.STALE_BUTTON)
        return
    if not state.first_time(message.chat.id, action.question_id, action.offset):
        await query.answer(texts.MORE_ALREADY_SHOWN)
        return
    await query.answer()
    await _edit_buttons(message, lambda b: b.callback_data != query.data)  # this page's «المزيد» is spent
    answer = state.engine.ask(question, top=state.settings.top, offset=action.offset)
    markup = answer_keyboard(
        await state.codec(),
        message.chat.id,
        action.question_id,
        answer,
        offset=action.offset,
        generation=state.generation(),
    )
    await reply_pages(message, render_answer(answer, first_page=False), markup=markup)


async def _show_context(query: CallbackQuery, message: Message, state: BotState, action: ShowContext) -> None:
    """The paragraph around an extract, if the corpus has not changed since."""
    if action.generation != state.generation():
        await query.answer(texts.STALE_CORPUS, show_alert=True)
        return
    ctx = state.engine.context(action.position)
    if ctx is None:
        await query.answer(texts.STALE_BUTTON)
        return
    await query.answer()
    await reply_pages(message, render_context(ctx))


async def _record_feedback(query: CallbackQuery, message: Message, state: BotState, action: Feedback) -> None:
    """Record 👍/👎 for the question under this answer, and show which one was chosen."""
    if await _question_in_chat(state, action.question_id, message.chat.id) is None:
        await query.answer(texts.STALE_BUTTON)
        return
    await state.engine.store.add_feedback(
        action.question_id, await state.user_hash(query.from_user.id), action.value
    )
    await query.answer(texts.FEEDBACK_THANKS)
    chosen = "👍" if action.value > 0 else "👎"

    def marked(button: InlineKeyboardButton) -> InlineKeyboardButton:
        face = button.text.removeprefix(texts.CHOSEN)
        if face not in ("👍", "👎"):
            return button
        return InlineKeyboardButton(texts.CHOSEN + face if face == chosen else face, callback_data=button.callback_data)

    await _edit_buttons(message, lambda b: True, marked)


async def _edit_buttons(
    message: Message,
    keep: Callable[[InlineKeyboardButton], bool],
    change: Callable[[InlineKeyboardButton], InlineKeyboardButton] = lambda b: b,
) -> None:
    """Edit the buttons under a message in place: drop those `keep` refuses, `change` the others."""
    markup = message.reply_markup
    if markup is None:
        return
    rows = [[change(b) for b in row if keep(b)] for row in markup.inline_keyboard]
    new = InlineKeyboardMarkup([row for row in rows if row])
    if new == markup:
        return
    try:
        await message.edit_reply_markup(reply_markup=new)
    except BadRequest as exc:  # "message is not modified" (two presses at once), or too old to edit
        log.debug("buttons not edited: %s", exc.message)


# ---------------------------------------------------------------------------
# Inline mode


async def inline_query(update: Update, context: SanadContext) -> None:
    """@BotName question: offer the top extracts, each inserting quote and citation."""
    query = update.inline_query
    if query is None:
        return
    state = get_state(context)
    question = normalise_question(query.query)
    if not _has_words(question):
        await query.answer([], cache_time=5, is_personal=True)
        return
    started = time.perf_counter()
    answer = state.engine.ask(question, top=INLINE_RESULTS)
    latency_ms = (time.perf_counter() - started) * 1000
    results = []
    if answer.answered:
        for extract in answer.extracts:
            results.append(
                InlineQueryResultArticle(
                    id=f"{extract.position}"[:64],
                    title=shorten(extract.doc.title or extract.doc.file, 100) or "…",
                    description=shorten(extract.text, 200),
                    input_message_content=InputTextMessageContent(render_inline(extract)),  # HTML: Defaults
                )
            )
    await query.answer(results, cache_time=60)
    _log_question(state, state.question_log.new_id(), 0, query.from_user.id, answer, latency_ms)


# ---------------------------------------------------------------------------
# Errors


async def error_handler(update: object, context: SanadContext) -> None:
    """Log the error with its traceback and tell the user politely, never the traceback."""
    log.error("error while handling an update", exc_info=context.error)
    if not isinstance(update, Update):
        return
    try:
        if update.callback_query is not None:
            await update.callback_query.answer(texts.ERROR)
        elif update.effective_message is not None and update.effective_chat is not None:
            if update.effective_chat.type == ChatType.PRIVATE or _was_addressed(update, context):
                await reply_html(update.effective_message, texts.ERROR)
    except TelegramError:
        log.warning("could not send the error notice")


def _was_addressed(update: Update, context: SanadContext) -> bool:
    """Whether a group message was meant for the bot (so an error notice is welcome)."""
    message = update.effective_message
    if message is None:
        return False
    if message.text and message.text.startswith("/"):
        return True
    return addressed_text(message, context.bot.id, context.bot.username) is not None
