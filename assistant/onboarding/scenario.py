"""Scenario questions (issue 18): a situation drawn from the framework's facts, and the judgement it
asks for. Three kinds, each answered by the passage it cites:

- failure-mode: a business's symptom from a model document's list of common failure modes
  (contract.yaml: failure_modes): which operating model is this a typical failure of?
- value-loop-link: a mistake from the value loop's list of common mistakes per link (contract.yaml:
  value_loop_pitfalls): which link do you check first? (scenario_judgement.py)
- operating-focus: what a model document says goes wrong under one of its operating focuses
  (contract.yaml: operating_focus): which operating focus is failing? (scenario_judgement.py)

The distractors are the most plausible other answers by e5 similarity; one that could be right too
(scenario_base.also_right_groups) is never offered, and a question without three such distractors is
not asked. The wording and the similarity bars are resources/onboarding/scenario.yaml."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from assistant.core.vocabulary import MODEL_LABELS
from assistant.onboarding.model_questions import mask_models
from assistant.onboarding.scenario_base import (
    Embed,
    FailureMode,
    also_right_groups,
    e5_similarities,
    failure_modes,
    scenario_config,
    scenario_question,
    with_distractors,
)
from assistant.onboarding.scenario_judgement import operating_focus_questions, value_loop_questions
from assistant.onboarding.schema import Lang, QuizQuestion, deal
from assistant.store.chroma import KnowledgeIndex
from assistant.store.records import StoredChunk

SCENARIO_KINDS = ("failure-mode", "value-loop-link", "operating-focus")


def also_right(modes: list[FailureMode], similarities: np.ndarray, i: int) -> set[str]:
    """The other models that could be a right answer for failure mode i too (never offered)."""
    bar = scenario_config().failure_modes.also_right_similarity
    return also_right_groups([m.model for m in modes], similarities, i, bar)


def failure_mode_questions(
    chunks: Sequence[StoredChunk], lang: str, seed: int, embed: Embed
) -> list[QuizQuestion]:
    """Which model is this a typical failure of: one question per failure mode with three distractors."""
    modes = failure_modes(chunks, lang)
    if not modes:
        return []
    similarities = e5_similarities([m.symptom for m in modes], embed)
    bar, questions = scenario_config().failure_modes.also_right_similarity, []
    for i, number, distractors in with_distractors([m.model for m in modes], similarities, bar):
        mode = modes[i]
        fields = {
            "situation": mask_models(mode.symptom),
            "item": mode.line.removeprefix("- "),
            "title": mode.chunk.metadata.get("title", ""),
            "label": MODEL_LABELS[lang][mode.model],
        }
        text = scenario_config().texts("failure-mode", lang, **fields)
        questions.append(
            scenario_question(
                f"s-{mode.model}-failure-{number}",
                mode.model,
                "failure-mode",
                lang,
                seed,
                text,
                MODEL_LABELS[lang][mode.model],
                [MODEL_LABELS[lang][k] for k in distractors],
                (mode.chunk, mode.line),
            )
        )
    return questions


def scenario_questions(
    source: KnowledgeIndex | Sequence[StoredChunk],
    lang: Lang = "zh",
    seed: int = 0,
    embed: Embed | None = None,
) -> list[QuizQuestion]:
    """Every scenario question the knowledge base supports in one language, of every kind (in
    SCENARIO_KINDS order): four options each. `embed` defaults to the index's e5 (query-prefixed on both
    sides: a symmetric comparison, and nothing written to the cache)."""
    if lang not in ("zh", "en"):
        raise ValueError(f"unknown language '{lang}': use zh or en")
    if isinstance(source, KnowledgeIndex):
        embed = embed or source.embedder.embed_query
        chunks: Sequence[StoredChunk] = source.all_chunks()
    elif embed is None:
        raise ValueError("scenario questions need an embedder when given chunks rather than an index")
    else:
        chunks = source
    return [
        *failure_mode_questions(chunks, lang, seed, embed),
        *value_loop_questions(chunks, lang, seed, embed),
        *operating_focus_questions(chunks, lang, seed, embed),
    ]


def mixed_draw(bank: Sequence[QuizQuestion], n: int, seed: int) -> list[QuizQuestion]:
    """Up to n questions, deterministic for a seed, dealt round-robin across the kinds (each kind
    shuffled by the seed), so a short quiz mixes failure modes, value-loop links and operating focuses."""
    return deal(bank, lambda q: q.kind, (*SCENARIO_KINDS, *sorted({q.kind for q in bank})), n, seed)


__all__ = [
    "SCENARIO_KINDS",
    "FailureMode",
    "also_right",
    "e5_similarities",
    "failure_mode_questions",
    "failure_modes",
    "mixed_draw",
    "scenario_config",
    "scenario_questions",
]
