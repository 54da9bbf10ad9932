"""What the bot needs of the answering engine and its store: the seams a test fake fills as well.

`retrieval.Engine` and `retrieval.Store` satisfy these Protocols, and so do the fakes of the tests
(tests/test_seams.py checks both), so the adapter is typed against what it uses, not against
`object` and `getattr`.
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

from retrieval import Answer, BuildReport, Context, CorpusInfo, EmbeddingStatus

__all__ = ["StoreSeam", "EngineSeam"]


@runtime_checkable
class StoreSeam(Protocol):
    """The question log, feedback, chat settings and secrets the handlers read and write."""

    async def secret(self, name: str) -> bytes: ...

    async def log_question(self, *, chat_id: int, user_hash: str, question: str, answered: bool,
                           top_doc: str | None, latency_ms: float, question_id: int | None = None) -> int: ...

    async def get_question(self, question_id: int, chat_id: int) -> str | None: ...

    async def add_feedback(self, question_id: int, user_hash: str, value: int) -> None: ...

    async def get_chat_setting(self, chat_id: int, key: str, default: str | None = None) -> str | None: ...

    async def set_chat_setting(self, chat_id: int, key: str, value: str) -> None: ...

    async def stats(self, *, top: int = 5) -> Any: ...

    async def forget_user(self, user_hash: str) -> int: ...

    async def purge_older_than(self, days: int) -> int: ...


@runtime_checkable
class EngineSeam(Protocol):
    """Answers, the corpus's figures and context, and the admin's changes to the corpus."""

    @property
    def store(self) -> StoreSeam: ...

    def ask(self, question: str, *, top: int = 3, offset: int = 0) -> Answer: ...

    def context(self, position: int) -> Context | None: ...

    def info(self) -> CorpusInfo: ...

    def embedding_status(self) -> EmbeddingStatus: ...

    async def reload(self) -> BuildReport: ...

    async def add_file(self, filename: str, data: bytes, *, max_bytes: int, url: str | None = None) -> BuildReport: ...

    async def add_url(self, url: str, *, max_bytes: int, timeout: float = 20.0) -> tuple[str, BuildReport]: ...

    def source_text(self, doc_id: str) -> tuple[str, str] | None: ...

    async def remove_document(self, doc_id: str) -> BuildReport: ...
