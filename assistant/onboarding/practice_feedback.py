"""The feedback on a practice answer: the verdict, the case's label and cited reasoning, and which of
the case's model criteria the learner's reasons used or missed (each cited), plus the other models'
criteria a reason was closer to."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, Field

from assistant.answer.state import Citation
from assistant.core.text import join_sentences, split_sentences
from assistant.core.vocabulary import MODEL_LABELS
from assistant.fit.criteria import Criteria, Criterion
from assistant.onboarding.kb import KnowledgeDoc, citation, english_sentences, short
from assistant.onboarding.practice_config import practice_config
from assistant.store.records import StoredChunk

Verdict = Literal["right", "half-right", "wrong"]


class CriterionUse(BaseModel):
    """One criterion of the framework and whether (with which sentence) the learner's answer used it."""

    model: str
    heading: str
    used: bool
    clause: str | None = None
    similarity: float | None = None
    citation: Citation


class PracticeFeedback(BaseModel):
    case_id: str
    lang: str
    answer: str
    company: str = Field(description="The hidden company, revealed with the feedback.")
    named_model: str | None = Field(description="The model the answer names (None: it names none).")
    actual_model: str
    label_correct: bool
    verdict: Verdict
    lines: list[str] = Field(description="The feedback, each line with its [n] citation markers.")
    used: list[CriterionUse]
    missed: list[CriterionUse]
    elsewhere: list[CriterionUse] = Field(description="Criteria of other models the reasons matched best.")
    citations: list[Citation]


@dataclass
class CaseDocs:
    """One case in one language: its chunks in order, and the names that give it away."""

    pair_id: str
    doc: KnowledgeDoc
    company_names: list[str]  # the front matter's: company, company_zh, aliases
    other_names: list[str]  # practice.yaml's hidden_names: products, founders, parents

    @property
    def names(self) -> list[str]:
        return [*self.company_names, *self.other_names]

    @property
    def primary(self) -> str:
        return self.doc.models[0]

    def company(self, lang: str) -> str:
        meta = self.doc.meta
        return str((meta.get("company_zh") if lang == "zh" else meta.get("company")) or meta.get("company"))


@dataclass
class CriterionGroup:
    """The criteria of one model under one heading (a long section is several chunks)."""

    model: str
    heading: str
    items: list[Criterion]

    def quote(self) -> str:
        """The criterion passage's first sentence."""
        sentences = criterion_sentences(self.items[0])
        return short(sentences[0] if sentences else self.items[0].text, 160)


def criterion_sentences(item: Criterion) -> list[str]:
    """A criterion passage's sentences, list markers dropped."""
    lines = [line.strip().lstrip("-*+ ").strip() for line in item.text.splitlines()]
    text = " ".join(line for line in lines if line)
    return english_sentences(text) if item.chunk.lang == "en" else split_sentences(text)


def criterion_groups(criteria: Criteria, lang: str) -> list[CriterionGroup]:
    """The model documents' criteria, grouped by model and heading (the selection guide's one-line
    bullets are left out: their vectors are on the query side, a different scale)."""
    groups: dict[tuple[str, str], CriterionGroup] = {}
    for item in criteria.items.get(lang, []):
        if item.kind == "model":
            key = (item.model, item.chunk.heading)
            groups.setdefault(key, CriterionGroup(item.model, item.chunk.heading, [])).items.append(item)
    return list(groups.values())


@dataclass
class CriterionMatch:
    group: CriterionGroup
    item: Criterion  # the chunk of the group that matched
    clause: str
    similarity: float
    quote: str = ""  # the chunk's sentence closest to the clause


class FeedbackComposer:
    """Composes the feedback lines and their numbered citations."""

    def __init__(
        self,
        case: CaseDocs,
        lang: str,
        answer: str,
        named: str | None,
        matches: list[CriterionMatch],
        groups: list[CriterionGroup],
    ) -> None:
        self.case, self.lang, self.answer, self.named = case, lang, answer, named
        self.matches, self.groups = matches, groups
        self.wording = practice_config().wording[lang]
        self.citations: list[Citation] = []

    def cite(self, chunk: StoredChunk | None, quote: str, criterion: Criterion | None = None) -> int:
        n = len(self.citations) + 1
        if criterion is not None:
            self.citations.append(criterion.chunk.citation(n, quote))
        else:
            assert chunk is not None
            self.citations.append(citation(n, chunk, quote))
        return n

    def label(self, model: str) -> str:
        return MODEL_LABELS[self.lang][model]

    def reasoning(self) -> str:
        """The case's own primary-model statement, cited."""
        marker = getattr(practice_config().primary_marker, self.lang)
        chunk = next((c for c in self.case.doc.chunks if marker in c.text), self.case.doc.chunks[0])
        text = chunk.text[chunk.text.find(marker) :] if marker in chunk.text else chunk.text
        sentences = english_sentences(text) if self.lang == "en" else split_sentences(text)
        quote = short(join_sentences(sentences[:2]), 260)
        n = self.cite(chunk, quote)
        return self.wording["reasoning"].format(company=self.case.company(self.lang), quote=quote, n=n)

    def criterion_use(self, group: CriterionGroup, match: CriterionMatch | None) -> CriterionUse:
        """A criterion cited: where it was used, the matched passage and its sentence closest to the
        learner's clause; else the group's first passage and sentence."""
        if match is not None and match.quote:
            n = self.cite(None, match.quote, match.item)
        else:
            n = self.cite(None, group.quote(), group.items[0])
        return CriterionUse(
            model=group.model,
            heading=group.heading,
            used=match is not None,
            clause=match.clause if match else None,
            similarity=round(match.similarity, 4) if match else None,
            citation=self.citations[n - 1],
        )

    def _label_line(self, actual: str) -> str:
        if self.named is None:
            return self.wording["label_missing"].format(actual=self.label(actual))
        if self.named == actual:
            return self.wording["label_right"].format(named=self.label(actual))
        return self.wording["label_wrong"].format(named=self.label(self.named), actual=self.label(actual))

    def _own_criteria(self, actual: str) -> tuple[list[CriterionUse], list[CriterionUse], list[str]]:
        """The actual model's criteria the reasons used (each with its best clause) and missed."""
        best: dict[tuple[str, str], CriterionMatch] = {}
        for match in self.matches:
            key = (match.group.model, match.group.heading)
            if match.group.model == actual and (key not in best or match.similarity > best[key].similarity):
                best[key] = match
        used, missed = [], []
        for group in (g for g in self.groups if g.model == actual):
            use = self.criterion_use(group, best.get((group.model, group.heading)))
            (used if use.used else missed).append(use)
        model, lines = self.label(actual), []
        for use in used:
            lines.append(
                self.wording["used"].format(
                    model=model,
                    heading=use.heading,
                    clause=use.clause,
                    quote=use.citation.quote,
                    n=use.citation.n,
                )
            )
        if not used:
            lines.append(self.wording["none_used"].format(model=model))
        for use in missed:
            lines.append(
                self.wording["missed"].format(
                    model=model, heading=use.heading, quote=use.citation.quote, n=use.citation.n
                )
            )
        return used, missed, lines

    def _elsewhere(self, actual: str) -> tuple[list[CriterionUse], list[str]]:
        """Criteria of other models that a reason matched best, each once."""
        uses, lines, seen = [], [], set()
        for match in self.matches:
            key = (match.group.model, match.group.heading)
            if match.group.model == actual or key in seen:
                continue
            seen.add(key)
            use = self.criterion_use(match.group, match)
            uses.append(use)
            lines.append(
                self.wording["elsewhere"].format(
                    clause=match.clause,
                    model=self.label(match.group.model),
                    heading=use.heading,
                    n=use.citation.n,
                )
            )
        return uses, lines

    def build(self) -> PracticeFeedback:
        actual = self.case.primary
        label_correct = self.named == actual
        label_line, reasoning = self._label_line(actual), self.reasoning()
        used, missed, own_lines = self._own_criteria(actual)
        elsewhere, elsewhere_lines = self._elsewhere(actual)
        grounded = len(used) >= practice_config().matching.min_used
        verdict: Verdict = (
            "right" if label_correct and grounded else "half-right" if label_correct or grounded else "wrong"
        )
        return PracticeFeedback(
            case_id=self.case.pair_id,
            lang=self.lang,
            answer=self.answer,
            company=self.case.company(self.lang),
            named_model=self.named,
            actual_model=actual,
            label_correct=label_correct,
            verdict=verdict,
            lines=[self.wording["verdict"][verdict], label_line, reasoning, *own_lines, *elsewhere_lines],
            used=used,
            missed=missed,
            elsewhere=elsewhere,
            citations=self.citations,
        )


__all__ = [
    "CaseDocs",
    "CriterionGroup",
    "CriterionMatch",
    "CriterionUse",
    "FeedbackComposer",
    "PracticeFeedback",
    "Verdict",
    "criterion_groups",
    "criterion_sentences",
]
