"""Practice cases (issue 18): a business from knowledge/cases described by its facts, its names hidden;
the learner writes which model is primary and why; the feedback gives the case's label and reasoning
(the cited primary-model passage) and which of the framework's criteria the learner's sentences used or
missed. The criteria are the fit package's (each model document's core idea, operating priorities and
where it fits); a sentence uses a criterion when e5 finds it the sentence's closest one and it stands
out from the rest (resources/onboarding/practice.yaml: matching), not by shared keywords."""

from __future__ import annotations

import random
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from assistant.answer.state import Citation
from assistant.core.text import detect_lang, join_sentences
from assistant.core.vocabulary import MODEL_KEYS, MODEL_LABELS
from assistant.corpus import split_sentences
from assistant.fit.criteria import Criteria, Criterion
from assistant.onboarding.contract import LangText, contract
from assistant.onboarding.kb import KnowledgeDoc, citation, english_sentences, short
from assistant.onboarding.model_questions import mask_models
from assistant.resources import load_yaml
from assistant.store.records import StoredChunk

Embed = Callable[[Sequence[str]], Sequence[np.ndarray]]
Verdict = Literal["right", "half-right", "wrong"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Matching(_Strict):
    margin: float
    clause_split: str
    min_chars: dict[str, int]
    min_chars_naming_a_model: dict[str, int]
    min_used: int


class Placeholders(_Strict):
    company: LangText
    other: LangText


class PracticeConfig(_Strict):
    description_sections: dict[str, list[str]]
    label_sub_sections: bool
    placeholder: Placeholders
    ordinary_words: list[str]
    skip_cases: list[str]
    not_hidden: list[str]
    hidden_names: dict[str, list[str]]
    matching: Matching
    model_names: dict[str, dict[str, str]]
    wording: dict[str, dict]


@cache
def practice_config() -> PracticeConfig:
    return PracticeConfig.model_validate(load_yaml("onboarding/practice.yaml"))


class PracticeCase(BaseModel):
    """What the learner sees: the task and the business, its names hidden."""

    id: str = Field(description="The case's id (the Chinese original's, e.g. case-keep) in both languages.")
    lang: str
    task: str
    description: str
    choices: list[str] = Field(description="The five models' labels, in the framework's order.")


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
class _CaseDocs:
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


def _case_docs(chunks: Sequence[StoredChunk]) -> dict[tuple[str, str], _CaseDocs]:
    """(pair id, lang) -> the case document in that language (the original or its translated twin)."""
    docs: dict[str, KnowledgeDoc] = {}
    for chunk in chunks:
        meta = chunk.metadata
        if meta.get("kind") == "case" and meta.get("models"):
            doc_id = str(meta.get("doc_id", ""))
            docs.setdefault(doc_id, KnowledgeDoc(doc_id, meta)).chunks.append(chunk)
    config = practice_config()
    out: dict[tuple[str, str], _CaseDocs] = {}
    for doc in sorted(docs.values(), key=lambda d: d.doc_id):
        doc.chunks.sort(key=lambda c: (int(c.metadata.get("position", 0)), c.chunk_id))
        pair, meta = str(doc.meta.get("pair") or doc.doc_id), doc.meta
        if pair in config.skip_cases:
            continue
        company = [meta.get("company"), meta.get("company_zh"), *str(meta.get("aliases", "")).split("|")]
        company_names = {str(n).strip() for n in company if n} - set(config.not_hidden)
        other_names = set(config.hidden_names.get(pair, [])) - company_names
        out[(pair, str(meta.get("lang", "zh")))] = _CaseDocs(
            pair, doc, sorted(n for n in company_names if len(n) >= 2), sorted(other_names)
        )
    return out


def _name_pattern(name: str, any_case: bool) -> re.Pattern[str]:
    """A Latin name matches as a word (in any case when `any_case`), a Chinese name anywhere."""
    if not name.isascii():
        return re.compile(re.escape(name))
    return re.compile(rf"(?<![A-Za-z0-9]){re.escape(name)}(?![A-Za-z0-9])", re.I if any_case else 0)


def hide_names(text: str, names: Sequence[str], company_names: Sequence[str], lang: str) -> str:
    """The text with every name (longest first) replaced by a placeholder, and the model names blanked.
    A company name is hidden in any case ("bilibili") unless it is also an ordinary word (Keep); the
    other names (products, people: Prime, Moments) only as written."""
    config = practice_config()
    for name in sorted(names, key=len, reverse=True):
        is_company = name in company_names
        stand_in = getattr(config.placeholder.company if is_company else config.placeholder.other, lang)
        any_case = is_company and name not in config.ordinary_words
        text = _name_pattern(name, any_case).sub(stand_in, text)
    return mask_models(text)


def _section_sentences(doc: KnowledgeDoc, heading: str) -> list[str]:
    """A section's sentences in order, each once (neighbouring chunks overlap)."""
    sentences: list[str] = []
    for chunk in doc.chunks:
        if str(chunk.metadata.get("heading", "")) == heading:
            sentences.extend(s for s in split_sentences(chunk.text) if s not in sentences)
    return sentences


def describe(case: _CaseDocs, lang: str) -> str:
    """The business by its facts: the configured sections, each a paragraph, names hidden."""
    config = practice_config()
    paragraphs = []
    for heading in config.description_sections[lang]:
        text = join_sentences(_section_sentences(case.doc, heading))
        if not text:
            continue
        label = heading.split(" > ")[-1] if " > " in heading and config.label_sub_sections else ""
        paragraphs.append(f"{label}{'：' if lang == 'zh' else ': '}{text}" if label else text)
    return hide_names("\n\n".join(paragraphs), case.names, case.company_names, lang)


def named_model(answer: str) -> str | None:
    """The model the learner's text names first (either language), or None."""
    first: tuple[int, str] | None = None
    for lang_patterns in practice_config().model_names.values():
        for model, pattern in lang_patterns.items():
            match = re.search(pattern, answer, re.I)
            if match and (first is None or match.start() < first[0]):
                first = (match.start(), model)
    return first[1] if first else None


def reason_clauses(answer: str) -> list[str]:
    """The answer's clauses: a sentence of several clauses counts as its clauses, each matched alone."""
    split = re.compile(practice_config().matching.clause_split)
    out: list[str] = []
    for sentence in split_sentences(" ".join(answer.split())):
        parts = [p.strip(" 。.!?！？") for p in split.split(sentence)]
        parts = [p for p in parts if p]
        out.extend(parts if len(parts) > 1 else [sentence])
    return list(dict.fromkeys(out))


def _says_why(masked: str, lang: str) -> bool:
    """A clause long enough to give a reason; one that names a model needs more ("主导模式是____" only
    states the label)."""
    settings = practice_config().matching
    rest = masked.replace("____", "").strip()
    least = settings.min_chars_naming_a_model if "____" in masked else settings.min_chars
    return len(rest) >= least[lang]


@dataclass
class _Group:
    """The criteria of one model under one heading (a long section is several chunks)."""

    model: str
    heading: str
    items: list[Criterion]

    def quote(self) -> str:
        """The criterion passage's first sentence."""
        lines = [line.strip().lstrip("-*+ ").strip() for line in self.items[0].text.splitlines()]
        text = " ".join(line for line in lines if line)
        sentences = english_sentences(text) if self.items[0].chunk.lang == "en" else split_sentences(text)
        return short(sentences[0] if sentences else text, 160)


def _groups(criteria: Criteria, lang: str) -> list[_Group]:
    """The model documents' criteria, grouped by model and heading (the selection guide's one-line
    bullets are left out: their vectors are on the query side, a different scale)."""
    groups: dict[tuple[str, str], _Group] = {}
    for item in criteria.items.get(lang, []):
        if item.kind == "model":
            key = (item.model, item.chunk.heading)
            groups.setdefault(key, _Group(item.model, item.chunk.heading, [])).items.append(item)
    return list(groups.values())


@dataclass
class _Match:
    group: _Group
    clause: str
    similarity: float


class PracticeCases:
    """Every case the store describes, and the feedback on an answer; built once per store."""

    def __init__(self, chunks: Sequence[StoredChunk], criteria: Criteria, embed: Embed) -> None:
        self._cases = _case_docs(chunks)
        self._criteria = criteria
        self._embed = embed

    def ids(self, lang: str) -> list[str]:
        return sorted(pair for pair, case_lang in self._cases if case_lang == lang)

    def case(self, case_id: str, lang: str) -> PracticeCase:
        found = self._cases.get((case_id, lang))
        if found is None:
            raise ValueError(f"no practice case '{case_id}' in {lang}")
        wording = practice_config().wording[lang]
        return PracticeCase(
            id=case_id,
            lang=lang,
            task=wording["task"],
            description=describe(found, lang),
            choices=[MODEL_LABELS[lang][k] for k in MODEL_KEYS],
        )

    def draw(self, lang: str, n: int = 1, seed: int = 0) -> list[PracticeCase]:
        """Up to n cases, deterministic for a seed."""
        if lang not in ("zh", "en"):
            raise ValueError(f"unknown language '{lang}': use zh or en")
        ids = self.ids(lang)
        return [self.case(i, lang) for i in random.Random(seed).sample(ids, min(max(n, 1), len(ids)))]

    def _matches(self, answer: str) -> list[_Match]:
        """Each reason sentence of the answer and the criterion it matches best, when it stands out."""
        lang = detect_lang(answer)
        settings = practice_config().matching
        # the model names are blanked before matching: "主导模式是产品驱动" names a label, not a reason,
        # and would match every criterion of that model
        pairs = [(c, mask_models(c)) for c in reason_clauses(answer)]
        pairs = [(c, m) for c, m in pairs if _says_why(m, lang)]
        reasons = [m for _, m in pairs]
        groups = _groups(self._criteria, lang)
        columns = [(g, item) for g in groups for item in g.items]
        if not reasons or not columns:
            return []
        vectors = np.asarray(self._embed(reasons), dtype=np.float32)
        vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
        matrix = np.stack([item.vector for _, item in columns]).astype(np.float32)
        matrix /= np.linalg.norm(matrix, axis=1, keepdims=True)
        similarities = vectors @ matrix.T  # reason sentences x criterion chunks
        found: list[_Match] = []
        for i in range(len(reasons)):
            best = int(similarities[i].argmax())
            if similarities[i, best] - float(np.median(similarities[i])) >= settings.margin:
                found.append(_Match(columns[best][0], pairs[i][0], float(similarities[i, best])))
        return found

    def review(self, case_id: str, answer: str, lang: str, model: str | None = None) -> PracticeFeedback:
        """Feedback on the learner's answer to a case (`model` overrides the model the text names)."""
        case = self._cases.get((case_id, lang))
        if case is None:
            raise ValueError(f"no practice case '{case_id}' in {lang}")
        if not answer.strip():
            raise ValueError("the answer is empty: write which model is primary and why")
        if model is not None and model not in MODEL_KEYS:
            raise ValueError(f"unknown model '{model}': use one of {', '.join(MODEL_KEYS)}")
        named = model or named_model(answer)
        matches = self._matches(answer)
        return _Feedback(
            case, lang, answer, named, matches, _groups(self._criteria, detect_lang(answer))
        ).build()


class _Feedback:
    """Composes the feedback lines and their numbered citations."""

    def __init__(
        self,
        case: _CaseDocs,
        lang: str,
        answer: str,
        named: str | None,
        matches: list[_Match],
        groups: list[_Group],
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
        marker = contract().shapes.primary_model_marker if self.lang == "zh" else "Primary model:"
        chunk = next((c for c in self.case.doc.chunks if marker in c.text), self.case.doc.chunks[0])
        sentences = split_sentences(
            chunk.text[chunk.text.find(marker) :] if marker in chunk.text else chunk.text
        )
        quote = short(join_sentences(sentences[:2]), 220)
        n = self.cite(chunk, quote)
        return self.wording["reasoning"].format(company=self.case.company(self.lang), quote=quote, n=n)

    def criterion_use(self, group: _Group, match: _Match | None) -> CriterionUse:
        quote = group.quote()
        n = self.cite(None, quote, group.items[0])
        return CriterionUse(
            model=group.model,
            heading=group.heading,
            used=match is not None,
            clause=match.clause if match else None,
            similarity=round(match.similarity, 4) if match else None,
            citation=self.citations[n - 1],
        )

    def build(self) -> PracticeFeedback:
        actual = self.case.primary
        label_correct = self.named == actual
        lines = [self.reasoning()]
        if self.named is None:
            lines.insert(0, self.wording["label_missing"].format(actual=self.label(actual)))
        elif label_correct:
            lines.insert(0, self.wording["label_right"].format(named=self.label(actual)))
        else:
            lines.insert(
                0, self.wording["label_wrong"].format(named=self.label(self.named), actual=self.label(actual))
            )
        best_by_group: dict[tuple[str, str], _Match] = {}
        for match in self.matches:
            key = (match.group.model, match.group.heading)
            if match.group.model == actual and (
                key not in best_by_group or match.similarity > best_by_group[key].similarity
            ):
                best_by_group[key] = match
        used, missed, elsewhere = [], [], []
        for group in (g for g in self.groups if g.model == actual):
            use = self.criterion_use(group, best_by_group.get((group.model, group.heading)))
            (used if use.used else missed).append(use)
        for use in used:
            lines.append(
                self.wording["used"].format(
                    model=self.label(actual),
                    heading=use.heading,
                    clause=use.clause,
                    quote=use.citation.quote,
                    n=use.citation.n,
                )
            )
        if not used:
            lines.append(self.wording["none_used"].format(model=self.label(actual)))
        for use in missed:
            lines.append(
                self.wording["missed"].format(
                    model=self.label(actual), heading=use.heading, quote=use.citation.quote, n=use.citation.n
                )
            )
        seen: set[int] = set()
        for match in self.matches:
            if match.group.model != actual and id(match.group) not in seen:
                seen.add(id(match.group))
                use = self.criterion_use(match.group, match)
                elsewhere.append(use)
                lines.append(
                    self.wording["elsewhere"].format(
                        clause=match.clause,
                        model=self.label(match.group.model),
                        heading=use.heading,
                        n=use.citation.n,
                    )
                )
        grounded = len(used) >= practice_config().matching.min_used
        verdict: Verdict = (
            "right" if label_correct and grounded else "half-right" if label_correct or grounded else "wrong"
        )
        lines.insert(0, self.wording["verdict"][verdict])
        return PracticeFeedback(
            case_id=self.case.pair_id,
            lang=self.lang,
            answer=self.answer,
            company=self.case.company(self.lang),
            named_model=self.named,
            actual_model=actual,
            label_correct=label_correct,
            verdict=verdict,
            lines=lines,
            used=used,
            missed=missed,
            elsewhere=elsewhere,
            citations=self.citations,
        )


__all__ = [
    "CriterionUse",
    "PracticeCase",
    "PracticeCases",
    "PracticeFeedback",
    "describe",
    "hide_names",
    "named_model",
    "practice_config",
]
