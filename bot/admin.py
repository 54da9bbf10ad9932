"""Admin commands: reload, upload, add a page by its address, remove, read a document's stored text, stats —
only for ids in SANAD_ADMIN_IDS."""

from __future__ import annotations

import functools
import logging
from collections.abc import Awaitable, Callable
from pathlib import PurePath

from telegram import Update
from telegram.constants import ChatType
from telegram.error import TelegramError

from bot import texts
from bot.handlers import SanadContext, get_state, reply_html, reply_pages
from bot.reasons import arabic_reason
from bot.ratelimit import Verdict
from bot.render import Piece, bold, code, escape, num, paginate
from retrieval import BuildReport, ReloadError, UploadError
from retrieval.corpus import CORPUS_SUFFIXES

log = logging.getLogger(__name__)

ALLOWED_SUFFIXES = CORPUS_SUFFIXES  # text, archives, PDF, Word, web pages
MAX_SKIPPED_SHOWN = 30

Handler = Callable[[Update, SanadContext], Awaitable[None]]


def is_admin(update: Update, context: SanadContext) -> bool:
    """Whether the sender is a Sanad admin (group admins are not, unless listed)."""
    user = update.effective_user
    message = update.effective_message
    if message is not None and message.sender_chat is not None:
        return False  # anonymous or channel senders have no verifiable user id
    return user is not None and get_state(context).settings.is_admin(user.id)


def admin_only(handler: Handler) -> Handler:
    """Refuse politely, and log, when a non-admin calls an admin handler."""

    @functools.wraps(handler)
    async def guarded(update: Update, context: SanadContext) -> None:
        if is_admin(update, context):
            await handler(update, context)
            return
        await refuse(update, context, handler.__name__)

    return guarded


async def refuse(update: Update, context: SanadContext, action: str) -> None:
    """Log the attempt (once a minute per user, by pseudonym) and tell the sender the action is for Sanad
    admins only."""
    user = update.effective_user
    chat = update.effective_chat
    state = get_state(context)
    if user is None or state.refusal_log_limiter.check(user.id) is Verdict.ALLOW:
        log.warning(
            "refused admin action %s from user %s in chat %s (further refusals of this user are not logged "
            "for a minute)",
            action,
            await state.log_name(user.id) if user else None,
            await state.log_name(chat.id) if chat else None,
        )
    if update.effective_message is not None:
        await reply_html(update.effective_message, texts.ADMIN_ONLY)


def report_blocks(report: BuildReport) -> list[list[Piece]]:
    """Counts and skipped files of a BuildReport."""
    blocks: list[list[Piece]] = [
        [
            texts.REPORT_COUNTS.format(
                documents=num(report.documents),
                paragraphs=num(report.paragraphs),
                sentences=num(report.sentences),
            )
        ]
    ]
    warning = report.warning
    if warning:  # a read-only or full disk: the new corpus serves from memory only
        blocks.append([bold(texts.RELOAD_DB_WARNING), "\n", texts.REASON.format(reason=arabic_reason(warning))])
    skipped = tuple(report.skipped)
    if skipped:
        lines: list[Piece] = [texts.REPORT_SKIPPED.format(count=num(len(skipped)))]
        for name, reason in skipped[:MAX_SKIPPED_SHOWN]:
            lines.extend(["\n• ", code(str(name)), " — ", arabic_reason(str(reason))])
        if len(skipped) > MAX_SKIPPED_SHOWN:
            lines.append(f"\n… (+{num(len(skipped) - MAX_SKIPPED_SHOWN)})")
        blocks.append(lines)
    return blocks


def _failed_blocks(exc: ReloadError) -> list[list[Piece]]:
    """What an admin is told when a rebuild fails: the reason, and what the build found if it got that far."""
    blocks: list[list[Piece]] = [[bold(texts.RELOAD_FAILED)], [texts.REASON.format(reason=arabic_reason(exc.reason))]]
    if exc.report is not None:
        blocks.extend(report_blocks(exc.report))
    return blocks


def _seconds(report: BuildReport) -> str:
    """Build time in seconds, Arabic digits."""
    return num(f"{report.seconds:.1f}")


@admin_only
async def reload_command(update: Update, context: SanadContext) -> None:
    """/reload: rebuild from the corpus folder while answering from the old index."""
    message = update.effective_message
    state = get_state(context)
    if state.corpus_lock.locked():
        await reply_html(message, texts.RELOAD_BUSY)
        return
    async with state.corpus_lock:
        await reply_html(message, texts.RELOAD_STARTED)
        try:
            report = await state.engine.reload()
        except ReloadError as exc:
            log.warning("reload failed: %s", exc.reason)
            await reply_pages(message, paginate(_failed_blocks(exc)))
            return
    log.info("reload done: %s documents, %s sentences", report.documents, report.sentences)
    await reply_pages(
        message,
        paginate([[bold(texts.RELOAD_DONE.format(seconds=_seconds(report)))], *report_blocks(report)]),
    )


@admin_only
async def remove_command(update: Update, context: SanadContext) -> None:
    """/remove <doc id>: take one document out of the corpus."""
    message = update.effective_message
    state = get_state(context)
    if not context.args or len(context.args) != 1:
        await reply_html(message, texts.REMOVE_USAGE)
        return
    doc_id = context.args[0]
    if state.corpus_lock.locked():
        await reply_html(message, texts.RELOAD_BUSY)
        return
    async with state.corpus_lock:
        try:
            report = await state.engine.remove_document(doc_id)
        except KeyError:
            await reply_html(message, texts.REMOVE_UNKNOWN.format(doc_id=escape(doc_id)))
            return
        except ReloadError as exc:
            log.warning("reload after a removal failed: %s", exc.reason)
            await reply_pages(message, paginate(_failed_blocks(exc)))
            return
    await reply_pages(
        message,
        paginate([[bold(texts.REMOVE_DONE.format(doc_id=doc_id))], *report_blocks(report)]),
    )


def _safe_display_name(name: str | None) -> str:
    """A file name to show back to the admin (never used as a path here)."""
    return (name or "بلا اسم")[:100]


async def document_upload(update: Update, context: SanadContext) -> None:
    """A document (.txt, .jsonl, .pdf, .docx, .html) sent by an admin in private joins the corpus."""
    message, chat = update.effective_message, update.effective_chat
    if message is None or chat is None or message.document is None:
        return
    if not is_admin(update, context):
        await refuse(update, context, "upload")
        return
    if chat.type != ChatType.PRIVATE:
        await reply_html(message, texts.UPLOAD_NOT_PRIVATE)
        return
    await _upload(update, context)


async def _may_change(update: Update, context: SanadContext, reject: Callable[[str], Awaitable[None]]) -> bool:
    """Whether an admin may add to the corpus now: within the hourly count, and no other change running."""
    state = get_state(context)
    if state.upload_limiter.check(update.effective_user.id) is not Verdict.ALLOW:
        await reject(texts.UPLOAD_TOO_MANY)
        return False
    if state.corpus_lock.locked():
        await reply_html(update.effective_message, texts.RELOAD_BUSY)
        return False
    return True


async def _upload(update: Update, context: SanadContext) -> None:
    """Validate, download and hand the document to the engine."""
    message = update.effective_message
    state = get_state(context)
    document = message.document
    name = document.file_name or ""
    shown = _safe_display_name(name)

    async def reject(reason: str) -> None:
        await reply_pages(
            message,
            paginate([[bold(texts.UPLOAD_REJECTED.format(name=shown))], [reason]]),
        )

    if PurePath(name.replace("\\", "/")).suffix.lower() not in ALLOWED_SUFFIXES:
        await reject(texts.UPLOAD_BAD_TYPE)
        return
    limit = state.settings.upload_max_bytes
    if document.file_size is not None and document.file_size > limit:
        await reject(texts.UPLOAD_TOO_BIG.format(limit=num(limit)))
        return
    if not await _may_change(update, context, reject):
        return
    async with state.corpus_lock:
        await reply_pages(message, paginate([[texts.UPLOAD_RECEIVED.format(name=shown)]]))
        try:
            file = await document.get_file()
            data = bytes(await file.download_as_bytearray())
        except TelegramError as exc:
            log.warning("downloading an upload failed: %s", exc.__class__.__name__)
            await reject(texts.UPLOAD_DOWNLOAD_FAILED)
            return
        if len(data) > limit:
            await reject(texts.UPLOAD_TOO_BIG.format(limit=num(limit)))
            return
        try:
            report = await state.engine.add_file(name, data, max_bytes=limit)
        except UploadError as exc:
            log.warning("upload refused: %s", exc.reason)
            await reject(texts.REASON.format(reason=arabic_reason(exc.reason)))
            return
        except ReloadError as exc:
            log.warning("reload after upload failed: %s", exc.reason)
            await reject(texts.REASON.format(reason=arabic_reason(exc.reason)))
            return
    log.info("upload added: %s documents now", report.documents)
    await reply_pages(
        message,
        paginate(
            [
                [bold(texts.UPLOAD_DONE.format(name=shown, seconds=_seconds(report)))],
                *report_blocks(report),
            ]
        ),
    )


async def _private_argument(update: Update, context: SanadContext, usage: str) -> str | None:
    """The command's one argument, when it was given in a private chat; else say what is wrong and None."""
    message, chat = update.effective_message, update.effective_chat
    if chat is None or chat.type != ChatType.PRIVATE:
        await reply_html(message, texts.UPLOAD_NOT_PRIVATE)
        return None
    if not context.args or len(context.args) != 1:
        await reply_html(message, usage)
        return None
    return context.args[0]


@admin_only
async def add_command(update: Update, context: SanadContext) -> None:
    """/add <url>: fetch a web page (or a PDF, Word file) into the corpus, in private, within the upload limits."""
    message = update.effective_message
    state = get_state(context)
    url = await _private_argument(update, context, texts.ADD_USAGE)
    if url is None:
        return
    shown = escape(url[:200])

    async def reject(reason: str) -> None:
        await reply_pages(message, paginate([[bold(texts.ADD_REJECTED.format(url=url[:200]))], [reason]]))

    if not await _may_change(update, context, reject):
        return
    async with state.corpus_lock:
        await reply_html(message, texts.ADD_RECEIVED.format(url=shown))
        try:
            name, report = await state.engine.add_url(url, max_bytes=state.settings.upload_max_bytes)
        except (UploadError, ReloadError) as exc:
            log.warning("adding a page refused: %s", exc.reason)
            await reject(texts.REASON.format(reason=arabic_reason(exc.reason)))
            return
    log.info("page added: %s documents now", report.documents)
    await reply_pages(message, paginate([[bold(texts.ADD_DONE.format(name=name, seconds=_seconds(report)))],
                                         *report_blocks(report)]))


@admin_only
async def source_command(update: Update, context: SanadContext) -> None:
    """/source <doc id>: the document's stored (extracted) text as a file, to check what was indexed."""
    message = update.effective_message
    doc_id = await _private_argument(update, context, texts.SOURCE_USAGE)
    if doc_id is None:
        return
    found = get_state(context).engine.source_text(doc_id)
    if found is None:
        await reply_html(message, texts.REMOVE_UNKNOWN.format(doc_id=escape(doc_id)))
        return
    file, text = found
    try:
        await message.reply_document(document=text.encode("utf-8"), filename=f"{PurePath(file).stem}.txt",
                                     caption=texts.SOURCE_CAPTION.format(doc_id=doc_id, file=file)[:1024])
    except TelegramError as exc:
        log.warning("sending a source text failed: %s", exc.__class__.__name__)


@admin_only
async def stats_command(update: Update, context: SanadContext) -> None:
    """/stats: question counts, unanswered share, latency, top questions, feedback."""
    message = update.effective_message
    if update.effective_chat is None or update.effective_chat.type != ChatType.PRIVATE:
        await reply_html(message, texts.STATS_PRIVATE_ONLY)  # they quote other users' private questions
        return
    stats = await get_state(context).engine.store.stats(top=5)
    share = float(stats.unanswered_share or 0.0)
    latency = stats.median_latency_ms
    header = texts.STATS.format(
        today=num(stats.questions_today),
        total=num(stats.questions_total),
        unanswered=num(f"{share * 100:.0f}") + "٪",
        latency=num(f"{float(latency):.1f}") if latency is not None else "—",
        up=num(stats.feedback_up),
        down=num(stats.feedback_down),
    )
    blocks: list[list[Piece]] = []
    for title, rows in (
        (texts.STATS_TOP, stats.top_questions),
        (texts.STATS_TOP_UNANSWERED, stats.top_unanswered),
    ):
        lines: list[Piece] = [bold(title)]
        if not rows:
            lines.append("\n" + texts.STATS_NONE)
        for question, times in rows:
            lines.extend(["\n• ", str(question)[:200], f" ({num(times)})"])
        blocks.append(lines)
    pages = paginate(blocks)
    await reply_pages(message, [header, *pages] if pages else [header])
