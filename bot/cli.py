"""The `sanad` command: a terminal adapter over the retrieval library, and the bot's launcher.

    sanad ask QUESTION [--json] [--top K]     one question (or `-`: one per line on stdin, JSON Lines out)
    sanad chat                                questions one after another (readline history, Ctrl-D leaves)
    sanad index                               (re)build the database from the corpus folder
    sanad add PATH|URL                        add a file (.txt .jsonl .pdf .docx .html) or a fetched web page
    sanad eval FILE [--compare] [--json]      quality figures beside off-the-shelf BM25 set-ups
    sanad bench [...]                         speed figures beside rank-bm25, bm25s and SQLite FTS5
    sanad serve [--webhook URL --port N [--no-set-webhook]]   run the Telegram bot
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import signal
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from bot import texts
from bot.paths import provide_corpus
from bot.settings import Settings, SettingsError, load_settings
from retrieval import Answer, EmbeddingState, Engine, ReloadError, Snapshot, StoreError, UploadError
from retrieval.meaning import Meaning
from retrieval.vectors import Semantic

BOLD, DIM, RESET = "\033[1m\033[33m", "\033[2m", "\033[0m"


# ------------------------------------------------------------------ rendering for a terminal

def _marked(text: str, spans: Sequence[tuple[int, int]], color: bool) -> str:
    """The sentence with its matched words marked: bold on a terminal, **word** in a pipe."""
    on, off = (BOLD, RESET) if color else ("**", "**")
    out, pos = [], 0
    for a, b in spans:
        out += [text[pos:a], on, text[a:b], off]
        pos = b
    out.append(text[pos:])
    return "".join(out)


def render_text(a: Answer, color: bool) -> str:
    """An answer as terminal text: each extract quoted with its citation."""
    if a.reason == "small_talk":
        return texts.small_talk_reply(a.question)
    if not a.answered:
        lines = ["لم أجد في المصادر ما يجيب عن هذا السؤال. جرّب صياغة أخرى بكلمات مختلفة."]
        if a.suggestions:
            lines.append("تتناول المصادر مثلًا:")
            lines += [f"  • {t}" for t in a.suggestions]
        return "\n".join(lines)
    confidence = {"high": "تطابق قوي", "medium": "تطابق متوسط", "low": "تطابق ضعيف"}[a.confidence]
    lines = [f"[{confidence}]"]
    for e in a.extracts:
        quote = _marked(e.text, e.spans, color)
        if e.before:
            quote = f"{e.before} {quote}"
        if e.after:
            quote = f"{quote} {e.after}"
        cite = " — ".join(x for x in (e.doc.source, e.doc.title, e.doc.date) if x)
        dim, reset = (DIM, RESET) if color else ("", "")
        page = f"، ص {e.page}" if e.page is not None else ""
        lines += ["", f"{e.rank}. «{quote}»", f"   {dim}{cite}{page}، الفقرة {e.paragraph}{reset}"]
        if e.doc.url:
            lines.append(f"   {dim}{e.doc.url}{reset}")
    return "\n".join(lines)


def answer_json(a: Answer) -> dict:
    """The machine-readable answer (the schema `sanad ask --json` promises)."""
    return {"question": a.question, "answered": a.answered, "confidence": a.confidence, "reason": a.reason,
            "results": [
        {"rank": e.rank, "text": e.text, "score": float(e.score),
         "doc": {"id": e.doc.id, "file": e.doc.file, "title": e.doc.title, "source": e.doc.source,
                 "date": e.doc.date, "url": e.doc.url},
         "page": e.page, "paragraph": e.paragraph, "sentence": e.sentence} for e in a.extracts]}


# ------------------------------------------------------------------ commands

async def _open(progress: bool = False, rebuild: bool = False, vectors: str = "small",
                settings: Settings | None = None) -> Engine:
    """The engine over SANAD_DB and SANAD_CORPUS, else config/sanad.toml's database and corpus (pass
    `settings` when the command reads them too). One-shot commands embed a few missing sentences now;
    `sanad index` embeds them all."""
    settings = settings or load_settings()
    provide_corpus(settings.corpus_dir)
    engine = await Engine.open(settings.database, settings.corpus_dir, progress=progress, rebuild=rebuild,
                               key_file=settings.id_key_file,
                               vectors=vectors)
    if not Path(settings.corpus_dir).is_dir():  # a mistyped SANAD_CORPUS must not pass for the old corpus
        print(f"sanad: warning: the corpus folder {settings.corpus_dir} does not exist; answering from the "
              f"corpus last indexed in {engine.store.where} ({engine.snapshot.corpus_dir or 'unknown folder'})",
              file=sys.stderr)
    if vectors != "off":
        _say_semantic(engine)
    return engine


def _say_semantic(engine: Engine) -> None:
    """Say once, on stderr, when answers use words alone for now (no model at all is logged by the engine)."""
    status = engine.embedding_status()
    if status.state is EmbeddingState.EMBEDDING:
        print(f"sanad: meaning search waits for sentence vectors ({status.done} of {status.total}); "
              f"answers use words alone. {status.detail}".rstrip(), file=sys.stderr)
    elif status.state is EmbeddingState.FAILED:
        print(f"sanad: sentence vectors failed ({status.detail}); answers use words alone.", file=sys.stderr)


async def cmd_ask(args: argparse.Namespace) -> int:
    engine = await _open()
    try:
        color = sys.stdout.isatty() and not os.environ.get("NO_COLOR")
        questions = (line.rstrip("\n") for line in sys.stdin) if args.question == "-" else [args.question]
        for q in questions:  # one answer a line, blank lines included, so line N out is line N in
            if args.question == "-":  # a long-running reader serves what other processes saved meanwhile
                await _refresh(engine)
            a = engine.ask(q, top=args.top)
            print(json.dumps(answer_json(a), ensure_ascii=False) if args.json else render_text(a, color), flush=True)
    finally:
        await engine.close()
    return 0


async def _refresh(engine: Engine) -> None:
    """Serve the corpus another process saved since (a version read between questions); a failure to load
    it is said on stderr, and the corpus being served goes on answering."""
    try:
        if await engine.refresh():
            print(f"sanad: now answering from corpus version {engine.version}, saved by another process",
                  file=sys.stderr)
    except (StoreError, ReloadError) as e:
        print(f"sanad: warning: could not load the newer corpus: {getattr(e, 'reason', e)}", file=sys.stderr)


async def cmd_chat(args: argparse.Namespace) -> int:
    engine = await _open()
    try:
        import readline  # noqa: F401  (history and line editing for input())
        history = load_settings().db_path.with_name("chat_history")
        try:
            readline.read_history_file(history)
        except OSError:
            pass
    except ImportError:
        readline = history = None
    color = sys.stdout.isatty() and not os.environ.get("NO_COLOR")
    # input() runs here, on the main thread, with Python's own Ctrl-C handler: asyncio's would only
    # cancel this task, which cannot end while input() waits for a line.
    asyncio_handler = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        print(f"سند — {engine.info().documents} وثيقة. اكتب سؤالك، وCtrl-D أو Ctrl-C للخروج.", flush=True)
        while True:
            try:
                q = input("؟ ")
            except EOFError:
                print()
                break
            if q.strip():
                print(render_text(engine.ask(q, top=args.top), color), "\n", sep="")
    except KeyboardInterrupt:
        print()
    finally:
        signal.signal(signal.SIGINT, asyncio_handler)
        if readline and history:
            try:
                readline.write_history_file(history)
            except OSError:
                pass
        await engine.close()
    return 0


async def cmd_add(args: argparse.Namespace) -> int:
    """Add a file, or a page fetched from an http(s) address, to the corpus folder and reload."""
    settings = load_settings()
    engine = await _open(vectors="off", settings=settings)
    limit = settings.upload_max_bytes
    try:
        if re.match(r"(?i)^https?://", args.source):
            name, report = await engine.add_url(args.source, max_bytes=limit, timeout=args.timeout)
        else:
            path = Path(args.source)
            try:
                data = path.read_bytes()
            except OSError as e:
                print(f"sanad add: cannot read {path}: {e.strerror}", file=sys.stderr)
                return 1
            name, report = path.name, await engine.add_file(path.name, data, max_bytes=limit)
    except (UploadError, ReloadError) as e:  # ReloadError: the rebuild failed (or another one runs): nothing added
        print(f"sanad add: not added: {e.reason}", file=sys.stderr)
        return 1
    finally:
        await engine.close()
    print(f"added {name} to {engine.corpus_dir}: now {report.documents} documents, {report.sentences} sentences")
    for file, reason in report.skipped:
        print(f"  skipped {file}: {reason}")
    return 0


async def cmd_index(args: argparse.Namespace) -> int:
    t0 = time.perf_counter()
    try:
        engine = await _open(progress=True, rebuild=True, vectors="wait")
    except ReloadError as e:
        print(f"sanad index: nothing usable was indexed: {e.reason}", file=sys.stderr)
        for file, reason in (e.report.skipped if e.report else ()):
            print(f"  skipped {file}: {reason}", file=sys.stderr)
        print("The previous database, if any, is untouched.", file=sys.stderr)
        return 1
    r, corpus, database = engine.last_report, engine.corpus_dir, engine.store.where
    if r.warning:  # built, but not saved: for a command that exits, nothing was indexed
        await engine.close()
        print(f"sanad index: the corpus was read but the database {database} could not be written: "
              f"{r.warning}", file=sys.stderr)
        return 1
    status = engine.embedding_status()
    await engine.close()
    print(f"indexed {r.documents} documents, {r.paragraphs} paragraphs, {r.sentences} sentences "
          f"in {time.perf_counter() - t0:.2f} s")
    print(f"  corpus:   {corpus}\n  database: {database}")
    print(f"  sentence vectors: {status.state.value} ({status.done} of {status.total}) {status.detail}".rstrip())
    for file, reason in r.skipped:
        print(f"  skipped {file}: {reason}")
    if r.warning:
        print(f"  warning: {r.warning}")
    return 0


async def cmd_eval(args: argparse.Namespace) -> int:
    from retrieval.calibration import calibrate, signals
    from retrieval.evaluate import ablations, baselines, evaluate, load_questions

    try:
        loaded = load_questions(args.file, holdout=args.holdout)
    except OSError as e:
        print(f"sanad eval: cannot read {args.file}: {e.strerror or e}", file=sys.stderr)
        return 2
    except (ValueError, KeyError, TypeError) as e:  # neither JSON Lines of {"q", "gold"} nor SQuAD JSON
        print(f"sanad eval: {args.file} is not a question file (one JSON object with \"q\" a line, "
              f"or a SQuAD-format .json): {e}", file=sys.stderr)
        return 2
    questions = loaded.questions
    engine = await _open(vectors="off" if loaded.documents else "wait")
    try:
        if loaded.documents:  # a SQuAD file brings its corpus; its vectors are cached in Sanad's database
            snapshot = await asyncio.to_thread(Snapshot.build, loaded.documents)
            semantic = await _semantic_for(snapshot, engine.store.target)
        else:
            snapshot, semantic = engine.snapshot, engine.semantic
        rows = [evaluate(snapshot, questions, engine.policy, semantic)]
        rows += baselines(snapshot, questions, all_setups=args.compare, semantic=semantic)
        extra = ablations(snapshot, questions, semantic) if args.ablations else []
        fitted = calibrate(*signals(snapshot, questions, semantic, engine.policy)) \
            if args.calibrate and semantic is not None else None
    finally:
        await engine.close()
    if args.json:
        print(json.dumps({"questions": len(questions), "systems": [r.as_dict() for r in rows],
                          "ablations": [r.as_dict() for r in extra],
                          "calibration": None if fitted is None else {
                              "decline_model": fitted.weights, "answer_probability": fitted.threshold}},
                         ensure_ascii=False))
        return 0
    n_ans = sum(1 for q in questions if q.answerable)
    print(f"{len(questions)} questions ({n_ans} answerable, {len(questions) - n_ans} unanswerable), "
          f"{len(snapshot)} sentences")
    _table(rows)
    if extra:
        print("\nSanad with one choice changed:")
        _table(extra)
    if fitted is not None:
        print(f"\ncalibrated decline model: decline_model={tuple(round(w, 3) for w in fitted.weights)}, "
              f"answer_probability={fitted.threshold} (on this set: {fitted.declined:.0%} of unanswerable "
              f"declined, {fitted.wrongly_declined:.1%} of answerable)")
    misses = rows[0].misses
    if args.misses:
        print(f"\nSanad's misses ({len(misses)}):" if misses else "\nSanad's misses: none")
        for m in misses:
            print(f"  {m['id']}: {m['q']}\n      expected: {m['expected'][:120]}  (rank {m.get('rank')})\n"
                  f"      first: {m['first'][:120]}")
    return 0


async def _semantic_for(snapshot: Snapshot, database: str) -> Semantic | None:
    """The model and the snapshot's vectors, embedding what the cache lacks (a bar on stderr); None without a model."""
    meaning = await Meaning.open(database, "wait")
    try:
        await meaning.serve(snapshot, progress=sys.stderr.isatty())
        return meaning.for_snapshot(snapshot)
    finally:
        await meaning.close()


def _table(rows) -> None:
    print(f"{'set-up':52} {'hit@1':>6} {'hit@3':>6} {'MRR@5':>6} {'declined':>9} {'wrongly declined':>17} "
          f"{'decline P/R':>12}")
    for r in rows:
        if "not installed" in r.name:
            print(f"{r.name:52}")
            continue
        print(f"{r.name:52} {r.hit1:6.3f} {r.hit3:6.3f} {r.mrr5:6.3f} {f'{r.declined}/{r.unanswerable}':>9} "
              f"{r.wrongly_declined:>17} {f'{r.decline_precision:.2f}/{r.decline_recall:.2f}':>12}")


def cmd_bench(argv: list[str]) -> int:
    from retrieval import bench

    return bench.main(argv) or 0


def cmd_serve(args: argparse.Namespace) -> int:
    from bot.app import main as serve_main

    return serve_main(webhook_url=args.webhook, port=args.port, set_webhook=not args.no_set_webhook) or 0


def _positive(value: str) -> int:
    """An argparse type: a whole number of at least 1 (the error names the option, not the top usage)."""
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a whole number") from None
    if number < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {number}")
    return number


def _port(value: str) -> int:
    """An argparse type: a TCP port, 1 to 65535."""
    number = _positive(value)
    if number > 65535:
        raise argparse.ArgumentTypeError(f"a port is at most 65535, got {number}")
    return number


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["bench"]:  # the bench has its own options
        return cmd_bench(argv[1:])
    parser = argparse.ArgumentParser(prog="sanad", description="Sanad: Arabic answers quoted from trusted sources.")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("ask", help="answer one question (or '-' for one per line on stdin)")
    p.add_argument("question")
    p.add_argument("--json", action="store_true", help="print JSON (JSON Lines with '-')")
    p.add_argument("--top", type=_positive, default=3, help="how many extracts (default 3)")
    p = sub.add_parser("chat", help="interactive questions in the terminal")
    p.add_argument("--top", type=_positive, default=3)
    sub.add_parser("index", help="(re)build the database from the corpus folder")
    p = sub.add_parser("add", help="add a file (.txt .jsonl .pdf .docx .html) or a web page's http(s) address")
    p.add_argument("source", metavar="PATH|URL")
    p.add_argument("--timeout", type=_positive, default=20, help="seconds to wait for a web page (default 20)")
    p = sub.add_parser("eval", help="score on a question file (.jsonl, or SQuAD .json) beside off-the-shelf set-ups")
    p.add_argument("file")
    p.add_argument("--compare", action="store_true", help="all four off-the-shelf set-ups, not only whitespace rank-bm25")
    p.add_argument("--ablations", action="store_true", help="also Sanad with one stage or feature switched off")
    p.add_argument("--holdout", type=float, default=0.0, metavar="SHARE",
                   help="SQuAD files: leave this share of the articles out (0.25: those at 3, 7, 11, ...)")
    p.add_argument("--calibrate", action="store_true", help="fit the decline model on this set and print it")
    p.add_argument("--misses", action="store_true", help="list the questions Sanad missed")
    p.add_argument("--json", action="store_true")
    sub.add_parser("bench", help="speed figures (see `sanad bench --help`)")
    p = sub.add_parser("serve", help="run the Telegram bot (long polling, or --webhook)")
    p.add_argument("--webhook", metavar="URL", help="public HTTPS URL Telegram should post updates to")
    p.add_argument("--port", type=_port, help="local port of the webhook server (default 8443)")
    p.add_argument("--no-set-webhook", action="store_true",
                   help="with --webhook: never register the webhook with Telegram (other replicas do)")
    args = parser.parse_args(argv)
    if args.command == "serve" and not args.webhook and (args.no_set_webhook or args.port):
        p.error("--port and --no-set-webhook only apply with --webhook URL")
    if args.command == "serve":
        return cmd_serve(args)
    handler = {"ask": cmd_ask, "chat": cmd_chat, "index": cmd_index, "add": cmd_add, "eval": cmd_eval}[args.command]
    try:
        return asyncio.run(handler(args))
    except (StoreError, SettingsError) as e:
        print(f"sanad: {e}", file=sys.stderr)
        return 2
    except ReloadError as e:
        print(f"sanad: {e.reason}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # `sanad eval ... | head`: the reader left, nothing more to say
        sys.stderr.close()
        return 0


if __name__ == "__main__":
    sys.exit(main())
