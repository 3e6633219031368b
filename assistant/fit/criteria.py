"""(a) The essay's criteria for each model, matched by e5 to the description: each model document's core
idea, operating focus and where it fits, and the selection guide's four-factor bullets that name the
model. Which sections count is data (resources/fit/knowledge.yaml)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from assistant.core.text import split_sentences
from assistant.core.vocabulary import MODEL_KEYS
from assistant.fit.knowledge import FitKnowledge, KChunk, model_named, sections_config
from assistant.fit.profile import Embed


@dataclass
class Criterion:
    model: str
    text: str
    chunk: KChunk
    vector: np.ndarray  # e5 passage vector (a stored chunk) or query vector (a selection bullet)
    kind: str  # "model" (the model's own document) | "selection" (a four-factor bullet)


@dataclass
class CriterionMatch:
    criterion: Criterion
    similarity: float
    clause: str  # the description's clause that matched it best


class Criteria:
    """Per language and model: the criterion passages, with vectors."""

    def __init__(self, knowledge: FitKnowledge, embed_query: Embed) -> None:
        config = sections_config()
        self.items: dict[str, list[Criterion]] = {}
        for lang in ("zh", "en"):
            items: list[Criterion] = []
            for model in MODEL_KEYS:
                for chunk in knowledge.framework(model, lang):
                    if chunk.under(config["model_criteria"]):
                        items.append(Criterion(model, chunk.text, chunk, chunk.vector, "model"))
            bullets: list[tuple[str, KChunk, str]] = []
            for chunk in knowledge.framework("selection", lang):
                if not chunk.under(config["selection_factors"]):
                    continue
                for line in chunk.text.splitlines():
                    named = model_named(line)
                    if line.lstrip().startswith("- ") and len(named) == 1:
                        first = split_sentences(line.strip()[2:])[0]  # the bullet's own sentence
                        bullets.append((named[0], chunk, first))
            if bullets:
                vectors = np.asarray(embed_query([b[2] for b in bullets]), dtype=np.float32)
                for (model, chunk, text), vector in zip(bullets, vectors, strict=True):
                    items.append(Criterion(model, text, chunk, vector, "selection"))
            self.items[lang] = items

    def match(
        self, lang: str, clauses: list[str], vectors: np.ndarray, top_k: int
    ) -> dict[str, tuple[float, list[CriterionMatch]]]:
        """Per model: the mean similarity of its best criteria (each kind scored on its own scale, then
        averaged), and those criteria with the clause that matched each."""
        out: dict[str, tuple[float, list[CriterionMatch]]] = {}
        items = self.items[lang]
        if not items:
            return {m: (0.0, []) for m in MODEL_KEYS}
        matrix = vectors @ np.stack([c.vector for c in items]).T  # clauses x criteria
        best_clause = matrix.argmax(axis=0)
        best = matrix.max(axis=0)
        for model in MODEL_KEYS:
            parts, matches = [], []
            for kind in ("model", "selection"):
                idx = [j for j, c in enumerate(items) if c.model == model and c.kind == kind]
                idx.sort(key=lambda j: -best[j])
                chosen = idx[: top_k if kind == "model" else 1]
                if chosen:
                    parts.append(float(np.mean(best[chosen])))
                    matches += [
                        CriterionMatch(items[j], float(best[j]), clauses[best_clause[j]]) for j in chosen
                    ]
            out[model] = (float(np.mean(parts)) if parts else 0.0, matches)
        return out
