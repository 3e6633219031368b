"""The choices several commands share, as typer option types. Their values are the vocabulary's keys
and the settings' choices, so a model, kind, language or backend is defined once."""

from __future__ import annotations

from enum import StrEnum
from typing import get_args

from assistant.core.schema import Kind
from assistant.core.settings import Settings
from assistant.core.vocabulary import MODEL_KEYS, MODEL_LABELS


def _choices(name: str, keys: tuple[str, ...] | list[str]) -> type[StrEnum]:
    return StrEnum(name, {key: key for key in keys})  # type: ignore[return-value]


KindOpt = _choices("KindOpt", get_args(Kind))
ModelOpt = _choices("ModelOpt", MODEL_KEYS)
LangOpt = _choices("LangOpt", list(MODEL_LABELS))

LLMOpt = _choices("LLMOpt", get_args(Settings.model_fields["llm"].annotation))
