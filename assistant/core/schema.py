"""The knowledge base's core types: a document's front matter (validated, unknown keys are errors), the
`Document` it heads, the `Chunk`s a document is cut into, and the search `Hit` a stored chunk returns as."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from assistant.core.vocabulary import ModelKey

Kind = Literal["framework", "case", "user"]
Topic = Literal[
    "overview",
    "core-loop",
    "product",
    "content",
    "community",
    "transaction",
    "service",
    "support-systems",
    "trends",
    "selection",
    "glossary",
]


# a Markdown file's YAML header: between a first line "---" and the next "---"
_FRONT_MATTER = re.compile(r"\A---[ \t]*\r?\n(.*?)\r?\n---[ \t]*(?:\r?\n|\Z)", re.S)


def split_front_matter(raw: str) -> tuple[str | None, str]:
    """A Markdown file's YAML header as text (None when it has none) and the body after it."""
    match = _FRONT_MATTER.match(raw)
    return (match.group(1), raw[match.end() :]) if match else (None, raw)


class FrontMatter(BaseModel):
    """The YAML header of a knowledge document. Unknown keys are errors, so typos surface at once."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9._-]{1,120}$")
    title: str = Field(min_length=1)
    kind: Kind
    topic: Topic | None = None
    models: list[ModelKey] = Field(default_factory=list)
    company: str | None = None
    company_zh: str | None = None
    aliases: list[str] = Field(default_factory=list, description="Other names users search for.")
    lang: Literal["zh", "en"] = "zh"
    translation_of: str | None = Field(
        default=None, description="For a translated twin: the id of the document it translates."
    )
    industry: str | None = None
    region: Literal["china", "international"] | None = None
    primary_model: ModelKey | None = None
    facts_as_of: str | None = None

    @field_validator("models")
    @classmethod
    def _unique_models(cls, value: list[str]) -> list[str]:
        if len(set(value)) != len(value):
            raise ValueError("lists a model twice")
        return value

    @field_validator("facts_as_of", mode="before")
    @classmethod
    def _year_as_text(cls, value: object) -> object:
        return str(value) if isinstance(value, int) else value

    @model_validator(mode="after")
    def _kind_rules(self) -> FrontMatter:
        if self.kind == "framework" and self.topic is None:
            raise ValueError("topic: a framework document needs a topic")
        if self.kind == "case":
            if not self.company:
                raise ValueError("company: a case needs its canonical English company name")
            if not self.company_zh:
                raise ValueError("company_zh: a case needs the company's Chinese name")
            if not self.models:
                raise ValueError("models: a case needs at least its primary model")
            if self.primary_model and self.models[0] != self.primary_model:
                raise ValueError(
                    f"models: the primary model ({self.primary_model}) must come first, got {self.models}"
                )
        return self


def models_field(models: Iterable[str]) -> str:
    """A chunk's models as its flat Chroma metadata holds them ("community,content"): Chroma takes scalars."""
    return ",".join(models)


def models_of(meta: Mapping[str, Any]) -> list[str]:
    """The models a chunk's flat metadata lists, in order (the inverse of `models_field`)."""
    return [m for m in str(meta.get("models", "")).split(",") if m]


class Document(BaseModel):
    """One knowledge document, validated and ready to chunk."""

    id: str
    title: str
    kind: Kind
    topic: str | None = None
    models: list[str] = Field(default_factory=list)
    company: str | None = None
    company_zh: str | None = None
    aliases: list[str] = Field(default_factory=list)
    lang: str = "zh"
    translation_of: str | None = None
    industry: str | None = None
    region: str | None = None
    primary_model: str | None = None
    facts_as_of: str | None = None
    source: str = Field(description="Path of the file the document came from.")
    content_hash: str = Field(description="sha256 of the file's bytes.")
    body: str
    encoding: str = Field(default="utf-8", description="How a text file was decoded (utf-8 or gb18030).")


class Chunk(BaseModel):
    """A retrievable piece of a document: whole sentences under one heading path."""

    chunk_id: str
    doc_id: str
    position: int
    heading_path: list[str] = Field(default_factory=list)
    text: str
    title: str
    kind: str
    topic: str | None = None
    models: list[str] = Field(default_factory=list)
    company: str | None = None
    company_zh: str | None = None
    aliases: list[str] = Field(default_factory=list)
    lang: str = "zh"
    source: str = ""
    section: int = Field(default=0, description="Ordinal of the heading section: twins share it.")
    translation_of: str | None = None

    @property
    def heading(self) -> str:
        return " > ".join(self.heading_path)

    @property
    def embed_text(self) -> str:
        """What gets embedded and BM25-indexed: the title, the company's other names and the heading
        give a chunk its context (a Chinese chunk about 钉钉 must also answer to "DingTalk")."""
        names = [n for n in [self.company, self.company_zh, *self.aliases] if n and n not in self.title]
        head = self.title + (f"（{' / '.join(names)}）" if names else "")
        if self.heading_path:
            head += f" > {self.heading}"
        return f"{head}\n{self.text}"


class Hit(BaseModel):
    """One search result. The CLI's JSON hit is this model, flattened; fields are only ever added."""

    rank: int
    score: float = Field(description="Fused score (reciprocal rank fusion) in hybrid mode.")
    chunk_id: str
    doc_id: str
    title: str
    kind: str
    topic: str | None = None
    models: list[str] = Field(default_factory=list)
    company: str | None = None
    company_zh: str | None = None
    heading: str = ""
    text: str
    lang: str = "zh"
    source: str = ""
    dense_score: float | None = Field(default=None, description="Cosine similarity to the query.")
    bm25_score: float | None = None
    pair_id: str = Field(default="", description="The original's id for a document and its translated twin.")
    section: int = 0
