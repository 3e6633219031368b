"""The fit package's types (pydantic at the boundary): the profile, the scores with their evidence, the
analysis `yunying fit --json` prints. Fields are only ever added."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from assistant.answer.state import Citation
from assistant.core.errors import InputError

Lang = Literal["zh", "en"]
Confidence = Literal["high", "medium", "low"]
PROFILE_FIELDS = ("business_type", "revenue_model", "target_users", "resources", "stage", "channels")
# the reading's fields (resources/fit/profile.yaml) -> the profile's text fields
READING_FIELDS = {
    "sells": "business_type",
    "earns": "revenue_model",
    "customers": "target_users",
    "resources": "resources",
    "stage": "stage",
    "growth": "channels",
}


class FitInputError(InputError):
    """Empty or meaningless input."""


class FieldValue(BaseModel):
    """One value of a profile field (resources/fit/profile.yaml), the description's words that show it,
    and how close they came to the value's prototype phrasings (e5 cosine)."""

    field: str
    value: str
    label: str
    weight: float = Field(description="Share of the field this value holds (softmax over the values).")
    similarity: float
    evidence: str = Field(description="The clause of the description it was read from (the user's words).")
    source: Literal["text", "field", "llm"] = "text"


class BusinessProfile(BaseModel):
    """What the description says about the business, and what it leaves out."""

    description: str
    lang: Lang
    business_type: str = ""
    revenue_model: str = ""
    target_users: str = ""
    resources: str = ""
    stage: str = ""
    channels: str = ""
    readings: dict[str, list[FieldValue]] = Field(
        default_factory=dict,
        description="Per field (sells, customers, earns, growth, resources, stage): the values read.",
    )
    signals: dict[str, list[str]] = Field(
        default_factory=dict, description="Per model: the profile values that point at it."
    )
    gaps: list[str] = Field(default_factory=list, description="Profile fields the description is silent on.")
    ruled_out: list[FieldValue] = Field(
        default_factory=list,
        description="Values the description says the business does not have (自己不卖货, we take no "
        "commission): evidence is the negated part, the user's words.",
    )
    negated: list[str] = Field(
        default_factory=list, description="The description's negated parts (fit/negation.py)."
    )
    affirmative_text: str = Field(
        default="", description="The description without its negated parts: what criteria and cases read."
    )
    whole_clauses: dict[str, str] = Field(
        default_factory=dict,
        description="A part cut from inside a clause by a negation's scope -> the clause as written: the "
        "memo quotes the clause, never the cut part.",
    )
    sources: dict[str, Literal["text", "field", "llm"]] = Field(
        default_factory=dict,
        description="Where each filled field came from: the description, a form field, or the LLM's "
        "reading of the description (a span of it).",
    )

    def top(self, field: str) -> FieldValue | None:
        values = self.readings.get(field) or []
        return values[0] if values else None


class SelectionFactors(BaseModel):
    """The essay's selection factors, when the user states them as fields rather than in the text."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    business_type: str = Field(default="", max_length=300)
    resources: str = Field(default="", max_length=300)
    target_users: str = Field(default="", max_length=300)
    stage: str = Field(default="", max_length=300)

    def given(self) -> dict[str, str]:
        return {k: v for k, v in self.model_dump().items() if v}


class ScoreComponent(BaseModel):
    """One part of a model's score: the essay's rule, the framework's criteria, or the analogous cases."""

    name: Literal["rule", "criteria", "analogy"]
    value: float = Field(ge=0, le=1)
    weight: float
    evidence: list[str] = Field(default_factory=list, description="What produced the value, readable.")
    citations: list[int] = Field(default_factory=list, description="Reference numbers of the memo.")


class ModelScore(BaseModel):
    model: str
    score: int = Field(ge=0, le=100)
    rationale: str
    citations: list[Citation]
    components: list[ScoreComponent] = Field(default_factory=list)
    signal_score: float = Field(
        default=0.0, description="The rule component (how it earns and what it sells)."
    )
    evidence_score: float = Field(default=0.0, description="The criteria and analogy components, averaged.")


class SimilarCase(BaseModel):
    doc_id: str
    company: str | None
    title: str
    primary_model: str | None
    models: list[str] = Field(default_factory=list)
    similarity: float = 0.0
    why: str
    citation: Citation
    profile_agreement: float | None = Field(
        default=None,
        description="How well the case's own profile (what it sells, how it earns, to whom) agrees with "
        "the description's, 0 to 1 (None when the description states none of those).",
    )
    shared: list[str] = Field(
        default_factory=list, description="The profile values the case and the description share, readable."
    )


class SupportingModel(BaseModel):
    model: str
    reason: str = Field(description="Why this business shows it: user facts and the cases, marked.")
    together: str = Field(default="", description="How it works with the primary model (cited passage).")


class QuotedSentence(BaseModel):
    """A memo sentence taken from the knowledge base, and the reference it cites."""

    text: str
    n: int


class FitAnalysis(BaseModel):
    """What `yunying fit --json` prints. Fields are only ever added."""

    profile: BusinessProfile
    ranking: list[ModelScore]
    primary: str
    supporting: list[str]
    supporting_detail: list[SupportingModel] = Field(default_factory=list)
    value_loop: dict[str, str]
    support_systems: dict[str, str]
    similar_cases: list[SimilarCase]
    risks: list[str]
    assumptions: list[str] = Field(default_factory=list)
    questions: list[str] = Field(
        default_factory=list, description="What to ask when the description leaves the ranking open."
    )
    evidence_gaps: list[str]
    confidence: Confidence
    memo_markdown: str = ""
    recommendation: list[str] = Field(
        default_factory=list, description="The summary's lines: the judgement, the rule, the closest cases."
    )
    summary: str = Field(
        default="", description="An LLM-written, grounding-checked summary (empty with none)."
    )
    references: list[Citation] = Field(default_factory=list)
    quoted: list[QuotedSentence] = Field(
        default_factory=list, description="Every knowledge-base sentence of the memo with its reference."
    )
    backend: str = "none"
    seconds: float = 0.0
