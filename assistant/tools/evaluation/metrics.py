"""Retrieval metrics (document level: a translated twin counts as its original) and the fit accuracy."""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable, Iterable
from typing import Any

from assistant.core.schema import Hit
from assistant.tools.evaluation.golden import FitCase

K_DOCS = 5


TWIN_SUFFIX = "-en"  # an English twin's id is its original's plus this (a knowledge test keeps it so)


def pair_of(doc_id: str) -> str:
    """The original's id for a document or its translated twin: either twin counts as the expected doc."""
    return doc_id.removesuffix(TWIN_SUFFIX) if doc_id.startswith(("case-", "framework-")) else doc_id


def ranked_docs(hits: Iterable[Hit | str]) -> list[str]:
    """Document ids (a twin counted as its original) in the order their first chunk appears: metrics
    are about finding the document."""
    seen: dict[str, None] = {}
    for hit in hits:
        seen.setdefault(pair_of(hit if isinstance(hit, str) else hit.doc_id), None)
    return list(seen)


def retrieval_scores(ranked: list[str], expected: list[str], k: int = K_DOCS) -> dict[str, float]:
    """hit@1, hit@5, reciprocal rank, nDCG@5 (binary relevance) and recall@5 of the expected docs."""
    relevant = set(expected)
    first = next((i for i, doc in enumerate(ranked) if doc in relevant), None)
    dcg = sum(1.0 / math.log2(i + 2) for i, doc in enumerate(ranked[:k]) if doc in relevant)
    ideal = sum(1.0 / math.log2(i + 2) for i in range(min(len(relevant), k)))
    return {
        "hit@1": float(first == 0),
        "hit@5": float(first is not None and first < k),
        "mrr": 1.0 / (first + 1) if first is not None else 0.0,
        "ndcg@5": dcg / ideal if ideal else 0.0,
        "recall@5": len(relevant & set(ranked[:k])) / len(relevant) if relevant else 0.0,
    }


def mean_scores(rows: list[dict[str, float]]) -> dict[str, float]:
    if not rows:
        return {}
    keys = rows[0].keys()
    return {key: round(statistics.fmean(r[key] for r in rows), 4) for key in keys}


def fit_accuracy(analyze: Callable[[str], Any], cases: list[FitCase]) -> dict[str, Any]:
    """Share of golden fit cases whose primary model matches the curated one, and whether every ranked
    model carries at least one citation."""
    rows = []
    for case in cases:
        try:
            analysis = analyze(case.description)
        except ValueError as exc:  # a description the analyser refuses counts as a miss, with its reason
            rows.append(
                {"id": case.id, "expected": case.expected_primary, "primary": None, "ok": False,
                 "all_models_cited": False, "seconds": 0.0, "error": str(exc)}
            )  # fmt: skip
            continue
        rows.append(
            {
                "id": case.id,
                "expected": case.expected_primary,
                "primary": analysis.primary,
                "ok": analysis.primary in case.accepted,
                "all_models_cited": all(r.citations for r in analysis.ranking),
                "seconds": analysis.seconds,
            }
        )
    return {
        "n": len(rows),
        "accuracy": round(statistics.fmean(r["ok"] for r in rows), 4) if rows else None,
        "all_models_cited": all(r["all_models_cited"] for r in rows if "error" not in r),
        "misses": [r for r in rows if not r["ok"]],
        "seconds_p50": round(statistics.median(r["seconds"] for r in rows), 2) if rows else None,
    }
