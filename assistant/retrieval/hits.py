"""A search hit read back from a stored chunk's flat metadata (the type, `Hit`, is core/schema's)."""

from __future__ import annotations

from typing import Any

from assistant.core.schema import Hit, models_of


def hit_from(rank: int, score: float, chunk_id: str, text: str, meta: dict[str, Any]) -> Hit:
    return Hit(
        rank=rank,
        score=round(float(score), 6),
        chunk_id=chunk_id,
        doc_id=str(meta.get("doc_id", "")),
        title=str(meta.get("title", "")),
        kind=str(meta.get("kind", "")),
        topic=meta.get("topic") or None,
        models=models_of(meta),
        company=meta.get("company") or None,
        company_zh=meta.get("company_zh") or None,
        heading=str(meta.get("heading", "")),
        text=text,
        lang=str(meta.get("lang", "zh")),
        source=str(meta.get("source", "")),
        pair_id=str(meta.get("pair") or meta.get("doc_id", "")),
        section=int(meta.get("section") or 0),
    )
