"""The generated Arabic documents in tests/data/documents and the sentences each holds, in logical order."""

from __future__ import annotations

from pathlib import Path

FOLDER = Path(__file__).parent / "data" / "documents"


def sentences() -> dict[str, list[str]]:
    """File name -> its content sentences as written (SENTENCES.txt, made by the generator)."""
    out: dict[str, list[str]] = {}
    for line in (FOLDER / "SENTENCES.txt").read_text(encoding="utf-8").splitlines():
        name, sentence = line.split("\t")
        out.setdefault(name, []).append(sentence)
    return out


def in_order(name: str, text: str) -> int:
    """How many of the file's sentences stand verbatim, in logical order, in `text`."""
    return sum(s in text for s in sentences()[name])
