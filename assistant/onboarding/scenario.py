"""Scenario questions (issue 18): a situation drawn from the framework's facts, and the judgement it
asks for. Today one kind: a business's symptom, taken from a model document's list of common failure
modes (contract.yaml: failure_modes), and "which operating model is this a typical failure of?".

The answer is stated by the cited passage (the model's own failure-mode list). The distractors are the
other models whose failure modes are closest in meaning to the symptom (e5), so they are plausible;
a model that could be right too (see `also_right`) is never offered, and a question without three
such distractors is not asked. The wording is resources/onboarding/scenario.yaml."""

from __future__ import annotations

import random
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache

import numpy as np
from pydantic import BaseModel, ConfigDict

from assistant.core.vocabulary import MODEL_KEYS, MODEL_LABELS
from assistant.onboarding.contract import contract
from assistant.onboarding.kb import KnowledgeDoc, citation
from assistant.onboarding.model_questions import mask_models
from assistant.onboarding.schema import Lang, QuizQuestion
from assistant.resources import load_yaml
from assistant.store.chroma import KnowledgeIndex
from assistant.store.records import StoredChunk

Embed = Callable[[list[str]], Sequence[np.ndarray]]


class FailureModeChoice(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    also_right_similarity: float


class ScenarioConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    failure_modes: FailureModeChoice
    wording: dict[str, dict[str, dict[str, str]]]


@cache
def scenario_config() -> ScenarioConfig:
    return ScenarioConfig.model_validate(load_yaml("onboarding/scenario.yaml"))


@dataclass(frozen=True)
class FailureMode:
    """One line of a model document's failure-mode list: "- name：symptom"."""

    model: str
    name: str
    symptom: str
    line: str
    chunk: StoredChunk


def _framework_docs(chunks: Sequence[StoredChunk], lang: str) -> dict[str, KnowledgeDoc]:
    """The framework documents in one language (originals and translated twins alike), by topic."""
    docs: dict[str, KnowledgeDoc] = {}
    for chunk in chunks:
        meta = chunk.metadata
        if meta.get("kind") == "framework" and meta.get("lang", "zh") == lang and meta.get("topic"):
            doc_id = str(meta.get("doc_id", ""))
            docs.setdefault(doc_id, KnowledgeDoc(doc_id, meta)).chunks.append(chunk)
    for doc in docs.values():
        doc.chunks.sort(key=lambda c: (int(c.metadata.get("position", 0)), c.chunk_id))
    return {str(doc.meta["topic"]): doc for doc in sorted(docs.values(), key=lambda d: d.doc_id)}


def failure_modes(chunks: Sequence[StoredChunk], lang: str) -> list[FailureMode]:
    """Every model's common failure modes in one language, in model order, each line once."""
    shape = contract().failure_modes
    heading, item = getattr(shape.heading, lang), re.compile(shape.item)
    docs = _framework_docs(chunks, lang)
    found: dict[str, FailureMode] = {}
    for model in MODEL_KEYS:
        doc = docs.get(model)
        for chunk in doc.chunks if doc else []:
            if not str(chunk.metadata.get("heading", "")).startswith(heading):
                continue
            for line in (raw.strip() for raw in chunk.text.splitlines()):
                match = item.match(line)
                if match and line not in found:  # overlapping chunks repeat lines
                    found[line] = FailureMode(
                        model, match.group(1).strip(), match.group(2).strip(), line, chunk
                    )
    return list(found.values())


def e5_similarities(texts: list[str], embed: Embed) -> np.ndarray:
    """Cosine similarities of the texts to each other (e5 vectors, normalised here)."""
    vectors = np.asarray(embed(texts), dtype=np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors @ vectors.T


def closest_per_model(modes: list[FailureMode], similarities: np.ndarray, i: int) -> dict[str, float]:
    """For failure mode i: each other model's highest similarity of one of its own failure modes."""
    best: dict[str, float] = {}
    for j, other in enumerate(modes):
        if other.model != modes[i].model:
            best[other.model] = max(best.get(other.model, -1.0), float(similarities[i, j]))
    return best


def _nearest_elsewhere(modes: list[FailureMode], similarities: np.ndarray, i: int) -> int:
    """The failure mode of another model closest to failure mode i."""
    others = [j for j, m in enumerate(modes) if m.model != modes[i].model]
    return max(others, key=lambda j: float(similarities[i, j]))


def also_right(modes: list[FailureMode], similarities: np.ndarray, i: int) -> set[str]:
    """The other models that could be a right answer too, never offered: the model of the failure mode
    nearest to i across models, of every failure mode whose own nearest is i, and of any at least as
    similar as the configured bar. e5's cosines crowd together (0.85-0.94 here), so no single bar tells
    "the same failure seen from two models" from "a neighbouring one"; losing the most plausible
    distractor is the price of never offering a second right answer."""
    bar = scenario_config().failure_modes.also_right_similarity
    found = {
        modes[j].model for j, m in enumerate(modes) if m.model != modes[i].model and similarities[i, j] >= bar
    }
    found.add(modes[_nearest_elsewhere(modes, similarities, i)].model)
    found |= {
        m.model
        for j, m in enumerate(modes)
        if m.model != modes[i].model and _nearest_elsewhere(modes, similarities, j) == i
    }
    return found


def _question(mode: FailureMode, number: int, distractors: list[str], lang: str, seed: int) -> QuizQuestion:
    texts = scenario_config().wording["failure-mode"][lang]
    fields = {
        "situation": mask_models(mode.symptom),
        "item": mode.line.removeprefix("- "),
        "title": mode.chunk.metadata.get("title", ""),
        "label": MODEL_LABELS[lang][mode.model],
    }
    qid = f"s-{mode.model}-failure-{number}"
    answer = MODEL_LABELS[lang][mode.model]
    options = [answer, *(MODEL_LABELS[lang][k] for k in distractors)]
    random.Random(f"{seed}:{qid}").shuffle(options)
    return QuizQuestion(
        id=qid,
        module=mode.model,
        question=texts["question"].format(**fields),
        options=options,
        answer_index=options.index(answer),
        explanation=texts["explanation"].format(**fields),
        citation=citation(1, mode.chunk, mode.line),
        kind="failure-mode",
        lang=lang,
        quiz_type="scenario",
    )


def scenario_questions(
    source: KnowledgeIndex | Sequence[StoredChunk],
    lang: Lang = "zh",
    seed: int = 0,
    embed: Embed | None = None,
) -> list[QuizQuestion]:
    """Every failure-mode scenario the knowledge base supports in one language: four options each, the
    three distractors the most plausible models that are not also right. `embed` defaults to the
    index's e5 (query-prefixed on both sides: a symmetric comparison, and nothing written to the cache)."""
    if lang not in ("zh", "en"):
        raise ValueError(f"unknown language '{lang}': use zh or en")
    if isinstance(source, KnowledgeIndex):
        embed = embed or source.embedder.embed_query
        chunks: Sequence[StoredChunk] = source.all_chunks()
    elif embed is None:
        raise ValueError("scenario questions need an embedder when given chunks rather than an index")
    else:
        chunks = source
    modes = failure_modes(chunks, lang)
    if not modes:
        return []
    similarities = e5_similarities([m.symptom for m in modes], embed)
    questions, numbers = [], dict.fromkeys(MODEL_KEYS, 0)
    for i, mode in enumerate(modes):
        numbers[mode.model] += 1
        closest, excluded = closest_per_model(modes, similarities, i), also_right(modes, similarities, i)
        plausible = sorted((k for k in closest if k not in excluded), key=lambda k: -closest[k])
        if len(plausible) >= 3:
            questions.append(_question(mode, numbers[mode.model], plausible[:3], lang, seed))
    return questions


__all__ = [
    "FailureMode",
    "also_right",
    "e5_similarities",
    "failure_modes",
    "scenario_config",
    "scenario_questions",
]
