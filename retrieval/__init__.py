"""Sanad's answering engine: Arabic questions in, quoted sentences with citations out.

No Telegram here; the bot and the command line are adapters over this API:

    analyze(text) -> list[str]                  index terms of any text (questions and sentences alike)
    Index.build(texts) -> Index                 BM25Okapi (rank-bm25's numbers) over a list of texts
    Index.search(question, k=10) -> list[Hit]   Hit.position indexes `texts`, Hit.score is the BM25 score
    load_corpus(folder) -> LoadResult           documents (cleaned, split into sentences) + skipped files
    Snapshot.build(documents) -> Snapshot       documents + sentence table + index, immutable
    answer(snapshot, question, semantic=None)   extracts with citations, or an honest "not found"; with
                                                `semantic` (vectors + model) meaning joins words
    await Engine.open(database, corpus_dir)     all of the above kept in SQLite (a path) or PostgreSQL (a
                                                postgresql:// URL), with safe reloads; engine.follow() and
                                                engine.refresh() serve what other processes (replicas) save
"""

from .answer import Answer, DocInfo, Extract, Policy, answer, question_kind
from .arabic import analyze
from .corpus import Document, LoadResult, Paragraph, Skipped, load_corpus
from .engine import (BuildReport, Context, CorpusInfo, EmbeddingState, EmbeddingStatus, Engine, RebuildBusy,
                     ReloadError, UploadError)
from .index import Hit, Index
from .snapshot import Snapshot
from .store import Stats, Store, StoreError

__all__ = [
    "analyze", "Index", "Hit", "load_corpus", "Document", "Paragraph", "Skipped", "LoadResult",
    "Snapshot", "answer", "question_kind", "Answer", "Extract", "DocInfo", "Policy",
    "Engine", "BuildReport", "CorpusInfo", "Context", "ReloadError", "RebuildBusy", "UploadError", "EmbeddingStatus",
    "EmbeddingState",
    "Store", "StoreError", "Stats",
]
