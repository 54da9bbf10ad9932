"""The corpus: documents read from a folder, cleaned of site boilerplate, cut into sentences.

A folder holds `.txt` articles (UTF-8; one paragraph per line), `.jsonl` archives (one
document per line: id, title, source, date, url, text), and real documents: PDF, Word (`.docx`) and
web pages (`.html`/`.htm`), read by `retrieval.documents`; their stored text is the extracted text,
one block per paragraph, and a PDF paragraph keeps its page. An optional `metadata.toml` beside the
articles gives a file's title, source, date and URL; what it does not give is read from the text
itself (a short first line is the title, the dateline names the agency, a footer gives the date).
Every sentence keeps its character offsets into the document text, which is the source text
as read, so an answer always quotes the source exactly.
"""

from __future__ import annotations

import hashlib
import json
import re
import time
import tomllib
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import TypeVar

from .documents import SUFFIXES as DOCUMENT_SUFFIXES
from .documents import DocumentError, Extracted, extract
from .segment import split_sentences

T = TypeVar("T")

__all__ = ["Document", "Paragraph", "Skipped", "LoadResult", "load_corpus", "read_jsonl", "record_id",
           "parse_article", "parse_extracted", "read_document", "decode_text", "fingerprint", "MAX_FILE_BYTES",
           "METADATA_FILE", "CORPUS_SUFFIXES"]

METADATA_FILE = "metadata.toml"
CORPUS_SUFFIXES = (".txt", ".jsonl", *DOCUMENT_SUFFIXES)
MAX_FILE_BYTES = 50 * 1024 * 1024  # a .txt article larger than this is skipped, not read into memory
MAX_ARCHIVE_BYTES = 8 * 1024 ** 3  # .jsonl archives are streamed line by line; this only stops the absurd


@dataclass(frozen=True, slots=True)
class Paragraph:
    """A content paragraph: its 1-based number in the document, its sentences' offsets, and its page
    (1-based, for documents that have pages: PDF)."""

    number: int
    start: int
    end: int
    sentences: tuple[tuple[int, int], ...]
    page: int | None = None


@dataclass(frozen=True, slots=True)
class Document:
    """One source document with its citation fields and its content paragraphs."""

    id: str
    file: str  # path relative to the corpus folder
    title: str
    source: str | None
    date: str | None
    url: str | None
    text: str  # the source text, verbatim; all offsets point into it
    paragraphs: Sequence[Paragraph] = ()  # a tuple, or lazily unpacked when read from the database


@dataclass(frozen=True, slots=True)
class Skipped:
    """A file (or line of a .jsonl file) left out of the corpus, and why."""

    file: str
    reason: str


@dataclass(slots=True)
class LoadResult:
    documents: list[Document] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)


# ---------------------------------------------------------------- boilerplate

_SEPARATOR = re.compile(r"^\s*[_\-–—=*•~]{3,}\s*$")
_EMAIL_NOTICE = re.compile(r"\[\s*email[\s\xa0]*protected\s*\]|\S+@\S+\.\w+", re.IGNORECASE)
_URLISH = re.compile(r"https?://|www\.|\b[\w-]+\.(?:com|net|org|kr|co|info|news|ae|sa|eg|ma|tv)\b", re.IGNORECASE)
_SENTENCE_END = re.compile(r"[.؟?!…][\"'”»)\]]*\s*$")
_ARABIC_LETTER = re.compile(r"[\u0621-\u064a]")
_LATIN_LETTER = re.compile(r"[A-Za-z]")
_END_MARK = re.compile(r"^\s*[(\[]?\s*(?:انتهى|النهاية|end)\s*[)\]]?\s*\.?\s*$", re.IGNORECASE)


def _words(line: str, most: int = 30) -> int:
    """Number of words, counted up to `most` + 1 (the rules only ask "is it short?")."""
    return len(line.split(None, most))


def _is_noise_line(line: str, arabic_document: bool) -> bool:
    """Lines that are never content wherever they stand: separators, e-mail notices, end marks, Latin UI."""
    s = line.strip()
    words = _words(s, 6)
    if words > 6:  # every rule below is about short lines; most lines are content
        return False
    if _SEPARATOR.match(s) or _END_MARK.match(s):
        return True
    if words <= 4 and _EMAIL_NOTICE.search(s):
        return True
    # "Exit mobile version", "Read more": site navigation in an Arabic article
    return arabic_document and not _ARABIC_LETTER.search(s) and bool(_LATIN_LETTER.search(s))


def _is_navigation(line: str) -> bool:
    """A short line with no sentence punctuation: a menu item, a heading, a label."""
    s = line.strip()
    return _words(s, 4) <= 4 and not _SENTENCE_END.search(s)


def _is_footer_line(line: str) -> bool:
    """At the foot of an article: lines that end no sentence, addresses, or a short closing question
    ("هل ترغب بالتعليق على الموضوع؟" invites comments; a news story does not end by asking)."""
    s = line.strip()
    return (not _SENTENCE_END.search(s) or bool(_URLISH.search(s))
            or (_words(s) <= 8 and s.rstrip("\"'”») ").endswith(("?", "؟"))))


@dataclass(slots=True)
class _Lines:
    """Non-empty lines of a text with their offsets."""

    spans: list[tuple[int, int]]

    @classmethod
    def of(cls, text: str) -> "_Lines":
        spans, pos = [], 0
        for raw in text.splitlines(keepends=True):
            a, b = pos, pos + len(raw.rstrip("\r\n"))
            while a < b and text[a].isspace():
                a += 1
            while b > a and text[b - 1].isspace():
                b -= 1
            if b > a:
                spans.append((a, b))
            pos += len(raw)
        return cls(spans)


@dataclass(slots=True)
class _Parsed:
    title: str | None
    title_span: tuple[int, int] | None
    content: list[tuple[int, int]]
    footer: list[str]


def _split_article(text: str, repeated: set[str] = frozenset()) -> _Parsed:
    """Separate a web article's title, content paragraphs and footer by general rules."""
    lines = _Lines.of(text).spans
    arabic = bool(_ARABIC_LETTER.search(text))
    kept = [(a, b) for a, b in lines
            if not _is_noise_line(text[a:b], arabic) and text[a:b].strip() not in repeated]
    # Everything after a separator line (___) is a footer: credits, related links.
    cut = next((i for i, (a, b) in enumerate(lines) if _SEPARATOR.match(text[a:b])), None)
    footer: list[str] = []
    if cut is not None:
        limit = lines[cut][0]
        footer = [text[a:b] for a, b in kept if a >= limit]
        kept = [(a, b) for a, b in kept if a < limit]
    # Trailing run of footer-like lines (disclaimers, "comment on this", site name, date stamp).
    while kept and _is_footer_line(text[kept[-1][0]:kept[-1][1]]):
        a, b = kept.pop()
        footer.insert(0, text[a:b])
    # Leading navigation (breadcrumbs such as "الرئيسية") before the title.
    leading = []
    while len(kept) > 1 and _words(text[kept[0][0]:kept[0][1]]) <= 2 and _is_navigation(text[kept[0][0]:kept[0][1]]):
        leading.append(kept.pop(0))
    title = title_span = None
    if kept and 3 <= _words(text[kept[0][0]:kept[0][1]]) <= 25 and not _SENTENCE_END.search(text[kept[0][0]:kept[0][1]]):
        title_span = kept.pop(0)
    elif leading:  # no longer title: the short line right above the story is its headline (أسعار النفط)
        title_span = leading[-1]
    if title_span is not None:
        title = text[title_span[0]:title_span[1]]
    # Navigation lines inside the body ("مقالات ذات صلة") and a paragraph repeated (a caption shown twice).
    content, seen = [], set()
    for a, b in kept:
        line = text[a:b]
        key = " ".join(line.split())
        if _is_navigation(line) or key in seen:
            continue
        seen.add(key)
        content.append((a, b))
    return _Parsed(title, title_span, content, footer)


# ---------------------------------------------------------------- metadata from the text

_AGENCIES = {
    "ap": "أسوشيتد برس (AP)", "أ ب": "أسوشيتد برس (AP)", "اسوشيتد برس": "أسوشيتد برس (AP)",
    "afp": "فرانس برس (AFP)", "أ ف ب": "فرانس برس (AFP)", "فرانس برس": "فرانس برس (AFP)",
    "رويترز": "رويترز", "reuters": "رويترز", "يونهاب": "يونهاب", "yonhap": "يونهاب",
    "واس": "واس", "وام": "وام", "قنا": "قنا", "كونا": "كونا", "سانا": "سانا", "بترا": "بترا",
    "د ب أ": "د ب أ (DPA)", "dpa": "د ب أ (DPA)", "شينخوا": "شينخوا", "xinhua": "شينخوا",
    "تاس": "تاس", "tass": "تاس", "كنا": "كنا", "kcna": "وكالة الأنباء المركزية الكورية",
}
# "سيول ، كوريا الجنوبية (AP) –", "سول – (رويترز):", "سيئول، 1 نوفمبر (يونهاب) —"
_DATELINE = re.compile(r"^[^()\n]{0,60}?\(\s*([^()\n]{1,25}?)\s*\)\s*[–—:-]")
_ISO_DATE = re.compile(r"\b(\d{4})-(\d{2})-(\d{2})\b")
_MONTHS = "يناير|فبراير|مارس|أبريل|ابريل|إبريل|مايو|يونيو|يوليو|أغسطس|اغسطس|سبتمبر|أكتوبر|اكتوبر|نوفمبر|ديسمبر"
_DATELINE_DATE = re.compile(rf"(\d{{1,2}}\s+(?:{_MONTHS})(?:\s+\d{{4}})?)")
_DOMAIN = re.compile(r"\b((?:[a-z0-9-]+\.)+(?:com|net|org|kr|co|info|news|ae|sa|eg|ma|tv))\b", re.IGNORECASE)
_URL = re.compile(r"https?://\S+")


def _agency(first_paragraph: str) -> tuple[str | None, str | None]:
    """The agency named in the dateline, and the dateline's date if it gives one."""
    m = _DATELINE.match(first_paragraph)
    if not m:
        return None, None
    name = " ".join(m.group(1).replace(".", " ").split())
    source = _AGENCIES.get(name.lower(), name if _words(name) <= 3 else None)
    d = _DATELINE_DATE.search(first_paragraph[: m.start(1)])
    return source, d.group(1) if d else None


def _footer_metadata(footer: list[str]) -> tuple[str | None, str | None]:
    """A date stamp and a site address from the lines removed at the foot."""
    date = url = None
    for line in footer:
        if date is None and (m := _ISO_DATE.search(line)):
            date = m.group(0)
        if url is None and (m := _URL.search(line) or _DOMAIN.search(line)):
            url = m.group(0) if m.group(0).startswith("http") else f"https://{m.group(0)}"
    return date, url


def _fallback_title(text: str, content: list[tuple[int, int]], fallback: str) -> str:
    """No title line: the first words of the first sentence after the dateline."""
    if not content:
        return fallback
    first = text[content[0][0]:content[0][1]]
    m = _DATELINE.match(first)
    body = first[m.end():] if m else first
    words = body.split()
    return " ".join(words[:12]) + ("…" if len(words) > 12 else "") if words else fallback


def parse_article(doc_id: str, file: str, text: str, meta: dict | None = None,
                  repeated: set[str] = frozenset()) -> Document:
    """Turn one article's text into a Document: boilerplate out, paragraphs and sentences in."""
    meta = meta or {}
    parsed = _split_article(text, repeated)
    paragraphs = []
    for number, (a, b) in enumerate(parsed.content, start=1):
        paragraphs.append(Paragraph(number, a, b, tuple(split_sentences(text, a, b))))
    source = dateline_date = None
    for a, b in parsed.content[:3]:  # a photo caption may stand before the dateline paragraph
        source, dateline_date = _agency(text[a:b])
        if source:
            break
    footer_date, footer_url = _footer_metadata(parsed.footer)
    return Document(
        id=doc_id,
        file=file,
        title=meta.get("title") or parsed.title or _fallback_title(text, parsed.content, doc_id),
        source=meta.get("source") or source,
        date=str(meta["date"]) if meta.get("date") else footer_date or dateline_date,
        url=meta.get("url") or footer_url,
        text=text,
        paragraphs=tuple(paragraphs),
    )


# ---------------------------------------------------------------- PDF, Word, web pages

def parse_extracted(doc_id: str, file: str, extracted: Extracted, meta: dict | None = None) -> Document:
    """A document read by `retrieval.documents` as a corpus Document: its blocks, one per paragraph and a
    blank line apart, are the stored text; headings and short labels stay in it but are not quoted."""
    meta = meta or {}
    text = "\n\n".join(b.text for b in extracted.blocks)
    paragraphs, at = [], 0
    for block in extracted.blocks:
        a, b = at, at + len(block.text)
        at = b + 2
        if block.heading or _is_navigation(block.text):
            continue
        if sentences := tuple(split_sentences(text, a, b)):
            paragraphs.append(Paragraph(len(paragraphs) + 1, a, b, sentences, block.page))
    spans = [(p.start, p.end) for p in paragraphs]
    return Document(
        id=doc_id,
        file=file,
        title=meta.get("title") or extracted.title or _fallback_title(text, spans, doc_id),
        source=meta.get("source") or extracted.source,
        date=str(meta["date"]) if meta.get("date") else extracted.date,
        url=meta.get("url") or extracted.url,
        text=text,
        paragraphs=tuple(paragraphs),
    )


def read_document(doc_id: str, rel: str, data: bytes, meta: dict | None = None, *,
                  digest: str | None = None) -> tuple[Document, tuple[str, ...]]:
    """A PDF, Word file or web page as a Document, with notes on what was left out (scanned pages).
    ValueError (DocumentError) with the reason when it cannot be read or holds no content.
    `digest`: the bytes' sha256 hex digest, when the caller has it already."""
    extracted = extract(rel, data, (meta or {}).get("url"), digest=digest)
    doc = parse_extracted(doc_id, rel, extracted, meta)
    if not doc.paragraphs:
        raise DocumentError("no content left after removing headings and labels")
    return doc, extracted.notes


# ---------------------------------------------------------------- reading a folder

def decode_text(data: bytes) -> str:
    """A corpus file's bytes as text; ValueError with the reason when they are binary or not UTF-8."""
    if b"\x00" in data:
        raise ValueError("binary file (contains NUL bytes), not UTF-8 text")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise ValueError(f"not UTF-8 text (byte {e.start})") from None


_READ_BLOCK = 4 << 20  # bytes per read() of an archive


def read_jsonl(path: Path, rel: str, result: LoadResult) -> None:
    """Read a .jsonl archive line by line (archives can be large); bad lines are skipped with their number.

    Read in large blocks: a reader that releases the GIL for a small read every few lines keeps
    resetting CPython's request to hand the GIL over, starving a serving event loop beside it."""
    with path.open("rb", buffering=_READ_BLOCK) as f:
        if b"\x00" in f.read(8192):
            raise ValueError("binary file (contains NUL bytes), not UTF-8 text")
        f.seek(0)
        for lineno, raw in enumerate(f, start=1):
            where = f"{rel}:{lineno}"
            try:
                line = raw.decode("utf-8-sig" if lineno == 1 else "utf-8")
            except UnicodeDecodeError:
                result.skipped.append(Skipped(where, "not UTF-8 text"))
                continue
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as e:
                result.skipped.append(Skipped(where, f"malformed JSON ({e.msg})"))
                continue
            if not isinstance(record, dict) or not isinstance(record.get("text"), str) or not record["text"].strip():
                result.skipped.append(Skipped(where, "no 'text' field with content"))
                continue
            doc_id = record_id(record, rel, lineno)
            meta = {k: str(record[k]) for k in ("title", "source", "date", "url") if record.get(k)}
            doc = parse_article(doc_id, rel, record["text"], meta)
            if not doc.paragraphs:
                result.skipped.append(Skipped(where, "no content left after removing boilerplate"))
                continue
            result.documents.append(doc)


def record_id(record: dict, rel: str, lineno: int) -> str:
    """The id of an archive record: its own `id`, else the archive's name and the record's line number.

    Lines are counted on "\n" only, as the loader splits them: U+2028 and U+0085 are legal inside JSON text."""
    return str(record.get("id") or f"{Path(rel).stem}-{lineno}")


def _metadata(folder: Path, result: LoadResult) -> dict[str, dict]:
    path = folder / METADATA_FILE
    if not path.exists():
        return {}
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
        result.skipped.append(Skipped(METADATA_FILE, f"unreadable metadata, ignored ({e})"))
        return {}
    return {name: entry for name, entry in data.items() if isinstance(entry, dict)}


def paced(items: Iterable[T], every: int = 64) -> Iterator[T]:
    """Yield the items, pausing 1 ms every `every` of them.

    A thread making many small system calls (a stat or a read per file) releases and retakes
    the GIL each time, which keeps resetting CPython's request to hand the GIL over: a serving
    event loop in the same process would wait until the whole folder is scanned. The pause
    lets it in."""
    for i, item in enumerate(items, start=1):
        yield item
        if i % every == 0:
            time.sleep(0.001)


def corpus_files(folder: Path) -> list[Path]:
    """The corpus files in a folder (recursively), in a stable order."""
    return sorted(p for p in paced(folder.rglob("*")) if p.suffix.lower() in CORPUS_SUFFIXES and p.is_file()
                  and not any(part.startswith(".") for part in p.relative_to(folder).parts))


def _repeated_lines(texts: list[str]) -> set[str]:
    """Short lines found in several articles are site furniture, not content."""
    if len(texts) < 3:
        return set()
    counts = Counter()
    for text in texts:
        counts.update({line.strip() for line in text.splitlines() if 0 < _words(line) <= 8})
    return {line for line, n in counts.items() if n >= max(3, len(texts) // 5)}


def load_corpus(folder: str | Path, *, max_file_bytes: int = MAX_FILE_BYTES) -> LoadResult:
    """Read every usable document in the folder; report each skipped file with its reason."""
    folder = Path(folder)
    result = LoadResult()
    if not folder.is_dir():
        result.skipped.append(Skipped(str(folder), "corpus folder missing or not a folder"))
        return result
    meta = _metadata(folder, result)
    texts: dict[Path, str] = {}
    seen_hashes: dict[str, str] = {}
    for path in paced(corpus_files(folder)):
        rel = path.relative_to(folder).as_posix()
        try:
            size = path.stat().st_size
            archive = path.suffix.lower() == ".jsonl"
            limit = MAX_ARCHIVE_BYTES if archive else max_file_bytes
            if size > limit:
                result.skipped.append(Skipped(rel, f"too large ({size} bytes, limit {limit})"))
                continue
            if archive:
                read_jsonl(path, rel, result)
                continue
            data = path.read_bytes()
            digest = hashlib.sha256(data).hexdigest()
            if digest in seen_hashes:
                result.skipped.append(Skipped(rel, f"duplicate of {seen_hashes[digest]}"))
                continue
            seen_hashes[digest] = rel
            if path.suffix.lower() in DOCUMENT_SUFFIXES:
                doc, notes = read_document(path.stem, rel, data, meta.get(rel) or meta.get(path.name), digest=digest)
                result.documents.append(doc)
                result.skipped += [Skipped(rel, note) for note in notes]
                continue
            texts[path] = decode_text(data)
        except (OSError, ValueError) as e:
            result.skipped.append(Skipped(rel, str(e) if isinstance(e, ValueError) else f"unreadable ({e.strerror})"))
    repeated = _repeated_lines(list(texts.values()))
    for path, text in texts.items():
        rel = path.relative_to(folder).as_posix()
        if not text.strip():
            result.skipped.append(Skipped(rel, "empty file"))
            continue
        doc = parse_article(path.stem, rel, text, meta.get(rel) or meta.get(path.name), repeated)
        if not doc.paragraphs:
            result.skipped.append(Skipped(rel, "no content left after removing boilerplate"))
            continue
        result.documents.append(doc)
    result.documents = _unique_ids(result.documents)
    return result


def _unique_ids(documents: list[Document]) -> list[Document]:
    """Ids must be unique: the first document (in file order) keeps its id, a later one that reuses it
    is qualified with its file name (and a number, should that clash too). Renaming only the newcomer
    keeps the original citable and removable under the id it always had."""
    seen = {d.id for d in documents}
    if len(seen) == len(documents):
        return documents
    out, taken = list(documents), set()
    for i in sorted(range(len(out)), key=lambda i: out[i].file):  # stable: a file's records keep their order
        d = out[i]
        if d.id in taken:
            new_id, n = f"{d.file}#{d.id}", 1
            while new_id in seen or new_id in taken:
                n += 1
                new_id = f"{d.file}#{d.id}#{n}"
            out[i] = d = _with_id(d, new_id)
        taken.add(d.id)
    return out


@lru_cache(maxsize=1)
def _indexing_code() -> bytes:
    """A digest of the modules and word lists that turn files into an index."""
    package = resources.files("retrieval")
    h = hashlib.sha256()
    for name in ("arabic.py", "segment.py", "corpus.py", "index.py", "snapshot.py"):
        h.update(package.joinpath(name).read_bytes())
    documents = package.joinpath("documents")
    for entry in sorted(documents.iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".py"):
            h.update(entry.name.encode() + b"\0" + entry.read_bytes())
    for entry in sorted(package.joinpath("data").iterdir(), key=lambda e: e.name):
        h.update(entry.name.encode() + b"\0" + entry.read_bytes())
    return h.digest()


def indexing_code() -> str:
    """The hex digest of the code and word lists that make an index: a stored index made by other code is
    rebuilt (its analysis of text, or its format, may differ from this code's)."""
    return _indexing_code().hex()


def _with_id(doc: Document, new_id: str) -> Document:
    return Document(new_id, doc.file, doc.title, doc.source, doc.date, doc.url, doc.text, doc.paragraphs)


def fingerprint(folder: str | Path) -> str:
    """A hash of the corpus folder's files (names, sizes, modification times) and of the code that
    indexes them: changes when any file does, and when a new version of Sanad analyses text
    differently (a stored index built by the old rules would no longer match its questions)."""
    folder = Path(folder)
    h = hashlib.sha256(_indexing_code())
    if folder.is_dir():
        paths = corpus_files(folder) + ([folder / METADATA_FILE] if (folder / METADATA_FILE).exists() else [])
        for path in paced(paths):
            try:
                st = path.stat()
            except OSError:
                continue
            h.update(f"{path.relative_to(folder).as_posix()}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
    return h.hexdigest()
