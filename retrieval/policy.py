"""The answer path's parameters: one frozen record that every stage reads, and its defaults."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Policy", "DEFAULT_POLICY"]


@dataclass(frozen=True, slots=True)
class Policy:
    """Every weight and threshold of the answer path, in one place; a feature or stage at 0 is off
    (the words-alone values were chosen on the news sets, the meaning ones on XQuAD-R and those together)."""

    candidates: int = 60  # BM25 candidates reranked
    variant_weight: float = 0.5  # a spelling variant counts this much of the word itself (0: no variants)
    typo_weight: float = 0.5  # a corpus word one letter away from a question word the corpus lacks (0: off)
    synonym_weight: float = 0.3  # a near-synonym from data/synonyms.txt, or one of its verb forms (0: off)
    coverage_weight: float = 1.0  # how much question coverage multiplies the BM25 score (0: plain BM25 order)
    kind_bonus: float = 0.3  # gentle lift for a sentence holding what the question word asks for (0: off)
    answer_coverage: float = 0.3  # the best sentence must cover this share of the question...
    extract_coverage: float = 0.2  # further extracts must cover at least this share
    guess_coverage: float = 0.5  # ...and this share when none of its words is spelled as the question spells it
    duplicate_jaccard: float = 0.8  # sentences sharing this share of terms are one extract
    kind_required: bool = True  # decline a number or time question when no matching sentence holds one
    # With sentence vectors (README, "Answer quality": chosen on XQuAD-R ar with a quarter left out)
    dense_candidates: int = 30  # sentences the vectors add to BM25's candidates (0: no dense retrieval)
    lexical_weight: float = 0.3  # fused score: z(lexical score) ...
    similarity_weight: float = 0.35  # ... + z(similarity of the sentence) ...
    context_weight: float = 0.35  # ... + z(similarity of the sentence with its neighbours) ...
    coverage_share: float = 0.2  # ... + z(coverage)
    decline_model: tuple[float, float, float] = (-92.0, 9.43, 106.43)  # logistic (bias, best coverage, best similarity)
    answer_probability: float = 0.271  # answer when the model's P(answerable) reaches this
    extract_similarity_gap: float = 0.03  # further extracts: this close to the best similarity (or covering enough)
    # Confidence: the lead's coverage (words alone) or exact coverage (with meaning) for high / medium
    high_coverage: float = 0.85
    medium_coverage: float = 0.65
    hesitant_probability: float = 0.7  # with meaning, one level less below this P(answerable)


DEFAULT_POLICY = Policy()
