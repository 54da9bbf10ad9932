"""The sanad command as a user runs it: ask (text and JSON), JSON Lines from stdin, index, eval, chat."""

import json
import os
import shutil
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
    assert set(obj) == {"question", "answered", "confidence", "reason", "results"}
    assert isinstance(obj["question"], str) and isinstance(obj["answered"], bool)
    assert obj["confidence"] in ("high", "medium", "low", "none") and isinstance(obj["reason"], str)
    assert (obj["confidence"] == "none") == (not obj["answered"])
    if not obj["answered"]:
        assert obj["results"] == []
    for r in obj["results"]:
        assert set(r) == {"rank", "text", "score", "doc", "page", "paragraph", "sentence"}
        assert isinstance(r["rank"], int) and isinstance(r["score"], float)
        assert r["page"] is None or (isinstance(r["page"], int) and r["page"] >= 1)
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
    lines_in = [*questions[:3], "", "   ", *questions[3:], "السلام عليكم", ""]
    out = sanad("ask", "--json", "-", env=env, stdin="\n".join(lines_in) + "\n")
    lines = out.stdout.splitlines()
    assert len(lines) == len(lines_in)  # line N out answers line N in, blank lines included
    for line, q in zip(lines, lines_in):
        obj = json.loads(line)
        check_schema(obj, corpus_dir)
        assert obj["question"] == q.strip()
        if not q.strip():
            assert not obj["answered"] and obj["reason"] == "empty"
    assert json.loads(lines[-2])["reason"] == "small_talk" and not json.loads(lines[-2])["answered"]


def test_greetings_and_thanks_get_a_friendly_reply_without_quotes(env):
    for message in ("السلام عليكم", "شكرا", "h"):
        out = sanad("ask", message, env=env)
        assert out.returncode == 0 and "اكتب سؤالك" in out.stdout and "«" not in out.stdout.split("\n")[0]
        assert "الفقرة" not in out.stdout
    answered = json.loads(sanad("ask", "--json", "السلام عليكم، كم جنديا أرسلت كوريا؟", env=env).stdout)
    assert answered["answered"] and answered["results"]


def test_top_below_one_names_the_option(env):
    out = sanad("ask", "--top", "0", "سؤال", env=env)
    assert out.returncode == 2 and "sanad ask" in out.stderr and "--top" in out.stderr and "must be at least 1" in out.stderr


def test_eval_of_a_missing_file_says_so_without_a_traceback(env, tmp_path):
    out = sanad("eval", str(tmp_path / "missing.jsonl"), env=env)
    assert out.returncode == 2 and "cannot read" in out.stderr and "Traceback" not in out.stderr
    (tmp_path / "bad.jsonl").write_text("not json\n", encoding="utf-8")
    out = sanad("eval", str(tmp_path / "bad.jsonl"), env=env)
    assert out.returncode == 2 and "not a question file" in out.stderr and "Traceback" not in out.stderr


def test_a_database_that_cannot_be_opened_gives_one_clean_message(env, tmp_path):
    out = sanad("ask", "سؤال", env={**env, "SANAD_DB": str(tmp_path)})  # a folder, not a file
    assert out.returncode == 2 and f"database {tmp_path}" in out.stderr and len(out.stderr.splitlines()) == 1
    assert "Traceback" not in out.stderr and "Event loop is closed" not in out.stderr


def test_a_mistyped_corpus_folder_is_reported(env, tmp_path):
    assert sanad("index", env=env).returncode == 0
    out = sanad("ask", "ماذا نشر البيت الأبيض؟", env={**env, "SANAD_CORPUS": str(tmp_path / "corpsu")})
    assert "does not exist" in out.stderr and str(tmp_path / "corpsu") in out.stderr


def test_index_fails_when_the_database_could_not_be_written(monkeypatch, capsys, tmp_path):
    from bot import cli
    from retrieval import BuildReport

    class Unsaved:  # what Engine.open returns when the build could not be saved
        last_report = BuildReport(5, 40, 89, (), 0.1, warning="the database could not be written (disk full)")
        corpus_dir, store = tmp_path, type("S", (), {"where": str(tmp_path / "db.sqlite3")})()

        async def close(self) -> None:
            pass

    async def unsaved(**kwargs):
        return Unsaved()

    monkeypatch.setattr(cli, "_open", unsaved)
    assert cli.main(["index"]) == 1
    assert "could not be written" in capsys.readouterr().err


def test_ctrl_c_leaves_chat(env):
    import signal
    chat = subprocess.Popen([sys.executable, "-m", "bot.cli", "chat"], cwd=ROOT, env=env, text=True,
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        assert "سند" in chat.stdout.readline()  # the banner: the prompt is waiting for a line
        chat.send_signal(signal.SIGINT)
        out, err = chat.communicate(timeout=60)
    finally:
        chat.kill()
    assert chat.returncode == 0 and "Traceback" not in err


def test_serve_without_a_reachable_bot_api_says_so(env):
    import socket
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    out = sanad("serve", env={**env, "TELEGRAM_BOT_TOKEN": "123:abc", "TELEGRAM_API_URL": f"http://127.0.0.1:{port}"})
    assert out.returncode == 1 and "cannot reach the Telegram Bot API" in out.stderr and "Traceback" not in out.stderr


@pytest.mark.parametrize("args, expected", [
    (["--no-set-webhook"], "only apply with --webhook"),
    (["--port", "8443"], "only apply with --webhook"),
    (["--webhook", "https://bot.example.org/sanad", "--port", "70000"], "at most 65535"),
    (["--webhook", "bot.example.org/sanad"], "--webhook must be a full https:// URL"),
    (["--webhook", "https://bot.example.org/healthz"], "health check"),
])
def test_serve_names_bad_webhook_options(env, args, expected):
    out = sanad("serve", *args, env={**env, "TELEGRAM_BOT_TOKEN": "123:abc"})
    assert out.returncode == 2 and expected in out.stderr and "Traceback" not in out.stderr


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


# ---------------------------------------------------------------- PDF, Word and web pages

@pytest.fixture
def documents_env(tmp_path):
    from tests.documents_corpus import FOLDER
    corpus = tmp_path / "docs"
    corpus.mkdir()
    for name in ("report.pdf", "guide.docx", "news.html"):
        (corpus / name).write_bytes((FOLDER / name).read_bytes())
    return {**os.environ, "SANAD_DB": str(tmp_path / "docs.sqlite3"), "SANAD_CORPUS": str(corpus), "NO_COLOR": "1"}


def test_ask_json_cites_the_pdf_page_and_quotes_in_logical_order(documents_env):
    questions = ["ما نسبة الفاقد في شبكة التوزيع؟", "كم ألف متر مكعب تنتج محطة التحلية في مدينة النخيل يوميا؟"]
    out = sanad("ask", "--json", "-", env=documents_env, stdin="\n".join(questions) + "\n")
    assert out.returncode == 0, out.stderr
    second_page, first_page = (json.loads(line)["results"][0] for line in out.stdout.splitlines())
    assert second_page["doc"]["file"] == "report.pdf" and second_page["page"] == 2
    assert second_page["text"].startswith("وأكد الوزير أن نسبة الفاقد") and "18 بالمئة" in second_page["text"]
    assert first_page["page"] == 1 and "تنتج 45 ألف متر مكعب يوميا" in first_page["text"]


def test_ask_links_a_web_page_and_shows_the_page_of_a_pdf(documents_env):
    out = sanad("ask", "--top", "1", "كم رحلة أسبوعيا ستسير الشركة إلى طوكيو؟", env=documents_env)
    assert out.returncode == 0, out.stderr
    assert "Boeing 787" in out.stdout and "https://news.example/air/tokyo" in out.stdout
    assert "الأكثر قراءة" not in out.stdout
    out = sanad("ask", "--top", "1", "ما نسبة الفاقد في شبكة التوزيع؟", env=documents_env)
    assert "ص 2، الفقرة" in out.stdout


def test_add_fetches_a_page_then_ask_quotes_it_with_its_link(documents_env, tmp_path):
    from tests.documents_corpus import FOLDER
    from tests.local_http import serving
    page = (FOLDER / "news.html").read_bytes()
    with serving({"/page.html": (200, "text/html; charset=utf-8", page)}) as base:
        out = sanad("add", f"{base}/page.html", env=documents_env)
    assert out.returncode == 0, out.stderr
    assert "added 127.0.0.1-page.html" in out.stdout
    out = sanad("ask", "--json", "-", env=documents_env, stdin="كم رحلة أسبوعيا ستسير الشركة إلى طوكيو؟\n")
    results = json.loads(out.stdout)["results"]
    first = results[0]
    assert first["doc"]["url"] == f"{base}/page.html" and first["page"] is None
    assert first["text"] == "وستسير الشركة ثلاث رحلات أسبوعيا بطائرات من طراز Boeing 787 تتسع كل منها لـ 250 راكبا."
    assert not any("الأكثر قراءة" in r["text"] or "الرئيسية" in r["text"] for r in results)


def test_add_a_local_file_and_refusals_say_why(documents_env, tmp_path):
    from tests.documents_corpus import FOLDER
    from tests.local_http import closed_port
    out = sanad("add", str(FOLDER / "columns.pdf"), env=documents_env)
    assert out.returncode == 0, out.stderr
    out = sanad("add", str(FOLDER / "scanned.pdf"), env=documents_env)
    assert out.returncode == 1 and "no text layer" in out.stderr and "Traceback" not in out.stderr
    out = sanad("add", f"http://127.0.0.1:{closed_port()}/page.html", env=documents_env)
    assert out.returncode == 1 and "cannot be reached" in out.stderr and "Traceback" not in out.stderr
    out = sanad("add", str(tmp_path / "missing.pdf"), env=documents_env)
    assert out.returncode == 1 and "cannot read" in out.stderr


# ------------------------------------------------------------------ several processes on one store (issue 15)

SOLAR = "محطة بنبان للطاقة الشمسية\n\nتقع محطة بنبان للطاقة الشمسية في محافظة أسوان، وتزود 420 ألف منزل بالكهرباء.\n"
SOLAR_Q = "كم منزلا تزود محطة بنبان بالكهرباء؟"


def _store_env(store_url: str, tmp_path: Path, corpus: Path) -> dict:
    """A process's environment on the test's store; each process has its data folder (and, on PostgreSQL,
    its corpus folder) of its own, as replicas on two machines would, sharing only the id key file."""
    env = {k: v for k, v in os.environ.items() if k not in ("SANAD_DB", "SANAD_DATABASE_URL")}
    env.update(SANAD_CORPUS=str(corpus), SANAD_KEY_FILE=str(tmp_path / "id.key"), NO_COLOR="1",
               XDG_DATA_HOME=str(corpus.parent / "data"))
    env["SANAD_DATABASE_URL" if store_url.startswith("postgresql://") else "SANAD_DB"] = store_url
    return env


def test_a_running_ask_answers_from_a_document_another_process_added(store_url, tmp_path, corpus_dir):
    """The issue's check: `sanad ask --json -` keeps running; `sanad add` in another process (on PostgreSQL,
    from another corpus folder: another machine) adds a document; the next question is answered from it."""
    reader_dir = corpus_dir
    if store_url.startswith("postgresql://"):
        (tmp_path / "reader").mkdir()
        reader_dir = tmp_path / "reader" / "corpus"
        shutil.copytree(corpus_dir, reader_dir)
    reader = subprocess.Popen([sys.executable, "-m", "bot.cli", "ask", "--json", "-"], cwd=ROOT, text=True,
                              env=_store_env(store_url, tmp_path, reader_dir), stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        reader.stdin.write(SOLAR_Q + "\n")
        reader.stdin.flush()
        assert json.loads(reader.stdout.readline())["answered"] is False
        new = tmp_path / "solar.txt"
        new.write_text(SOLAR, encoding="utf-8")
        added = subprocess.run([sys.executable, "-m", "bot.cli", "add", str(new)], cwd=ROOT, text=True,
                               env=_store_env(store_url, tmp_path, corpus_dir), capture_output=True)
        assert added.returncode == 0, added.stderr
        reader.stdin.write(SOLAR_Q + "\n")
        reader.stdin.flush()
        answer = json.loads(reader.stdout.readline())
        assert answer["answered"] and "420" in answer["results"][0]["text"]
        assert answer["results"][0]["doc"]["file"] == "solar.txt"
    finally:
        reader.stdin.close()
        reader.wait(timeout=30)
        reader.stdout.close()
    assert "saved by another process" in reader.stderr.read()
    reader.stderr.close()


def test_on_postgresql_index_and_ask_create_no_sqlite_file(postgres_url, tmp_path, corpus_dir):
    env = _store_env(postgres_url, tmp_path, corpus_dir)
    indexed = subprocess.run([sys.executable, "-m", "bot.cli", "index"], cwd=ROOT, env=env, text=True,
                             capture_output=True)
    assert indexed.returncode == 0, indexed.stderr
    assert "database: postgresql://" in indexed.stdout
    asked = subprocess.run([sys.executable, "-m", "bot.cli", "ask", "--json", "كم جنديا أرسلت كوريا الشمالية إلى روسيا؟"],
                           cwd=ROOT, env=env, text=True, capture_output=True)
    assert asked.returncode == 0 and json.loads(asked.stdout)["answered"], asked.stderr
    made = [p for p in tmp_path.rglob("*") if p.suffix.startswith(".sqlite") or p.name.endswith(("-wal", "-shm"))]
    assert made == []
