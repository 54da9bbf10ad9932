"""The engine: the served corpus snapshot, its database, and the operations adapters call.

`Engine.open` reuses the stored index when the corpus folder has not changed since it was
built, and builds it otherwise. `reload`, `add_file` and `remove_document` build a new snapshot
off the event loop, save it in one transaction, then swap it in with one assignment: questions
keep being answered from the old snapshot meanwhile, and a failed build leaves it serving.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import json
import logging
import multiprocessing
import os
import re
import socket
import sys
import tempfile
import time
import tomllib
from concurrent.futures import ProcessPoolExecutor
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from .answer import Answer, DocInfo, Policy, DEFAULT_POLICY, answer
from .embedjob import EmbeddingState, EmbeddingStatus
from .meaning import Meaning, Mode
from .vectors import Semantic
from .arabic import analyze
from .corpus import (CORPUS_SUFFIXES, DOCUMENT_SUFFIXES, METADATA_FILE, Document, LoadResult, corpus_files,
                     decode_text, fingerprint, indexing_code, load_corpus, paced, parse_article, read_document,
                     record_id)
from .fetch import FetchError, fetch
from .childproc import die_with_parent, idle_priority, parent_alive
from .index import Index
from . import mirror
from .snapshot import Snapshot
from .store import StaleBuild, Store, StoredCorpus, StoreError, VersionConflict

__all__ = ["Engine", "BuildReport", "CorpusInfo", "Context", "ReloadError", "RebuildBusy", "UploadError",
           "EmbeddingStatus", "EmbeddingState"]


log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class BuildReport:
    """What a build did: counts, skipped files with reasons, time taken."""

    documents: int
    paragraphs: int
    sentences: int
    skipped: tuple[tuple[str, str], ...]
    seconds: float
    reused: bool = False  # the stored index was reused, nothing was rebuilt
    warning: str | None = None  # e.g. the database could not be written (the corpus still serves from memory)


@dataclass(frozen=True, slots=True)
class CorpusInfo:
    documents: int
    paragraphs: int
    sentences: int
    built_at: datetime
    corpus_dir: str
    version: int = 0  # the stored corpus version served (replicas in step serve the same one)


@dataclass(frozen=True, slots=True)
class Context:
    """The paragraph around an extract, and where the extract stands in it."""

    doc: DocInfo
    paragraph: int
    text: str
    highlight: tuple[int, int]
    page: int | None = None  # the PDF page of the paragraph


class ReloadError(Exception):
    """A build that produced nothing usable; the previous corpus keeps serving."""

    def __init__(self, reason: str, report: BuildReport | None = None):
        super().__init__(reason)
        self.reason = reason
        self.report = report

    def __reduce__(self):  # crosses back from the child process that built it, report included
        return ReloadError, (self.reason, self.report)


class RebuildBusy(ReloadError):
    """Another process (a replica, `sanad add`) is rebuilding this corpus now; nothing was changed here."""

    def __init__(self, reason: str = "another process is rebuilding the corpus now; try again when it is done"):
        super().__init__(reason)

    def __reduce__(self):
        return RebuildBusy, (self.reason,)


class UploadError(Exception):
    """An uploaded file that cannot join the corpus; `reason` says why in plain words."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


_SAFE_NAME = re.compile(r"^[\w\u0600-\u06ff][\w\u0600-\u06ff .()-]{0,99}$")
_RESERVED = {"con", "prn", "aux", "nul", *(f"com{i}" for i in range(10)), *(f"lpt{i}" for i in range(10))}


def safe_filename(name: str) -> str:
    """Check an uploaded file's name: a plain name of a format the corpus reads, inside the corpus folder."""
    if not name or "\x00" in name or "/" in name or "\\" in name or name in (".", ".."):
        raise UploadError("file name must be a plain name, without folders")
    suffix = Path(name).suffix.lower()
    if suffix not in CORPUS_SUFFIXES:
        raise UploadError("only .txt, .jsonl, .pdf, .docx, .html and .htm files can be added")
    if not _SAFE_NAME.match(name) or ".." in name:
        raise UploadError("file name may hold only letters, digits, spaces and . _ - ( )")
    if Path(name).stem.lower().split(".")[0] in _RESERVED:
        raise UploadError("reserved file name")
    return name


UPLOAD_TMP_GLOB = ".upload-*.tmp"
STALE_UPLOAD_SECONDS = 300  # an upload is written in one go; a temporary file this old was left by a crash


def _remove_stale_uploads(folder: Path) -> None:
    """Delete the temporary files of uploads interrupted by a crash (younger ones may be another
    instance's upload in progress)."""
    cutoff = time.time() - STALE_UPLOAD_SECONDS
    for path in folder.glob(UPLOAD_TMP_GLOB) if folder.is_dir() else ():
        with contextlib.suppress(OSError):
            if path.stat().st_mtime < cutoff:
                path.unlink()


def _write_atomically(path: Path, data: bytes) -> None:
    """Write to a temporary file, fsync, rename: the file is then either whole or absent."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".upload-", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


class Engine:
    """Answers questions from the current snapshot; reloads it safely. Open with `await Engine.open(...)`."""

    def __init__(self, store: Store, corpus_dir: Path, snapshot: Snapshot, report: BuildReport,
                 policy: Policy = DEFAULT_POLICY, *, version: int = 0, key_file: Path | None = None):
        self.store = store
        self.corpus_dir = corpus_dir
        self.policy = policy
        self.last_report = report
        self.version = version  # the stored corpus version this snapshot is (0: not saved)
        self._unservable: int | None = None  # a stored version that failed to load (not retried)
        self.key_file = key_file
        self._snapshot = snapshot
        self._lock = asyncio.Lock()  # one build (or catching up with another process's) at a time
        self.meaning: Meaning | None = None  # the model and vectors (None: words alone)

    @classmethod
    async def open(cls, database: str | Path, corpus_dir: str | Path, *, rebuild: bool = False,
                   progress: bool = False, vectors: Mode = "off", key_file: Path | None = None) -> "Engine":
        """Open the database (a SQLite file or a `postgresql://` URL; `key_file`: see Store.open); reuse its
        index if the corpus folder is unchanged, else build one; then make the sentence vectors as `vectors`
        says (retrieval/meaning.py).

        A shared (PostgreSQL) store's corpus is served as it is, and this corpus folder is made its mirror
        (retrieval/mirror.py): a replica never replaces the corpus other replicas serve just by starting.
        `rebuild=True` (`sanad index`) publishes this folder instead."""
        engine = await cls._open(database, corpus_dir, rebuild=rebuild, progress=progress, key_file=key_file)
        try:
            engine.meaning = await Meaning.open(engine.store.target, vectors)
            await engine.meaning.serve(engine._snapshot, progress=progress)
        except BaseException:
            await engine.close()
            raise
        return engine

    @classmethod
    async def _open(cls, database: str | Path, corpus_dir: str | Path, *, rebuild: bool, progress: bool,
                    key_file: Path | None) -> "Engine":
        corpus_dir = Path(corpus_dir).resolve()
        await asyncio.to_thread(_remove_stale_uploads, corpus_dir)
        store = await Store.open(database, key_file=key_file)
        try:
            with _quiet_build():  # start-up builds or loads a large snapshot too
                if store.shared and not rebuild:
                    snapshot, report, version = await _open_replica(store, corpus_dir, progress)
                else:
                    snapshot, report, version = await _open_folder(store, corpus_dir, progress, rebuild)
                return cls(store, corpus_dir, snapshot, report, version=version, key_file=key_file)
        except BaseException:
            await store.close()
            raise

    async def close(self) -> None:
        """Stop any background embedding, then close the database."""
        if self.meaning is not None:
            await self.meaning.close()
        await self.store.close()

    @property
    def semantic(self) -> Semantic | None:
        """The served snapshot's sentence vectors with the model, once every sentence has one."""
        return self.meaning.for_snapshot(self._snapshot) if self.meaning is not None else None

    def embedding_status(self) -> EmbeddingStatus:
        """How far the served snapshot's vectors are (for /about and `sanad index`)."""
        return self.meaning.status() if self.meaning is not None else EmbeddingStatus(EmbeddingState.OFF)

    @property
    def snapshot(self) -> Snapshot:
        return self._snapshot

    def ask(self, question: str, *, top: int = 3, offset: int = 0) -> Answer:
        """Answer from the current snapshot (CPU only, fast enough to call on the event loop)."""
        return answer(self._snapshot, question, top=top, offset=offset, policy=self.policy, semantic=self.semantic)

    def context(self, position: int) -> Context | None:
        """The whole paragraph around the sentence at `position`; None if there is no such sentence."""
        snapshot = self._snapshot
        if not 0 <= position < len(snapshot):
            return None
        loc = snapshot.locate(position)
        p = loc.doc.paragraphs[loc.paragraph_index]
        d = loc.doc
        return Context(DocInfo.of(d), loc.paragraph,
                       d.text[p.start:p.end], (loc.start - p.start, loc.end - p.start), p.page)

    def source_text(self, doc_id: str) -> tuple[str, str] | None:
        """A document's file and its stored text (for a PDF, Word file or web page: the extracted text the
        quotes come from), so an admin can read back what was indexed; None when there is no such id."""
        doc = next((d for d in self._snapshot.documents if d.id == doc_id), None)
        return None if doc is None else (doc.file, doc.text)

    def info(self) -> CorpusInfo:
        s = self._snapshot
        return CorpusInfo(len(s.documents), s.paragraph_count, len(s), s.built_at, str(self.corpus_dir), self.version)

    async def reload(self) -> BuildReport:
        """Rebuild from the corpus folder and swap atomically; ReloadError keeps the old corpus
        (RebuildBusy: another process is rebuilding it now)."""
        async with self._exclusive():
            return await self._rebuild_and_swap()

    @contextlib.asynccontextmanager
    async def _exclusive(self):
        """The right to change the corpus: this process's lock, then the store's lock across processes
        (replicas, `sanad add`), then the newest stored corpus served and mirrored, so that a change made
        here starts from every change made elsewhere."""
        async with self._lock:
            async with self.store.try_lock("rebuild") as got:
                if not got:
                    raise RebuildBusy()
                await self._catch_up()
                yield

    async def refresh(self) -> bool:
        """Serve the corpus another process saved since this one was served, if any (a cheap version read
        when nothing changed); True when it changed. Skipped while this process builds one itself."""
        if self._lock.locked() or await self.store.corpus_version() in (self.version, self._unservable):
            return False
        async with self._lock:
            return await self._catch_up()

    async def follow(self, poll_seconds: float | None = None) -> None:
        """Until cancelled, serve each corpus version another process saves: at its notice on PostgreSQL
        (with a poll every 30 s for a notice lost meanwhile), by a version read every second on SQLite."""
        poll = poll_seconds if poll_seconds is not None else (30.0 if self.store.shared else 1.0)
        while True:
            await self.store.wait_for_change(poll)
            try:
                await self.refresh()
            except Exception as e:  # noqa: BLE001 - the next version is tried; this one is not loaded again
                log.warning("could not serve corpus version %s saved by another process: %s", self._unservable,
                            getattr(e, "reason", e))

    async def _catch_up(self) -> bool:
        """Serve the stored corpus if it is newer than the one served (from a shared store, after making the
        corpus folder mirror its files); the caller holds the lock. A version that cannot be served is
        remembered and not tried again (the next one is)."""
        version = await self.store.corpus_version()
        if version == self.version:
            return False
        try:
            with _quiet_build():
                stored = await self.store.load_corpus()
                if stored is None or stored.version == self.version:
                    return False
                if self.store.shared:
                    await _mirror(self.store, self.corpus_dir)
                snapshot, report = await _reuse(stored)
                self.version = stored.version
                await self._swap(snapshot, report)
            log.info("now serving corpus version %s, saved by another process (%s)", stored.version, stored.built_by)
        except Exception:
            self._unservable = version
            raise
        return True

    async def _rebuild_and_swap(self) -> BuildReport:
        """Rebuild (ReloadError keeps the old corpus serving) and serve the result; the caller holds the lock."""
        with _quiet_build():
            snapshot, report, version = await self._rebuild()
            self.version = version or self.version
            await self._swap(snapshot, report)
        return report

    async def _swap(self, snapshot: Snapshot, report: BuildReport) -> None:
        """Serve the new snapshot (one assignment: atomic for every question), then free the old one a
        slice at a time between questions. Freed at once, a large corpus's millions of objects would
        hold the loop for a tenth of a second; freed in a thread, that thread's grip on the GIL would
        slow every question meanwhile."""
        old, self._snapshot, self.last_report = self._snapshot, snapshot, report
        if self.meaning is not None:  # the old vectors index the old positions: never used again
            await self.meaning.serve(snapshot)
        documents, old.documents = list(old.documents), ()
        del old
        while documents:
            del documents[-500:]
            await asyncio.sleep(0)

    async def _rebuild(self) -> tuple[Snapshot, BuildReport, int]:
        """Build and save a new snapshot without stalling the serving loop: small corpora in a thread
        (milliseconds), large ones in a child process, since a thread building a big index holds the
        GIL long enough to delay answers by hundreds of milliseconds."""
        # Sizing the folder stats every file: thousands of them would hold the loop, so in a thread too.
        if await asyncio.to_thread(_corpus_bytes, self.corpus_dir) < CHILD_PROCESS_BYTES:
            return await _build_and_save(self.store, self.corpus_dir, False, self.version)
        report = await _build_in_child(self.store.target, self.key_file, self.corpus_dir, self.version)
        if report.warning:  # the child could not save it: build it here and serve it from memory
            return await _build_and_save(self.store, self.corpus_dir, False, self.version)
        stored = await self.store.load_corpus()
        return await asyncio.to_thread(_from_stored, stored), report, stored.version

    async def add_file(self, filename: str, data: bytes, *, max_bytes: int, url: str | None = None) -> BuildReport:
        """Validate an uploaded file (text, archive, PDF, Word, web page), write it atomically into the corpus
        folder, reload. `url`: where it was fetched from, kept in metadata.toml as its citation's link."""
        name = safe_filename(filename)
        if len(data) > max_bytes:
            raise UploadError(f"file too large ({len(data)} bytes, limit {max_bytes})")
        ids = await asyncio.to_thread(_check_upload, name, data, url)  # parsing a 2 MB upload would hold the loop
        meta_path = self.corpus_dir / METADATA_FILE
        meta_before: list[bytes | None] = []

        def new_file(previous: bytes | None) -> bytes:  # checked again under the lock, where the file is written
            if previous is not None:
                raise _name_taken(name)
            if url:  # the address first: a document is never served without its link
                meta_before.append(meta_path.read_bytes() if meta_path.exists() else None)
                _put(meta_path, (meta_before[0] or b"") + _metadata_entry(name, {"url": url}))
            return data

        async with self._exclusive():  # checked against the newest corpus, whichever process saved it
            taken = {d.id: d.file for d in self._snapshot.documents}
            if name in taken.values() or (self.corpus_dir / name).exists():
                raise _name_taken(name)
            if clash := next((i for i in ids if i in taken), None):
                raise UploadError(f"document id {clash} is already used by {taken[clash]}: give it another id")
            try:
                return await self._change_file(self.corpus_dir / name, new_file)
            except ReloadError:
                if meta_before:
                    await asyncio.to_thread(_put, meta_path, meta_before[0])
                raise

    async def add_url(self, url: str, *, max_bytes: int, timeout: float = 20.0) -> tuple[str, BuildReport]:
        """Fetch a web page (or PDF, Word file) and add it as `add_file` does, under a free name made from
        its address; returns the name. UploadError says why when it cannot be fetched or read."""
        try:
            fetched = await asyncio.to_thread(fetch, url, max_bytes=max_bytes, timeout=timeout)
        except FetchError as e:
            raise UploadError(e.reason) from None
        name = _free_name(self.corpus_dir, fetched.name, {d.file for d in self._snapshot.documents})
        return name, await self.add_file(name, fetched.data, max_bytes=max_bytes, url=fetched.url)

    async def remove_document(self, doc_id: str) -> BuildReport:
        """Take exactly this document out of the corpus folder (its file, or its record in a .jsonl) and reload.

        KeyError: no such document. ReloadError: its record cannot be found (nothing was removed)."""
        async with self._exclusive():  # a document another process added is found too
            doc = next((d for d in self._snapshot.documents if d.id == doc_id), None)
            if doc is None:
                raise KeyError(doc_id)
            path = self.corpus_dir / doc.file

            def without(previous: bytes | None) -> bytes | None:
                if path.suffix.lower() != ".jsonl" or previous is None:
                    return None
                return _without_record(previous, doc)

            return await self._change_file(path, without)

    async def _change_file(self, path: Path, change: Callable[[bytes | None], bytes | None]) -> BuildReport:
        """Give one corpus file new content (None: delete it) and rebuild; a failed rebuild puts it back.
        The caller holds the right to change the corpus (`_exclusive`)."""
        def read_and_change() -> bytes | None:  # in a thread: a .jsonl archive can be large
            previous = path.read_bytes() if path.exists() else None
            _put(path, change(previous))
            return previous

        previous = await asyncio.to_thread(read_and_change)
        try:
            return await self._rebuild_and_swap()
        except ReloadError:
            await asyncio.to_thread(_put, path, previous)
            raise


def _name_taken(name: str) -> UploadError:
    """Never replace an article silently: it would be cited under the old file's metadata."""
    return UploadError(f"a file named {name} is already in the corpus: /remove its documents first, "
                       "or upload it under another name")


def _check_upload(name: str, data: bytes, url: str | None) -> list[str]:
    """Refuse an upload that cannot be read or has no usable content; return the ids it would add."""
    if Path(name).suffix.lower() in DOCUMENT_SUFFIXES:
        try:
            read_document(Path(name).stem, name, data, {"url": url} if url else None)
        except ValueError as e:
            raise UploadError(str(e)) from None
        return [Path(name).stem]
    try:
        text = decode_text(data)
    except ValueError as e:
        raise UploadError(str(e)) from None
    return _check_content(name, text)


def _metadata_entry(name: str, fields: dict[str, str]) -> bytes:
    """A metadata.toml table for one file (JSON's string escapes are valid TOML basic strings)."""
    lines = [f"\n[{json.dumps(name, ensure_ascii=False)}]"]
    lines += [f"{key} = {json.dumps(value, ensure_ascii=False)}" for key, value in fields.items()]
    return ("\n".join(lines) + "\n").encode()


def _free_name(folder: Path, name: str, taken: set[str]) -> str:
    """`name`, or `name (2)`, `name (3)`...: the first that no file, document or metadata entry uses."""
    stem, suffix = Path(name).stem, Path(name).suffix
    listed = _metadata_names(folder)
    candidate, n = name, 1
    while candidate in taken or candidate in listed or (folder / candidate).exists():
        n += 1
        candidate = f"{stem} ({n}){suffix}"
    return candidate


def _metadata_names(folder: Path) -> set[str]:
    """The file names metadata.toml has a table for (none when it is missing or unreadable)."""
    try:
        return set(tomllib.loads((folder / METADATA_FILE).read_text(encoding="utf-8")))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return set()


def _check_content(name: str, text: str) -> list[str]:
    """Refuse an upload with no usable content; return the ids of the documents it would add."""
    if not text.strip():
        raise UploadError("empty file")
    if not name.lower().endswith(".jsonl"):
        if not parse_article("upload", name, text).paragraphs:
            raise UploadError("no content left after removing boilerplate")
        return [Path(name).stem]
    ids: list[str] = []
    for lineno, line in enumerate(text.split("\n"), 1):  # as the loader splits: U+2028 is legal inside JSON
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            raise UploadError(f"line {lineno} is not valid JSON") from None
        if not isinstance(record, dict) or not isinstance(record.get("text"), str):
            raise UploadError(f"line {lineno} has no 'text' field")
        doc_id = record_id(record, name, lineno)
        if doc_id in ids:
            raise UploadError(f"line {lineno} reuses the id {doc_id} of an earlier line")
        ids.append(doc_id)
    if not ids:
        raise UploadError("no documents in the file")
    return ids


def _without_record(archive: bytes, doc: Document) -> bytes:
    """The archive with the one record that became `doc` blanked out. Lines are split on "\n" only, as the
    loader splits them, and every other line is kept byte for byte; the line stays (empty) so that later
    records without an id keep the line-numbered ids they are known by."""
    lines = archive.split(b"\n")
    for i, raw in enumerate(lines):
        try:
            record = json.loads(raw.decode("utf-8-sig" if i == 0 else "utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError):
            continue
        if not isinstance(record, dict) or record.get("text") != doc.text:
            continue
        rid = record_id(record, doc.file, i + 1)
        if doc.id == rid or doc.id == f"{doc.file}#{rid}" or doc.id.startswith(f"{doc.file}#{rid}#"):
            lines[i] = b""
            return b"\n".join(lines)
    raise ReloadError(f"the record of {doc.id} is no longer in {doc.file} (the file changed since the last "
                      "build); nothing was removed: /reload, then try again")


def _put(path: Path, data: bytes | None) -> None:
    """Write a corpus file atomically, or delete it when `data` is None."""
    if data is None:
        path.unlink(missing_ok=True)
    else:
        _write_atomically(path, data)


CHILD_PROCESS_BYTES = 20 * 1024 * 1024  # corpora larger than this are rebuilt in a child process


@contextlib.contextmanager
def _quiet_build():
    """Keep a build in this process from stalling the questions answered beside it.

    The cyclic collector would answer a build's millions of new objects by scanning the whole heap
    while holding the GIL (pauses of 100-250 ms): it rests during the build, and what survives (the
    snapshot, kept until the next reload; snapshots hold no reference cycles) is frozen out of later
    scans. And a thread busy in Python code keeps the GIL for a whole switch interval each time a
    question's numpy call lets it go: a shorter interval meanwhile hands it back sooner."""
    enabled, interval = gc.isenabled(), sys.getswitchinterval()
    gc.disable()
    sys.setswitchinterval(0.0005)
    try:
        yield
    finally:
        sys.setswitchinterval(interval)
        gc.freeze()
        if enabled:
            gc.enable()


def _corpus_bytes(folder: Path) -> int:
    return sum(_size(p) for p in paced(corpus_files(folder))) if folder.is_dir() else 0


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:  # removed meanwhile: the build reports what it finds
        return 0


async def _build_in_child(database: str, key_file: Path | None, corpus_dir: Path, expected: int) -> BuildReport:
    """Build and save in a fresh process (spawned: safe beside the serving threads) that dies with this one
    and never commits once this one is gone."""
    pool = ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn"), initializer=die_with_parent,
                               initargs=(os.getpid(),))
    try:
        return await asyncio.get_running_loop().run_in_executor(pool, _child_build, database, key_file,
                                                                 str(corpus_dir), os.getpid(), expected)
    finally:
        pool.shutdown(wait=False)


def _child_build(database: str, key_file: Path | None, corpus_dir: str, parent_pid: int,
                 expected: int | None = None) -> BuildReport:
    idle_priority()  # a background rebuild runs on CPU time the answering process leaves idle
    async def run() -> BuildReport:
        store = await Store.open(database, key_file=key_file, serving=False)
        try:
            return (await _build_and_save(store, Path(corpus_dir), False, expected,
                                          still_wanted=lambda: parent_alive(parent_pid)))[1]
        finally:
            await store.close()
    return asyncio.run(run())


async def _reuse(stored: StoredCorpus) -> tuple[Snapshot, BuildReport]:
    """Serve the stored corpus as it is (loaded in a thread), with a report saying nothing was rebuilt;
    StoreError when the stored index is damaged."""
    t0 = time.perf_counter()
    try:
        snapshot = await asyncio.to_thread(_from_stored, stored)
    except Exception as e:  # BadZipFile, ValueError, ...: whatever a damaged blob makes numpy or zipfile say
        raise StoreError(f"the index stored in the database is damaged ({e.__class__.__name__}: {e}): run "
                         "`sanad index` to rebuild it; your question log is kept") from e
    return snapshot, BuildReport(len(snapshot.documents), snapshot.paragraph_count, len(snapshot), (),
                                 time.perf_counter() - t0, reused=True)


def _from_stored(stored: StoredCorpus) -> Snapshot:
    return Snapshot(stored.documents, Index.from_bytes(stored.index_data, analyze), stored.built_at,
                    stored.fingerprint, stored.corpus_dir, table=stored.sentence_table)


def _build(corpus_dir: Path, progress: bool, with_files: bool) -> tuple[Snapshot, LoadResult, str, float, list | None]:
    t0 = time.perf_counter()
    fp = fingerprint(corpus_dir)
    files = mirror.folder_files(corpus_dir) if with_files else None  # a shared store keeps them, for replicas
    loaded = load_corpus(corpus_dir)
    if not loaded.documents:
        reasons = ("; ".join(f"{s.file}: {s.reason}" for s in loaded.skipped[:5])
                   or "no .txt, .jsonl, .pdf, .docx or .html files")
        raise ReloadError(f"no usable documents in {corpus_dir} ({reasons})",
                          BuildReport(0, 0, 0, tuple((s.file, s.reason) for s in loaded.skipped),
                                      time.perf_counter() - t0))
    snapshot = Snapshot.build(loaded.documents, fingerprint=fp, corpus_dir=str(corpus_dir), progress=progress)
    return snapshot, loaded, fp, t0, files


def _builder(corpus_dir: Path) -> str:
    """Who built a stored corpus (for the log and the operator): this host and folder."""
    return f"{socket.gethostname()}:{corpus_dir}"


LOCK_WAIT_SECONDS = 600.0  # a replica starting while another builds waits this long for it


@contextlib.asynccontextmanager
async def _waiting_lock(store: Store):
    """The rebuild lock, waited for (a process starting while another builds the corpus serves that one
    afterwards); RebuildBusy if it is still held after LOCK_WAIT_SECONDS."""
    loop = asyncio.get_running_loop()
    deadline, said = loop.time() + LOCK_WAIT_SECONDS, False
    while True:
        async with store.try_lock("rebuild") as got:
            if got:
                yield
                return
        if loop.time() > deadline:
            raise RebuildBusy()
        if not said:
            log.info("another process is building the corpus; waiting for it")
            said = True
        await asyncio.sleep(0.25)


async def _open_folder(store: Store, corpus_dir: Path, progress: bool,
                       rebuild: bool) -> tuple[Snapshot, BuildReport, int]:
    """The corpus folder is the source (SQLite, or `sanad index`): reuse the stored index if it was built
    from this folder as it is now, by this code; else build from the folder and save."""
    def current(stored: StoredCorpus | None) -> bool:
        return bool(stored) and not rebuild and stored.corpus_dir == str(corpus_dir) \
            and stored.fingerprint == fingerprint(corpus_dir)

    stored, damaged = await store.load_corpus(), None
    if current(stored):
        try:
            return (*await _reuse(stored), stored.version)
        except StoreError as e:  # rebuild it from the folder below; the question log stays
            log.warning("%s; rebuilding it from %s", e, corpus_dir)
            damaged = e
    try:
        async with _waiting_lock(store):
            if not damaged and current(again := await store.load_corpus()):  # built meanwhile by another process
                return (*await _reuse(again), again.version)
            return await _build_and_save(store, corpus_dir, progress, await store.corpus_version())
    except ReloadError:
        if damaged:
            raise damaged from None
        if not stored or rebuild:  # an explicit rebuild must say it failed
            raise
        # The folder is unusable now, but the database still holds a corpus: serve it.
        return (*await _reuse(stored), stored.version)


async def _open_replica(store: Store, corpus_dir: Path, progress: bool) -> tuple[Snapshot, BuildReport, int]:
    """A shared store is the source: serve its corpus, with this folder made its mirror. Its index is rebuilt
    here (from the mirrored files, under the lock) only when this code indexes differently or it cannot be
    read; an empty store gets this folder's corpus, once, whichever replica starts first."""
    stored = await store.load_corpus()
    if stored is not None and (served := await _serve_mirrored(store, corpus_dir, stored)):
        return served
    async with _waiting_lock(store):
        again = await store.load_corpus()  # another replica may have built it while this one waited
        if again is not None and (stored is None or again.version != stored.version) \
                and (served := await _serve_mirrored(store, corpus_dir, again)):
            return served
        return await _build_and_save(store, corpus_dir, progress, again.version if again else 0)


async def _serve_mirrored(store: Store, corpus_dir: Path,
                          stored: StoredCorpus) -> tuple[Snapshot, BuildReport, int] | None:
    """Mirror the stored corpus into the folder and serve its index; None when the index must be rebuilt
    (made by other indexing code, or damaged), from the files now mirrored."""
    await _mirror(store, corpus_dir)
    if stored.code != indexing_code():
        log.info("the stored corpus (version %s) was indexed by another Sanad: rebuilding it", stored.version)
        return None
    try:
        return (*await _reuse(stored), stored.version)
    except StoreError as e:
        log.warning("%s; rebuilding it from the stored files", e)
        return None


async def _mirror(store: Store, corpus_dir: Path) -> None:
    """Make the corpus folder hold the stored corpus files (retrieval/mirror.py); ReloadError if it cannot."""
    try:
        plan = await asyncio.to_thread(mirror.plan, corpus_dir, await store.stored_files())
        if not plan:
            return
        data: dict[str, bytes] = {}
        for f in plan.write:
            if (blob := await store.file_data(f.name)) is None:  # saved over meanwhile: the next catch-up copies it
                raise ReloadError(f"cannot copy the stored corpus files into {corpus_dir} ({f.name} changed "
                                  "while it was copied)")
            data[f.name] = blob
        await asyncio.to_thread(corpus_dir.mkdir, parents=True, exist_ok=True)
        await asyncio.to_thread(mirror.apply, corpus_dir, plan, data)
    except OSError as e:
        raise ReloadError(f"cannot copy the stored corpus files into {corpus_dir} ({e})") from e
    log.info("corpus folder %s now mirrors the stored corpus (%d files written)", corpus_dir, len(plan.write))
    if plan.aside:  # an operator's unpublished files: said where they went (publish a folder with sanad index)
        log.warning("moved %d file(s) the shared corpus does not hold out of %s into %s/ (%s); publish a folder "
                    "with `sanad index`", len(plan.aside), corpus_dir, mirror.ASIDE,
                    ", ".join(p.name for p in plan.aside[:5]))


async def _build_and_save(store: Store, corpus_dir: Path, progress: bool, expected: int | None = None,
                          still_wanted: Callable[[], bool] | None = None) -> tuple[Snapshot, BuildReport, int]:
    """Build a snapshot in a worker thread, then save it in one transaction (unless another process saved a
    corpus since version `expected`, or `still_wanted` says, right before the commit, that nobody waits for
    it any more); also returns its stored version.

    On a SQLite file that cannot be written the new corpus is served from memory (version 0, and the
    report's warning says so). A shared store's replicas must serve one corpus: there, a failed save is a
    ReloadError, and the previous corpus keeps serving."""
    snapshot, loaded, fp, t0, files = await asyncio.to_thread(_build, corpus_dir, progress, store.shared)
    warning, version = None, 0
    try:
        blob = await asyncio.to_thread(snapshot.index.to_bytes)
        saved = await store.save_corpus(fp, str(corpus_dir), list(snapshot.documents), blob, snapshot.table_bytes(),
                                        files=files, built_by=_builder(corpus_dir), code=indexing_code(),
                                        expected_version=expected, still_wanted=still_wanted)
        snapshot.built_at, version = saved.built_at, saved.version
    except StaleBuild:
        raise
    except VersionConflict as e:
        raise ReloadError(f"the corpus changed in another process meanwhile ({e}): try again") from None
    except Exception as e:  # a read-only or full disk: the new corpus serves from memory, and we say so
        if store.shared:
            raise ReloadError(f"the database could not be written ({e}); nothing was changed") from e
        warning = f"the database could not be written ({e}); the corpus is served from memory only"
    report = BuildReport(len(snapshot.documents), snapshot.paragraph_count, len(snapshot),
                         tuple((s.file, s.reason) for s in loaded.skipped), time.perf_counter() - t0,
                         warning=warning)
    return snapshot, report, version
