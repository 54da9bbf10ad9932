"""Stage 7 of the answer path: the sentences quoted, each with its citation and marked words.

Near-duplicates are merged, a fragment (a sentence leaning on the one before it) is quoted with its
neighbour, a sentence ending in a colon with the one after it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from .arabic import normalize, tokens, words
from .corpus import Document
from .features import Features
from .snapshot import Snapshot
from .wordlists import cues
from .policy import Policy

__all__ = ["DocInfo", "Extract", "distinct", "extract", "highlight", "suggestions"]


@dataclass(frozen=True, slots=True)
class DocInfo:
    """What a citation shows of a document."""

    id: str
    file: str
    title: str
    source: str | None
    date: str | None
    url: str | None

    @classmethod
    def of(cls, doc: Document) -> "DocInfo":
        return cls(doc.id, doc.file, doc.title, doc.source, doc.date, doc.url)


@dataclass(frozen=True, slots=True)
class Extract:
    """One quoted sentence with its citation and the spans of the question's words in it."""

    rank: int
    score: float
    position: int
    text: str
    spans: tuple[tuple[int, int], ...]
    doc: DocInfo
    paragraph: int
    sentence: int
    before: str | None = None
    after: str | None = None
    page: int | None = None  # the PDF page it stands on


def fragment(text: str) -> bool:
    """A sentence that leans on the one before it: it opens with a connective or a pronoun, or is very short."""
    found = words(text)
    return len(found) < 6 or normalize(found[0]) in cues().leaning


def distinct(candidates: list[Features], policy: Policy, limit: int) -> list[Features]:
    """The first `limit` sentences that do not repeat one already chosen (same or nearly the same terms)."""
    chosen: list[Features] = []
    for c in candidates:
        if len(chosen) == limit:
            break
        if any(len(c.terms & o.terms) / max(1, len(c.terms | o.terms)) >= policy.duplicate_jaccard for o in chosen):
            continue
        chosen.append(c)
    return chosen


def extract(snapshot: Snapshot, c: Features, rank: int, score: float, forms: set[str]) -> Extract:
    """The quoted sentence at rank `rank`, with its neighbours where it needs them."""
    loc = snapshot.locate(c.position)
    text = loc.text
    before = after = None
    if fragment(text):
        prev = snapshot.neighbour(c.position, -1)
        before = snapshot.text(prev) if prev is not None else None
    if text.rstrip().endswith(":"):
        nxt = snapshot.neighbour(c.position, +1)
        after = snapshot.text(nxt) if nxt is not None else None
    d = loc.doc
    return Extract(rank, round(score, 6), c.position, text, highlight(text, forms, snapshot.index.analyzer),
                   DocInfo.of(d), loc.paragraph, loc.sentence, before, after, loc.page)


def highlight(text: str, forms: set[str], analyze: Callable[[str], list[str]]) -> tuple[tuple[int, int], ...]:
    """Spans of the words in `text` whose index term is one of `forms`."""
    return tuple((t.start, t.end) for t in tokens(text) if forms.intersection(analyze(t.text)))


def suggestions(snapshot: Snapshot, candidates: list[Features], limit: int = 3) -> tuple[str, ...]:
    """Titles of the documents closest to the question, else the corpus's first documents."""
    titles: list[str] = []
    for c in candidates:
        title = snapshot.locate(c.position).doc.title
        if title not in titles:
            titles.append(title)
        if len(titles) == limit:
            break
    for d in snapshot.documents:
        if len(titles) >= limit:
            break
        if d.title not in titles:
            titles.append(d.title)
    return tuple(titles)
