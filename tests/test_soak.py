"""A small soak run in the normal test run: hostile and normal traffic through the real bot.

tests/soak.py drives the local Bot API server with many users (private chats and groups), the
issue's hostile inputs, forged and replayed buttons, inline queries, non-admin /reload, an admin
reload mid-run and a burst from one user. The full run is `python -m tests.soak` (3,000 messages).
"""

from __future__ import annotations

from soak import soak


async def test_soak_small_run_is_clean() -> None:
    report = await soak(messages=300, users=30, flood=100, rate=40.0, drain_timeout=60.0)
    details = "\n".join(report.lines() + report.error_samples)
    assert report.rejected == 0, details  # Telegram accepted everything the bot sent
    assert report.server_errors == 0, details
    assert report.errors_logged == 0, details
    assert report.users_without_reply == [], details  # every user other than the flooder got a reply
    assert report.flood_replies <= report.flood_bound, details  # the flood cost a bounded amount of work
    assert report.answered_after_flood > 0, details  # ... and others kept being answered
    assert report.answered >= 50 and report.callback_answers > 0 and report.inline_answers > 0, details
