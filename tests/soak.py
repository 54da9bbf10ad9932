"""Soak / fuzz run: the real bot against the local Bot API server, under hostile and normal traffic.

    python -m tests.soak --messages 3000 --users 200     (from the repository root)

Starts tests/botapi_server.py, runs the bot exactly as `sanad serve` builds it (PTB long polling,
AIORateLimiter, a real Engine over a temporary copy of seeds/), and sends, from many users in
private chats and groups, normal questions mixed with the issue's hostile inputs (empty after
normalisation, emoji only, 4,096 characters, mixed scripts, bidi marks and zero-width characters,
HTML and MarkdownV2 look-alikes, control characters, a single letter, one word repeated 2,000
times), forged and replayed callback data, inline queries, non-admin /reload, an admin /reload
mid-run, and a burst of 1,000 messages from one user. Then it waits for the bot to drain and
prints: messages sent, replies received, calls the server rejected (must be 0), errors the bot
logged, the worst event-loop stall, and the median / p99 end-to-end latency of answered questions.

Traffic is paced (--rate messages a second) because the bot keeps Telegram's own flood limits
(about 30 calls a second overall, 20 a minute per group) through PTB's AIORateLimiter; the burst
is not paced. Importable: `await soak(messages=300, users=30)` returns a SoakReport
(tests/test_soak.py runs a small one in the normal test run).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import random
import shutil
import statistics
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT / "tests") not in sys.path:  # botapi_server is imported as a top-level module, as in the suite
    sys.path.insert(0, str(ROOT / "tests"))

from botapi_server import BotAPIServer  # noqa: E402

ADMIN = 111
FLOODER = 999
FIRST_USER = 10_000
BIDI = "\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u061c"
ZERO_WIDTH = "\u200b\u200c\u200d\u2060\ufeff"

QUESTIONS = [
    "ماذا قال لافروف عن كوريا الشمالية؟",
    "كم جنديا أرسلت كوريا الشمالية إلى روسيا؟",
    "ماذا نشر البيت الأبيض؟",
    "متى اتفقت كوريا الجنوبية والولايات المتحدة على مواصلة الكشف عن الدعم الروسي؟",
    "من هو وزير الخارجية الروسي؟",
    "أين التقى وزير الخارجية الكوري الشمالي بلافروف؟",
    "ما عاصمة المريخ؟",  # not in the corpus: the polite "not found"
    "ما موقف سيول من إرسال القوات؟",
    "لافروف",
    "كوريا الشمالية روسيا",
]


def hostile_texts(rng: random.Random) -> list[str]:
    """The issue's hostile inputs (each within what Telegram delivers: 1..4096 characters)."""
    q = rng.choice(QUESTIONS)
    marked = "".join(ch + (rng.choice(BIDI + ZERO_WIDTH) if rng.random() < 0.3 else "") for ch in q)
    return [
        "\u200b\u200f \u2066\u2069",  # empty after normalisation
        "؟؟؟ ... !!!",  # no words at all
        "😀" * rng.randint(1, 40), "👨‍👩‍👧🇸🇦❤️🔥",  # emoji only
        ("ماذا قال لافروف عن كوريا الشمالية " * 200)[:4096],  # 4,096 characters
        "ك" * 4096,
        "Lavrov لافروف Лавров 拉夫罗夫 लावरोव कोरिया كوريا?",  # mixed scripts
        marked,  # bidi marks and zero-width characters inside a real question
        "\u202e" + q + "\u202c",
        f"<b>{q}</b> <script>alert(1)</script> &amp; & <a href='javascript:x'>x</a> </blockquote>",
        f"*{q}* _x_ __u__ ~s~ ||spoiler|| `code` ```pre``` [link](http://x) \\ > # + - = | {{ }} . !",
        "\x01\x02\x07" + q + "\x1b[31m\x7f",  # control characters
        rng.choice(["ك", "a", "1", "؟", "ـ"]),  # a single letter
        " ".join(["ب"] * 2000),  # one word repeated 2,000 times (the longest that fits in 4,096)
        ("كوريا " * 2000)[:4096],
    ]


@dataclass
class SoakReport:
    messages_sent: int = 0  # updates sent to the bot: messages, button presses, inline queries
    replies: int = 0  # messages the bot sent (sendMessage accepted by the server)
    callback_answers: int = 0
    inline_answers: int = 0
    rejected: int = 0  # calls the server answered 400 (Telegram would have refused them)
    server_errors: int = 0  # bugs in the test server itself
    errors_logged: int = 0  # ERROR records logged by the bot
    max_stall_ms: float = 0.0  # worst event-loop lateness of a 10 ms sleep
    answered: int = 0  # questions answered with quotes
    latency_median_ms: float = 0.0
    latency_p99_ms: float = 0.0
    flood_sent: int = 0
    flood_replies: int = 0
    flood_bound: int = 0
    answered_after_flood: int = 0
    users_without_reply: list[int] = field(default_factory=list)
    seconds: float = 0.0
    error_samples: list[str] = field(default_factory=list)

    def problems(self) -> list[str]:
        out = []
        if self.rejected:
            out.append(f"{self.rejected} calls rejected by the server")
        if self.server_errors:
            out.append(f"{self.server_errors} test-server errors")
        if self.errors_logged:
            out.append(f"{self.errors_logged} errors logged by the bot")
        if self.users_without_reply:
            out.append(f"{len(self.users_without_reply)} users never got a reply")
        if self.flood_replies > self.flood_bound:
            out.append(f"flooding user got {self.flood_replies} replies (bound {self.flood_bound})")
        if self.flood_sent and not self.answered_after_flood:
            out.append("nobody was answered after the flood")
        return out

    def lines(self) -> list[str]:
        return [
            f"messages sent:              {self.messages_sent}",
            f"replies received:           {self.replies} (+ {self.callback_answers} button answers, "
            f"{self.inline_answers} inline answers)",
            f"rejected by the server:     {self.rejected}",
            f"errors logged by the bot:   {self.errors_logged}",
            f"max event-loop stall:       {self.max_stall_ms:.1f} ms",
            f"answered questions:         {self.answered}, end-to-end latency median "
            f"{self.latency_median_ms:.0f} ms, p99 {self.latency_p99_ms:.0f} ms",
            f"flood:                      {self.flood_sent} messages from one user -> {self.flood_replies} replies "
            f"(bound {self.flood_bound}); {self.answered_after_flood} questions of others answered after it began",
            f"users without any reply:    {len(self.users_without_reply)}",
            f"wall time:                  {self.seconds:.1f} s",
        ]


class _ErrorCounter(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.count = 0
        self.samples: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.count += 1
        if len(self.samples) < 5:
            text = record.getMessage()
            if record.exc_info:
                text += "\n" + logging.Formatter().formatException(record.exc_info)
            self.samples.append(text)


async def _stall_monitor(stop: asyncio.Event, worst: list[float]) -> None:
    loop = asyncio.get_running_loop()
    while not stop.is_set():
        t0 = loop.time()
        await asyncio.sleep(0.01)
        worst[0] = max(worst[0], loop.time() - t0 - 0.01)


@dataclass
class _Sent:
    chat_id: int
    message_id: int
    user: int
    at: float
    question: bool  # a normal question whose answer latency counts
    after_flood: bool


class _Traffic:
    """Builds and sends the traffic from a worker thread (the server's API is thread-safe)."""

    def __init__(self, server: BotAPIServer, messages: int, users: int, flood: int, rate: float, seed: int) -> None:
        self.server, self.rate, self.rng = server, rate, random.Random(seed)
        self.users = [FIRST_USER + i for i in range(users)]
        self.groups = [server.supergroup(-1001000000000 - g, f"مجموعة {g}") for g in range(max(1, users // 8))]
        self.flood = flood
        self.normal = max(users, messages - flood)
        self.sent: list[_Sent] = []
        self.updates = 0
        self.flood_started = False
        self.last_message: dict[int, dict] = {}
        for u in [*self.users, FLOODER, ADMIN]:
            server.user(u, f"مستخدم {u}")
            server.private(u)

    def _group_of(self, user: int) -> dict:
        return self.groups[(user - FIRST_USER) % len(self.groups)]

    def _text(self, chat: dict, user: int, text: str, *, question: bool = False) -> dict:
        msg = self.server.send_text(chat, user, text)
        self.updates += 1
        self.sent.append(_Sent(chat["id"], msg["message_id"], user, time.monotonic(), question, self.flood_started))
        self.last_message[user] = msg
        return msg

    def _one(self, user: int) -> None:
        rng, server = self.rng, self.server
        private, group = server.private(user), self._group_of(user)
        r = rng.random()
        if r < 0.42:
            self._text(private, user, rng.choice(QUESTIONS), question=True)
        elif r < 0.72:
            self._text(private, user, rng.choice(hostile_texts(rng)))
        elif r < 0.77:
            self._text(group, user, f"/ask@{server.bot_username} {rng.choice(QUESTIONS)}", question=True)
        elif r < 0.80:
            self._text(group, user, f"@{server.bot_username} {rng.choice(hostile_texts(rng))[:3000]}")
        elif r < 0.83:
            self._text(group, user, "مرحبا بالجميع، " + rng.choice(QUESTIONS))  # chatter: not addressed
        elif r < 0.85:
            self._text(private, user, "/reload")  # not an admin
        elif r < 0.86:
            self._text(group, user, f"/reload@{server.bot_username}")
        elif r < 0.94:
            self._press(user, private)
        else:
            server.inline_query(user, rng.choice([*QUESTIONS, *hostile_texts(rng)])[:256])
            self.updates += 1

    def _press(self, user: int, private: dict) -> None:
        """A forged button, or a real one replayed from another user's chat."""
        rng, server = self.rng, self.server
        target = self.last_message.get(user)
        if target is None:
            self._text(private, user, rng.choice(QUESTIONS), question=True)
            return
        data = rng.choice(["m:1:3:AAAAAAAA", "c:1:1:x:AAAAAAAA", "reload", "f:1:+:" + "A" * 8, "x" * 64,
                           "", "\u202e:" + "ك" * 20, "m:-1:999999999:" + "B" * 8])
        if rng.random() < 0.4:  # replay a genuine button of someone else's answer
            other = rng.choice(self.users)
            for m in reversed(server.messages_in(other)):
                found = [b["callback_data"] for row in (m.get("reply_markup") or {}).get("inline_keyboard", [])
                         for b in row if b.get("callback_data")]
                if found and other != user:
                    data = rng.choice(found)
                    break
        if data:
            server.press_button(target, data, user, check=False)
            self.updates += 1

    def run(self) -> None:
        pace = 1.0 / self.rate if self.rate > 0 else 0.0
        schedule = list(self.users)  # everyone's first message is a plain question in private
        schedule += [self.rng.choice(self.users) for _ in range(self.normal - len(schedule))]
        flood_at = len(schedule) // 3
        next_at = time.monotonic()
        for i, user in enumerate(schedule):
            if i == flood_at and self.flood:
                self.flood_started = True
                chat = self.server.private(FLOODER)
                for _ in range(self.flood):  # a burst: as fast as the server takes them
                    self._text(chat, FLOODER, self.rng.choice(QUESTIONS))
            if i == len(schedule) // 2:
                self._text(self.server.private(ADMIN), ADMIN, "/reload")  # a reload while answering
            if i < len(self.users):
                self._text(self.server.private(user), user, self.rng.choice(QUESTIONS), question=True)
            else:
                self._one(user)
            next_at += pace
            delay = next_at - time.monotonic()
            if delay > 0:
                time.sleep(delay)


async def soak(messages: int = 3000, users: int = 200, *, flood: int | None = None, rate: float = 15.0,
               seed: int = 6, drain_timeout: float = 180.0, rate_limit: int = 10) -> SoakReport:
    """Run the bot under the traffic described in the module docstring; returns the figures."""
    from bot.app import build_application, configure_logging, serve
    from bot.settings import Settings
    from retrieval import Engine

    flood = min(1000, messages // 3) if flood is None else flood
    report = SoakReport()
    counter = _ErrorCounter()
    root = logging.getLogger()
    root.addHandler(counter)
    if root.getEffectiveLevel() > logging.ERROR:
        root.setLevel(logging.ERROR)
    started = time.monotonic()
    server = BotAPIServer().start()
    with tempfile.TemporaryDirectory(prefix="sanad-soak-") as tmp:
        corpus = Path(tmp) / "corpus"
        shutil.copytree(ROOT / "seeds", corpus)
        settings = Settings(token=server.token, api_url=server.url, admin_ids=frozenset({ADMIN}),
                            db_path=Path(tmp) / "sanad.sqlite3", corpus_dir=corpus, retention_days=0,
                            rate_limit=rate_limit)
        configure_logging(settings)
        engine = await Engine.open(settings.db_path, settings.corpus_dir)
        stop, monitor_stop, worst = asyncio.Event(), asyncio.Event(), [0.0]
        try:
            since = server.mark()
            traffic = _Traffic(server, messages, users, flood, rate, seed)
            task = asyncio.create_task(serve(build_application(settings, engine), stop_event=stop,
                                             install_signal_handlers=False))
            await server.wait_for_async(method="deleteWebhook", since=since, timeout=15)
            monitor = asyncio.create_task(_stall_monitor(monitor_stop, worst))
            await asyncio.to_thread(traffic.run)
            await _drain(server, drain_timeout)
            monitor_stop.set()
            await monitor
        finally:
            stop.set()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(task, 20)
            await engine.close()
            server.stop()
            root.removeHandler(counter)
    _figures(report, server, traffic, counter, worst[0], rate_limit)
    report.seconds = time.monotonic() - started
    return report


async def _drain(server: BotAPIServer, timeout: float, quiet: float = 2.0) -> None:
    """Wait until every update was fetched and the bot has been silent for `quiet` seconds."""
    deadline = time.monotonic() + timeout
    last_count, last_change = -1, time.monotonic()
    while time.monotonic() < deadline:
        count = len(server.sent)
        if count != last_count:
            last_count, last_change = count, time.monotonic()
        if not server.pending_updates and time.monotonic() - last_change >= quiet:
            return
        await asyncio.sleep(0.1)


def _figures(report: SoakReport, server: BotAPIServer, traffic: _Traffic, counter: _ErrorCounter,
             stall: float, rate_limit: int) -> None:
    replies: dict[tuple[int, int], Any] = {}
    by_chat: dict[int, int] = {}
    for call in server.calls_to("sendMessage"):
        if not call.ok:
            continue
        chat_id = int(call.params["chat_id"])
        by_chat[chat_id] = by_chat.get(chat_id, 0) + 1
        target = (call.params.get("reply_parameters") or {}).get("message_id")
        if target is not None:
            replies.setdefault((chat_id, int(target)), call)
    report.messages_sent = traffic.updates
    report.replies = sum(1 for c in server.calls_to("sendMessage") if c.ok)
    report.callback_answers = sum(1 for c in server.calls_to("answerCallbackQuery") if c.ok)
    report.inline_answers = sum(1 for c in server.calls_to("answerInlineQuery") if c.ok)
    report.rejected = len(server.rejected)
    report.server_errors = len(server.server_errors)
    report.errors_logged = counter.count
    report.error_samples = counter.samples + server.server_errors[:3] + [repr(c) for c in server.rejected[:3]]
    report.max_stall_ms = stall * 1000
    latencies = []
    replied_users: set[int] = set()
    for s in traffic.sent:
        call = replies.get((s.chat_id, s.message_id))
        if call is None:
            continue
        replied_users.add(s.user)
        if s.question and "<blockquote>" in call.params.get("text", ""):
            latencies.append((call.time - s.at) * 1000)
            report.answered_after_flood += s.after_flood
    report.answered = len(latencies)
    if latencies:
        latencies.sort()
        report.latency_median_ms = statistics.median(latencies)
        report.latency_p99_ms = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]
    report.users_without_reply = [u for u in traffic.users if u not in replied_users]
    report.flood_sent = traffic.flood
    report.flood_replies = by_chat.get(FLOODER, 0)
    report.flood_bound = rate_limit + 1  # the allowed questions and one polite notice


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.soak", description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=3000, help="messages in all, the flood included")
    parser.add_argument("--users", type=int, default=200)
    parser.add_argument("--flood", type=int, default=None, help="burst from one user (default min(1000, messages/3))")
    parser.add_argument("--rate", type=float, default=15.0, help="messages a second outside the burst")
    parser.add_argument("--seed", type=int, default=6)
    parser.add_argument("--json", action="store_true", help="print the figures as one JSON object")
    args = parser.parse_args(argv)
    root = logging.getLogger()  # the figures are the output: errors are counted (and sampled), not printed
    root.addHandler(logging.NullHandler())
    root.setLevel(logging.ERROR)
    report = asyncio.run(soak(args.messages, args.users, flood=args.flood, rate=args.rate, seed=args.seed))
    if args.json:
        print(json.dumps(asdict(report), ensure_ascii=False))
    else:
        print("\n".join(report.lines()))
        for sample in report.error_samples:
            print("\n--- error sample ---\n" + sample)
    problems = report.problems()
    for p in problems:
        print(f"FAIL: {p}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main())
