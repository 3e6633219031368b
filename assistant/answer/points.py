"""How an answer's points are ordered: the sources' sentences by relevance to the question, with a small
prior for the rank of the passage each comes from (resources/answer/points.yaml)."""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache

import numpy as np

from assistant.resources import load_yaml


@cache
def rank_weight() -> float:
    """What a sentence loses per retrieval rank of its passage below the first."""
    return float(load_yaml("answer/points.yaml")["rank_weight"])


def with_rank_prior(scores: np.ndarray, source_numbers: Sequence[int]) -> np.ndarray:
    """The scores, each lowered by `rank_weight` per rank of its source below [1] (sources are numbered
    in retrieval order). A list that answers the question usually sits in the best-ranked passage, its
    items not repeating the question's words: e5 alone prefers a lower passage's sentence that repeats
    them, and the answer quoted two items of the list and three sentences about something else."""
    ranks = np.asarray(source_numbers, dtype=np.float32) - 1.0
    return np.asarray(scores, dtype=np.float32) - rank_weight() * ranks


def choose_points(
    ranked: np.ndarray, relevant: Sequence[float], documents: Sequence[str], texts: Sequence[str], count: int
) -> list[int]:
    """Indexes of the lead and the further points: the first `count - 1` by `ranked` (the rank prior
    applied), then one by its own relevance from a document not yet quoted, when there is one.

    The rank prior keeps a list that answers together, but when retrieval put case studies above the
    framework passage a general question needs ("Which metrics should a product-driven business
    track?"), all points came from the cases; the last point is the best sentence of another document."""
    order = sorted(range(len(texts)), key=lambda i: -float(ranked[i]))  # stable: reading order on ties
    chosen: list[int] = []
    for i in order:
        if len(chosen) >= max(count - 1, 1):
            break
        if texts[i] not in {texts[c] for c in chosen}:
            chosen.append(i)
    quoted = {documents[c] for c in chosen}
    others = [i for i in order if documents[i] not in quoted]
    rest = [i for i in order if i not in chosen and texts[i] not in {texts[c] for c in chosen}]
    if count > 1 and (others or rest):
        chosen.append(max(others, key=lambda i: relevant[i]) if others else rest[0])
    return chosen
