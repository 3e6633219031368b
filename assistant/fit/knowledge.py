"""What the fit package reads of the store: framework and case chunks with their stored e5 vectors,
grouped by document and section (the section names are data: resources/fit/knowledge.yaml)."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from typing import Any

import numpy as np

from assistant.answer.state import Citation
from assistant.core.schema import models_of
from assistant.core.vocabulary import MODEL_KEYS
from assistant.resources import load_yaml
from assistant.store.chroma import KnowledgeIndex


@cache
def sections_config() -> dict[str, Any]:
    return load_yaml("fit/knowledge.yaml")


@dataclass
class KChunk:
    """A stored chunk: text, metadata and its e5 passage vector."""

    chunk_id: str
    text: str
    meta: dict[str, Any]
    vector: np.ndarray

    @property
    def doc_id(self) -> str:
        return str(self.meta.get("doc_id", ""))

    @property
    def heading(self) -> str:
        return str(self.meta.get("heading", ""))

    @property
    def lang(self) -> str:
        return str(self.meta.get("lang", "zh"))

    @property
    def models(self) -> list[str]:
        return models_of(self.meta)

    def under(self, headings: list[str]) -> bool:
        """The chunk sits under one of these top-level headings (or is one of them)."""
        top = self.heading.split(" > ")[0]
        return top in headings

    def citation(self, n: int, quote: str = "", twin_text: str = "") -> Citation:
        meta = self.meta
        return Citation(
            n=n,
            chunk_id=self.chunk_id,
            doc_id=self.doc_id,
            title=str(meta.get("title", "")),
            kind=str(meta.get("kind", "")),
            topic=meta.get("topic") or None,
            models=self.models,
            company=meta.get("company") or None,
            heading=self.heading,
            quote=quote or self.text[:200],
            text=self.text,
            lang=self.lang,
            pair_id=str(meta.get("pair") or self.doc_id),
            section=int(meta.get("section") or 0),
            twin_text=twin_text,
        )


@dataclass
class CaseDoc:
    doc_id: str
    company: str
    company_zh: str
    title: str
    lang: str
    models: list[str]
    chunks: list[KChunk] = field(default_factory=list)

    @property
    def primary(self) -> str | None:
        return self.models[0] if self.models else None

    def name(self) -> str:
        return (self.company_zh or self.company) if self.lang == "zh" else (self.company or self.company_zh)

    def section(self, headings: list[str]) -> list[KChunk]:
        return [c for c in self.chunks if c.under(headings)]


class FitKnowledgeMissing(ValueError):
    """The store holds no framework documents: without the essay's criteria and the cases, a ranking
    would rest on the profile alone and look complete while it is not."""


class FitKnowledge:
    """Framework and case chunks of one store, read once (a few seconds) and kept by the analyzer."""

    def __init__(self, index: KnowledgeIndex) -> None:
        self.index = index
        self.chunks = [
            KChunk(c.chunk_id, c.text, c.metadata, np.asarray(c.vector, dtype=np.float32))
            for c in index.chunks_with_vectors(kinds=["framework", "case"])
        ]
        if not any(c.meta.get("kind") == "framework" for c in self.chunks):
            raise FitKnowledgeMissing(
                "the knowledge base has no framework documents to rank by; run `yunying ingest` first"
            )
        self.chunks.sort(key=lambda c: (c.doc_id, int(c.meta.get("position", 0))))
        self.by_doc: dict[str, list[KChunk]] = {}
        for chunk in self.chunks:
            self.by_doc.setdefault(chunk.doc_id, []).append(chunk)
        self.cases = self._cases()

    def _cases(self) -> dict[str, list[CaseDoc]]:
        out: dict[str, list[CaseDoc]] = {"zh": [], "en": []}
        for doc_id, chunks in self.by_doc.items():
            meta = chunks[0].meta
            if meta.get("kind") != "case":
                continue
            doc = CaseDoc(
                doc_id=doc_id,
                company=str(meta.get("company") or ""),
                company_zh=str(meta.get("company_zh") or ""),
                title=str(meta.get("title") or ""),
                lang=str(meta.get("lang") or "zh"),
                models=chunks[0].models,
                chunks=chunks,
            )
            out.setdefault(doc.lang, []).append(doc)
        return out

    def framework(self, topic: str, lang: str) -> list[KChunk]:
        """A framework document's chunks in one language, in reading order."""
        for chunks in self.by_doc.values():
            meta = chunks[0].meta
            if meta.get("kind") == "framework" and meta.get("topic") == topic and meta.get("lang") == lang:
                return chunks
        return []

    def twin_text(self, chunk: KChunk) -> str:
        return self.index.twin_section_text(
            str(chunk.meta.get("pair", "")), int(chunk.meta.get("section") or 0), chunk.doc_id
        )

    def model_section(self, topic: str, parent: list[str], model: str, lang: str) -> list[KChunk]:
        """The chunks of a per-model subsection (core-loop's or support-systems') of one model."""
        names = sections_config()["model_names"][model]
        return [
            c
            for c in self.framework(topic, lang)
            if c.under(parent) and any(n.lower() in c.heading.lower() for n in names)
        ]


def model_named(text: str) -> list[str]:
    """The models a passage names (产品驱动, content-driven...), in vocabulary order."""
    names = sections_config()["model_names"]
    lowered = text.lower()
    return [m for m in MODEL_KEYS if any(n.lower() in lowered for n in names[m])]
