"""What a run measures: one `ItemResult` per golden item and the `EvalRun` `yunying eval --json` prints."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field, ValidationError


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


class ItemLog:
    """A JSON-lines file of `ItemResult`s, one line per item as soon as it is measured. A local-model run
    over a split takes an hour or more; with a log, an interrupted run resumes where it stopped, and the
    answers can be read while it runs. A line cut short by the interruption is skipped."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def read(self) -> dict[str, ItemResult]:
        if not self.path.exists():
            return {}
        results: dict[str, ItemResult] = {}
        for line in self.path.read_text(encoding="utf-8").splitlines():
            try:
                result = ItemResult.model_validate_json(line)
            except ValidationError:
                continue
            results[result.id] = result
        return results

    def append(self, result: ItemResult) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a+b") as out:
            # a line cut short by an interruption is closed first, so this result starts a line of its own
            cut = False
            if out.seek(0, 2) > 0:
                out.seek(-1, 2)
                cut = out.read(1) != b"\n"
            out.write((("\n" if cut else "") + result.model_dump_json() + "\n").encode("utf-8"))
