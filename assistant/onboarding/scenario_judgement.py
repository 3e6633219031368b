"""Two kinds of scenario question that ask for the framework's judgement rather than a model's name
(issue 18). What they read of the documents is declared in contract.yaml and checked by
tests/test_onboarding_contract.py; the wording and bars are resources/onboarding/scenario.yaml.

- value-loop-link: the value-loop document lists, under each of its six links, that link's common
  mistakes. One mistake is the situation; "which link do you check first?" is answered by the link
  whose list holds it; the distractors are other links (e5: the closest of their own mistakes), never
  one whose list holds the same mistake in other words (scenario_base.also_right_groups).
- operating-focus: each model document's operating focuses (its sub-headings under "运营重点") say
  what goes wrong under them. The sentences of a focus's section most like the model's own failure
  modes (e5) are the situations; "which operating focus is failing?" is answered by the focus whose
  section states it; the distractors are other focuses, of any model, that are not also right."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from assistant.core.text import split_sentences
from assistant.core.vocabulary import MODEL_KEYS, MODEL_LABELS
from assistant.onboarding.contract import contract
from assistant.onboarding.kb import HEADING_SEPARATOR, KnowledgeDoc, english_sentences
from assistant.onboarding.model_questions import mask_models
from assistant.onboarding.scenario_base import (
    Embed,
    e5_similarities,
    failure_modes,
    framework_docs,
    scenario_config,
    scenario_question,
    with_distractors,
)
from assistant.onboarding.schema import QuizQuestion
from assistant.store.records import StoredChunk

# ---------------------------------------------------------------- which value-loop link to check first


@dataclass(frozen=True)
class Pitfall:
    """One mistake from a value-loop link's list: "- 常见误区：a；b；c。"."""

    link: str  # the link's heading in the document's language: the answer's label
    position: int  # the link's place in the loop, 1-6
    item: str
    line: str
    chunk: StoredChunk


def _sub_heading(chunk: StoredChunk, parent: str) -> str | None:
    parts = str(chunk.metadata.get("heading", "")).split(HEADING_SEPARATOR)
    return parts[1] if len(parts) >= 2 and parts[0] == parent else None


def value_loop_pitfalls(chunks: Sequence[StoredChunk], lang: str) -> list[Pitfall]:
    """Every link's common mistakes in one language, in loop order, each once."""
    shape = contract().value_loop_pitfalls
    parent, line_shape = getattr(shape.links, lang), re.compile(getattr(shape.item, lang))
    doc = framework_docs(chunks, lang).get("core-loop")
    links = doc.under(parent) if doc else []
    found: dict[str, Pitfall] = {}
    for chunk in doc.chunks if doc else []:
        link = _sub_heading(chunk, parent)
        for line in (raw.strip() for raw in chunk.text.splitlines()) if link else ():
            match = line_shape.match(line)
            for item in re.split(shape.separator, match.group(1)) if match else ():
                item = item.strip().rstrip("。.")
                if item and item not in found:
                    found[item] = Pitfall(str(link), links.index(str(link)) + 1, item, line, chunk)
    return list(found.values())


def _sentence_case(text: str, lang: str) -> str:
    return text[:1].upper() + text[1:] if lang == "en" else text


def value_loop_questions(
    chunks: Sequence[StoredChunk], lang: str, seed: int, embed: Embed
) -> list[QuizQuestion]:
    """Which link to check first: one question per mistake that has three plausible distractors."""
    pitfalls = value_loop_pitfalls(chunks, lang)
    if len({p.link for p in pitfalls}) < 4:
        return []
    similarities = e5_similarities([p.item for p in pitfalls], embed)
    bar, questions = scenario_config().value_loop.also_right_similarity, []
    for i, number, distractors in with_distractors([p.link for p in pitfalls], similarities, bar):
        pitfall = pitfalls[i]
        fields = {
            "situation": _sentence_case(pitfall.item, lang),
            "link": pitfall.link,
            "line": pitfall.line.removeprefix("- "),
            "title": pitfall.chunk.metadata.get("title", ""),
        }
        wording = scenario_config().texts("value-loop-link", lang, **fields)
        questions.append(
            scenario_question(
                f"s-loop-{pitfall.position}-{number}",
                "core-loop",
                "value-loop-link",
                lang,
                seed,
                wording,
                pitfall.link,
                distractors,
                (pitfall.chunk, pitfall.line),
            )
        )
    return questions


# ---------------------------------------------------------------- which operating focus is failing


@dataclass(frozen=True)
class FocusSentence:
    """One sentence of a model document's section on one of its operating focuses."""

    model: str
    focus: str  # the focus's heading in the document's language
    position: int  # the focus's place in the model's list, 1-based
    sentence: str
    chunk: StoredChunk

    @property
    def group(self) -> str:
        return f"{self.model}/{self.focus}"


def operating_focuses(chunks: Sequence[StoredChunk], lang: str) -> dict[str, list[str]]:
    """Each model's operating focuses in one language: the sub-headings of its operating-focus heading
    that are short in the Chinese original (path.model_focus_max_chars; a longer one is an aside), the
    English twin's taken at the same places."""
    shape, limit = contract().operating_focus, contract().path.model_focus_max_chars
    zh_docs, docs = framework_docs(chunks, "zh"), framework_docs(chunks, lang)
    out: dict[str, list[str]] = {}
    for model in MODEL_KEYS:
        if model not in zh_docs or model not in docs:
            continue
        original, own = (
            zh_docs[model].under(shape.heading.zh),
            docs[model].under(getattr(shape.heading, lang)),
        )
        if len(original) == len(own):
            out[model] = [h for h, zh in zip(own, original, strict=True) if len(zh) <= limit]
    return out


def _sentences(text: str, lang: str) -> list[str]:
    pieces = english_sentences(text) if lang == "en" else split_sentences(text)
    return [p.strip().removeprefix("- ").strip() for p in pieces]


def _as_situation(sentence: str, lang: str) -> str:
    """A sentence as the question quotes it: models masked, a full stop for a clause cut at ';'."""
    text = _sentence_case(mask_models(sentence), lang)
    return text.rstrip("；;") + ("。" if lang == "zh" else ".") if text.endswith(("；", ";")) else text


def focus_sentences(chunks: Sequence[StoredChunk], lang: str) -> list[FocusSentence]:
    """Every sentence of every model's operating-focus sections in one language, each once: long
    enough to be a situation, not a lead-in to a list, naming no operating focus."""
    parent = getattr(contract().operating_focus.heading, lang)
    docs, focuses = framework_docs(chunks, lang), operating_focuses(chunks, lang)
    labels = [f.lower() for names in focuses.values() for f in names]
    least = scenario_config().operating_focus.min_chars[lang]
    found: dict[str, FocusSentence] = {}
    for model, names in focuses.items():
        doc: KnowledgeDoc = docs[model]
        for chunk in doc.chunks:
            focus = _sub_heading(chunk, parent)
            if focus not in names:
                continue
            for sentence in _sentences(chunk.text, lang):
                if (
                    len(sentence) >= least
                    and not sentence.endswith((":", "："))
                    and not any(label in sentence.lower() for label in labels)
                    and sentence not in found
                ):
                    found[sentence] = FocusSentence(
                        model, str(focus), names.index(str(focus)) + 1, sentence, chunk
                    )
    return list(found.values())


def _situations(items: list[FocusSentence], failure_likeness: np.ndarray) -> list[int]:
    """Per focus, the sentences most like the model's own failure modes (scenario.yaml: per_focus)."""
    per_focus = scenario_config().operating_focus.per_focus
    chosen: list[int] = []
    for group in dict.fromkeys(s.group for s in items):
        members = [i for i, s in enumerate(items) if s.group == group]
        chosen += sorted(members, key=lambda i: -failure_likeness[i])[:per_focus]
    return sorted(chosen)


def operating_focus_questions(
    chunks: Sequence[StoredChunk], lang: str, seed: int, embed: Embed
) -> list[QuizQuestion]:
    """Which operating focus is failing: up to per_focus questions per focus, each with three focuses
    of any model as distractors that are not also right."""
    items, modes = focus_sentences(chunks, lang), failure_modes(chunks, lang)
    if len({s.group for s in items}) < 4 or not modes:
        return []
    similarities = e5_similarities([s.sentence for s in items] + [m.symptom for m in modes], embed)
    own = np.array([[m.model == s.model for m in modes] for s in items])
    likeness = np.where(own, similarities[: len(items), len(items) :], -1.0).max(axis=1)
    groups, bar = [s.group for s in items], scenario_config().operating_focus.also_right_similarity
    labels = {s.group: _focus_label(s.model, s.focus, lang) for s in items}
    questions, among_items = [], similarities[: len(items), : len(items)]
    for i, number, distractors in with_distractors(groups, among_items, bar, _situations(items, likeness)):
        item = items[i]
        fields = {
            "situation": _as_situation(item.sentence, lang),
            "sentence": item.sentence,
            "focus": item.focus,
            "label": MODEL_LABELS[lang][item.model],
            "title": item.chunk.metadata.get("title", ""),
        }
        wording = scenario_config().texts("operating-focus", lang, **fields)
        questions.append(
            scenario_question(
                f"s-{item.model}-focus-{item.position}-{number}",
                item.model,
                "operating-focus",
                lang,
                seed,
                wording,
                labels[item.group],
                [labels[g] for g in distractors],
                (item.chunk, item.sentence),
            )
        )
    return questions


def _focus_label(model: str, focus: str, lang: str) -> str:
    """An option: the focus with its model ("履约运营（交易驱动）")."""
    option = scenario_config().text("operating-focus", lang, "option")
    return option.format(focus=focus, label=MODEL_LABELS[lang][model])


__all__ = [
    "FocusSentence",
    "Pitfall",
    "focus_sentences",
    "operating_focus_questions",
    "operating_focuses",
    "value_loop_pitfalls",
    "value_loop_questions",
]
