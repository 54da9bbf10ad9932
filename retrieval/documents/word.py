"""Word (.docx) files through python-docx: paragraphs in order, headings (and the Title style) as titles."""

from __future__ import annotations

import io
import zipfile

from .extracted import Block, DocumentError, Extracted

__all__ = ["read_docx"]


def read_docx(data: bytes) -> Extracted:
    """The paragraphs of a .docx file, table cells row by row; the core title or first heading is the title."""
    import docx
    from docx.opc.exceptions import PackageNotFoundError
    try:
        document = docx.Document(io.BytesIO(data))
    except (PackageNotFoundError, zipfile.BadZipFile, KeyError, ValueError) as e:
        raise DocumentError(f"not a readable Word (.docx) file ({e})") from None
    blocks: list[Block] = []
    for item in document.iter_inner_content():
        if hasattr(item, "rows"):  # a table: each row's cells, right to left as written, in one block
            for row in item.rows:
                cells = [" ".join(c.text.split()) for c in row.cells]
                text = " | ".join(dict.fromkeys(c for c in cells if c))
                if text:
                    blocks.append(Block(text))
            continue
        text = " ".join(item.text.split())
        if not text:
            continue
        style = (item.style.name if item.style is not None else "") or ""
        blocks.append(Block(text, heading=style == "Title" or style.startswith("Heading")))
    if not blocks:
        raise DocumentError("the Word file holds no text")
    title = document.core_properties.title or next((b.text for b in blocks if b.heading), None)
    # Not the core "created" date: python-docx's blank template carries one of its own, years old.
    return Extracted(tuple(blocks), title=title or None)
