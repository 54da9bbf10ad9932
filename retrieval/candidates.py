"""Stage 3 of the answer path: the sentences worth scoring, from BM25 and from the sentence vectors.

BM25 over the expanded terms finds sentences that share the question's words; the vectors find
sentences that say the same thing in other words. The union is scored; each candidate carries its
BM25 score (computed exactly for those the vectors brought).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .expansion import Expansion
from .snapshot import Snapshot

__all__ = ["Candidate", "term_weights", "gather"]


@dataclass(frozen=True, slots=True)
class Candidate:
    position: int
    bm25: float


def term_weights(expansions: list[Expansion]) -> dict[str, float]:
    """Each corpus form's query weight: the largest any question term gives it."""
    weights: dict[str, float] = {}
    for e in expansions:
        for form, w in e.forms.items():
            weights[form] = max(weights.get(form, 0.0), w)
    return weights


def gather(snapshot: Snapshot, expansions: list[Expansion], *, k: int,
           similarities: np.ndarray | None = None, dense_k: int = 0) -> list[Candidate]:
    """The top `k` sentences by BM25, then the top `dense_k` by similarity that BM25 did not bring."""
    weights = term_weights(expansions)
    hits = snapshot.index.search_terms(weights, k=k) if weights else []
    out = [Candidate(h.position, h.score) for h in hits]
    if similarities is not None and dense_k > 0 and len(similarities):
        dense_k = min(dense_k, len(similarities))
        top = np.argpartition(-similarities, dense_k - 1)[:dense_k]
        seen = {c.position for c in out}
        extra = sorted(int(p) for p in top if int(p) not in seen)
        if extra:
            scores = snapshot.index.scores_for(weights, extra) if weights else np.zeros(len(extra))
            out += [Candidate(p, float(s)) for p, s in zip(extra, scores)]
    return out
