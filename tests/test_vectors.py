"""Sentence vectors: cached by model and text, so a reload embeds only new sentences; every batch
commits, so an interrupted embedding keeps what it finished; incomplete vectors are never served."""

import numpy as np
import pytest

from retrieval.vectors import (BATCH, Passages, VectorCache, embed_missing, embed_pending, load_vectors, open_cache,
                               passage_text, pending)
from tests.test_stages import CONCEPTS, SENTENCES, snapshot_of
from tests.conftest import ConceptEmbedder


def test_what_is_embedded_is_the_title_and_the_sentence():
    snap = snapshot_of(SENTENCES)
    assert passage_text(snap, 1) == f"محطة التحلية: {SENTENCES[1]}"


def test_vectors_are_served_in_position_order_once_complete(store_url):
    snap, model = snapshot_of(SENTENCES), ConceptEmbedder(CONCEPTS)
    with open_cache(store_url) as cache:
        assert load_vectors(Passages.of(snap, model.model), cache) == (None, 0)
        report = embed_missing(snap, model, cache)
        assert (report.sentences, report.cached, report.embedded) == (4, 0, 4)
        vectors, have = load_vectors(Passages.of(snap, model.model), cache)
    assert have == 4
    expected = model.passages([passage_text(snap, p) for p in range(4)])
    assert np.allclose(vectors.matrix, expected)
    assert np.allclose(vectors.similarities(expected[2]), expected @ expected[2])


def test_a_changed_corpus_embeds_only_its_new_sentences(store_url):
    model = ConceptEmbedder(CONCEPTS)
    with open_cache(store_url) as cache:
        embed_missing(snapshot_of(SENTENCES), model, cache)
        model.calls = 0
        grown = snapshot_of(SENTENCES + ["وسيجري توسيع المحطة العام المقبل."])
        report = embed_missing(grown, model, cache)
    assert (report.cached, report.embedded, model.calls) == (4, 1, 1)


def test_another_model_does_not_reuse_the_vectors(tmp_path):
    snap, model = snapshot_of(SENTENCES), ConceptEmbedder(CONCEPTS)
    with VectorCache(tmp_path / "v.sqlite3") as cache:
        embed_missing(snap, model, cache)
        assert len(pending(Passages.of(snap, "another-model"), cache)) == 4


class Failing(ConceptEmbedder):
    """Fails on its second batch, as a kill would interrupt it."""

    def passages(self, texts):
        if self.calls >= BATCH:
            raise RuntimeError("killed")
        return super().passages(texts)


def test_an_interrupted_embedding_keeps_every_finished_batch(tmp_path):
    sentences = [f"الجملة رقم {i} عن المحطة." for i in range(BATCH + 5)]
    snap = snapshot_of(sentences)
    with VectorCache(tmp_path / "v.sqlite3") as cache:
        with pytest.raises(RuntimeError):
            embed_missing(snap, Failing(CONCEPTS), cache)
        passages = Passages.of(snap, "fake-concepts")
        assert len(pending(passages, cache)) == len(snap) - BATCH
        assert load_vectors(passages, cache) == (None, BATCH)  # incomplete: not served
        report = embed_missing(snap, ConceptEmbedder(CONCEPTS), cache)
    assert report.embedded == len(snap) - BATCH


def test_a_damaged_vector_is_missing_never_misaligned(tmp_path):
    snap, model = snapshot_of(SENTENCES), ConceptEmbedder(CONCEPTS)
    with VectorCache(tmp_path / "v.sqlite3") as cache:
        embed_missing(snap, model, cache)
        passages = Passages.of(snap, model.model)
        cache.put([(passages.keys[2], np.zeros(3, dtype=np.float32))])  # a row of the wrong size
        assert load_vectors(passages, cache) == (None, 3)
        assert [k for k, _ in pending(passages, cache)] == []  # present, but unusable: not served


def test_sentences_with_the_same_text_share_one_vector(tmp_path):
    from retrieval import Snapshot
    from retrieval.corpus import parse_article

    docs = [parse_article(d, f"{d}.txt", "\n".join(SENTENCES[:2]), {"title": "محطة التحلية"}) for d in ("a", "b")]
    snap, model = Snapshot.build(docs), ConceptEmbedder(CONCEPTS)
    with VectorCache(tmp_path / "v.sqlite3") as cache:
        report = embed_missing(snap, model, cache)
        vectors, _ = load_vectors(Passages.of(snap, model.model), cache)
    assert len(snap) == 4 and report.embedded == 2
    assert np.array_equal(vectors.matrix[0], vectors.matrix[2]) and np.array_equal(vectors.matrix[1], vectors.matrix[3])


def test_a_sentence_one_replica_embedded_is_not_embedded_by_another(store_url):
    snap, model = snapshot_of(SENTENCES), ConceptEmbedder(CONCEPTS)
    with open_cache(store_url) as first, open_cache(store_url) as second:
        embed_missing(snap, model, first)
        assert pending(Passages.of(snap, model.model), second) == []
        vectors, have = load_vectors(Passages.of(snap, model.model), second)
    assert have == 4 and vectors is not None


def test_a_shared_embedding_skips_what_another_process_stored_meanwhile(store_url):
    """Two replicas embed one new corpus together: a batch already stored by the other is not embedded again."""
    snap, model = snapshot_of(SENTENCES), ConceptEmbedder(CONCEPTS)
    passages = Passages.of(snap, model.model)
    with open_cache(store_url) as mine, open_cache(store_url) as theirs:
        todo = pending(passages, mine)
        embed_pending(todo[:2], model, theirs)  # the other replica got to these first
        model.calls = 0
        assert embed_pending(todo, model, mine, shared=True) == len(todo)
        assert model.calls == len(todo) - 2  # only the texts still missing were embedded
        assert pending(passages, mine) == []
