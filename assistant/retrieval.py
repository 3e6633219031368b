"""Retrieval: dense (Chroma) and BM25 (jieba) candidates fused by reciprocal rank fusion, with filters.

`HybridRetriever.search` is the one public entry point; `mode` picks dense-only or BM25-only for the
baselines the eval suite measures against. `as_langchain()` adapts it to LangChain's retriever interface.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Sequence
from typing import Any, Literal

import numpy as np
from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document as LCDocument
from langchain_core.retrievers import BaseRetriever
from pydantic import BaseModel, ConfigDict, Field, field_validator

from assistant.companies import CompanyNames
from assistant.config import Settings
from assistant.core.text import detect_lang
from assistant.corpus import MODEL_KEYS, Kind, ModelKey, Topic
from assistant.store.chroma import KnowledgeIndex
from assistant.store.records import StoredChunk
from assistant.store.tokenizer import tokenize

Mode = Literal["hybrid", "dense", "bm25"]


class SearchFilters(BaseModel):
    """Metadata filters; all given ones must hold. `models` matches chunks tagged with any of them."""

    model_config = ConfigDict(extra="forbid")

    kind: Kind | None = None
    topic: Topic | None = None
    models: list[ModelKey] = Field(default_factory=list)
    company: str | None = None

    @field_validator("company")
    @classmethod
    def _strip(cls, value: str | None) -> str | None:
        value = (value or "").strip()
        return value or None

    def is_empty(self) -> bool:
        return not (self.kind or self.topic or self.models or self.company)

    def where(self) -> dict[str, Any] | None:
        """The same filter as a Chroma `where` clause."""
        clauses: list[dict[str, Any]] = []
        if self.kind:
            clauses.append({"kind": self.kind})
        if self.topic:
            clauses.append({"topic": self.topic})
        if self.models:
            ors = [{f"model_{m}": True} for m in self.models]
            clauses.append(ors[0] if len(ors) == 1 else {"$or": ors})
        if self.company:
            clauses.append({"$or": [{"company_key": self.company.lower()}, {"company_zh": self.company}]})
        if not clauses:
            return None
        return clauses[0] if len(clauses) == 1 else {"$and": clauses}

    def accepts(self, meta: dict[str, Any]) -> bool:
        """The same filter evaluated in Python, for BM25 candidates."""
        if self.kind and meta.get("kind") != self.kind:
            return False
        if self.topic and meta.get("topic") != self.topic:
            return False
        if self.models and not any(meta.get(f"model_{m}") for m in self.models):
            return False
        return (
            not self.company
            or self.company.lower() == meta.get("company_key")
            or (self.company == meta.get("company_zh"))
        )


class Hit(BaseModel):
    """One search result. The CLI's JSON hit is this model, flattened; fields are only ever added."""

    rank: int
    score: float = Field(description="Fused score (reciprocal rank fusion) in hybrid mode.")
    chunk_id: str
    doc_id: str
    title: str
    kind: str
    topic: str | None = None
    models: list[str] = Field(default_factory=list)
    company: str | None = None
    company_zh: str | None = None
    heading: str = ""
    text: str
    lang: str = "zh"
    source: str = ""
    dense_score: float | None = Field(default=None, description="Cosine similarity to the query.")
    bm25_score: float | None = None
    pair_id: str = Field(default="", description="The original's id for a document and its translated twin.")
    section: int = 0


def _hit_from(rank: int, score: float, chunk_id: str, text: str, meta: dict[str, Any]) -> Hit:
    models = [m for m in str(meta.get("models", "")).split(",") if m]
    return Hit(
        rank=rank,
        score=round(float(score), 6),
        chunk_id=chunk_id,
        doc_id=str(meta.get("doc_id", "")),
        title=str(meta.get("title", "")),
        kind=str(meta.get("kind", "")),
        topic=meta.get("topic") or None,
        models=models,
        company=meta.get("company") or None,
        company_zh=meta.get("company_zh") or None,
        heading=str(meta.get("heading", "")),
        text=text,
        lang=str(meta.get("lang", "zh")),
        source=str(meta.get("source", "")),
        pair_id=str(meta.get("pair") or meta.get("doc_id", "")),
        section=int(meta.get("section") or 0),
    )


class BM25Index:
    """BM25 over the stored chunks' jieba tokens (computed once at ingest and kept in Chroma).

    bm25s scores with sparse matrices: about a millisecond at 100k chunks, where rank_bm25's per-document
    Python loop takes hundreds; the tokens are ours (jieba), so Chinese is handled properly either way.
    """

    def __init__(self, chunks: list[StoredChunk]) -> None:
        import bm25s

        self.chunks = chunks
        corpus = [c.tokens for c in chunks]
        self._bm25: Any = None
        self.idf: dict[str, float] = {}
        if chunks and any(corpus):
            self._bm25 = bm25s.BM25()
            self._bm25.index(corpus, show_progress=False)
            df: dict[str, int] = {}
            for tokens in corpus:
                for token in set(tokens):
                    df[token] = df.get(token, 0) + 1
            n = len(corpus)
            self.idf = {t: math.log(1 + (n - d + 0.5) / (d + 0.5)) for t, d in df.items()}
        self.max_idf = math.log(1 + (len(chunks) + 0.5) / 0.5) if chunks else 1.0

    def search(self, query: str, k: int, filters: SearchFilters) -> list[tuple[int, float]]:
        """(chunk index, score) of the k best chunks with a positive score."""
        tokens = tokenize(query)
        if self._bm25 is None or not tokens:
            return []
        mask = None
        if not filters.is_empty():
            mask = np.array([filters.accepts(c.metadata) for c in self.chunks], dtype=np.float32)
        scores = np.asarray(self._bm25.get_scores(tokens, weight_mask=mask))
        # argpartition finds the k best in linear time; only those get sorted
        best = np.argpartition(-scores, k)[:k] if k < len(scores) else np.arange(len(scores))
        best = best[np.argsort(-scores[best], kind="stable")]
        return [(int(i), float(scores[i])) for i in best if scores[i] > 0]


def one_per_twin_section(order: list[str], payload: dict[str, tuple[str, dict]], lang: str) -> list[str]:
    """A document and its translated twin are one document: once a section of a pair has a hit from one
    twin, the other twin's chunks of that section are dropped, except that a chunk in the asker's
    language takes the place (and rank) of the first hit in the other language."""
    owner: dict[tuple[str, int], tuple[str, int]] = {}  # (pair, section) -> (doc id, index in kept)
    kept: list[str] = []
    for cid in order:
        meta = payload[cid][1]
        doc = str(meta.get("doc_id") or "")
        key = (str(meta.get("pair") or doc), int(meta.get("section") or 0))
        if key not in owner:
            owner[key] = (doc, len(kept))
            kept.append(cid)
            continue
        held_doc, index = owner[key]
        if held_doc == doc:
            kept.append(cid)  # another chunk of the same section of the same document
            continue
        held = payload[kept[index]][1]
        if held.get("lang") != lang and meta.get("lang") == lang:
            kept[index] = cid
            owner[key] = (doc, index)
    return kept


def reciprocal_rank_fusion(rankings: list[list[str]], rrf_k: int = 60) -> dict[str, float]:
    """The one rank fusion of the package: each ranking gives an id 1 / (rrf_k + rank)."""
    fused: dict[str, float] = {}
    for ranking in rankings:
        for rank, cid in enumerate(ranking, start=1):
            fused[cid] = fused.get(cid, 0.0) + 1.0 / (rrf_k + rank)
    return fused


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
                _hit_from(r, s, cid, t, m).model_copy(update={"dense_score": round(s, 6)})
                for r, (cid, t, m, s) in enumerate(dense[:k], start=1)
            ]
        if mode == "bm25":
            assert bm25_index is not None
            hits = []
            for r, (i, s) in enumerate(sparse[:k], start=1):
                c = bm25_index.chunks[i]
                hits.append(
                    _hit_from(r, s, c.chunk_id, c.text, c.metadata).model_copy(
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
            hit = _hit_from(rank, fused[cid], cid, text, meta)
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


__all__ = ["BM25Index", "Hit", "HybridRetriever", "KnowledgeRetriever", "MODEL_KEYS", "Mode", "SearchFilters"]
