"""The choices several commands share, as typer option types (the values are the JSON/data keys)."""

from __future__ import annotations

from enum import StrEnum


class KindOpt(StrEnum):
    framework = "framework"
    case = "case"
    user = "user"


class ModelOpt(StrEnum):
    product = "product"
    content = "content"
    community = "community"
    transaction = "transaction"
    service = "service"


class LLMOpt(StrEnum):
    local = "local"
    openai = "openai"
    none = "none"


class LangOpt(StrEnum):
    zh = "zh"
    en = "en"
