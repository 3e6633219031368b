"""Thumbs up/down on answers, appended as JSON lines to DATA_DIR/feedback.jsonl (one object per line)."""

from __future__ import annotations

import threading
import uuid
from datetime import UTC, datetime
from pathlib import Path

from pydantic import BaseModel, Field

_LOCK = threading.Lock()


class Feedback(BaseModel):
    """One line of feedback.jsonl. A comment sent after the thumb is a second line with the same id."""

    id: str = Field(default_factory=lambda: uuid.uuid4().hex[:12])
    timestamp: str = Field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds"))
    question: str
    answer: str
    liked: bool
    comment: str = ""
    citations: list[str] = Field(default_factory=list, description="doc ids of the answer's sources")
    backend: str = ""


def append_feedback(path: Path, feedback: Feedback) -> Feedback:
    path.parent.mkdir(parents=True, exist_ok=True)
    line = feedback.model_dump_json() + "\n"
    with _LOCK, path.open("a", encoding="utf-8") as out:
        out.write(line)
    return feedback


def read_feedback(path: Path) -> list[Feedback]:
    if not path.exists():
        return []
    return [Feedback.model_validate_json(line) for line in path.read_text("utf-8").splitlines() if line]
