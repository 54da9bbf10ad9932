"""A corpus snapshot: documents, the flat table of their sentences, and the BM25 index over it.

A snapshot never changes once built; a reload builds a new one and swaps the reference,
so a question being answered always sees one consistent corpus. Sentence positions
(0-based, in document order) are what the index returns and what buttons refer to.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timezone
from collections.abc import Callable

import numpy as np

from .arabic import analyze, skeleton, synonyms
from .corpus import Document
from .index import Index

__all__ = ["Snapshot", "Location", "sentence_texts"]


def _table(documents: tuple[Document, ...]) -> np.ndarray:
    rows = [(d_i, p_i, s_i) for d_i, d in enumerate(documents) for p_i, p in enumerate(d.paragraphs)
            for s_i in range(len(p.sentences))]
    return np.array(rows, dtype=np.int32).reshape(-1, 3).T.copy()


def sentence_texts(documents: list[Document]) -> list[str]:
    """Every sentence of the documents, in position order."""
    return [d.text[a:b] for d in documents for p in d.paragraphs for a, b in p.sentences]


@dataclass(frozen=True, slots=True)
class Location:
    """Where a sentence stands: its document, paragraph (1-based number), and offsets."""

    doc: Document
    paragraph: int  # 1-based paragraph number in the document
    paragraph_index: int  # index into doc.paragraphs
    sentence: int  # 1-based sentence number in the document
    start: int
    end: int

    @property
    def text(self) -> str:
        return self.doc.text[self.start:self.end]

    @property
    def page(self) -> int | None:
        """The page the sentence stands on, for documents that have pages (PDF)."""
        return self.doc.paragraphs[self.paragraph_index].page


class Snapshot:
    """Documents + sentence table + index, immutable; build with `Snapshot.build` or `from_parts`."""

    def __init__(self, documents: list[Document], index: Index, built_at: datetime | None = None,
                 fingerprint: str = "", corpus_dir: str = "", table: bytes | None = None):
        self.documents = tuple(documents)
        self.index = index
        self.built_at = built_at or datetime.now(timezone.utc)
        self.fingerprint = fingerprint
        self.corpus_dir = corpus_dir
        # The sentence table: for each position, its document, paragraph and sentence indexes.
        # Stored with the index, so start-up need not walk every paragraph of a large corpus.
        rows = np.frombuffer(table, dtype=np.int32).reshape(3, -1) if table is not None else _table(self.documents)
        self._doc, self._par, self._sent = rows
        # 1-based sentence number within its document: position minus the document's first position.
        self._doc_first = np.searchsorted(self._doc, np.arange(len(self.documents) + 1))
        self.paragraph_count = int(np.count_nonzero(self._sent == 0))
        if len(index) != len(self._doc):
            raise ValueError(f"index has {len(index)} sentences, documents have {len(self._doc)}")
        # Computed here, where the snapshot is built (off the serving loop), not on the first question.
        self.variants = _variant_groups(index.vocabulary)
        self.synonyms = synonyms(index.analyzer)  # term -> terms that say the same (data/synonyms.txt)

    def table_bytes(self) -> bytes:
        """The sentence table, to store beside the index."""
        return np.stack([self._doc, self._par, self._sent]).astype(np.int32).tobytes()

    @classmethod
    def build(cls, documents: list[Document], *, fingerprint: str = "", corpus_dir: str = "",
              progress: bool = False, analyzer: Callable[[str], list[str]] = analyze) -> "Snapshot":
        """Index the documents' sentences (analysis included); a progress bar only for large corpora."""
        texts = sentence_texts(documents)
        return cls(documents, Index.build(texts, analyzer, progress=progress and len(texts) >= 20_000),
                   fingerprint=fingerprint, corpus_dir=corpus_dir)

    def __len__(self) -> int:
        return len(self._doc)

    def locate(self, position: int) -> Location:
        """The document, paragraph and offsets of the sentence at `position`."""
        d_i, p_i, s_i = int(self._doc[position]), int(self._par[position]), int(self._sent[position])
        doc = self.documents[d_i]
        paragraph = doc.paragraphs[p_i]
        start, end = paragraph.sentences[s_i]
        return Location(doc, paragraph.number, p_i, position - int(self._doc_first[d_i]) + 1, start, end)

    def text(self, position: int) -> str:
        return self.locate(position).text

    def neighbour(self, position: int, step: int) -> int | None:
        """The position of the previous (-1) or next (+1) sentence in the same paragraph, if any."""
        other = position + step
        if 0 <= other < len(self._doc) and self._doc[other] == self._doc[position] \
                and self._par[other] == self._par[position]:
            return other
        return None


def _variant_groups(vocabulary) -> dict[str, list[str]]:
    """Vocabulary terms grouped by consonant skeleton, for matching spelling variants of names."""
    groups: dict[str, list[str]] = defaultdict(list)
    for term in vocabulary:
        groups[skeleton(term)].append(term)
    return dict(groups)
