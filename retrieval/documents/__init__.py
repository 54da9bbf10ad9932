"""Real documents in: PDF, Word and web pages turned into paragraphs of text, each with its page.

One module per format (pdf, word, web) and one for the order of Arabic text read from a PDF
(visual). Every reader returns an `Extracted`: the blocks in reading order, a heading flag on
titles, the page a block stands on (PDFs), and what the file says of its own title, date, site and
address. A file that cannot be read says why with `DocumentError`.
"""

from __future__ import annotations

from pathlib import PurePath

from .cache import ExtractCache
from .extracted import Block, DocumentError, Extracted

__all__ = ["Block", "DocumentError", "Extracted", "SUFFIXES", "extract"]

SUFFIXES = (".pdf", ".docx", ".html", ".htm")


_CACHE = ExtractCache(max_chars=50_000_000)  # about 100 MB of Arabic text at most


def extract(name: str, data: bytes, url: str | None = None, *, digest: str | None = None) -> Extracted:
    """The text of a document file by its extension (the same bytes are read once, then remembered);
    DocumentError when it cannot be read. `digest`: the bytes' sha256 hex digest, if already computed."""
    suffix = PurePath(name).suffix.lower()
    key = ExtractCache.key(suffix, data, url, digest)
    return _CACHE.get(key) or _CACHE.put(key, _read(suffix, data, url))


def _read(suffix: str, data: bytes, url: str | None) -> Extracted:
    if suffix == ".pdf":
        from .pdf import read_pdf
        return read_pdf(data)
    if suffix == ".docx":
        from .word import read_docx
        return read_docx(data)
    if suffix in (".html", ".htm"):
        from .web import read_html
        return read_html(data, url)
    raise DocumentError(f"not a document format Sanad reads ({suffix or 'no extension'})")
