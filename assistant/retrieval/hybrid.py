"""Retrieval: dense (Chroma) and BM25 (jieba) candidates fused by reciprocal rank fusion, with filters.

`HybridRetriever.search` is the one public entry point; `mode` picks dense-only or BM25-only for the
baselines the eval suite measures against. `as_langchain()` adapts it to LangChain's retriever interface.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any, Literal

from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document as LCDocument
from langchain_core.retrievers import BaseRetriever
from pydantic import ConfigDict, Field

from assistant.core.schema import Hit
from assistant.core.settings import Settings
from assistant.core.text import detect_lang
from assistant.retrieval.bm25 import BM25Index
from assistant.retrieval.companies import CompanyNames
from assistant.retrieval.filters import SearchFilters
from assistant.retrieval.fusion import one_per_twin_section, reciprocal_rank_fusion
from assistant.retrieval.hits import hit_from
from assistant.store.chroma import KnowledgeIndex

Mode = Literal["hybrid", "dense", "bm25"]


class HybridRetriever:
    """Dense + BM25 candidates, fused with reciprocal rank fusion (RRF).

    RRF needs no score calibration between cosine similarities and BM25 scores, which live on
    unrelated scales; each list contributes 1 / (rrf_k + rank). When the query names a company the
    store has a case for, that company's own dense and BM25 rankings join the fusion too.
    """

    def __init__(self, index: KnowledgeIndex, settings: Settings | None = None) -> None:
        self.index = index
        self.settings = settings or index.settings
        self._bm25: BM25Index | None = None
        self._bm25_version: str | None = None
        self._by_id: dict[str, int] = {}
        self._companies = CompanyNames([])
        self._lock = threading.Lock()

    def refresh(self) -> None:
        """Rebuild BM25 from the store (after an ingest, or when another process changed it)."""
        chunks = self.index.all_chunks()
        bm25 = BM25Index(chunks)
        companies = CompanyNames(chunks)
        with self._lock:
            self._bm25 = bm25
            self._companies = companies
            self._by_id = {c.chunk_id: i for i, c in enumerate(chunks)}
            self._bm25_version = self.index.version

    def bm25_index(self) -> BM25Index:
        if self._bm25 is None or self._bm25_version != self.index.version:
            self.refresh()
        assert self._bm25 is not None
        return self._bm25

    def companies_in(self, text: str) -> list[str]:
        """Company keys (lower-case English names) the text names, first mention first."""
        self.bm25_index()  # the name list is built with BM25, from the same pass over the store
        return self._companies.in_text(text)

    def company_labels(self, text: str) -> list[str]:
        """The companies a text names, as the store writes them (English and Chinese name): what a
        follow-up's "it" stands for."""
        self.bm25_index()
        return [self._companies.label(key) for key in self._companies.in_text(text)]

    def names_of(self, companies: Sequence[str]) -> list[str]:
        """Every name (English, Chinese, alias) the store records for these companies."""
        self.bm25_index()
        return self._companies.names_of({c.lower() for c in companies if c})

    def company_names(self) -> list[str]:
        """Every name (English, Chinese, alias) of every company the store has a case for, lower-cased."""
        self.bm25_index()
        return self._companies.surface_names()

    def dense(
        self, query: str, k: int, filters: SearchFilters, vector: Any = None
    ) -> list[tuple[str, str, dict, float]]:
        """(chunk id, text, metadata, cosine similarity), best first."""
        if self.index.count() == 0:
            return []
        if vector is None:
            vector = self.index.embedder.embed_query([query])[0]
        matches = self.index.query_dense(vector, k, filters.where())
        return [(m.chunk_id, m.text, m.metadata, m.similarity) for m in matches]

    def search(
        self,
        query: str,
        k: int | None = None,
        filters: SearchFilters | None = None,
        mode: Mode = "hybrid",
    ) -> list[Hit]:
        query = query.strip()
        if not query:
            raise ValueError("the query is empty")
        k = k or self.settings.top_k
        filters = filters or SearchFilters()
        pool = max(self.settings.candidate_k, k)

        vector = self.index.embedder.embed_query([query])[0] if mode in ("hybrid", "dense") else None
        dense = self.dense(query, pool, filters, vector) if mode in ("hybrid", "dense") else []
        bm25_index = self.bm25_index() if mode in ("hybrid", "bm25") else None
        sparse = bm25_index.search(query, pool, filters) if bm25_index else []

        if mode == "dense":
            return [
                hit_from(r, s, cid, t, m).model_copy(update={"dense_score": round(s, 6)})
                for r, (cid, t, m, s) in enumerate(dense[:k], start=1)
            ]
        if mode == "bm25":
            assert bm25_index is not None
            hits = []
            for r, (i, s) in enumerate(sparse[:k], start=1):
                c = bm25_index.chunks[i]
                hits.append(
                    hit_from(r, s, c.chunk_id, c.text, c.metadata).model_copy(
                        update={"bm25_score": round(s, 6)}
                    )
                )
            return hits

        assert bm25_index is not None
        dense_lists = [dense]
        sparse_lists = [sparse]
        if not filters.company:
            # the named companies' own rankings: a small pool, so they lift that company's best chunks
            # without crowding out the framework passages the question may also need
            for key in self.companies_in(query):
                only = filters.model_copy(update={"company": key})
                dense_lists.append(self.dense(query, 10, only, vector))
                sparse_lists.append(bm25_index.search(query, 10, only))

        payload: dict[str, tuple[str, dict]] = {}
        dense_scores: dict[str, float] = {}
        bm25_scores: dict[str, float] = {}
        rankings: list[list[str]] = []
        for ranking in dense_lists:
            for cid, text, meta, sim in ranking:
                payload[cid] = (text, meta)
                dense_scores[cid] = sim
            rankings.append([cid for cid, *_ in ranking])
        for ranking in sparse_lists:
            ids = []
            for i, score in ranking:
                chunk = bm25_index.chunks[i]
                payload.setdefault(chunk.chunk_id, (chunk.text, chunk.metadata))
                bm25_scores[chunk.chunk_id] = max(score, bm25_scores.get(chunk.chunk_id, score))
                ids.append(chunk.chunk_id)
            rankings.append(ids)
        fused = reciprocal_rank_fusion(rankings, self.settings.rrf_k)
        order = one_per_twin_section(
            sorted(fused, key=lambda cid: (-fused[cid], cid)), payload, detect_lang(query)
        )[:k]
        hits = []
        for rank, cid in enumerate(order, start=1):
            text, meta = payload[cid]
            hit = hit_from(rank, fused[cid], cid, text, meta)
            hit.dense_score = round(dense_scores[cid], 6) if cid in dense_scores else None
            hit.bm25_score = round(bm25_scores[cid], 6) if cid in bm25_scores else None
            hits.append(hit)
        return hits

    def fuse(self, rankings: list[list[Hit]]) -> list[Hit]:
        """Several hit lists for one question (phrasings of a follow-up) fused into one, by the same
        reciprocal rank fusion the search uses."""
        first: dict[str, Hit] = {}
        for ranking in rankings:
            for hit in ranking:
                first.setdefault(hit.chunk_id, hit)
        fused = reciprocal_rank_fusion([[h.chunk_id for h in r] for r in rankings], self.settings.rrf_k)
        order = sorted(fused, key=lambda cid: (-fused[cid], cid))[: max(len(r) for r in rankings)]
        return [
            first[cid].model_copy(update={"rank": n, "score": round(fused[cid], 6)})
            for n, cid in enumerate(order, start=1)
        ]

    def as_langchain(self, k: int | None = None, filters: SearchFilters | None = None) -> BaseRetriever:
        return KnowledgeRetriever(
            retriever=self, k=k or self.settings.top_k, filters=filters or SearchFilters()
        )


class KnowledgeRetriever(BaseRetriever):
    """LangChain adapter: hits become Documents whose metadata is the hit without its text."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    retriever: Any
    k: int = 5
    filters: SearchFilters = Field(default_factory=SearchFilters)

    def _get_relevant_documents(
        self, query: str, *, run_manager: CallbackManagerForRetrieverRun
    ) -> list[LCDocument]:
        hits = self.retriever.search(query, k=self.k, filters=self.filters)
        return [LCDocument(page_content=h.text, metadata=h.model_dump(exclude={"text"})) for h in hits]
