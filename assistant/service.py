"""The one service object both front ends (CLI and Gradio) share: they hold no logic of their own."""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from functools import cached_property
from pathlib import Path
from typing import Any

from assistant.chains import Answer, AnswerChain
from assistant.config import Settings, apply_offline_env
from assistant.errors import check_text
from assistant.fit import FitAnalysis, FitAnalyzer, llm_summary
from assistant.index import IngestReport, KnowledgeIndex
from assistant.retrieval import Hit, HybridRetriever, Mode, SearchFilters


class Yunying:
    """Owns the index and the retriever for one process; loads the embedding model once, lazily."""

    def __init__(self, settings: Settings | None = None) -> None:
        apply_offline_env()
        self.settings = settings or Settings()
        self._write_lock = threading.Lock()
        self._chat_models: dict[str, Any] = {}

    @cached_property
    def index(self) -> KnowledgeIndex:
        return KnowledgeIndex(self.settings)

    @cached_property
    def retriever(self) -> HybridRetriever:
        return HybridRetriever(self.index, self.settings)

    def ingest(self, paths: Sequence[Path] | None = None, *, progress: bool = False) -> IngestReport:
        with self._write_lock:  # two concurrent ingests would race on the same documents
            return self.index.ingest(paths, progress=progress)

    def search(
        self,
        query: str,
        k: int | None = None,
        filters: SearchFilters | None = None,
        mode: Mode = "hybrid",
    ) -> list[Hit]:
        query = check_text(
            query, what="query", limit=self.settings.max_question_chars, setting="MAX_QUESTION_CHARS"
        )
        return self.retriever.search(query, k=k, filters=filters, mode=mode)

    def chat_model(self, backend: str | None = None) -> Any:
        """The chat model of a backend, created once per process (the local model takes seconds to load)."""
        backend = backend or self.settings.llm
        if backend not in self._chat_models:
            from assistant.llm import make_chat_model

            self._chat_models[backend] = make_chat_model(self.settings.model_copy(update={"llm": backend}))
        return self._chat_models[backend]

    def answer_chain(self, backend: str | None = None) -> AnswerChain:
        backend = backend or self.settings.llm
        llm = None if backend == "none" else self.chat_model(backend)
        return AnswerChain(
            self.retriever,
            llm,
            backend=backend,
            gate_min_coverage=self.settings.gate_min_coverage,
            gate_min_dense=self.settings.gate_min_dense,
            max_tokens=self.settings.llm_max_tokens,
            max_question_chars=self.settings.max_question_chars,
        )

    def ask(
        self, question: str, history: Sequence[dict[str, str]] | None = None, backend: str | None = None
    ) -> Answer:
        return self.answer_chain(backend).invoke(question, history)

    def fit(self, description: str, backend: str | None = None) -> FitAnalysis:
        """Rank the five operating models for a business and draft the memo (deterministic scoring)."""
        from assistant.memo import render_markdown

        description = check_text(
            description,
            what="business description",
            limit=self.settings.max_description_chars,
            setting="MAX_DESCRIPTION_CHARS",
        )
        backend = backend or self.settings.llm
        analysis = FitAnalyzer(self.retriever, backend).analyze(description)
        if backend != "none":
            started = time.perf_counter()
            analysis.summary = llm_summary(self.chat_model(backend), analysis)
            analysis.seconds = round(analysis.seconds + time.perf_counter() - started, 2)
        analysis.memo_markdown = render_markdown(analysis)
        return analysis

    def warm_up(self) -> None:
        """Load the model, jieba and BM25 now, so the first user query is not the slow one."""
        self.index.embedder.embed_query(["warm up"])
        self.retriever.refresh()
