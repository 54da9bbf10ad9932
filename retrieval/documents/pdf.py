"""PDF files through pdfplumber (pdfminer.six): lines rebuilt from the characters' positions, Arabic
put back into logical order, columns read right to left, wrapped lines joined into paragraphs,
running headers, footers and page numbers dropped. Each paragraph keeps its page. A page with no
text layer (a scan) is left out with a note; a PDF with no text at all is refused (no OCR)."""

from __future__ import annotations

import io
import re
import statistics
from collections import Counter
from dataclasses import dataclass

from .bidi import to_logical
from .extracted import Block, DocumentError, Extracted

__all__ = ["read_pdf"]

_MARGIN = 0.09  # the top and bottom bands of a page where running headers, footers and page numbers stand
_PAGE_NUMBER = re.compile(r"^[\s\-–—|]*(?:(?:صفحة|ص|page|p\.)\s*)?[\d٠-٩]+(?:\s*(?:/|من|of)\s*[\d٠-٩]+)?[\s\-–—|]*$",
                          re.IGNORECASE)
_DIGITS = re.compile(r"[\d٠-٩]+")
_LATIN_HYPHEN = re.compile(r"[A-Za-z]-$")


@dataclass(slots=True)
class _Segment:
    """A run of characters on one line, apart from the next run by a wide gap (a column or a table cell)."""

    x0: float
    x1: float
    text: str


@dataclass(slots=True)
class _Line:
    top: float
    bottom: float
    size: float
    segments: list[_Segment]

    @property
    def text(self) -> str:
        """The line in reading order: its segments right to left, as an Arabic page is read."""
        return " ".join(s.text for s in sorted(self.segments, key=lambda s: -s.x1))


def _rows(page) -> list[list[dict]]:
    """The page's glyphs grouped into lines by their baseline, top to bottom (spaces are rebuilt from gaps)."""
    chars = sorted((c for c in page.chars if c["text"].strip()), key=lambda c: c["bottom"])
    rows: list[list[dict]] = []
    for c in chars:
        if rows and c["bottom"] - rows[-1][0]["bottom"] <= 0.3 * c["size"]:
            rows[-1].append(c)
        else:
            rows.append([c])
    return rows


def _lines(page) -> list[_Line]:
    """The page's text lines, top to bottom, each cut into segments at gaps wider than two letters."""
    lines = []
    for row in _rows(page):
        chars = sorted(row, key=lambda c: c["x0"])
        size = statistics.median(c["size"] for c in chars)
        groups: list[list[str]] = [[chars[0]["text"]]]
        bounds = [[chars[0]["x0"], chars[0]["x1"]]]
        for c in chars[1:]:
            gap = c["x0"] - bounds[-1][1]
            if gap > 2 * size:
                groups.append([])
                bounds.append([c["x0"], c["x1"]])
            elif gap > 0.15 * size:  # a space between words (many PDFs draw no glyph for it)
                groups[-1].append(" ")
            groups[-1].append(c["text"])
            bounds[-1][1] = max(bounds[-1][1], c["x1"])
        segments = []
        for items, (x0, x1) in zip(groups, bounds):
            text = " ".join(to_logical(items).split())
            if text:
                segments.append(_Segment(x0, x1, text))
        if segments:
            lines.append(_Line(min(c["top"] for c in chars), max(c["bottom"] for c in chars), size, segments))
    return lines


def _gutter(lines: list[_Line], width: float) -> float | None:
    """The x of a gap between two columns, shared by several lines, in the middle half of the page."""
    votes: Counter[int] = Counter()
    for line in lines:
        ordered = sorted(line.segments, key=lambda s: s.x0)
        for left, right in zip(ordered, ordered[1:]):
            for x in range(int(left.x1) + 1, int(right.x0)):
                if 0.25 * width < x < 0.75 * width:
                    votes[x] += 1
    if not votes:
        return None
    x, n = votes.most_common(1)[0]
    return float(x) if n >= 2 else None


def _flows(lines: list[_Line], width: float) -> list[list[_Line]]:
    """The page's lines as reading flows: a stretch in two columns gives its right column, then its left."""
    gutter = _gutter(lines, width)
    if gutter is None:
        return [lines]
    flows: list[list[_Line]] = []
    stretch: list[_Line] = []

    def close() -> None:
        if sum(1 for l in stretch if l.segments[0].x0 < gutter < l.segments[-1].x1) < 2 \
                and sum(1 for l in stretch if any(s.x1 < gutter for s in l.segments)
                        and any(s.x0 > gutter for s in l.segments)) < 2:
            flows.append(list(stretch))
        else:
            right = [_Line(l.top, l.bottom, l.size, [s for s in l.segments if s.x0 > gutter]) for l in stretch]
            left = [_Line(l.top, l.bottom, l.size, [s for s in l.segments if s.x1 < gutter]) for l in stretch]
            flows.extend([[l for l in right if l.segments], [l for l in left if l.segments]])
        stretch.clear()

    for line in lines:
        if any(s.x0 < gutter < s.x1 for s in line.segments):  # crosses the gutter: full width
            if stretch:
                close()
            flows.append([line])
        else:
            stretch.append(line)
    if stretch:
        close()
    return [f for f in flows if f]


def _margin_keys(pages: list[tuple[int, float, list[_Line]]]) -> set[str]:
    """Lines standing in the top or bottom band of two or more pages (digits aside): running headers, footers."""
    counts: Counter[str] = Counter()
    for _, height, lines in pages:
        counts.update({_DIGITS.sub("#", l.text) for l in lines if _in_margin(l, height)})
    return {key for key, n in counts.items() if n >= 2}


def _in_margin(line: _Line, height: float) -> bool:
    return line.top < _MARGIN * height or line.bottom > (1 - _MARGIN) * height


def _paragraphs(flow: list[_Line], page: int, body_size: float, gap: float) -> list[Block]:
    """Consecutive lines joined into paragraphs; a wider gap, a change of size or a table row starts a new one."""
    blocks: list[Block] = []
    current: list[_Line] = []

    def close() -> None:
        if current:
            text = current[0].text
            for line in current[1:]:
                text = text[:-1] + line.text if _LATIN_HYPHEN.search(text) else f"{text} {line.text}"
            blocks.append(Block(text, page, heading=current[0].size > body_size + 1))
            current.clear()

    for line in flow:
        if current and (line.top - current[-1].bottom > gap or abs(line.size - current[-1].size) > 1
                        or len(line.segments) > 1 or len(current[-1].segments) > 1):
            close()
        current.append(line)
    close()
    return blocks


def read_pdf(data: bytes) -> Extracted:
    """The paragraphs of a PDF in reading order, each with its page; DocumentError when nothing is readable."""
    import pdfplumber
    from pdfminer.pdfparser import PDFSyntaxError
    from pdfplumber.utils.exceptions import PdfminerException
    try:
        pdf = pdfplumber.open(io.BytesIO(data))
        pages = pdf.pages
    except (PdfminerException, PDFSyntaxError, ValueError, TypeError, KeyError) as e:
        raise DocumentError(f"not a readable PDF ({type(e).__name__})") from None
    with pdf:
        try:
            read, scanned = [], []
            for page in pages:
                lines = _lines(page)
                (read if lines else scanned).append((page.page_number, page.height, lines, page.width))
        except (PdfminerException, PDFSyntaxError, ValueError, TypeError, KeyError) as e:
            raise DocumentError(f"the PDF cannot be read ({type(e).__name__})") from None
    if not read:
        raise DocumentError("the PDF has no text layer (a scanned image?); text must be selectable, "
                            "Sanad does not read images (no OCR)")
    margins = _margin_keys([(n, h, lines) for n, h, lines, _ in read])
    all_lines = [l for *_, lines, _ in read for l in lines]
    # the body's size: the median over the text's letters, not its lines (a header is one short line)
    body_size = statistics.median(l.size for l in all_lines for s in l.segments for _ in range(len(s.text)))
    # Lines inside a paragraph stand closest: a gap half again as wide as the narrow quarter starts a new one.
    gaps = sorted(b.top - a.bottom for *_, lines, _ in read for a, b in zip(lines, lines[1:])
                  if 0 < b.top - a.bottom < 2 * body_size)
    gap = max(0.6 * body_size, 1.5 * gaps[len(gaps) // 4]) if gaps else body_size
    blocks: list[Block] = []
    for number, height, lines, width in read:
        kept = [l for l in lines if not (_in_margin(l, height) and (_PAGE_NUMBER.match(l.text)
                                                                   or _DIGITS.sub("#", l.text) in margins))]
        for flow in _flows(kept, width):
            blocks += _paragraphs(flow, number, body_size, gap)
    notes = tuple(f"page {n} has no text layer (a scanned image?), left out" for n, *_ in scanned)
    title = next((b.text for b in blocks if b.heading), None)
    return Extracted(tuple(blocks), title=title, notes=notes)
