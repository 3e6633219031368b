"""Two kinds of scenario question that ask for the framework's judgement rather than a model's name
(issue 18). What they read of the documents is declared in contract.yaml and checked by
tests/test_onboarding_contract.py; the wording and bars are resources/onboarding/scenario.yaml.

- value-loop-link: the value-loop document lists, under each of its six links, that link's common
  mistakes. One mistake is the situation; "which link do you check first?" is answered by the link
  whose list holds it; the distractors are other links (e5: the closest of their own mistakes), never
  one whose list holds the same mistake in other words (scenario_base.also_right_groups). The link the
  document's diagnosis always goes back to first (目标) is left out, as answer and as option: by that
  diagnosis it is a defensible answer to every such question.
- operating-focus: each operating focus's section in a model document ends with a line of what it
  looks like when that focus is going wrong. One symptom is the situation; "which operating focus is
  going wrong?" is answered by the focus whose line holds it; the distractors are other focuses, of any
  model, that are not also right, nor the focus's counterpart in another model (scenario.yaml)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from assistant.core.vocabulary import MODEL_KEYS, MODEL_LABELS
from assistant.onboarding.contract import contract
from assistant.onboarding.kb import HEADING_SEPARATOR
from assistant.onboarding.model_questions import mask_models
from assistant.onboarding.scenario_base import (
    Embed,
    e5_similarities,
    framework_docs,
    scenario_config,
    scenario_question,
    with_distractors,
)
from assistant.onboarding.schema import QuizQuestion
from assistant.store.records import StoredChunk


def _sub_heading(chunk: StoredChunk, parent: str) -> str | None:
    parts = str(chunk.metadata.get("heading", "")).split(HEADING_SEPARATOR)
    return parts[1] if len(parts) >= 2 and parts[0] == parent else None


def _listed(chunk: StoredChunk, line_shape: re.Pattern[str], separator: str) -> list[tuple[str, str]]:
    """(item, its line) of every line of the chunk in the shape "- marker: a; b; c.", items trimmed."""
    found = []
    for line in (raw.strip() for raw in chunk.text.splitlines()):
        match = line_shape.match(line)
        for item in re.split(separator, match.group(1)) if match else ():
            if item := item.strip().rstrip("。."):
                found.append((item, line))
    return found


def _sentence_case(text: str, lang: str) -> str:
    return text[:1].upper() + text[1:] if lang == "en" else text


# ---------------------------------------------------------------- which value-loop link to check first


@dataclass(frozen=True)
class Pitfall:
    """One mistake from a value-loop link's list: "- 常见误区：a；b；c。"."""

    link: str  # the link's heading in the document's language: the answer's label
    position: int  # the link's place in the loop, 1-6
    item: str
    line: str
    chunk: StoredChunk


def value_loop_pitfalls(chunks: Sequence[StoredChunk], lang: str) -> list[Pitfall]:
    """Every link's common mistakes in one language, in loop order, each once."""
    shape = contract().value_loop_pitfalls
    parent, line_shape = getattr(shape.links, lang), re.compile(getattr(shape.item, lang))
    doc = framework_docs(chunks, lang).get("core-loop")
    links = doc.under(parent) if doc else []
    found: dict[str, Pitfall] = {}
    for chunk in doc.chunks if doc else []:
        link = _sub_heading(chunk, parent)
        for item, line in _listed(chunk, line_shape, shape.separator) if link else ():
            if item not in found:  # overlapping chunks repeat lines
                found[item] = Pitfall(link, links.index(link) + 1, item, line, chunk)
    return list(found.values())


def first_checked_link(chunks: Sequence[StoredChunk], lang: str) -> str | None:
    """The link the value-loop document's diagnosis goes back to first: the one its first step names
    (the earliest named, should the step name more)."""
    shape = contract().value_loop_pitfalls
    doc = framework_docs(chunks, lang).get("core-loop")
    if not doc:
        return None
    links, diagnosis = doc.under(getattr(shape.links, lang)), getattr(shape.diagnosis, lang)
    steps = [
        line.strip().lower()
        for chunk in doc.chunks
        if str(chunk.metadata.get("heading", "")).split(HEADING_SEPARATOR)[0] == diagnosis
        for line in chunk.text.splitlines()
        if line.strip().startswith("- ")
    ]
    named = [(steps[0].find(link.lower()), link) for link in links if steps and link.lower() in steps[0]]
    return min(named)[1] if named else None


def value_loop_questions(
    chunks: Sequence[StoredChunk], lang: str, seed: int, embed: Embed
) -> list[QuizQuestion]:
    """Which link to check first: one question per mistake that has three plausible distractors, the
    link every diagnosis checks first left out."""
    first = first_checked_link(chunks, lang)
    pitfalls = [p for p in value_loop_pitfalls(chunks, lang) if p.link != first]
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
class FocusSymptom:
    """One symptom from the line that ends a model document's section on one of its operating focuses:
    "- 出问题的迹象：a；b；c。"."""

    model: str
    focus: str  # the focus's heading in the document's language
    position: int  # the focus's place in the model's list, 1-based
    item: str
    line: str
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


def focus_symptoms(chunks: Sequence[StoredChunk], lang: str) -> list[FocusSymptom]:
    """Every operating focus's symptoms in one language, in model and focus order, each once."""
    shape = contract().operating_focus
    parent, line_shape = getattr(shape.heading, lang), re.compile(getattr(shape.symptoms, lang))
    docs = framework_docs(chunks, lang)
    found: dict[str, FocusSymptom] = {}
    for model, names in operating_focuses(chunks, lang).items():
        for chunk in docs[model].chunks:
            focus = _sub_heading(chunk, parent)
            for item, line in _listed(chunk, line_shape, shape.separator) if focus in names else ():
                if item not in found:
                    found[item] = FocusSymptom(
                        model, str(focus), names.index(str(focus)) + 1, item, line, chunk
                    )
    return list(found.values())


def counterparts(chunks: Sequence[StoredChunk], lang: str) -> dict[str, set[str]]:
    """Each focus's counterparts in other models (scenario.yaml), by group ("content/流量变现")."""
    original, own = operating_focuses(chunks, "zh"), operating_focuses(chunks, lang)
    group_of = {
        zh: f"{model}/{name}"
        for model, names in own.items()
        for zh, name in zip(original.get(model, []), names, strict=True)
    }
    out: dict[str, set[str]] = {}
    for kin in scenario_config().operating_focus.counterparts:
        groups = {group_of[zh] for zh in kin if zh in group_of}
        for group in groups:
            out.setdefault(group, set()).update(groups - {group})
    return out


def operating_focus_questions(
    chunks: Sequence[StoredChunk], lang: str, seed: int, embed: Embed
) -> list[QuizQuestion]:
    """Which operating focus is going wrong: one question per symptom, each with three focuses of any
    model as distractors that are not also right."""
    items = focus_symptoms(chunks, lang)
    if len({s.group for s in items}) < 4:
        return []
    similarities = e5_similarities([s.item for s in items], embed)
    groups, bar = [s.group for s in items], scenario_config().operating_focus.also_right_similarity
    labels = {s.group: _focus_label(s.model, s.focus, lang) for s in items}
    questions = []
    barred = counterparts(chunks, lang)
    for i, number, distractors in with_distractors(groups, similarities, bar, never=barred):
        item = items[i]
        fields = {
            "situation": _sentence_case(mask_models(item.item), lang),
            "line": item.line.removeprefix("- "),
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
                (item.chunk, item.line),
            )
        )
    return questions


def _focus_label(model: str, focus: str, lang: str) -> str:
    """An option: the focus with its model ("履约运营（交易驱动）")."""
    option = scenario_config().text("operating-focus", lang, "option")
    return option.format(focus=focus, label=MODEL_LABELS[lang][model])


__all__ = [
    "FocusSymptom",
    "Pitfall",
    "counterparts",
    "first_checked_link",
    "focus_symptoms",
    "operating_focus_questions",
    "operating_focuses",
    "value_loop_pitfalls",
    "value_loop_questions",
]
