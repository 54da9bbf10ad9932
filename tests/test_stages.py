"""The answer path stage by stage, on constructed corpora: expansion, candidates, features, ranking,
decision. A fake embedding model (tests/conftest.py ConceptEmbedder) stands for meaning."""

from dataclasses import replace

import numpy as np
import pytest

from retrieval import Snapshot, analyze
from retrieval.answer import Policy, answer
from retrieval.candidates import gather
from retrieval.corpus import parse_article
from retrieval.decision import Confidence, Reason, decide
from retrieval.expansion import expand
from retrieval.features import Features, measure
from retrieval.question import Kind, parse
from retrieval.ranking import rank
from retrieval.vectors import Semantic, SentenceVectors, passage_text
from tests.conftest import ConceptEmbedder

SENTENCES = [
    "افتتحت الحكومة محطة جديدة لتحلية مياه البحر في مدينة الساحل.",
    "وتبلغ قدرة المحطة خمسين ألف متر مكعب يوميا.",
    "وقال الوزير إن المشروع كلف مئتي مليون دولار.",
    "ويستفيد من المياه المحلاة سكان المدينة والقرى المجاورة لها.",
]
CONCEPTS = {
    "cost": ("كلف", "تكلفة", "ثمن", "أنفقت"),
    "plant": ("محطة", "المحطة", "المنشأة"),
    "water": ("مياه", "الماء", "المياه", "المحلاة"),
    "capacity": ("قدرة", "تنتج", "طاقة"),
    "people": ("سكان", "الأهالي", "المستفيدون"),
}


def snapshot_of(sentences: list[str]) -> Snapshot:
    doc = parse_article("d", "d.txt", "\n".join(sentences), {"title": "محطة التحلية"})
    return Snapshot.build([doc])


@pytest.fixture(scope="module")
def snap() -> Snapshot:
    return snapshot_of(SENTENCES)


@pytest.fixture(scope="module")
def semantic(snap) -> Semantic:
    model = ConceptEmbedder(CONCEPTS)
    texts = [passage_text(snap, p) for p in range(len(snap))]
    return Semantic(model, SentenceVectors(model.model, model.passages(texts)))


def stages(snap, question, policy=Policy(), semantic=None):
    parsed = parse(question, snap.index.analyzer)
    expansions = expand(snap, parsed.terms, policy)
    sims = semantic.similarities(parsed.text) if semantic else None
    found = gather(snap, expansions, k=10, similarities=sims, dense_k=policy.dense_candidates)
    return parsed, expansions, found, measure(snap, parsed, expansions, found, sims)


# ------------------------------------------------------------------ question

def test_the_question_is_read_once_with_its_kind_and_counted_noun():
    parsed = parse("  كم جنديا أرسلت كوريا؟ ", analyze)
    assert parsed.text == "كم جنديا أرسلت كوريا؟"
    assert parsed.kind is Kind.QUANTITY and parsed.counted == analyze("جندي")[0]
    assert parsed.terms == tuple(analyze(parsed.text))
    assert parse("من هو وزير الخارجية؟", analyze).counted is None


# ------------------------------------------------------------------ expansion

def test_each_source_of_forms_has_its_weight_and_can_be_switched_off(snap):
    [plant] = expand(snap, analyze("المحطة"), Policy())
    assert plant.forms[plant.term] == 1.0
    [clitic] = expand(snap, analyze("لمحطة"), Policy())  # the corpus writes it without ل
    assert clitic.forms and set(clitic.forms.values()) == {Policy().variant_weight}
    assert not expand(snap, analyze("لمحطة"), Policy(variant_weight=0, typo_weight=0))[0].forms
    [typo] = expand(snap, analyze("تحليه"), Policy())
    [typo_off] = expand(snap, analyze("تحلبة"), Policy(typo_weight=0))
    assert typo.forms and not typo_off.forms


# ------------------------------------------------------------------ candidates

def test_bm25_brings_shared_words_and_the_vectors_bring_paraphrases(snap, semantic):
    _, _, words_only, _ = stages(snap, "ما ثمن المشروع؟", Policy(dense_candidates=0))
    _, _, both, features = stages(snap, "ما ثمن المشروع؟", Policy(dense_candidates=2), semantic)
    cost = 2  # "كلف": the question says ثمن, a word the sentence does not use
    assert cost in {c.position for c in words_only}  # المشروع is shared
    assert {c.position for c in words_only} <= {c.position for c in both}
    _, _, paraphrase, _ = stages(snap, "كم أنفقت؟", Policy(dense_candidates=1), semantic)
    assert [c.position for c in paraphrase] == [cost]  # no shared word: only the vectors find it
    assert paraphrase[0].bm25 == 0.0


# ------------------------------------------------------------------ features

def test_features_measure_coverage_exact_coverage_and_similarity(snap, semantic):
    _, _, _, features = stages(snap, "كم قدرة المحطة؟", Policy(), semantic)
    by_position = {f.position: f for f in features}
    capacity = by_position[1]
    assert capacity.coverage == pytest.approx(1.0) and capacity.exact_coverage == pytest.approx(1.0)
    assert capacity.holds  # a number (خمسين ألف) for a كم question
    assert capacity.similarity == max(f.similarity for f in features)
    # The neighbourhood mean lies between the sentence's own similarity and its neighbours'.
    around = [by_position[p].similarity for p in (0, 2) if p in by_position]
    assert min([capacity.similarity, *around]) <= capacity.context_similarity <= capacity.similarity


# ------------------------------------------------------------------ ranking

def feature(position, bm25, coverage, similarity=0.0, context=0.0):
    return Features(position, bm25, coverage, coverage, False, set(), similarity, context)


def test_without_vectors_the_order_is_the_lexical_score():
    ranked = rank([feature(0, 2.0, 0.5), feature(1, 3.0, 0.1), feature(2, 2.0, 0.9)], Policy(), semantic=False)
    assert [f.position for _, f in ranked] == [2, 1, 0]


def test_with_vectors_meaning_can_lift_a_sentence_above_a_wordier_one():
    fs = [feature(0, 5.0, 0.6, 0.70, 0.70), feature(1, 4.0, 0.5, 0.95, 0.90), feature(2, 1.0, 0.1, 0.60, 0.6)]
    assert [f.position for _, f in rank(fs, Policy(), semantic=False)][0] == 0
    assert [f.position for _, f in rank(fs, Policy(), semantic=True)][0] == 1
    words_only = replace(Policy(), similarity_weight=0, context_weight=0)
    assert [f.position for _, f in rank(fs, words_only, semantic=True)][0] == 0


# ------------------------------------------------------------------ decision

def test_lexical_rules_decline_too_little_coverage_and_a_missing_number(snap):
    parsed, expansions, _, features = stages(snap, "ما لون السماء فوق مدينة الساحل؟")
    d = decide(rank(features, Policy(), semantic=False), parsed, expansions, Policy())
    assert not d.answered and d.reason is Reason.TOO_LITTLE_COVERED and d.confidence is Confidence.NONE
    parsed, expansions, _, features = stages(snap, "متى افتتحت الحكومة محطة تحلية المياه؟")
    d = decide(rank(features, Policy(), semantic=False), parsed, expansions, Policy())
    assert not d.answered and d.reason is Reason.NO_NUMBER_OR_TIME


def test_the_calibrated_model_declines_below_its_threshold_and_says_why(snap, semantic):
    parsed, expansions, _, features = stages(snap, "ما ثمن المشروع؟", Policy(), semantic)
    ranked = rank(features, Policy(), semantic=True)
    sure = decide(ranked, parsed, expansions, Policy(), top_similarity=0.99)
    assert sure.answered and sure.reason is Reason.ANSWERED and sure.probability > 0.9
    assert sure.lead is ranked[0][1]
    unsure = decide(ranked, parsed, expansions, Policy(), top_similarity=0.5)
    assert not unsure.answered and unsure.reason is Reason.NOT_CLOSE_ENOUGH and unsure.probability < 0.01
    assert unsure.signals == (max(f.coverage for f in features), 0.5)


# ------------------------------------------------------------------ the whole line

def test_meaning_answers_a_paraphrase_that_words_alone_decline(snap, semantic):
    question = "كم أنفقت؟"  # the sentence says كلف: no word in common
    assert not answer(snap, question).answered
    policy = replace(Policy(), decline_model=(-10.0, 0.0, 14.0), answer_probability=0.5)  # this toy model's scale
    a = answer(snap, question, semantic=semantic, policy=policy)
    assert a.answered and a.extracts[0].position == 2 and a.reason is Reason.ANSWERED


def test_the_pipeline_runs_and_declines_sensibly_without_a_model(snap):
    a = answer(snap, "ما عاصمة البرازيل؟")
    assert not a.answered and a.reason in (Reason.UNKNOWN_WORDS, Reason.TOO_LITTLE_COVERED)
    assert answer(snap, "كم قدرة المحطة؟").extracts[0].position == 1
    assert answer(snap, "   ").reason is Reason.EMPTY


def test_confidence_is_how_much_of_the_question_the_quote_holds_as_written():
    def decided(exact: float, similarity: float):
        f = Features(0, 5.0, exact, exact, False, set(), similarity, similarity)
        question = parse("سؤال ما", analyze)
        return decide([(1.0, f)], question, [], Policy(), top_similarity=similarity)
    assert decided(0.9, 0.99).confidence is Confidence.HIGH
    assert decided(0.7, 0.99).confidence is Confidence.MEDIUM
    assert decided(0.3, 0.99).confidence is Confidence.LOW
    bias, w_coverage, w_similarity = Policy().decline_model
    halfway = -(bias + w_coverage * 0.9) / w_similarity  # the similarity where P(answerable) is 0.5
    hesitant = decided(0.9, halfway)
    assert hesitant.answered and hesitant.probability < 0.7 and hesitant.confidence is Confidence.MEDIUM
