"""The typed values the answer step passes along and returns."""

from __future__ import annotations

from typing import Any, Literal, TypedDict

from pydantic import BaseModel, ConfigDict, Field

from assistant.answer.patterns import text
from assistant.core.schema import Hit
from assistant.retrieval import SearchFilters

FigureKind = Literal["figure_money", "figure_rate", "figure_count"]
FIGURE_KINDS: tuple[FigureKind, ...] = ("figure_money", "figure_rate", "figure_count")


class Citation(BaseModel):
    """A numbered source the answer cites; it always points at a chunk that was really retrieved."""

    n: int
    chunk_id: str
    doc_id: str
    title: str
    kind: str
    topic: str | None = None
    models: list[str] = Field(default_factory=list)
    company: str | None = None
    heading: str = ""
    quote: str = Field(description="The passage as shown to the model (the sentences chosen from it).")
    text: str = Field(default="", description="The whole chunk text.")
    lang: str = "zh"
    pair_id: str = ""
    section: int = 0
    relevance: float = Field(
        default=0.0, description="Cosine similarity of the passage's best sentence to the question (e5)."
    )
    twin_text: str = Field(
        default="",
        exclude=True,
        description="The same section of the document's translated twin: the grounding check reads it too.",
    )
    deleted: bool = Field(
        default=False,
        description="The cited document is no longer in the store (a saved conversation read after it was "
        "deleted): the quote is what was cited, but there is no document to open.",
    )

    @classmethod
    def from_hit(cls, n: int, hit: Hit, quote: str | None = None) -> Citation:
        return cls(
            n=n,
            chunk_id=hit.chunk_id,
            doc_id=hit.doc_id,
            title=hit.title,
            kind=hit.kind,
            topic=hit.topic,
            models=hit.models,
            company=hit.company,
            heading=hit.heading,
            quote=hit.text[:200] if quote is None else quote,
            text=hit.text,
            lang=hit.lang,
            pair_id=hit.pair_id,
            section=hit.section,
        )


class Intent(BaseModel):
    """What a question asks for (answer/intent.py reads it): its closest intent and every score."""

    kind: str = Field(description="figure_money | figure_rate | figure_count | forecast | other")
    figure_kind: FigureKind = Field(description="The closest figure kind, whichever intent won.")
    worded_as_figure: bool = Field(default=False, description="patterns.yaml's asks_figure matches it.")
    scores: dict[str, float] = Field(default_factory=dict)

    @property
    def asks_figure(self) -> bool:
        """By e5, or by the usual wordings ("多少", "how many"), which the pattern catches."""
        return self.kind in FIGURE_KINDS or self.worded_as_figure

    @property
    def forecast(self) -> bool:
        return self.kind == "forecast"


class Answer(BaseModel):
    """What `yunying ask --json` prints. Fields are only ever added."""

    question: str
    standalone_question: str = ""
    answer: str
    refused: bool
    citations: list[Citation] = Field(default_factory=list)
    backend: str
    timings: dict[str, float] = Field(default_factory=dict)
    unsupported_sentences: list[str] = Field(
        default_factory=list, description="Draft sentences the sources do not support: not in `answer`."
    )
    nearest_topics: list[str] = Field(default_factory=list)
    gate: dict[str, float] = Field(default_factory=dict)
    lang: Literal["zh", "en"] = "zh"
    notice: str = Field(default="", description="What the grounding check removed, and why.")
    not_stated: bool = Field(
        default=False, description="The question asks for a figure the knowledge base does not state."
    )
    no_case_for: str = Field(default="", description="A company the question is about that has no case.")
    lead: str = Field(default="", description="The answer's first line when it is the chain's own note.")

    def claims_text(self) -> str:
        """The answer without the chain's own notes (the not-stated lead, the removal notice, the line
        that introduces further points from the sources): the text that makes claims, which is what
        faithfulness is measured on."""
        body = self.answer
        if self.lead and body.startswith(self.lead):
            body = body[len(self.lead) :]
        if self.notice and body.rstrip().endswith(self.notice):
            body = body.rstrip()[: -len(self.notice)]
        headers = {text("more_from_sources", lang) for lang in ("zh", "en")}
        return "\n".join(line for line in body.splitlines() if line.strip() not in headers).strip()


class Turn(BaseModel):
    """One turn of a conversation (chat history, golden-set follow-ups)."""

    model_config = ConfigDict(extra="forbid")
    role: Literal["user", "assistant"]
    content: str


class AnswerState(TypedDict, total=False):
    """What the chain's steps read and add (RunnablePassthrough.assign adds one key per step)."""

    question: str
    history: list[dict[str, str]]
    filters: SearchFilters | None
    started: float
    lang: Literal["zh", "en"]
    merged: str  # rule-based standalone question (previous user turns + this one)
    standalone: str  # the LLM's rewrite where there is one, else `merged`
    earlier: list[str]  # the previous user questions a follow-up leans on
    query: str  # the standalone question without any injection attempt
    injection: bool
    advice: bool  # the asker speaks as "we" about their own business: framework guidance joins the case
    hits: list[Hit]
    guidance: list[Hit]  # an advice question's best framework passages
    retrieval_ms: float
    companies: list[str]
    no_case_for: str
    intent: Intent  # what the question asks for (a figure of some kind, a forecast, other)
    gate: dict[str, float]
    refuse: bool
    sources: list[Citation]
    question_vector: Any
