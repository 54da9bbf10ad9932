"""Fitting the answerability model: a logistic regression on two signals per question.

The signals are those `decision.decide` reads with vectors: the best coverage among the eligible
candidates and the best similarity in meaning over the corpus. The fit is over a question set with
answerable and unanswerable questions (XQuAD-R ar with a quarter of the articles left out, see the
README); `sanad eval FILE --calibrate` runs it and prints what to put in the Policy.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .answer import judge
from .policy import DEFAULT_POLICY, Policy
from .question import parse
from .questions import Question
from .snapshot import Snapshot
from .vectors import Semantic

__all__ = ["Calibration", "signals", "fit_logistic", "calibrate"]


def signals(snapshot: Snapshot, questions: list[Question], semantic: Semantic,
            policy: Policy = DEFAULT_POLICY) -> tuple[np.ndarray, np.ndarray]:
    """(questions, 2) signals — best coverage, best similarity — and whether each is answerable. The
    questions the model never sees are left out: those declined before it (no number for a كم question,
    no known word)."""
    rows, answerable = [], []
    for q in questions:
        run = judge(snapshot, parse(q.q, snapshot.index.analyzer), policy, semantic)
        if run.decision.signals is not None:
            rows.append(run.decision.signals)
            answerable.append(q.answerable)
    return np.array(rows, dtype=np.float64).reshape(-1, 2), np.array(answerable, dtype=bool)


def fit_logistic(x: np.ndarray, y: np.ndarray, *, iterations: int = 50, ridge: float = 1e-3) -> np.ndarray:
    """Weights (bias first) of a logistic regression, by Newton's method with a little ridge."""
    X = np.column_stack([np.ones(len(x)), x])
    w = np.zeros(X.shape[1])
    for _ in range(iterations):
        p = 1 / (1 + np.exp(-X @ w))
        gradient = X.T @ (p - y) + ridge * w
        hessian = (X * (p * (1 - p))[:, None]).T @ X + ridge * np.eye(len(w))
        step = np.linalg.solve(hessian, gradient)
        w -= step
        if np.abs(step).max() < 1e-8:
            break
    return w


@dataclass(frozen=True, slots=True)
class Calibration:
    """The fitted model, the probability threshold chosen, and what it does on the data it was fitted on."""

    weights: tuple[float, float, float]
    threshold: float
    declined: float  # share of unanswerable questions declined
    wrongly_declined: float  # share of answerable questions declined


def calibrate(x: np.ndarray, y: np.ndarray, *, most_wrongly_declined: float = 0.02) -> Calibration:
    """Fit, then the highest threshold that declines at most `most_wrongly_declined` of the answerable."""
    w = fit_logistic(x, y.astype(np.float64))
    p = 1 / (1 + np.exp(-(w[0] + x @ w[1:])))
    answerable = np.sort(p[y])
    cut = int(most_wrongly_declined * len(answerable))
    threshold = float(answerable[cut]) if len(answerable) else 0.5
    threshold = round(threshold - 5e-4, 3)  # printed and stored rounded: keep it below the cut
    return Calibration((float(w[0]), float(w[1]), float(w[2])), threshold,
                       float(np.mean(p[~y] < threshold)) if (~y).any() else 0.0,
                       float(np.mean(p[y] < threshold)) if y.any() else 0.0)
