"""What a run measures: one `ItemResult` per golden item and the `EvalRun` `yunying eval --json` prints."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field


class ItemResult(BaseModel):
    """Everything measured for one golden item, kept for the report's worst-items table."""

    id: str
    type: str
    lang: str
    group: str
    question: str
    query: str
    expected_docs: list[str]
    retrieved_docs: list[str]
    retrieval: dict[str, float] = Field(default_factory=dict)
    baselines: dict[str, dict[str, float]] = Field(default_factory=dict)
    answer: str | None = None
    refused: bool | None = None
    declined: bool | None = Field(
        default=None, description="Refused, or said the knowledge base does not state the figure asked for."
    )
    citations: list[dict[str, Any]] = Field(default_factory=list)
    answer_metrics: dict[str, float] = Field(default_factory=dict)
    seconds: float = 0.0


class EvalRun(BaseModel):
    """The machine-readable result of `yunying eval --json`. Fields are only ever added."""

    n_questions: int
    retrieval: dict[str, float]
    baselines: dict[str, dict[str, float]]
    answers: dict[str, Any] = Field(default_factory=dict)
    refusal: dict[str, Any] = Field(default_factory=dict)
    fit: dict[str, Any] = Field(default_factory=dict)
    by_lang: dict[str, dict[str, float]]
    by_topic: dict[str, dict[str, float]]
    by_type: dict[str, dict[str, float]] = Field(default_factory=dict)
    backend: str = "none"
    seconds: float = 0.0
    items: list[ItemResult] = Field(default_factory=list, exclude=True)
