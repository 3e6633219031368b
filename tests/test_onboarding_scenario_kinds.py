"""The value-loop-link and operating-focus scenario questions on the real store and the real e5: every
generated question's answer key is stated by the passage it cites (read here from the stored chunks, not
through the generator), and no distractor is also right. The failure-mode kind's checks are in
test_onboarding_scenario.py; the first test here makes sure every kind the generator makes is one of
those checked, and that each kind and language has the questions the knowledge base supports."""

from __future__ import annotations

import re
from collections import Counter

import numpy as np
import pytest

from assistant.core.settings import Settings
from assistant.core.vocabulary import MODEL_KEYS, MODEL_LABELS
from assistant.onboarding.contract import contract
from assistant.onboarding.model_questions import mask_models
from assistant.onboarding.scenario import SCENARIO_KINDS, mixed_draw, scenario_questions
from assistant.onboarding.scenario_base import scenario_config
from assistant.services.yunying import Yunying

LANGS = ("zh", "en")
# the kinds and the test functions that check every question of that kind
CHECKED = {
    "failure-mode": "test_onboarding_scenario.py::test_every_answer_key_is_stated_by_its_cited_passage",
    "value-loop-link": "test_value_loop_answer_keys_are_stated_and_no_distractor_is_also_right",
    "operating-focus": "test_operating_focus_answer_keys_are_stated_and_no_distractor_is_also_right",
}
# value-loop-link: five links (the one the diagnosis always checks first is left out), three
# distractors each, so only a mistake whose one also-right link is its nearest is asked
LEAST = {"failure-mode": 15, "value-loop-link": 8, "operating-focus": 50}


@pytest.fixture(scope="module")
def service(knowledge_store, models_dir):
    return Yunying(
        Settings(_env_file=None, data_dir=knowledge_store, models_dir_override=models_dir, llm="none")
    )


@pytest.fixture(scope="module")
def questions(service):
    return {lang: scenario_questions(service.index, lang) for lang in LANGS}


@pytest.fixture(scope="module")
def stored(service):
    return {c.chunk_id: c for c in service.index.all_chunks()}


def _situation(question: str) -> str:
    """The quoted situation (it may quote in turn: up to the last closing quote)."""
    return re.search(r"“(.+)”", question).group(1)


def _norm(text: str) -> str:
    text = text.strip().rstrip("；;。.")
    return text[:1].lower() + text[1:]


def _cosines(service, texts: list[str]) -> np.ndarray:
    vectors = np.asarray(service.index.embedder.embed_query(texts), dtype=np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors @ vectors.T


def _assert_not_also_right(groups: list[str], sims: np.ndarray, i: int, distractors: set[str], bar: float):
    """Distractor groups hold neither the item nearest to i, nor one whose nearest is i, nor one at
    the bar."""

    def nearest_elsewhere(k: int) -> int:
        return max((j for j in range(len(groups)) if groups[j] != groups[k]), key=lambda j: sims[k, j])

    assert groups[nearest_elsewhere(i)] not in distractors, (groups[i], groups[nearest_elsewhere(i)])
    for j, group in enumerate(groups):
        if group in distractors:
            assert nearest_elsewhere(j) != i, (groups[i], group)
            assert sims[i, j] < bar, (groups[i], group, float(sims[i, j]))


@pytest.mark.parametrize("lang", LANGS)
def test_every_question_of_every_kind_is_checked(questions, lang):
    kinds = Counter(q.kind for q in questions[lang])
    assert set(kinds) == set(SCENARIO_KINDS) == set(CHECKED), kinds
    assert all(kinds[k] >= LEAST[k] for k in SCENARIO_KINDS), kinds
    assert len({q.id for q in questions[lang]}) == len(questions[lang])
    for q in questions[lang]:
        assert len(q.options) == 4 and len(set(q.options)) == 4 and q.quiz_type == "scenario", q.id
        assert q.explanation.endswith("[1]") and q.lang == lang, q.id


def _loop_items(service, lang: str) -> dict[str, list[tuple[str, str]]]:
    """link -> (mistake, its line), read from the stored value-loop document in one language."""
    shape = contract().value_loop_pitfalls
    parent, out = getattr(shape.links, lang), {}
    for chunk in service.index.all_chunks():
        meta, heading = chunk.metadata, str(chunk.metadata.get("heading", ""))
        if (
            meta.get("topic") != "core-loop"
            or meta.get("lang") != lang
            or not heading.startswith(f"{parent} > ")
        ):
            continue
        for line in (raw.strip() for raw in chunk.text.splitlines()):
            match = re.match(getattr(shape.item, lang), line)
            for item in re.split(shape.separator, match.group(1)) if match else ():
                pair = (item.strip().rstrip("。."), line)
                if pair[0] and pair not in out.setdefault(heading.split(" > ")[1], []):
                    out[heading.split(" > ")[1]].append(pair)
    return out


def _first_checked(service, lang: str) -> str:
    """The link the value-loop document's diagnosis names in its first step, read from the store."""
    shape = contract().value_loop_pitfalls
    lines = [
        line.strip()
        for chunk in sorted(service.index.all_chunks(), key=lambda c: int(c.metadata.get("position", 0)))
        if chunk.metadata.get("topic") == "core-loop"
        and chunk.metadata.get("lang") == lang
        and str(chunk.metadata.get("heading", "")).split(" > ")[0] == getattr(shape.diagnosis, lang)
        for line in chunk.text.splitlines()
        if line.strip().startswith("- ")
    ]
    return lines[0]


@pytest.mark.parametrize("lang", LANGS)
def test_value_loop_answer_keys_are_stated_and_no_distractor_is_also_right(service, questions, stored, lang):
    links = _loop_items(service, lang)
    assert len(links) == len(contract().loop_steps_en), links.keys()
    # the link every diagnosis goes back to first (目标) would be a defensible answer to any
    # "which link first?": it is never asked about nor offered
    first_step = _first_checked(service, lang).lower()
    first = [link for link in links if link.lower() in first_step.split("：")[0].split(":")[0]]
    assert len(first) == 1, (first_step, list(links))
    asked = [q for q in questions[lang] if q.kind == "value-loop-link"]
    assert {q.options[q.answer_index] for q in asked} == set(links) - set(first)  # every other link
    assert not any(first[0] in q.options for q in asked), first
    links = {link: pairs for link, pairs in links.items() if link != first[0]}
    flat = [(link, item) for link, pairs in links.items() for item, _ in pairs]
    sims = _cosines(service, [item for _, item in flat])
    bar = scenario_config().value_loop.also_right_similarity
    for q in asked:
        answer, situation = q.options[q.answer_index], _norm(_situation(q.question))
        assert q.module == "core-loop" and set(q.options) <= set(links), q.options
        chunk = stored[q.citation.chunk_id]
        parent = getattr(contract().value_loop_pitfalls.links, lang)
        # the cited passage is the answer link's own section, its quote the line listing the mistake
        assert chunk.metadata["lang"] == lang and chunk.metadata["heading"] == f"{parent} > {answer}", q.id
        # (a citation's quote is cut at 200 characters: the line is the one it starts)
        line = next(li.strip() for li in chunk.text.splitlines() if li.strip().startswith(q.citation.quote))
        assert (situation, line) in [(_norm(i), li) for i, li in links[answer]], q.id
        assert line.removeprefix("- ") in q.explanation, q.id
        distractors = set(q.options) - {answer}
        for link in distractors:
            assert situation not in [_norm(i) for i, _ in links[link]], (q.id, link)
        i = [(link, _norm(item)) for link, item in flat].index((answer, situation))
        _assert_not_also_right([link for link, _ in flat], sims, i, distractors, bar)


def _focus_sections(service, lang: str) -> dict[str, tuple[str, str, str, str]]:
    """option label -> (model, focus, the section's stored text, the focus's Chinese heading), read from
    the model documents: the short focuses of the original, the English twin's at the same places."""
    shape, limit = contract().operating_focus.heading, contract().path.model_focus_max_chars
    option = scenario_config().text("operating-focus", lang, "option")
    heads: dict[tuple[str, str], dict[str, str]] = {}
    for chunk in sorted(service.index.all_chunks(), key=lambda c: int(c.metadata.get("position", 0))):
        meta, heading = chunk.metadata, str(chunk.metadata.get("heading", ""))
        parent = getattr(shape, str(meta.get("lang")), None)
        topic = meta.get("topic")
        if (
            meta.get("kind") == "framework"
            and topic in MODEL_KEYS
            and parent
            and heading.startswith(f"{parent} > ")
        ):
            sections = heads.setdefault((str(topic), str(meta["lang"])), {})
            focus = heading.split(" > ")[1]
            sections[focus] = sections.get(focus, "") + "\n" + chunk.text
    out = {}
    for model in MODEL_KEYS:
        zh, own = list(heads[(model, "zh")]), heads[(model, lang)]
        for name, original in zip(own, zh, strict=True):
            if len(original) <= limit:
                label = option.format(focus=name, label=MODEL_LABELS[lang][model])
                out[label] = (model, name, own[name], original)
    return out


def _symptoms(text: str, lang: str) -> list[tuple[str, str]]:
    """(symptom, its line) of a section's symptom line, parsed here with the contract's shape."""
    shape, out = contract().operating_focus, []
    for line in (raw.strip() for raw in text.splitlines()):
        match = re.match(getattr(shape.symptoms, lang), line)
        for item in re.split(shape.separator, match.group(1)) if match else ():
            if (item.strip().rstrip("。."), line) not in out:
                out.append((item.strip().rstrip("。."), line))
    return out


@pytest.mark.parametrize("lang", LANGS)
def test_operating_focus_answer_keys_are_stated_and_no_distractor_is_also_right(
    service, questions, stored, lang
):
    sections = _focus_sections(service, lang)
    assert len(sections) >= 20, sections.keys()
    symptoms = {option: _symptoms(text, lang) for option, (_, _, text, _) in sections.items()}
    assert all(len(items) >= 2 for items in symptoms.values()), symptoms
    flat = [(option, item) for option, items in symptoms.items() for item, _ in items]
    sims = _cosines(service, [item for _, item in flat])
    bar = scenario_config().operating_focus.also_right_similarity
    by_zh = {zh: option for option, (_, _, _, zh) in sections.items()}
    kin = {
        by_zh[a]: {by_zh[b] for b in group if b != a and b in by_zh}
        for group in scenario_config().operating_focus.counterparts
        for a in group
        if a in by_zh
    }
    parent = getattr(contract().operating_focus.heading, lang)
    asked = [q for q in questions[lang] if q.kind == "operating-focus"]
    assert {q.options[q.answer_index] for q in asked} == set(sections)  # every focus is asked about
    for q in asked:
        answer, situation = q.options[q.answer_index], _norm(_situation(q.question))
        assert set(q.options) <= set(sections), q.options
        model, focus, _, _ = sections[answer]
        chunk = stored[q.citation.chunk_id]
        # the cited passage is the answer focus's own section in the answer model's document, its quote
        # the line listing the symptom, and the situation one of that line's symptoms
        assert (chunk.metadata["topic"], chunk.metadata["lang"]) == (model, lang) and q.module == model, q.id
        assert chunk.metadata["heading"] == f"{parent} > {focus}", q.id
        line = next(li.strip() for li in chunk.text.splitlines() if li.strip().startswith(q.citation.quote))
        assert (situation, line) in [(_norm(mask_models(i)), li) for i, li in symptoms[answer]], q.id
        assert line.removeprefix("- ") in q.explanation and focus in q.explanation, q.id
        distractors = set(q.options) - {answer}
        for option in distractors:
            # a distractor's own section neither lists the symptom nor says it in other places
            assert situation not in [_norm(i) for i, _ in symptoms[option]], (q.id, option)
            assert situation not in _norm(sections[option][2]), (q.id, option)
        # the same job in another model (scenario.yaml's counterparts) is never offered
        assert not distractors & kin.get(answer, set()), (q.id, distractors & kin[answer])
        i = [(option, _norm(item)) for option, item in flat].index((answer, situation))
        _assert_not_also_right([option for option, _ in flat], sims, i, distractors, bar)


def test_a_short_quiz_mixes_the_kinds_and_is_deterministic(questions, service):
    drawn = mixed_draw(questions["zh"], 6, seed=5)
    assert Counter(q.kind for q in drawn) == dict.fromkeys(SCENARIO_KINDS, 2)
    assert [q.id for q in drawn] == [q.id for q in mixed_draw(questions["zh"], 6, seed=5)]
    assert [q.id for q in drawn] != [q.id for q in mixed_draw(questions["zh"], 6, seed=6)]
    served = service.quiz("en", n=3, seed=1, kind="scenario")
    assert {q.kind for q in served} == set(SCENARIO_KINDS) and {q.lang for q in served} == {"en"}
