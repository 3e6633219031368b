"""What the service composes for onboarding beyond the path and quizzes (issue 18): the practice cases
built on the fit package's criteria, and the learner's progress joined with the path (readings for
weak topics, missed questions back as questions)."""

from __future__ import annotations

from collections.abc import Sequence

from pydantic import BaseModel, Field

from assistant.answer.state import Citation
from assistant.fit.criteria import Criteria
from assistant.fit.knowledge import FitKnowledge
from assistant.fit.recommend import CachedEmbed
from assistant.onboarding.practice import PracticeCase, PracticeCases
from assistant.onboarding.schema import LearningModule, QuizQuestion
from assistant.services.progress import DueItem, ProgressSummary
from assistant.store.chroma import KnowledgeIndex
from assistant.store.records import StoredChunk


def build_practice(index: KnowledgeIndex, chunks: Sequence[StoredChunk]) -> PracticeCases:
    """The practice cases of a store, with the fit package's criteria (their stored e5 vectors; only
    the selection guide's bullets are embedded, a few seconds) and e5's query side for answers."""
    embed = CachedEmbed(index.embedder.embed_query)
    return PracticeCases(chunks, Criteria(FitKnowledge(index), embed), embed)


class SuggestedReading(BaseModel):
    topic: str
    module_title: str
    readings: list[Citation]


class LearnerProgress(BaseModel):
    """A learner's progress with what to read next: the path's readings for each weak topic."""

    summary: ProgressSummary
    suggested: list[SuggestedReading] = Field(description="One entry per weak topic, weakest first.")
    path_modules: int = Field(description="How many modules the path has (for 'read k of n').")


def learner_progress(summary: ProgressSummary, path: list[LearningModule]) -> LearnerProgress:
    modules = {m.key: m for m in path}
    suggested = [
        SuggestedReading(
            topic=w.topic, module_title=modules[w.topic].title, readings=modules[w.topic].readings
        )
        for w in summary.weak_topics
        if w.topic in modules
    ]
    return LearnerProgress(summary=summary, suggested=suggested, path_modules=len(path))


def due_questions(due: list[DueItem], banks: dict[str, list[QuizQuestion]]) -> list[QuizQuestion]:
    """The due quiz items as questions again (kind -> the bank they came from); an item the knowledge
    base no longer makes is left out."""
    by_id = {(kind, q.id): q for kind, bank in banks.items() for q in bank}
    return [by_id[(d.kind, d.item_id)] for d in due if (d.kind, d.item_id) in by_id]


def practice_round(
    practice: PracticeCases, lang: str, n: int, seed: int, due_first: Sequence[str] = ()
) -> list[PracticeCase]:
    """The due cases first (a missed case comes back), then a seeded draw of the others."""
    due = [case_id for case_id in dict.fromkeys(due_first) if case_id in practice.ids(lang)][:n]
    drawn = [c for c in practice.draw(lang, n + len(due), seed) if c.id not in due]
    return [practice.case(case_id, lang) for case_id in due] + drawn[: max(0, n - len(due))]


__all__ = [
    "LearnerProgress",
    "SuggestedReading",
    "build_practice",
    "due_questions",
    "learner_progress",
    "practice_round",
]
