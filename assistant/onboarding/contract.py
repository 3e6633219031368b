"""The onboarding package's contract with the knowledge base, typed: the headings it looks up and the
sentence shapes it parses (resources/onboarding/contract.yaml), and its own wording
(resources/onboarding/wording.yaml). Every other module reads them from here, never from a literal."""

from __future__ import annotations

import re
from functools import cache, cached_property

from pydantic import BaseModel, ConfigDict, Field

from assistant.core.vocabulary import MODEL_KEYS, MODEL_LABELS
from assistant.resources import load_yaml


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class LangText(_Strict):
    zh: str
    en: str


class Example(_Strict):
    """A module's example cases and the case section that shows the module's idea."""

    companies: list[str]
    section: str
    in_text: str | None = None


class PathContract(_Strict):
    examples: dict[str, Example]
    case_section: str
    case_fallback_text: str
    model_focus: str
    model_focus_max_chars: int
    support_system_endings: list[str]
    support_intro: str
    trends_not_trends: list[str]
    trends_not_trend_prefixes: list[str]


class Headings(_Strict):
    loop_steps: str
    core_idea: str
    support_per_model: str
    selection_factors: str
    selection_items: dict[str, str] = Field(description="id tag -> heading path")
    trend_what: str = Field(description="the heading path of a trend's 'what it is' section, {trend}")

    def trend_section(self, trend: str) -> str:
        return self.trend_what.format(trend=trend)


class Shapes(_Strict):
    primary_model: str
    primary_model_marker: str
    primary_model_en_word: str
    model_en: str
    model_en_alias: dict[str, str]
    model_zh_any: str
    model_zh: str
    overview_item: str
    overview_item_en: str
    support_en: str
    selection_item: str
    selection_primary: str
    selection_suits: str
    glossary_entry: str
    glossary_english_cut: str


class Glossary(_Strict):
    groups: dict[str, str] = Field(description="glossary group heading -> module key")
    overrides: dict[str, str] = Field(description="term -> module key")
    confusable: list[list[str]]


class TrendEnglish(_Strict):
    label: str
    starts: str


class FailureModes(_Strict):
    """The model documents' failure-mode lists, read by the scenario questions."""

    heading: LangText
    item: str


class ValueLoopPitfalls(_Strict):
    """The value-loop document's per-link lists of common mistakes, read by the scenario questions."""

    links: LangText
    item: LangText
    separator: str
    diagnosis: LangText


class OperatingFocus(_Strict):
    """The model documents' operating-focus sections and their lines of symptoms, read by the scenario
    questions."""

    heading: LangText
    symptoms: LangText
    separator: str


class TrendShortForms(_Strict):
    drop_endings: list[str]
    split_on: str


class Contract(_Strict):
    """contract.yaml, with its patterns compiled (the model placeholders filled from the vocabulary)."""

    english_heading: str
    path: PathContract
    headings: Headings
    loop_steps_en: dict[str, str]
    shapes: Shapes
    glossary: Glossary
    failure_modes: FailureModes
    value_loop_pitfalls: ValueLoopPitfalls
    operating_focus: OperatingFocus
    trend_short_forms: TrendShortForms
    trends_en: dict[str, TrendEnglish]

    @cached_property
    def model_by_zh_stem(self) -> dict[str, str]:
        """产品 -> product, ...: the core labels without their 驱动."""
        return {MODEL_LABELS["zh"][k].removesuffix("驱动"): k for k in MODEL_KEYS}

    @cached_property
    def patterns(self) -> dict[str, re.Pattern[str]]:
        """Every shape compiled, by its field name."""
        stems, keys = "|".join(self.model_by_zh_stem), "|".join(MODEL_KEYS)
        compiled = {}
        for name, source in self.shapes.model_dump().items():
            if isinstance(source, str):
                source = source.replace("{models_zh}", stems).replace("{models_en}", keys)
                # the English model names are matched whatever their case ("Community-driven")
                compiled[name] = re.compile(source, re.I if name == "model_en" else 0)
        return compiled

    def pattern(self, name: str) -> re.Pattern[str]:
        return self.patterns[name]


class Wording(_Strict):
    """wording.yaml: the module order and titles, objectives, question and explanation templates."""

    modules: list[str]
    titles: dict[str, LangText]
    objectives: dict[str, dict[str, list[str]]] = Field(description="module (or 'model') -> lang -> lines")
    list_separator: LangText
    no_english_summary: str
    questions: dict[str, dict[str, dict[str, str]]] = Field(description="kind -> lang -> template name")

    def template(self, kind: str, lang: str, name: str) -> str:
        return self.questions[kind][lang][name]


@cache
def contract() -> Contract:
    return Contract.model_validate(load_yaml("onboarding/contract.yaml"))


@cache
def wording() -> Wording:
    return Wording.model_validate(load_yaml("onboarding/wording.yaml"))


__all__ = ["Contract", "Wording", "contract", "wording"]
