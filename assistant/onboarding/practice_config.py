"""Practice cases' settings and wording, typed (resources/onboarding/practice.yaml)."""

from __future__ import annotations

from functools import cache

from pydantic import BaseModel, ConfigDict

from assistant.onboarding.contract import LangText
from assistant.resources import load_yaml


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Matching(_Strict):
    margin: float
    clause_split: str
    min_chars: dict[str, int]
    min_chars_naming_a_model: dict[str, int]
    min_used: int
    vague_margin: float
    vague_reasons: dict[str, list[str]]


class Placeholders(_Strict):
    company: LangText
    other: LangText


class PracticeConfig(_Strict):
    description_sections: dict[str, list[str]]
    label_sub_sections: bool
    placeholder: Placeholders
    primary_marker: LangText
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


__all__ = ["PracticeConfig", "practice_config"]
