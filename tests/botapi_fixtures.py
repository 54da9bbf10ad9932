"""Pytest fixtures for the local Bot API test server.

Import them into tests/conftest.py:

    from tests.botapi_fixtures import botapi_server, botapi_server_strict, botapi_bot  # noqa: F401

(or ``from botapi_fixtures import ...`` when tests/ is on sys.path, as with pytest's
default rootdir-relative imports).
"""

from __future__ import annotations

import signal
import subprocess
from pathlib import Path
from typing import AsyncIterator, Iterator

import pytest

try:
    from .botapi_server import BotAPIServer
except ImportError:  # tests/ imported as top-level modules (rootdir/tests on sys.path)
    from botapi_server import BotAPIServer


@pytest.fixture
def botapi_server() -> Iterator[BotAPIServer]:
    """A started local Bot API server (fresh state per test); stopped afterwards."""
    server = BotAPIServer()
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def botapi_server_strict(botapi_server: BotAPIServer) -> Iterator[BotAPIServer]:
    """Same server, and the test fails if any call was rejected (400) or broke the server.

    For end-to-end tests: Telegram must have accepted everything the bot sent.
    """
    yield botapi_server
    assert not botapi_server.server_errors, "test Bot API server bug:\n" + "\n".join(botapi_server.server_errors)
    assert not botapi_server.rejected, f"Bot API rejected calls: {botapi_server.rejected}"


@pytest.fixture
async def botapi_bot(botapi_server: BotAPIServer) -> AsyncIterator["object"]:
    """An initialised telegram.Bot pointed at botapi_server."""
    from telegram import Bot

    bot = Bot(botapi_server.token, base_url=botapi_server.base_url, base_file_url=botapi_server.base_file_url)
    async with bot:
        yield bot


def answer_then_sigterm(server: "BotAPIServer", command: list[str], env: dict[str, str], *, ready_method: str,
                        question: str, user: int, timeout: float = 30) -> tuple[int, str, str]:
    """Run the real bot process (`command`) against `server`: wait until it calls `ready_method`, have a
    user ask `question`, wait for the reply, then SIGTERM it as an operator's service manager would.
    Returns its exit code, stdout and stderr."""
    proc = subprocess.Popen(command, cwd=Path(__file__).resolve().parent.parent, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        server.wait_for(method=ready_method, timeout=timeout)
        since = server.mark()
        server.send_text(server.private(user), user, question)
        server.wait_for(method="sendMessage", chat_id=user, since=since, timeout=15)
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=40)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    return proc.returncode, out, err
