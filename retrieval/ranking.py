"""Stage 5 of the answer path: the candidates in order, best first.

Lexical score: BM25 multiplied up by coverage and, gently, by holding what the question asks for.
With sentence vectors, that score is fused with the similarity of the sentence, the similarity of its
paragraph neighbourhood, and coverage again: each standardised over the candidates (z-scores), then
weighted (Policy). Coverage counts twice on purpose: inside the lexical score it scales BM25, here it
keeps a sentence holding most of the question's words from sinking under a merely similar one.
"""

from __future__ import annotations


import numpy as np

from .features import Features
from .policy import Policy

__all__ = ["lexical_score", "rank", "zscores"]


def lexical_score(f: Features, policy: Policy) -> float:
    """BM25 multiplied up by coverage and by holding what the question asks for."""
    return f.bm25 * (1 + policy.coverage_weight * f.coverage) * (1 + policy.kind_bonus * f.holds)


def zscores(values: np.ndarray) -> np.ndarray:
    """Standardised values (mean 0, deviation 1); all zero when they do not vary."""
    spread = values.std()
    return (values - values.mean()) / spread if spread > 0 else np.zeros_like(values)


def rank(features: list[Features], policy: Policy, *, semantic: bool) -> list[tuple[float, Features]]:
    """(score, features) best first; ties by position, so the order is reproducible."""
    lexical = np.array([lexical_score(f, policy) for f in features], dtype=np.float64)
    if semantic and features:
        scores = (policy.lexical_weight * zscores(lexical)
                  + policy.similarity_weight * zscores(np.array([f.similarity for f in features]))
                  + policy.context_weight * zscores(np.array([f.context_similarity for f in features]))
                  + policy.coverage_share * zscores(np.array([f.coverage for f in features])))
    else:
        scores = lexical
    order = sorted(range(len(features)), key=lambda i: (-scores[i], features[i].position))
    return [(float(scores[i]), features[i]) for i in order]
