"""Quizzes: every recall question the knowledge base supports, a seeded draw of them dealt across the
path's modules, and grading. Nothing here is written by a language model, so a quiz is deterministic
for a seed, runs offline in milliseconds, and every answer can be traced to the chunk it cites."""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence

from assistant.onboarding.framework_questions import glossary_questions, trend_questions, value_loop_questions
from assistant.onboarding.kb import KnowledgeBase, citation
from assistant.onboarding.model_questions import (
    company_model_questions,
    model_idea_questions,
    overview_questions,
    selection_questions,
    support_questions,
)
from assistant.onboarding.path import module_keys
from assistant.onboarding.schema import Draft, Lang, QuizQuestion, QuizResult, deal, unique_drafts
from assistant.store.chroma import KnowledgeIndex
from assistant.store.records import StoredChunk

# In this order: a question id made twice keeps its first draft.
_GENERATORS: list[Callable[[KnowledgeBase, str], list[Draft]]] = [
    overview_questions,
    value_loop_questions,
    model_idea_questions,
    company_model_questions,
    support_questions,
    selection_questions,
    trend_questions,
    glossary_questions,
]


def _drafts(source: KnowledgeIndex | Sequence[StoredChunk], lang: str) -> list[Draft]:
    kb = KnowledgeBase.of(source)
    drafts: list[Draft] = []
    for generator in _GENERATORS:
        drafts.extend(generator(kb, lang))
    return unique_drafts(drafts)


def question_bank(
    source: KnowledgeIndex | Sequence[StoredChunk], lang: Lang = "zh", seed: int = 0
) -> list[QuizQuestion]:
    """Every question the knowledge base supports, in generator order (for review and for tests; a quiz
    is a seeded draw from these)."""
    return [_finish(d, seed, lang) for d in _drafts(source, lang)]


def _finish(draft: Draft, seed: int, lang: str) -> QuizQuestion:
    """Pick up to three distractors and shuffle the options, seeded by the seed and the question id so
    a question looks the same whichever other questions are drawn with it."""
    rng = random.Random(f"{seed}:{draft.id}")
    pool = sorted(set(draft.pool) - {draft.answer})
    options = [draft.answer, *rng.sample(pool, min(3, len(pool)))]
    rng.shuffle(options)
    return QuizQuestion(
        id=draft.id,
        module=draft.module,
        question=draft.question,
        options=options,
        answer_index=options.index(draft.answer),
        explanation=draft.explanation,
        citation=citation(1, draft.citation, draft.quote or None),
        kind=draft.kind,
        lang=lang,
    )


def build_quiz(
    source: KnowledgeIndex | Sequence[StoredChunk],
    lang: Lang = "zh",
    module: str | None = None,
    n: int = 10,
    seed: int = 0,
) -> list[QuizQuestion]:
    """Up to n questions, deterministic for a seed. Without a module the questions are dealt round-robin
    across the modules in path order, so a short quiz covers the path rather than one big module."""
    keys = module_keys()
    if lang not in ("zh", "en"):
        raise ValueError(f"unknown language '{lang}': use zh or en")
    if module is not None and module not in keys:
        raise ValueError(f"unknown module '{module}': use one of {', '.join(keys)}")
    if n < 1:
        raise ValueError("n must be at least 1")
    drafts = _drafts(source, lang)
    if module is not None:
        drafts = [d for d in drafts if d.module == module]
    chosen = deal(drafts, lambda d: d.module, keys, n, seed)
    return [_finish(d, seed, lang) for d in chosen]


def grade(question: QuizQuestion, chosen: int) -> QuizResult:
    """Mark one answer; the explanation and citation come back either way so the learner can read why."""
    if not 0 <= chosen < len(question.options):
        raise ValueError(f"choice {chosen} is out of range: pick 0..{len(question.options) - 1}")
    return QuizResult(
        question_id=question.id,
        chosen=chosen,
        correct=chosen == question.answer_index,
        answer_index=question.answer_index,
        explanation=question.explanation,
        citation=question.citation,
    )


__all__ = ["build_quiz", "grade", "question_bank"]
