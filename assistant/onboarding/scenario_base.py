"""What every kind of scenario question (issue 18) shares: the configuration (resources/onboarding/
scenario.yaml), the framework documents in one language, e5 similarities, the "also right" rule that
keeps a second right answer out of the options, and the finished question with its options dealt."""

from __future__ import annotations

import random
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import cache

import numpy as np
from pydantic import BaseModel, ConfigDict

from assistant.core.vocabulary import MODEL_KEYS
from assistant.onboarding.contract import contract
from assistant.onboarding.kb import KnowledgeDoc, citation
from assistant.onboarding.schema import QuizQuestion
from assistant.resources import load_yaml
from assistant.store.records import StoredChunk

Embed = Callable[[list[str]], Sequence[np.ndarray]]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class FailureModeChoice(_Strict):
    also_right_similarity: float


class ValueLoopChoice(_Strict):
    also_right_similarity: float


class OperatingFocusChoice(_Strict):
    also_right_similarity: float
    counterparts: list[list[str]]


class ScenarioConfig(_Strict):
    failure_modes: FailureModeChoice
    value_loop: ValueLoopChoice
    operating_focus: OperatingFocusChoice
    wording: dict[str, dict[str, dict[str, str]]]

    def text(self, kind: str, lang: str, name: str) -> str:
        return self.wording[kind][lang][name]

    def texts(self, kind: str, lang: str, **fields: object) -> tuple[str, str]:
        """A kind's question and explanation in one language, filled in."""
        return self.text(kind, lang, "question").format(**fields), self.text(
            kind, lang, "explanation"
        ).format(**fields)


@cache
def scenario_config() -> ScenarioConfig:
    return ScenarioConfig.model_validate(load_yaml("onboarding/scenario.yaml"))


def framework_docs(chunks: Sequence[StoredChunk], lang: str) -> dict[str, KnowledgeDoc]:
    """The framework documents in one language (originals and translated twins alike), by topic."""
    docs: dict[str, KnowledgeDoc] = {}
    for chunk in chunks:
        meta = chunk.metadata
        if meta.get("kind") == "framework" and meta.get("lang", "zh") == lang and meta.get("topic"):
            doc_id = str(meta.get("doc_id", ""))
            docs.setdefault(doc_id, KnowledgeDoc(doc_id, meta)).chunks.append(chunk)
    for doc in docs.values():
        doc.chunks.sort(key=lambda c: (int(c.metadata.get("position", 0)), c.chunk_id))
    return {str(doc.meta["topic"]): doc for doc in sorted(docs.values(), key=lambda d: d.doc_id)}


@dataclass(frozen=True)
class FailureMode:
    """One line of a model document's failure-mode list: "- name：symptom"."""

    model: str
    name: str
    symptom: str
    line: str
    chunk: StoredChunk


def failure_modes(chunks: Sequence[StoredChunk], lang: str) -> list[FailureMode]:
    """Every model's common failure modes in one language, in model order, each line once."""
    shape = contract().failure_modes
    heading, item = getattr(shape.heading, lang), re.compile(shape.item)
    docs = framework_docs(chunks, lang)
    found: dict[str, FailureMode] = {}
    for model in MODEL_KEYS:
        doc = docs.get(model)
        for chunk in doc.chunks if doc else []:
            if not str(chunk.metadata.get("heading", "")).startswith(heading):
                continue
            for line in (raw.strip() for raw in chunk.text.splitlines()):
                match = item.match(line)
                if match and line not in found:  # overlapping chunks repeat lines
                    found[line] = FailureMode(
                        model, match.group(1).strip(), match.group(2).strip(), line, chunk
                    )
    return list(found.values())


def e5_similarities(texts: list[str], embed: Embed) -> np.ndarray:
    """Cosine similarities of the texts to each other (e5 vectors, normalised here)."""
    vectors = np.asarray(embed(texts), dtype=np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors @ vectors.T


def nearest_elsewhere(groups: Sequence[str], similarities: np.ndarray, i: int) -> int:
    """The item of another group closest to item i."""
    others = [j for j, g in enumerate(groups) if g != groups[i]]
    return max(others, key=lambda j: float(similarities[i, j]))


def closest_per_group(groups: Sequence[str], similarities: np.ndarray, i: int) -> dict[str, float]:
    """For item i: each other group's highest similarity of one of its own items (how plausible the
    group is as a distractor)."""
    best: dict[str, float] = {}
    for j, group in enumerate(groups):
        if group != groups[i]:
            best[group] = max(best.get(group, -1.0), float(similarities[i, j]))
    return best


def also_right_groups(groups: Sequence[str], similarities: np.ndarray, i: int, bar: float) -> set[str]:
    """The other groups (models, links, focuses) that could be a right answer for item i too, never
    offered: the group of the item nearest to i across groups, of every item whose own nearest is i,
    and of any item at least as similar as the bar. e5's cosines crowd together, so no single bar tells
    "the same thing seen from two places" from "a neighbouring one"; losing the most plausible
    distractor is the price of never offering a second right answer."""
    found = {groups[j] for j, g in enumerate(groups) if g != groups[i] and similarities[i, j] >= bar}
    found.add(groups[nearest_elsewhere(groups, similarities, i)])
    found |= {
        g for j, g in enumerate(groups) if g != groups[i] and nearest_elsewhere(groups, similarities, j) == i
    }
    return found


def plausible_distractors(groups: Sequence[str], similarities: np.ndarray, i: int, bar: float) -> list[str]:
    """The other groups closest to item i that are not also right, most plausible first."""
    closest, excluded = (
        closest_per_group(groups, similarities, i),
        also_right_groups(groups, similarities, i, bar),
    )
    return sorted((g for g in closest if g not in excluded), key=lambda g: (-closest[g], g))


def with_distractors(
    groups: Sequence[str],
    similarities: np.ndarray,
    bar: float,
    order: Iterable[int] | None = None,
    never: Mapping[str, set[str]] | None = None,
) -> Iterator[tuple[int, int, list[str]]]:
    """The loop every scenario kind runs: for each item (all, or those in `order`), its index, its
    number within its group (items skipped count too, so an id stays put when a neighbour drops out),
    and its three most plausible distractors, none of `never[its group]`; an item without three is not
    asked."""
    numbers: dict[str, int] = {}
    for i in range(len(groups)) if order is None else order:
        numbers[groups[i]] = numbers.get(groups[i], 0) + 1
        barred = (never or {}).get(groups[i], set())
        plausible = [g for g in plausible_distractors(groups, similarities, i, bar) if g not in barred]
        if len(plausible) >= 3:
            yield i, numbers[groups[i]], plausible[:3]


def scenario_question(
    qid: str,
    module: str,
    kind: str,
    lang: str,
    seed: int,
    text: tuple[str, str],
    answer: str,
    distractors: Sequence[str],
    cited: tuple[StoredChunk, str],
) -> QuizQuestion:
    """A finished scenario question: `text` is (question, explanation), the options the answer and the
    distractors shuffled, seeded by the seed and the question id, and `cited` the chunk and its quote."""
    options = [answer, *distractors]
    random.Random(f"{seed}:{qid}").shuffle(options)
    return QuizQuestion(
        id=qid,
        module=module,
        question=text[0],
        options=options,
        answer_index=options.index(answer),
        explanation=text[1],
        citation=citation(1, cited[0], cited[1]),
        kind=kind,
        lang=lang,
        quiz_type="scenario",
    )


__all__ = [
    "Embed",
    "FailureMode",
    "ScenarioConfig",
    "also_right_groups",
    "closest_per_group",
    "e5_similarities",
    "failure_modes",
    "framework_docs",
    "nearest_elsewhere",
    "plausible_distractors",
    "scenario_config",
    "scenario_question",
    "with_distractors",
]
