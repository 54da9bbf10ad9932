"""Answers into Telegram HTML: markup built from structured pieces, escaped, split at 4096."""

from __future__ import annotations

import bisect
import html
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from itertools import count
from typing import TYPE_CHECKING, Union
from urllib.parse import urlsplit

if TYPE_CHECKING:
    from retrieval import Answer, Context, Extract

MESSAGE_LIMIT = 4096
QUESTION_ECHO_LIMIT = 300

Piece = Union[str, "Span"]


@dataclass(frozen=True)
class Span:
    """A formatted stretch of text: a Telegram HTML tag around its children."""

    tag: str
    children: tuple[Piece, ...]
    href: str | None = None

    def open(self) -> str:
        """The opening tag, attributes escaped."""
        if self.tag == "a":
            return f'<a href="{html.escape(self.href or "", quote=True)}">'
        return f"<{self.tag}>"

    def close(self) -> str:
        """The closing tag."""
        return f"</{self.tag}>"


def bold(*children: Piece) -> Span:
    """Bold text."""
    return Span("b", children)


def italic(*children: Piece) -> Span:
    """Italic text."""
    return Span("i", children)


def code(*children: Piece) -> Span:
    """Monospace text."""
    return Span("code", children)


def quote(*children: Piece) -> Span:
    """A block quotation."""
    return Span("blockquote", children)


def link(url: str | None, *children: Piece) -> Piece:
    """A link when the URL is a safe http(s) URL, otherwise the bare children."""
    href = safe_url(url)
    if href is None:
        return Span("", children)
    return Span("a", children, href)


# ---------------------------------------------------------------------------
# Text hygiene

_UNSAFE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f\ud800-\udfff\ufffe\uffff]")


def clean(text: str) -> str:
    """Drop characters Telegram or UTF-8 cannot carry (controls, lone surrogates)."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return _UNSAFE.sub("", text)


def utf16_len(text: str) -> int:
    """Length as Telegram counts it: UTF-16 code units."""
    return len(text.encode("utf-16-le", errors="surrogatepass")) // 2


def safe_url(url: str | None) -> str | None:
    """Return the URL if it is a plain http(s) URL Telegram will accept, else None."""
    if not url or len(url) > 2048:
        return None
    url = url.strip()
    if any(ch.isspace() or ord(ch) < 32 or ord(ch) == 127 for ch in url):
        return None
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        return None
    return url


def escape(text: str) -> str:
    """Escape text for Telegram HTML (only &, < and > are special outside attributes)."""
    return html.escape(clean(text), quote=False)


_DIGITS = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")


def num(value: int | float | str) -> str:
    """A number in Arabic-Indic digits."""
    return str(value).translate(_DIGITS).replace(".", "٫")


# ---------------------------------------------------------------------------
# Flattening to runs and rendering

Style = tuple[tuple[int, Span], ...]
Run = tuple[str, Style]


def _flatten(pieces: Iterable[Piece], style: Style, ids: count) -> list[Run]:
    """Turn a piece tree into text runs, each carrying the stack of tags around it."""
    runs: list[Run] = []
    for piece in pieces:
        if isinstance(piece, str):
            text = clean(piece)
            if text:
                runs.append((text, style))
        elif not piece.tag:
            runs.extend(_flatten(piece.children, style, ids))
        else:
            runs.extend(_flatten(piece.children, (*style, (next(ids), piece)), ids))
    return runs


def _render(runs: Sequence[Run]) -> str:
    """Render runs to HTML, opening and closing tags so they always nest properly."""
    out: list[str] = []
    stack: Style = ()
    for text, style in runs:
        common = 0
        while common < min(len(stack), len(style)) and stack[common][0] == style[common][0]:
            common += 1
        out.extend(span.close() for _, span in reversed(stack[common:]))
        out.extend(span.open() for _, span in style[common:])
        out.append(html.escape(text, quote=False))
        stack = style
    out.extend(span.close() for _, span in reversed(stack))
    return "".join(out)


def _visible(runs: Sequence[Run]) -> str:
    """The text Telegram will show for these runs."""
    return "".join(text for text, _ in runs)


def to_html(*pieces: Piece) -> str:
    """Render pieces to one HTML string (no length limit)."""
    return _render(_flatten(pieces, (), count()))


_SENTENCE_END = re.compile(r"[.!?؟؛…\n]+[\"'»”)\]]*\s*")
_SPACE = re.compile(r"\s+")


def _cut_point(text: str, limit: int) -> int:
    """Best place to cut text[:limit]: after a sentence, else at a space, else hard."""
    head = text[:limit]
    best = 0
    for match in _SENTENCE_END.finditer(head):
        if match.end() <= limit:
            best = match.end()
    if best > limit // 3:
        return best
    spaces = [m.end() for m in _SPACE.finditer(head)]
    if spaces and spaces[-1] > limit // 3:
        return spaces[-1]
    return best or (spaces[-1] if spaces else 0) or limit


def _escaped_prefix_lengths(text: str) -> list[int]:
    """lengths[k] = UTF-16 length of the escaped text[:k]."""
    lengths = [0]
    total = 0
    for ch in text:
        if ch == "&":
            total += 5
        elif ch in "<>":
            total += 4
        else:
            total += 2 if ord(ch) > 0xFFFF else 1
        lengths.append(total)
    return lengths


class _Pager:
    """Packs runs into messages that each render within the limit (lengths kept incrementally)."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.pages: list[str] = []
        self.current: list[Run] = []
        self._body = 0  # UTF-16 length rendered so far, without the closing tags
        self._stack: Style = ()

    @staticmethod
    def _advance(body: int, stack: Style, run: Run) -> tuple[int, Style]:
        """Length after appending run to a page whose open tags are stack."""
        text, style = run
        common = 0
        while common < min(len(stack), len(style)) and stack[common][0] == style[common][0]:
            common += 1
        body += sum(utf16_len(span.close()) for _, span in stack[common:])
        body += sum(utf16_len(span.open()) for _, span in style[common:])
        body += utf16_len(html.escape(text, quote=False))
        return body, style

    @staticmethod
    def _closing(stack: Style) -> int:
        """Length of the tags that close stack."""
        return sum(utf16_len(span.close()) for _, span in stack)

    def try_add(self, runs: Sequence[Run]) -> bool:
        """Append runs to the current page if the page stays within the limit."""
        body, stack = self._body, self._stack
        for run in runs:
            body, stack = self._advance(body, stack, run)
            if body > self.limit:
                return False
        if body + self._closing(stack) > self.limit:
            return False
        self.current.extend(runs)
        self._body, self._stack = body, stack
        return True

    def flush(self) -> None:
        """Close the current page (blank pages are dropped: Telegram rejects them)."""
        runs = _trim(self.current)
        if runs and _visible(runs).strip():
            self.pages.append(_render(runs))
        self.current = []
        self._body, self._stack = 0, ()

    def add_block(self, runs: list[Run], sep: str) -> None:
        """Add a whole block, starting a new page or splitting it when it does not fit."""
        if not runs:
            return
        if self.current:
            if self.try_add([(sep, ()), *runs]):
                return
            if self._standalone_fits(runs):
                self.flush()
                self.try_add(runs)
                return
            self.try_add([(sep, ())]) or self.flush()  # too big for any page: split it from here
        elif self.try_add(runs):
            return
        for run in runs:
            self.add_run(run)

    def _standalone_fits(self, runs: Sequence[Run]) -> bool:
        """Whether runs fit on an empty page."""
        body: int = 0
        stack: Style = ()
        for run in runs:
            body, stack = self._advance(body, stack, run)
            if body > self.limit:
                return False
        return body + self._closing(stack) <= self.limit

    def add_run(self, run: Run) -> None:
        """Add one run, cutting it on sentence or word boundaries across pages."""
        text, style = run
        while text:
            if self.try_add([(text, style)]):
                return
            body, stack = self._advance(self._body, self._stack, ("", style))
            room = self.limit - body - self._closing(stack)
            lengths = _escaped_prefix_lengths(text)
            fit = bisect.bisect_right(lengths, room) - 1
            if fit <= 0 or (self.current and fit < len(text) // 4 and fit < 200):
                if not self.current:  # pragma: no cover - limit smaller than tag overhead
                    raise ValueError("message limit too small for the markup")
                self.flush()
                continue
            cut = _cut_point(text, fit)
            self.try_add([(text[:cut], style)])
            self.flush()
            text = text[cut:].lstrip(" ")


def _trim(runs: list[Run]) -> list[Run]:
    """Drop leading and trailing whitespace-only runs (Telegram strips them anyway)."""
    start, end = 0, len(runs)
    while start < end and not runs[start][0].strip() and not runs[start][1]:
        start += 1
    while end > start and not runs[end - 1][0].strip() and not runs[end - 1][1]:
        end -= 1
    return runs[start:end]


def paginate(
    blocks: Sequence[Sequence[Piece]], *, limit: int = MESSAGE_LIMIT, sep: str = "\n\n"
) -> list[str]:
    """Render blocks into as few messages as possible, each within the limit."""
    pager = _Pager(limit)
    ids = count()
    for block in blocks:
        pager.add_block(_flatten(block, (), ids), sep)
    pager.flush()
    return pager.pages


# ---------------------------------------------------------------------------
# Answers

CONFIDENCE_HEADERS = {
    "high": "✅ وجدتُ في المصادر ما يجيب عن سؤالك بوضوح:",
    "medium": "🔎 وجدتُ في المصادر مقاطع قريبة من سؤالك قد تجيب عنه:",
    "low": "⚠️ لم أجد إجابة صريحة، وهذه أقرب المقاطع إلى سؤالك فتحقّق منها:",
}
MORE_HEADER = "🔎 نتائج إضافية لسؤالك:"
NO_MORE = "لا توجد نتائج أخرى لهذا السؤال."
NOT_ANSWERED = "لم أجد في المصادر المتاحة ما يجيب عن سؤالك."
REPHRASE = "جرّب إعادة صياغة السؤال بكلمات أخرى، أو اسأل عن أمر أكثر تحديدًا."
SUGGESTIONS = "ومن الموضوعات التي تغطيها المصادر:"


def shorten(text: str, limit: int) -> str:
    """Cut text to at most limit characters, marking the cut."""
    text = " ".join(clean(text).split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _merge_spans(spans: Iterable[tuple[int, int]], size: int) -> list[tuple[int, int]]:
    """Clamp, sort and merge highlight spans so they never overlap."""
    merged: list[tuple[int, int]] = []
    for start, end in sorted((max(0, s), min(size, e)) for s, e in spans):
        if start >= end:
            continue
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


def highlighted(text: str, spans: Iterable[tuple[int, int]]) -> list[Piece]:
    """Text with the given [start, end) spans in bold."""
    pieces: list[Piece] = []
    cursor = 0
    for start, end in _merge_spans(spans, len(text)):
        if start > cursor:
            pieces.append(text[cursor:start])
        pieces.append(bold(text[start:end]))
        cursor = end
    if cursor < len(text):
        pieces.append(text[cursor:])
    return pieces


def citation(doc: object, paragraph: int, *, number: int | None = None, page: int | None = None) -> list[Piece]:
    """Source line: source, title (linked when there is a URL), date, page (PDF), paragraph."""
    title = getattr(doc, "title", "") or getattr(doc, "file", "") or "مستند"
    parts: list[Piece] = []
    prefix = f"[{num(number)}] " if number is not None else ""
    parts.append(f"📚 {prefix}")
    source = getattr(doc, "source", None)
    if source:
        parts.append(italic(shorten(source, 120)))
        parts.append("، ")
    parts.append(link(getattr(doc, "url", None), f"«{shorten(title, 200)}»"))
    date = getattr(doc, "date", None)
    if date:
        parts.append(f"، {shorten(date, 40)}")
    if page is not None:
        parts.append(f"، ص {num(page)}")
    parts.append(f"، الفقرة {num(paragraph)}")
    return parts


def extract_block(extract: Extract, *, number: int | None = None) -> list[Piece]:
    """One extract: the quoted sentence (with its neighbours if it is a fragment) and citation."""
    body: list[Piece] = []
    if extract.before:
        body.append(italic(extract.before.strip(), " "))
    body.extend(highlighted(extract.text, extract.spans))
    if extract.after:
        body.append(italic(" ", extract.after.strip()))
    return [quote(*body), "\n", *citation(extract.doc, extract.paragraph, number=number, page=extract.page)]


def answer_blocks(answer: Answer, *, first_page: bool = True) -> list[list[Piece]]:
    """The blocks of an answer message, before pagination."""
    if not answer.answered or not answer.extracts:
        if not first_page:
            return [[NO_MORE]]
        blocks: list[list[Piece]] = [[bold(NOT_ANSWERED)], [REPHRASE]]
        if answer.suggestions:
            lines: list[Piece] = [SUGGESTIONS]
            for title in answer.suggestions[:5]:
                lines.extend(["\n• ", shorten(title, 150)])
            blocks.append(lines)
        return blocks
    header = CONFIDENCE_HEADERS.get(answer.confidence, CONFIDENCE_HEADERS["low"])
    if not first_page:
        header = MORE_HEADER
    blocks = [[bold(header), "\n❓ ", italic(shorten(answer.question, QUESTION_ECHO_LIMIT))]]
    for extract in answer.extracts:
        blocks.append(extract_block(extract, number=extract.rank))
    return blocks


def render_answer(answer: Answer, *, first_page: bool = True, limit: int = MESSAGE_LIMIT) -> list[str]:
    """Answer → one or more Telegram HTML messages."""
    return paginate(answer_blocks(answer, first_page=first_page), limit=limit)


def render_context(ctx: Context, *, limit: int = MESSAGE_LIMIT) -> list[str]:
    """The paragraph around an extract, the extract itself in bold."""
    start, end = ctx.highlight
    body = highlighted(ctx.text, [(start, end)])
    blocks: list[list[Piece]] = [
        [bold("📄 سياق المقتطف")],
        [quote(*body)],
        citation(ctx.doc, ctx.paragraph, page=ctx.page),
    ]
    return paginate(blocks, limit=limit)


def render_inline(extract: Extract, *, limit: int = MESSAGE_LIMIT) -> str:
    """A single extract with its citation, as one message for inline mode."""
    pages = paginate([extract_block(extract)], limit=limit)
    return pages[0] if pages else escape(extract.text[:100]) or "…"
