"""The sanad command as a user runs it: ask (text and JSON), JSON Lines from stdin, index, eval, chat."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import DEV_QUESTIONS, ROOT

SCHEMA_DOC = {"id": str, "file": str, "title": str, "source": (str, type(None)), "date": (str, type(None)),
              "url": (str, type(None))}


def sanad(*args: str, env: dict, stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "bot.cli", *args], cwd=ROOT, env=env, input=stdin,
                          capture_output=True, text=True, timeout=120)


@pytest.fixture
def env(tmp_path, corpus_dir):
    return {**os.environ, "SANAD_DB": str(tmp_path / "cli.sqlite3"), "SANAD_CORPUS": str(corpus_dir),
            "NO_COLOR": "1"}


def check_schema(obj: dict, corpus: Path) -> None:
    assert set(obj) == {"question", "answered", "results"}
    assert isinstance(obj["question"], str) and isinstance(obj["answered"], bool)
    if not obj["answered"]:
        assert obj["results"] == []
    for r in obj["results"]:
        assert set(r) == {"rank", "text", "score", "doc", "paragraph", "sentence"}
        assert isinstance(r["rank"], int) and isinstance(r["score"], float)
        assert isinstance(r["paragraph"], int) and r["paragraph"] >= 1 and r["sentence"] >= 1
        assert set(r["doc"]) == set(SCHEMA_DOC)
        for key, kind in SCHEMA_DOC.items():
            assert isinstance(r["doc"][key], kind)
        assert r["text"] in (corpus / r["doc"]["file"]).read_text(encoding="utf-8")


def test_ask_prints_quotes_with_citations(env):
    out = sanad("ask", "ماذا نشر البيت الأبيض؟", env=env)
    assert out.returncode == 0, out.stderr
    assert "**البيت** **الأبيض**" in out.stdout and "الفقرة" in out.stdout and "أسوشيتد برس" in out.stdout


def test_ask_json_matches_the_schema(env, corpus_dir):
    out = sanad("ask", "--json", "--top", "2", "كم جنديا كوريا شماليا نشر في روسيا؟", env=env)
    obj = json.loads(out.stdout)
    check_schema(obj, corpus_dir)
    assert obj["answered"] and len(obj["results"]) == 2 and [r["rank"] for r in obj["results"]] == [1, 2]


def test_ask_json_lines_from_stdin(env, corpus_dir):
    questions = [json.loads(line)["q"] for line in DEV_QUESTIONS.read_text(encoding="utf-8").splitlines()]
    out = sanad("ask", "--json", "-", env=env, stdin="\n".join(questions) + "\n\n")
    lines = out.stdout.splitlines()
    assert len(lines) == len(questions)
    for line, q in zip(lines, questions):
        obj = json.loads(line)
        check_schema(obj, corpus_dir)
        assert obj["question"] == q


def test_unanswerable_question_says_so(env):
    out = sanad("ask", "كيف أتعلم البرمجة بلغة بايثون؟", env=env)
    assert "لم أجد" in out.stdout and "تتناول المصادر" in out.stdout


def test_index_reports_counts_and_skipped_files(env, corpus_dir):
    (corpus_dir / "broken.txt").write_bytes(b"\xff\xfe\x00\x01")
    out = sanad("index", env=env)
    assert out.returncode == 0, out.stderr
    assert "indexed 5 documents" in out.stdout and "89 sentences" in out.stdout
    assert "skipped broken.txt: binary" in out.stdout


def test_index_with_nothing_usable_fails_and_keeps_the_old_database(env, corpus_dir):
    assert sanad("index", env=env).returncode == 0
    for f in corpus_dir.glob("*.txt"):
        f.unlink()
    out = sanad("index", env=env)
    assert out.returncode == 1 and "untouched" in out.stderr
    assert json.loads(sanad("ask", "--json", "ماذا نشر البيت الأبيض؟", env=env).stdout)["answered"]


def test_eval_prints_sanad_beside_rank_bm25(env):
    out = sanad("eval", str(DEV_QUESTIONS), "--json", env=env)
    systems = {s["name"]: s for s in json.loads(out.stdout)["systems"]}
    assert set(systems) == {"Sanad", "rank-bm25, whitespace tokens"}
    assert systems["Sanad"]["hit@1"] > systems["rank-bm25, whitespace tokens"]["hit@1"]


def test_chat_answers_until_end_of_input(env):
    out = sanad("chat", env=env, stdin="ماذا نشر البيت الأبيض؟\nما عاصمة البرازيل؟\n")
    assert out.returncode == 0
    assert "البيت" in out.stdout and "لم أجد" in out.stdout


def test_a_newer_database_gives_a_clear_error(env, tmp_path):
    import sqlite3
    sqlite3.connect(env["SANAD_DB"]).execute("PRAGMA user_version = 99")
    out = sanad("ask", "سؤال", env=env)
    assert out.returncode == 2 and "newer" in out.stderr and "Traceback" not in out.stderr
