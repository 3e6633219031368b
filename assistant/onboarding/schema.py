"""The onboarding package's types: what the path and the quizzes return (pydantic, they cross the CLI
and the app as JSON) and a question's draft before its options are dealt."""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Literal, TypeVar

from pydantic import BaseModel, Field

from assistant.answer.state import Citation
from assistant.store.records import StoredChunk

T = TypeVar("T")
Lang = Literal["zh", "en"]
QuizType = Literal["recall", "scenario"]


class LearningModule(BaseModel):
    """One step of the onboarding path: what to read, what it says, what the learner should then do."""

    key: str = Field(description="Topic key, e.g. overview, core-loop, product, ..., selection, trends.")
    order: int = Field(description="1-based position in the path.")
    title: str
    summary: str = Field(description="2-4 sentences extracted from the knowledge base, with [n] markers.")
    objectives: list[str]
    readings: list[Citation] = Field(description="Framework document first, then example cases; n = 1..k.")
    doc_id: str = Field(description="The framework document of the module.")
    lang: str = "zh"


class QuizQuestion(BaseModel):
    """A multiple-choice question whose answer is stated by the chunk it cites."""

    id: str
    module: str
    question: str
    options: list[str]
    answer_index: int
    explanation: str
    citation: Citation
    kind: str = Field(default="", description="Which generator made it: company-model, value-loop, ...")
    lang: str = "zh"
    quiz_type: QuizType = Field(
        default="recall", description="recall or scenario: the quiz it belongs to (and its progress records)."
    )


class QuizResult(BaseModel):
    question_id: str
    chosen: int
    correct: bool
    answer_index: int
    explanation: str
    citation: Citation


@dataclass
class Draft:
    """A question before its options are shuffled: the answer and the distractor pool."""

    id: str
    module: str
    kind: str
    question: str
    answer: str
    pool: list[str]
    explanation: str
    citation: StoredChunk
    quote: str = ""


def unique_drafts(drafts: list[Draft]) -> list[Draft]:
    """One draft per id (the first one made), ordered by where each id last occurs."""
    return list({d.id: d for d in reversed(drafts)}.values())[::-1]


def deal(
    items: Iterable[T], group_of: Callable[[T], str], order: Iterable[str], n: int, seed: int
) -> list[T]:
    """Up to n items, deterministic for a seed: grouped by `group_of`, each group shuffled by the seed, then
    dealt round-robin over the groups in `order` (a group `order` does not name is left out), so a short
    quiz covers every group rather than one big one."""
    rng = random.Random(seed)
    groups: dict[str, list[T]] = {}
    for item in items:
        groups.setdefault(group_of(item), []).append(item)
    for group in groups.values():
        rng.shuffle(group)
    keys = [k for k in dict.fromkeys(order) if k in groups]
    chosen: list[T] = []
    while len(chosen) < n and any(groups[k] for k in keys):
        for k in keys:
            if groups[k] and len(chosen) < n:
                chosen.append(groups[k].pop())
    return chosen


__all__ = [
    "Draft",
    "Lang",
    "LearningModule",
    "QuizQuestion",
    "QuizResult",
    "QuizType",
    "deal",
    "unique_drafts",
]
