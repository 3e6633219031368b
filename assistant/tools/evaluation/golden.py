"""The golden set: curated questions (`items.yaml`) and fit cases (`fit.yaml`) per split, shipped as package
data so `yunying eval` works from an installed wheel; loading validates every item."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from assistant import resources as package_resources
from assistant.answer.state import Turn
from assistant.core.vocabulary import ModelKey

ItemType = Literal["in_scope", "follow_up", "out_of_scope", "injection", "figure_trap"]
Split = Literal["dev", "test", "all"]
# the eval fixtures (e.g. a document carrying a prompt injection) live in the source checkout
REPO_EVALS = Path(__file__).resolve().parents[3] / "evals"
# package data, so `yunying eval` works from an installed wheel (dev and test splits, README)
GOLDEN_DIR = Path(package_resources.__file__).resolve().parent / "golden"


class EvalItem(BaseModel):
    """One curated question with its reference answer and the documents that hold the answer."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(pattern=r"^[a-z0-9-]+$")
    type: ItemType
    lang: Literal["zh", "en"]
    topic: str | None = None
    company: str | None = None
    history: list[Turn] = Field(default_factory=list)
    question: str = Field(min_length=2)
    reference_answer: str
    key_points: list[str] = Field(default_factory=list)
    expected_docs: list[str] = Field(default_factory=list)
    split: Literal["dev", "test"] = "dev"
    tags: list[str] = Field(default_factory=list)
    all_expected: bool = Field(default=False, description="A comparison: every expected doc must be cited.")

    @property
    def must_refuse(self) -> bool:
        """Refusing is right: nothing in the knowledge base answers it (a figure trap is answered with
        "the knowledge base does not state this", which counts as declining the figure)."""
        return not self.expected_docs or self.type == "figure_trap"

    @property
    def group(self) -> str:
        """Topic bucket for per-topic metrics: the framework topic, or 'case'."""
        return self.topic or self.type


class FitCase(BaseModel):
    """A business description and the operating model the framework would pick for it."""

    model_config = ConfigDict(extra="forbid")

    id: str
    lang: Literal["zh", "en"]
    description: str
    expected_primary: ModelKey
    acceptable_supporting: list[ModelKey] = Field(default_factory=list)
    reason: str
    expected_docs: list[str] = Field(default_factory=list)
    split: Literal["dev", "test"] = "dev"
    tags: list[str] = Field(default_factory=list)
    acceptable_primary: list[ModelKey] = Field(default_factory=list)

    @property
    def accepted(self) -> list[str]:
        return self.acceptable_primary or [self.expected_primary]


def _load_yaml_list(path: Path, model: type[BaseModel]) -> list[Any]:
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or []
    except (OSError, yaml.YAMLError) as exc:
        raise ValueError(f"{path}: cannot read the golden set ({exc})") from exc
    items = []
    for position, entry in enumerate(raw):
        try:
            items.append(model.model_validate(entry))
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(map(str, first["loc"]))
            raise ValueError(
                f"{path}: item {position} ({entry.get('id', '?')}): field '{where}': {first['msg']}"
            ) from exc
    ids = [i.id for i in items]
    duplicates = {i for i in ids if ids.count(i) > 1}
    if duplicates:
        raise ValueError(f"{path}: duplicate ids {sorted(duplicates)}")
    return items


def _split_files(golden_dir: Path, name: str, split: Split) -> list[Path]:
    """dev: the original set (golden/NAME) plus golden/dev/NAME; test: golden/test/NAME, written before
    anyone looked at the system's answers and never tuned on."""
    files = {"dev": [golden_dir / name, golden_dir / "dev" / name], "test": [golden_dir / "test" / name]}
    chosen = files["dev"] + files["test"] if split == "all" else files[split]
    return [f for f in chosen if f.is_file()]


def _load_split(golden_dir: Path, name: str, split: Split, model: type[BaseModel]) -> list[Any]:
    items = [item for path in _split_files(golden_dir, name, split) for item in _load_yaml_list(path, model)]
    ids = [i.id for i in items]
    duplicates = {i for i in ids if ids.count(i) > 1}
    if duplicates:
        raise ValueError(f"{golden_dir}: ids in more than one file {sorted(duplicates)}")
    return items


def load_items(golden_dir: Path = GOLDEN_DIR, split: Split = "dev") -> list[EvalItem]:
    return _load_split(golden_dir, "items.yaml", split, EvalItem)


def load_fit_cases(golden_dir: Path = GOLDEN_DIR, split: Split = "dev") -> list[FitCase]:
    return _load_split(golden_dir, "fit.yaml", split, FitCase)
