"""What a document reader returns: blocks of text in reading order, with their page and kind."""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["Block", "DocumentError", "Extracted"]


class DocumentError(ValueError):
    """A document that cannot be read (damaged, encrypted, scanned without text); the message says why."""


@dataclass(frozen=True, slots=True)
class Block:
    """A paragraph or heading of extracted text; `page` is 1-based where the format has pages."""

    text: str
    page: int | None = None
    heading: bool = False


@dataclass(frozen=True, slots=True)
class Extracted:
    """A document's blocks in reading order and the citation fields the file itself gives."""

    blocks: tuple[Block, ...]
    title: str | None = None
    source: str | None = None
    date: str | None = None
    url: str | None = None
    notes: tuple[str, ...] = field(default=())  # what was left out and why (pages without text)
