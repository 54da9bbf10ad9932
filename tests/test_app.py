"""Starting the bot (bot/app.py): each start-up failure ends in one clear line, never a traceback."""

from __future__ import annotations

import asyncio
import socket
import sqlite3
from pathlib import Path

import pytest

from bot.app import run_bot
from bot.settings import Settings
from retrieval import Engine

TOKEN = "123456:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _settings(tmp_path: Path, corpus_dir: Path, **overrides) -> Settings:
    options = dict(token=TOKEN, api_url=f"http://127.0.0.1:{_closed_port()}", db_path=tmp_path / "db.sqlite3",
                   corpus_dir=corpus_dir, retention_days=0)
    return Settings(**{**options, **overrides})


def test_an_unreachable_api_is_named(tmp_path, corpus_dir, capsys):
    settings = _settings(tmp_path, corpus_dir)
    assert run_bot(settings) == 1
    err = capsys.readouterr().err
    assert "cannot reach the Telegram Bot API" in err and settings.api_url in err and "Traceback" not in err


@pytest.mark.parametrize("damage", ["not a database", "damaged index"])
def test_a_damaged_database_is_named_with_the_way_forward(tmp_path, corpus_dir, capsys, damage):
    db = tmp_path / "db.sqlite3"
    if damage == "not a database":
        db.write_bytes(bytes(range(256)) * 40)
        expected = "sanad index"
    else:
        asyncio.run(_built(db, corpus_dir))
        con = sqlite3.connect(db)
        con.execute("UPDATE index_chunks SET data = zeroblob(length(data))")
        con.commit()
        con.close()
        corpus_dir = tmp_path / "gone"  # nothing to rebuild it from
        expected = "question log is kept"
    assert run_bot(_settings(tmp_path, corpus_dir)) == 1
    err = capsys.readouterr().err
    assert expected in err and "Traceback" not in err


async def _built(db: Path, corpus_dir: Path) -> None:
    await (await Engine.open(db, corpus_dir)).close()
