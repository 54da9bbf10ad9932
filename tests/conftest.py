"""Shared fixtures: the bundled seed corpus in a temporary folder, and engines over it."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT / "seeds"
DEV_QUESTIONS = ROOT / "tests" / "data" / "dev.jsonl"


@pytest.fixture
def corpus_dir(tmp_path: Path) -> Path:
    """A writable copy of the bundled seed corpus."""
    target = tmp_path / "corpus"
    shutil.copytree(SEEDS, target)
    return target


@pytest.fixture(scope="session")
def seed_snapshot():
    """The seed corpus indexed once for the whole session (read-only use)."""
    from retrieval import Snapshot, load_corpus

    return Snapshot.build(load_corpus(SEEDS).documents)


@pytest.fixture
async def engine(tmp_path: Path, corpus_dir: Path):
    from retrieval import Engine

    e = await Engine.open(tmp_path / "sanad.sqlite3", corpus_dir)
    yield e
    await e.close()
