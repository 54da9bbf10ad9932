"""Web pages through trafilatura's main-content extraction: navigation, "most read" boxes, ads and
footers stay out; the page's title, date, site name and address become the citation."""

from __future__ import annotations

from .extracted import Block, DocumentError, Extracted

__all__ = ["read_html"]


def _decode(data: bytes) -> str:
    """HTML bytes as text: UTF-8 (what Arabic sites send), else what the page declares, else Windows-1256."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        import re
        m = re.search(rb"""charset=["']?([\w-]+)""", data[:4096], re.IGNORECASE)
        for encoding in ((m.group(1).decode("ascii"),) if m else ()) + ("cp1256",):
            try:
                return data.decode(encoding)
            except (LookupError, UnicodeDecodeError):
                continue
    raise DocumentError("the page's text encoding cannot be read")


def read_html(data: bytes, url: str | None = None) -> Extracted:
    """The main content of a web page, one block per paragraph; the title line is a heading."""
    import trafilatura
    found = trafilatura.bare_extraction(_decode(data), url=url, with_metadata=True, favor_precision=True,
                                        include_comments=False, include_tables=True)
    if found is None or not (found.text or "").strip():
        raise DocumentError("no article text found on the page")
    title = (found.title or "").strip() or None
    blocks = tuple(Block(" ".join(line.split()), heading=" ".join(line.split()) == title)
                   for line in found.text.splitlines() if line.strip())
    return Extracted(blocks, title=title, source=found.sitename or found.hostname or None,
                     date=found.date or None, url=found.url or url)
