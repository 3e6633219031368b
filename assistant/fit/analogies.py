"""(b) Analogy: the cases most like the description (e5 over their summary and value-loop sections, the
stored passage vectors) vote with their primary and supporting models, weighted by similarity."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from assistant.core.vocabulary import MODEL_KEYS
from assistant.fit.knowledge import CaseDoc, FitKnowledge, KChunk, sections_config


@dataclass
class Analogy:
    case: CaseDoc
    similarity: float
    weight: float  # share of the vote
    passage: KChunk  # the case's passage closest to the description
    clause: str  # the description's clause closest to that passage
    quote: str = ""  # the passage's sentence closest to that clause, cited (set by the memo)


def nearest_cases(
    knowledge: FitKnowledge,
    lang: str,
    clauses: list[str],
    vectors: np.ndarray,
    top_k: int,
    temperature: float,
) -> list[Analogy]:
    """The top_k cases by similarity: the mean of the description's and its best clause's cosine to the
    case's closest passage (a whole description and its sharpest clause both count)."""
    compare = sections_config()["case_compare"]
    scored: list[tuple[float, CaseDoc, KChunk, int]] = []
    for case in knowledge.cases.get(lang, []):
        chunks = case.section(compare)
        if not chunks:
            continue
        sims = vectors @ np.stack([c.vector for c in chunks]).T  # [0] is the whole description
        whole = sims[0]
        sharpest = sims[1:].max(axis=0) if len(sims) > 1 else whole
        combined = (whole + sharpest) / 2
        j = int(combined.argmax())
        # the description's own clause closest to that passage (the whole description if it has one clause)
        clause = int(sims[1:, j].argmax()) + 1 if len(sims) > 1 else 0
        scored.append((float(combined[j]), case, chunks[j], clause))
    scored.sort(key=lambda s: -s[0])
    top = scored[:top_k]
    if not top:
        return []
    sims = np.array([s[0] for s in top])
    weights = np.exp((sims - sims[0]) / temperature)
    weights /= weights.sum()
    return [
        Analogy(case, sim, float(w), chunk, clauses[clause])
        for (sim, case, chunk, clause), w in zip(top, weights, strict=True)
    ]


def votes(analogies: list[Analogy], vote_weights: list[float]) -> dict[str, float]:
    """Per model: the similarity-weighted votes of the cases (primary first, then supporting models)."""
    out = dict.fromkeys(MODEL_KEYS, 0.0)
    for a in analogies:
        for rank, model in enumerate(a.case.models[: len(vote_weights)]):
            if model in out:
                out[model] += a.weight * vote_weights[rank]
    top = max(out.values()) or 1.0
    return {m: v / top for m, v in out.items()}
