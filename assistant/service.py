"""The one service object both front ends (CLI and Gradio) share: they hold no logic of their own."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from functools import cached_property
from pathlib import Path

from assistant.config import Settings, apply_offline_env
from assistant.index import IngestReport, KnowledgeIndex
from assistant.retrieval import Hit, HybridRetriever, Mode, SearchFilters


class Yunying:
    """Owns the index and the retriever for one process; loads the embedding model once, lazily."""

    def __init__(self, settings: Settings | None = None) -> None:
        apply_offline_env()
        self.settings = settings or Settings()
        self._write_lock = threading.Lock()

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

    def warm_up(self) -> None:
        """Load the model, jieba and BM25 now, so the first user query is not the slow one."""
        self.index.embedder.embed_query(["warm up"])
        self.retriever.refresh()
