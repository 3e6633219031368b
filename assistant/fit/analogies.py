"""(b) Analogy: the cases most like the description, in two rankings read from one pass over the cases.

- The vote (the analogy component of the scores, and the cases a supporting model may cite) ranks cases
  by e5 text similarity alone: the description against their summary and value-loop sections (the
  stored passage vectors). The rule component already scores what is sold, how it earns and to whom,
  so ranking the voters by profile agreement as well counted the profile twice and silenced the cases'
  other evidence (s19-fit2 lost the HR SaaS's content-marketing supporting model that way).
- The named analogies (the memo's "this looks most like X and Y", SimilarCase) rank by that similarity
  plus how well the case's own profile agrees with the description's (what is sold, how it earns, to
  whom: fit/case_profiles.py), so the case a reader is pointed to is a business of the same kind, not one
  that merely shares a sentence's wording."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from assistant.core.vocabulary import MODEL_KEYS
from assistant.fit.case_profiles import CaseProfile, agreement, profile_config
from assistant.fit.knowledge import CaseDoc, FitKnowledge, KChunk, sections_config
from assistant.fit.schema import BusinessProfile


@dataclass(eq=False)  # compared by identity: the same case object sits in both rankings
class Analogy:
    case: CaseDoc
    similarity: float
    weight: float  # share of the vote (0 for a case that is named but does not vote)
    passage: KChunk  # the case's passage closest to the description
    clause: str  # the description's clause closest to that passage
    quote: str = ""  # the passage's sentence closest to that clause, cited (set by the memo)
    score: float = 0.0  # similarity plus the weighted profile agreement: what ranks the named cases
    agreement: float | None = None  # the case's profile against the description's (None: nothing stated)
    shared: list[tuple[str, str]] = field(default_factory=list)  # (field, value) both hold


@dataclass
class CaseRanking:
    voters: list[Analogy]  # top_k by text similarity, weighted by it: feeds scores and supporting models
    named: list[Analogy]  # top_k by similarity + profile agreement: the cases the memo names


def nearest_cases(
    knowledge: FitKnowledge,
    lang: str,
    clauses: list[str],
    vectors: np.ndarray,
    top_k: int,
    temperature: float,
    profile: BusinessProfile | None = None,
    profiles: dict[str, CaseProfile] | None = None,
) -> CaseRanking:
    """Each case's similarity is the mean of the description's and its best clause's cosine to the
    case's closest passage (a whole description and its sharpest clause both count)."""
    compare = sections_config()["case_compare"]
    weight = float(profile_config()["weight"])
    found: list[Analogy] = []
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
        agreed = agreement(profile, (profiles or {}).get(case.doc_id)) if profile else None
        similarity = float(combined[j])
        found.append(
            Analogy(
                case,
                similarity,
                0.0,
                chunks[j],
                clauses[clause],
                score=similarity + (weight * agreed.value if agreed else 0.0),
                agreement=agreed.value if agreed else None,
                shared=agreed.shared if agreed else [],
            )
        )
    voters = sorted(found, key=lambda a: -a.similarity)[:top_k]
    if voters:
        sims = np.array([a.similarity for a in voters])
        weights = np.exp((sims - sims[0]) / temperature)
        weights /= weights.sum()
        for a, w in zip(voters, weights, strict=True):
            a.weight = float(w)
    named = sorted(found, key=lambda a: -a.score)[:top_k]
    return CaseRanking(voters, named)


def votes(analogies: list[Analogy], vote_weights: list[float]) -> dict[str, float]:
    """Per model: the similarity-weighted votes of the cases (primary first, then supporting models)."""
    out = dict.fromkeys(MODEL_KEYS, 0.0)
    for a in analogies:
        for rank, model in enumerate(a.case.models[: len(vote_weights)]):
            if model in out:
                out[model] += a.weight * vote_weights[rank]
    top = max(out.values()) or 1.0
    return {m: v / top for m, v in out.items()}
