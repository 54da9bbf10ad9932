"""From a question to the sentences worth quoting: a straight line of stages, one module each.

    question.parse        the question read once: terms, kind (كم/متى/من...), counted noun
    expansion.expand      each term with the corpus forms that stand for it, by weighted source
    candidates.gather     BM25 over the expanded terms, united with the nearest sentence vectors
    features.measure      BM25, coverage, exact coverage, kind, similarity alone and in context
    ranking.rank          lexical score, fused with the similarities when vectors are there
    decision.decide       answer or decline, why, and how confidently
    extracts              distinct sentences quoted with citations, fragments with their neighbour

Without sentence vectors (no model, or not yet embedded) the same line runs on words alone.
"""

from __future__ import annotations

from dataclasses import dataclass

from .arabic import words
from .candidates import gather
from .decision import Confidence, Decision, Reason, decide
from .policy import DEFAULT_POLICY, Policy
from .expansion import Expansion, expand
from .extracts import DocInfo, Extract, distinct, extract, highlight, suggestions
from .features import Features, measure
from .question import ParsedQuestion, parse, question_kind
from .ranking import rank
from .smalltalk import small_talk
from .snapshot import Snapshot
from .vectors import Semantic

__all__ = ["DocInfo", "Extract", "Answer", "answer", "question_kind", "Policy", "Confidence", "Reason", "highlight", "judge", "Judgement"]


@dataclass(frozen=True, slots=True)
class Answer:
    """What Sanad replies: extracts when the corpus answers, suggestions when it does not."""

    question: str
    answered: bool
    confidence: Confidence
    extracts: tuple[Extract, ...]
    more: bool
    suggestions: tuple[str, ...] = ()
    reason: Reason = Reason.ANSWERED




def answer(snapshot: Snapshot, question: str, *, top: int = 3, offset: int = 0,
           policy: Policy = DEFAULT_POLICY, semantic: Semantic | None = None) -> Answer:
    """Answer a question from the snapshot: a page of extracts, or an honest "not found".
    `semantic` (the snapshot's complete sentence vectors and the model) adds meaning to words."""
    parsed = parse(question, snapshot.index.analyzer)
    if not words(parsed.text) or small_talk(parsed.text) is not None:  # nothing asked, or a greeting or thanks
        reason = Reason.SMALL_TALK if words(parsed.text) else Reason.EMPTY
        return Answer(parsed.text, False, Confidence.NONE, (), False, suggestions(snapshot, []), reason)
    run = judge(snapshot, parsed, policy, semantic, k=max(policy.candidates, (offset + top) * 4))
    if not run.decision.answered:
        return Answer(parsed.text, False, run.decision.confidence, (), False,
                      suggestions(snapshot, [f for _, f in run.ranked]), run.decision.reason)
    return _page(snapshot, run, policy, top, offset)


@dataclass(frozen=True, slots=True)
class Judgement:
    """Every stage's output for one question (what `answer` pages, what calibration reads)."""

    question: ParsedQuestion
    expansions: list[Expansion]
    ranked: list[tuple[float, Features]]
    decision: Decision


def judge(snapshot: Snapshot, parsed: ParsedQuestion, policy: Policy = DEFAULT_POLICY,
          semantic: Semantic | None = None, *, k: int | None = None) -> Judgement:
    """The stages from the parsed question to the decision."""
    expansions = expand(snapshot, parsed.terms, policy)
    similarities = semantic.similarities(parsed.text) if semantic is not None and len(snapshot) else None
    found = gather(snapshot, expansions, k=k or policy.candidates, similarities=similarities,
                   dense_k=policy.dense_candidates)
    features = measure(snapshot, parsed, expansions, found, similarities, counted_check=policy.kind_required)
    ranked = rank(features, policy, semantic=similarities is not None)
    top_similarity = float(similarities.max()) if similarities is not None else None
    return Judgement(parsed, expansions, ranked, decide(ranked, parsed, expansions, policy,
                                                        top_similarity=top_similarity))


def _page(snapshot: Snapshot, run: Judgement, policy: Policy, top: int, offset: int) -> Answer:
    """The requested page of distinct extracts, the lead first."""
    decision, expansions = run.decision, run.expansions
    scores = {id(f): s for s, f in run.ranked}
    chosen = distinct(list(decision.eligible), policy, offset + top + 1)
    page = chosen[offset:offset + top]
    forms = {f for e in expansions for f in e.forms}
    extracts = tuple(extract(snapshot, f, offset + i + 1, scores[id(f)], forms) for i, f in enumerate(page))
    return Answer(run.question.text, True, decision.confidence, extracts, len(chosen) > offset + top, (), decision.reason)
