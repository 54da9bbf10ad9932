"""Stage 6 of the answer path: does the corpus answer, which sentence leads, and how sure is Sanad.

Without vectors, the rules of the lexical engine: the lead must cover enough of the question
(more when met only through guessed spellings), and a كم/متى question needs a number/time.
With vectors, a logistic model over two measured signals, the best coverage among the eligible
sentences and the best similarity in meaning, calibrated on XQuAD-R Arabic with a quarter of the
articles left out (README, "Answer quality"); the number/time requirement still holds.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import Enum

from .expansion import Expansion
from .features import Features
from .question import CHECKABLE, ParsedQuestion
from .policy import Policy

__all__ = ["Confidence", "Reason", "Decision", "decide"]


class Confidence(str, Enum):
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"
    NONE = "none"


class Reason(str, Enum):
    """Why Sanad answers or declines (`reason` in `sanad ask --json`)."""

    ANSWERED = "answered"
    EMPTY = "empty"  # no question at all
    SMALL_TALK = "small_talk"  # a greeting or thanks, not a question to look up
    UNKNOWN_WORDS = "unknown_words"  # none of its words is in the corpus, and nothing is close in meaning
    NO_NUMBER_OR_TIME = "no_number_or_time"  # a كم/متى question and no candidate holds a number/time
    TOO_LITTLE_COVERED = "too_little_covered"  # no sentence covers enough of the question (lexical rule)
    NOT_CLOSE_ENOUGH = "not_close_enough"  # the calibrated model judges that no sentence answers


@dataclass(frozen=True, slots=True)
class Decision:
    answered: bool
    reason: Reason
    confidence: Confidence
    lead: Features | None = None
    eligible: tuple[Features, ...] = ()  # candidates that may be quoted, best first
    probability: float | None = None  # the calibrated model's P(answerable), with vectors
    signals: tuple[float, float] | None = None  # what the model read: best coverage, best similarity


def decide(ranked: list[tuple[float, Features]], question: ParsedQuestion, expansions: list[Expansion],
           policy: Policy, *, top_similarity: float | None = None) -> Decision:
    """The decision over the ranked candidates; `top_similarity` (the best over the whole corpus) turns
    on the calibrated model."""
    required = policy.kind_required and question.kind in CHECKABLE
    candidates = [f for _, f in ranked]
    kind_ok = [f for f in candidates if f.holds or not required]
    if not kind_ok:  # nothing found, or a كم/متى question and no candidate holds a number/time
        return Decision(False, Reason.NO_NUMBER_OR_TIME if candidates else Reason.UNKNOWN_WORDS, Confidence.NONE)
    if top_similarity is not None:
        # Meaning ranks well enough that the kind is a bonus in the ranking, not a filter on the lead.
        return _calibrated(candidates, policy, top_similarity)
    own = set().union(*(e.own for e in expansions)) if expansions else set()
    fit = [f for f in kind_ok if f.coverage >= policy.extract_coverage
           and (f.terms & own or f.coverage >= policy.guess_coverage)]
    if not any(f.coverage >= policy.answer_coverage for f in fit):
        return Decision(False, Reason.TOO_LITTLE_COVERED, Confidence.NONE)
    lead = fit[0]
    confidence = _confidence(lead.coverage, policy)
    rest = tuple(f for f in candidates if f is not lead and f.coverage >= policy.extract_coverage)
    return Decision(True, Reason.ANSWERED, confidence, lead, (lead, *rest))


def answer_probability(coverage: float, similarity: float, policy: Policy) -> float:
    """P(the corpus answers) from the best coverage and the best similarity (logistic, calibrated)."""
    w0, w_cov, w_sim = policy.decline_model
    return 1 / (1 + math.exp(-(w0 + w_cov * coverage + w_sim * similarity)))


def _confidence(coverage: float, policy: Policy, *, hesitant: bool = False) -> Confidence:
    """High, medium or low by the lead's coverage; one level less when the model hesitates."""
    level = 2 if coverage >= policy.high_coverage else 1 if coverage >= policy.medium_coverage else 0
    level -= hesitant and level > 0
    return (Confidence.LOW, Confidence.MEDIUM, Confidence.HIGH)[level]


def _calibrated(candidates: list[Features], policy: Policy, top_similarity: float) -> Decision:
    """The model's decision over the ranked candidates (at least one)."""
    best_coverage = max(f.coverage for f in candidates)
    p = answer_probability(best_coverage, top_similarity, policy)
    signals = (best_coverage, top_similarity)
    if p < policy.answer_probability:
        return Decision(False, Reason.NOT_CLOSE_ENOUGH, Confidence.NONE, probability=p, signals=signals)
    lead = candidates[0]
    # How sure: how much of the question the quoted sentence holds as the question spells it (on
    # XQuAD-R ar the lead is right 58% / 73% / 89% / 90% of the time for exact coverage under 0.5 /
    # 0.65 / 0.85 / above; on the news sets 57% / 80% / 89% / 97%), one level less when the model
    # itself hesitates (P < 0.7: right 53% of the time on XQuAD-R). The probability alone separates less.
    confidence = _confidence(lead.exact_coverage, policy, hesitant=p < policy.hesitant_probability)
    floor = top_similarity - policy.extract_similarity_gap
    rest = tuple(f for f in candidates[1:] if f.coverage >= policy.extract_coverage or f.similarity >= floor)
    return Decision(True, Reason.ANSWERED, confidence, lead, (lead, *rest), p, signals)
