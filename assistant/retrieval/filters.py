"""Search filters: kind, models, company, topic; as a Chroma `where` clause and as a test on metadata."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from assistant.core.schema import Kind, Topic
from assistant.core.vocabulary import ModelKey


class SearchFilters(BaseModel):
    """Metadata filters; all given ones must hold. `models` matches chunks tagged with any of them."""

    model_config = ConfigDict(extra="forbid")

    kind: Kind | None = None
    topic: Topic | None = None
    models: list[ModelKey] = Field(default_factory=list)
    company: str | None = None

    @field_validator("company")
    @classmethod
    def _strip(cls, value: str | None) -> str | None:
        value = (value or "").strip()
        return value or None

    def is_empty(self) -> bool:
        return not (self.kind or self.topic or self.models or self.company)

    def where(self) -> dict[str, Any] | None:
        """The same filter as a Chroma `where` clause."""
        clauses: list[dict[str, Any]] = []
        if self.kind:
            clauses.append({"kind": self.kind})
        if self.topic:
            clauses.append({"topic": self.topic})
        if self.models:
            ors = [{f"model_{m}": True} for m in self.models]
            clauses.append(ors[0] if len(ors) == 1 else {"$or": ors})
        if self.company:
            clauses.append({"$or": [{"company_key": self.company.lower()}, {"company_zh": self.company}]})
        if not clauses:
            return None
        return clauses[0] if len(clauses) == 1 else {"$and": clauses}

    def accepts(self, meta: dict[str, Any]) -> bool:
        """The same filter evaluated in Python, for BM25 candidates."""
        if self.kind and meta.get("kind") != self.kind:
            return False
        if self.topic and meta.get("topic") != self.topic:
            return False
        if self.models and not any(meta.get(f"model_{m}") for m in self.models):
            return False
        return (
            not self.company
            or self.company.lower() == meta.get("company_key")
            or (self.company == meta.get("company_zh"))
        )
