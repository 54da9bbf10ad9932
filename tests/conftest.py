"""Shared fixtures: the bundled seed corpus in a temporary folder, and engines over it."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from tests.postgres import postgres_server, postgres_url, store_url  # noqa: F401 - fixtures

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT / "seeds"
# The suite runs on words alone unless a test turns meaning on: embedding every corpus a test builds
# would take minutes on two cores. tests/test_semantic*.py run the model (or a fake) on small corpora.
os.environ["SANAD_SEMANTIC"] = "off"

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


class ConceptEmbedder:
    """A fake embedding model: a text's vector is the sum of the concepts its words name (unit length).
    Words listed under one concept mean the same; so tests can build paraphrases that share no word."""

    model = "fake-concepts"

    def __init__(self, concepts: dict[str, tuple[str, ...]]):
        self.concepts = list(concepts)
        self.words = {w: i for i, c in enumerate(concepts) for w in concepts[c]}
        self.dim = len(concepts) + 1
        self.calls = 0

    def _vector(self, text: str) -> "np.ndarray":
        import numpy as np

        v = np.zeros(self.dim, dtype=np.float32)
        v[-1] = 0.3  # every text shares a little: cosines are never all zero
        for w in text.replace("؟", " ").replace(".", " ").replace(":", " ").split():
            if w in self.words:
                v[self.words[w]] += 1.0
        return v / np.linalg.norm(v)

    def passages(self, texts: list[str]) -> "np.ndarray":
        import numpy as np

        self.calls += len(texts)
        return np.stack([self._vector(t) for t in texts]) if texts else np.zeros((0, self.dim), np.float32)

    def query(self, text: str) -> "np.ndarray":
        return self._vector(text)
