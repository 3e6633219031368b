"""A search hit: rank, score, the chunk's text and its metadata, flattened (the CLI's JSON hit)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field


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


def hit_from(rank: int, score: float, chunk_id: str, text: str, meta: dict[str, Any]) -> Hit:
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
