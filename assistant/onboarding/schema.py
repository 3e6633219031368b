"""The onboarding package's types: what the path and the quizzes return (pydantic, they cross the CLI
and the app as JSON) and a question's draft before its options are dealt."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, Field

from assistant.answer.state import Citation
from assistant.store.records import StoredChunk

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


__all__ = ["Draft", "Lang", "LearningModule", "QuizQuestion", "QuizResult", "QuizType", "unique_drafts"]
