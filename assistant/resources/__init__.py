"""Data files the package reads (YAML): patterns, prompts, cue tables. Knowledge here, not in Python."""

from __future__ import annotations

from functools import cache
from importlib import resources
from typing import Any

import yaml


@cache
def load_yaml(name: str) -> Any:
    """A resource file by its path under this package, e.g. 'answer/prompts.yaml' (read once)."""
    return yaml.safe_load(resources.files(__name__).joinpath(name).read_text(encoding="utf-8"))
