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
from assistant.fit import FitAnalysis, FitAnalyzer, SelectionFactors, enrich_with_llm
from assistant.index import IngestReport, KnowledgeIndex, StoredChunk
from assistant.onboarding import Lang, LearningModule, QuizQuestion, build_quiz, learning_path
from assistant.retrieval import Hit, HybridRetriever, Mode, SearchFilters


class Yunying:
    """Owns the index and the retriever for one process; loads the embedding model once, lazily."""

    def __init__(self, settings: Settings | None = None) -> None:
        apply_offline_env()
        self.settings = settings or Settings()
        self._write_lock = threading.Lock()
        self._chat_models: dict[str, Any] = {}
        self._onboarding_lock = threading.Lock()
        self._onboarding: dict[tuple, Any] = {}

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
        )

    def ask(
        self, question: str, history: Sequence[dict[str, str]] | None = None, backend: str | None = None
    ) -> Answer:
        return self.answer_chain(backend).invoke(question, history)

    def fit(
        self, description: str, backend: str | None = None, factors: SelectionFactors | None = None
    ) -> FitAnalysis:
        """Rank the five operating models for a business and draft the memo. The scoring is deterministic;
        an LLM backend adds checked profile fields, a cited rationale and a summary."""
        from assistant.memo import render_markdown

        backend = backend or self.settings.llm
        analysis = FitAnalyzer(self.retriever, backend).analyze(description, factors)
        if backend != "none":
            started = time.perf_counter()
            analysis = enrich_with_llm(self.chat_model(backend), analysis)
            analysis.seconds = round(analysis.seconds + time.perf_counter() - started, 2)
        analysis.memo_markdown = render_markdown(analysis)
        return analysis

    def _store_chunks(self) -> tuple[tuple[int, int], list[StoredChunk]]:
        """The stored chunks and a fingerprint of the store (this process's write counter and the chunk
        count), so onboarding results are recomputed after an ingest, here or in another process."""
        fingerprint = (self.index.version, self.index.count())
        with self._onboarding_lock:
            cached = self._onboarding.get(("chunks",))
            if cached is not None and cached[0] == fingerprint:
                return cached
        chunks = self.index.all_chunks()
        with self._onboarding_lock:
            self._onboarding = {("chunks",): (fingerprint, chunks)}  # drop results of an older store
        return fingerprint, chunks

    def _cached(self, key: tuple, compute: Any) -> Any:
        fingerprint, chunks = self._store_chunks()
        with self._onboarding_lock:
            hit = self._onboarding.get((fingerprint, *key))
        if hit is None:
            hit = compute(chunks)
            with self._onboarding_lock:
                self._onboarding[(fingerprint, *key)] = hit
        return hit

    def learning_path(self, lang: Lang = "zh") -> list[LearningModule]:
        """The onboarding path (overview -> value loop -> five models -> support -> selection -> trends),
        summarised and cited from the stored framework documents."""
        path = self._cached(("path", lang), lambda chunks: learning_path(chunks, lang))
        return [m.model_copy(deep=True) for m in path]

    def quiz(
        self, lang: Lang = "zh", module: str | None = None, n: int = 10, seed: int = 0
    ) -> list[QuizQuestion]:
        """A deterministic quiz from the knowledge base (no LLM): the same seed gives the same questions
        and option order. Raises ValueError for an unknown module or language."""
        questions = self._cached(
            ("quiz", lang, module, n, seed),
            lambda chunks: build_quiz(chunks, lang, module=module, n=n, seed=seed),
        )
        return [q.model_copy(deep=True) for q in questions]

    def warm_up(self) -> None:
        """Load the model, jieba and BM25 now, so the first user query is not the slow one."""
        self.index.embedder.embed_query(["warm up"])
        self.retriever.refresh()
