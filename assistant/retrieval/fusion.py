"""Putting rankings together: the one reciprocal rank fusion, and one hit per section of a translated pair."""

from __future__ import annotations


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
