"""The answer step's regular expressions, compiled once from resources/answer/patterns.yaml."""

from __future__ import annotations

import re
from functools import cache

from assistant.resources import load_yaml


def _compile(text: str) -> re.Pattern[str]:
    # YAML folds the long alternations with spaces at line joins: they are not part of the pattern
    return re.compile(re.sub(r"\s*\|\s*", "|", text.strip()), re.I)


@cache
def pattern(name: str) -> re.Pattern[str]:
    return _compile(load_yaml("answer/patterns.yaml")[name])


@cache
def raw_pattern(name: str) -> re.Pattern[str]:
    """A pattern used as written (no folding of the alternation)."""
    return re.compile(load_yaml("answer/patterns.yaml")[name], re.I)


def text(key: str, lang: str, **values: str) -> str:
    """A fixed text of resources/answer/prompts.yaml in the asker's language."""
    entry = load_yaml("answer/prompts.yaml")[key]
    value = entry[lang] if isinstance(entry, dict) else entry
    return value.format(**values) if values else value
