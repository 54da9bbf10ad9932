"""A corpus folder and the copy of its files kept in the store.

Every build saves the folder's files with the index (only changed files are written again). A replica
on another machine then makes its own folder the same before it serves or changes that corpus: files
that differ are written (with their original modification time, so the folder's fingerprint matches
the stored one), and files the store does not have are moved aside into `.replaced/`, never deleted.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from .corpus import METADATA_FILE, corpus_files
from .store import StoredFile

__all__ = ["folder_files", "Plan", "plan", "apply", "ASIDE"]

ASIDE = ".replaced"  # files the store does not hold go here (hidden: the corpus loader skips it)


def _names(folder: Path) -> list[Path]:
    paths = corpus_files(folder) if folder.is_dir() else []
    if (folder / METADATA_FILE).is_file():
        paths.append(folder / METADATA_FILE)
    return paths


def folder_files(folder: Path) -> list[StoredFile]:
    """The corpus folder's files (and its metadata.toml) with their bytes, as the store keeps them."""
    out = []
    for path in _names(folder):
        try:
            data, st = path.read_bytes(), path.stat()
        except OSError:  # removed meanwhile: the build reports what it found
            continue
        out.append(StoredFile(path.relative_to(folder).as_posix(), hashlib.sha256(data).hexdigest(), st.st_mtime_ns,
                              data))
    return out


@dataclass(frozen=True, slots=True)
class Plan:
    """What makes a folder the same as the stored files: names to fetch and write, files to move aside."""

    write: list[StoredFile]
    aside: list[Path]
    touch: list[StoredFile]  # same bytes, another modification time

    def __bool__(self) -> bool:
        return bool(self.write or self.aside or self.touch)


def plan(folder: Path, stored: Iterable[StoredFile]) -> Plan:
    """Compare the folder with the stored files (hashing only the local ones whose time differs)."""
    stored = {f.name: f for f in stored}
    local = {p.relative_to(folder).as_posix(): p for p in _names(folder)}
    write, touch = [], []
    for name, f in stored.items():
        path = local.get(name)
        if path is not None and path.stat().st_mtime_ns == f.mtime_ns:
            continue  # mirrored files carry the stored time: an unchanged one is not read and hashed again
        if path is None or _sha256(path) != f.sha256:
            write.append(f)
        else:
            touch.append(f)
    return Plan(write, [p for name, p in local.items() if name not in stored], touch)


def apply(folder: Path, plan_: Plan, data: dict[str, bytes]) -> None:
    """Carry out a plan: `data` holds the bytes of every file to write, by name. A stored name that would
    lead outside the folder is refused (ValueError), whatever wrote it into the database."""
    root = folder.resolve()
    for f in plan_.write + plan_.touch:
        if Path(f.name).is_absolute() or not (root / f.name).resolve().is_relative_to(root):
            raise ValueError(f"a stored corpus file name leads outside the corpus folder: {f.name!r}")
    stamp = f"{time.strftime('%Y%m%dT%H%M%S')}-{time.time_ns() % 10**9:09d}-{os.getpid()}"
    for path in plan_.aside:
        target = folder / ASIDE / stamp / path.relative_to(folder)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(path, target)
    for f in plan_.write:
        path = folder / f.name
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".mirror-{path.name}.tmp")
        tmp.write_bytes(data[f.name])
        os.utime(tmp, ns=(f.mtime_ns, f.mtime_ns))
        os.replace(tmp, path)
    for f in plan_.touch:
        os.utime(folder / f.name, ns=(f.mtime_ns, f.mtime_ns))


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()
