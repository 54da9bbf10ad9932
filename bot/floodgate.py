"""The flood gate: every update from a user counts against their limit, and a flood gets one notice,
then silence.

Runs first (handler group -1), before any handler replies: 1,000 /help commands, stickers or refused
/reload attempts from one account each used to get a reply, and everyone else waited behind those
replies in the send queue. Group chatter not meant for the bot does not count.
"""

from __future__ import annotations

import logging

from telegram import Update
from telegram.constants import ChatType
from telegram.ext import ApplicationHandlerStop, ContextTypes, TypeHandler

from bot import texts
from bot.handlers import _was_addressed, get_state, reply_html
from bot.ratelimit import Verdict

log = logging.getLogger(__name__)

GROUP = -1  # before every other handler


def handler() -> TypeHandler:
    """The gate, to add in group GROUP."""
    return TypeHandler(Update, gate)


async def gate(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Let the update through, or stop it (ApplicationHandlerStop) after at most one notice."""
    user = update.effective_user
    if user is None or not _counts(update, context):
        return
    state = get_state(context)
    verdict = state.update_limiter.check(user.id)
    if verdict is Verdict.ALLOW:
        return
    if verdict is Verdict.NOTIFY and not state.user_limiter.notified(user.id):  # one notice, not one per limit
        log.info("flood from user %s: one notice, then silence", await state.log_name(user.id))
        await _notify(update)
    raise ApplicationHandlerStop


def _counts(update: Update, context: ContextTypes.DEFAULT_TYPE) -> bool:
    """Whether the update is meant for the bot (in groups, chatter among members is not)."""
    chat = update.effective_chat
    if update.message is None or chat is None or chat.type == ChatType.PRIVATE:
        return True
    return _was_addressed(update, context)


async def _notify(update: Update) -> None:
    """The one notice, in the form the update can take."""
    if update.callback_query is not None:
        await update.callback_query.answer(texts.SLOW_DOWN_BUTTON)
    elif update.inline_query is not None:
        await update.inline_query.answer([], cache_time=5, is_personal=True)
    elif update.effective_message is not None:
        await reply_html(update.effective_message, texts.FLOODING)
