"""Scenario questions on the real store and the real e5: for every generated question, of every kind, the
answer key is stated by the passage it cites, and no distractor is also right (what the distractor's own
passage holds, read here from the store, is not the same situation). The failure-mode kind's checks are
here; the value-loop-link and operating-focus kinds' are in test_onboarding_scenario_kinds.py, and
test_every_question_of_every_kind_is_checked there makes sure no kind goes unchecked."""

from __future__ import annotations

import re

import numpy as np
import pytest

from assistant.core.settings import Settings
from assistant.core.text import is_chinese
from assistant.core.vocabulary import MODEL_KEYS, MODEL_LABELS
from assistant.onboarding.contract import contract
from assistant.onboarding.model_questions import mask_models
from assistant.onboarding.scenario import scenario_config, scenario_questions
from assistant.services.yunying import Yunying


@pytest.fixture(scope="module")
def service(knowledge_store, models_dir):
    return Yunying(
        Settings(_env_file=None, data_dir=knowledge_store, models_dir_override=models_dir, llm="none")
    )


@pytest.fixture(scope="module")
def failure_lists(service) -> dict[str, dict[str, list[tuple[str, str]]]]:
    """lang -> model -> (name, symptom) of each line in that model document's failure-mode section,
    read straight from the stored chunks."""
    shape = contract().failure_modes
    out: dict[str, dict[str, list[tuple[str, str]]]] = {"zh": {}, "en": {}}
    for chunk in service.index.all_chunks():
        meta = chunk.metadata
        lang = str(meta.get("lang"))
        if meta.get("kind") != "framework" or meta.get("topic") not in MODEL_KEYS or lang not in out:
            continue
        if not str(meta.get("heading", "")).startswith(getattr(shape.heading, lang)):
            continue
        lines = out[lang].setdefault(str(meta["topic"]), [])
        for line in chunk.text.splitlines():
            match = re.match(shape.item, line.strip())
            if match and (match.group(1), match.group(2)) not in lines:
                lines.append((match.group(1).strip(), match.group(2).strip()))
    return out


def failure_questions(service, lang: str):
    return [q for q in scenario_questions(service.index, lang) if q.kind == "failure-mode"]


def _situation(question: str) -> str:
    return re.search(r"“(.+?)”", question).group(1)


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_every_answer_key_is_stated_by_its_cited_passage(service, failure_lists, lang):
    questions = failure_questions(service, lang)
    assert len(questions) >= 15 and len({q.id for q in questions}) == len(questions)
    assert {q.module for q in questions} == set(MODEL_KEYS)
    stored = {c.chunk_id: c for c in service.index.all_chunks()}
    heading = getattr(contract().failure_modes.heading, lang)
    for q in questions:
        assert len(q.options) == 4 and len(set(q.options)) == 4, q.id
        assert set(q.options) <= set(MODEL_LABELS[lang].values())
        assert q.options[q.answer_index] == MODEL_LABELS[lang][q.module]
        assert is_chinese(q.question) == (lang == "zh"), q.question
        chunk = stored[q.citation.chunk_id]
        # the cited passage is the answer model's own failure-mode list, in the question's language
        assert chunk.metadata["topic"] == q.module and chunk.metadata["lang"] == lang
        assert str(chunk.metadata["heading"]).startswith(heading) and q.citation.text == chunk.text
        assert q.citation.quote in chunk.text.splitlines()
        name, symptom = re.match(contract().failure_modes.item, q.citation.quote).groups()
        assert (name.strip(), symptom.strip()) in failure_lists[lang][q.module]
        assert _situation(q.question) == mask_models(symptom.strip())
        assert q.citation.quote.removeprefix("- ") in q.explanation and q.explanation.endswith("[1]")


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_no_distractor_is_also_right(service, failure_lists, lang):
    """A distractor model's own list must not hold the situation, nor the failure nearest to it, nor
    one whose nearest is it, nor one at the similarity bar (e5, computed here from the store's lists)."""
    questions = failure_questions(service, lang)
    lines = [(model, symptom) for model, items in failure_lists[lang].items() for _, symptom in items]
    vectors = np.asarray(service.index.embedder.embed_query([s for _, s in lines]), dtype=np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    sims = vectors @ vectors.T
    bar = scenario_config().failure_modes.also_right_similarity

    def nearest_elsewhere(i: int) -> int:
        return max((j for j in range(len(lines)) if lines[j][0] != lines[i][0]), key=lambda j: sims[i, j])

    for q in questions:
        symptom = re.match(contract().failure_modes.item, q.citation.quote).group(2).strip()
        i = lines.index((q.module, symptom))
        distractors = {k for k, label in MODEL_LABELS[lang].items() if label in q.options and k != q.module}
        assert len(distractors) == 3
        for j, (model, other) in enumerate(lines):
            if model not in distractors:
                continue
            assert symptom not in other and _situation(q.question) not in other, (q.id, model)
            assert j != nearest_elsewhere(i), f"{q.id}: {model} holds the nearest failure: {other}"
            assert nearest_elsewhere(j) != i, f"{q.id}: {model}'s '{other}' has this as its nearest"
            assert sims[i, j] < bar, (q.id, model, float(sims[i, j]))


@pytest.mark.parametrize(
    ("lang", "symptom_start", "same_failure_elsewhere"),
    [
        # product's "monetising too early" and content's "over-commercialisation" are one failure
        ("zh", "广告和付费墙打断核心体验", "content"),
        ("en", "ads and paywalls interrupt the core experience", "content"),
    ],
)
def test_the_same_failure_in_another_model_is_never_a_distractor(
    service, lang, symptom_start, same_failure_elsewhere
):
    questions = [
        q for q in failure_questions(service, lang) if _situation(q.question).startswith(symptom_start)
    ]
    assert len(questions) == 1
    assert MODEL_LABELS[lang][same_failure_elsewhere] not in questions[0].options


def test_scenarios_are_deterministic_per_seed_and_need_an_embedder(service):
    first, again = (
        scenario_questions(service.index, "zh", seed=3),
        scenario_questions(service.index, "zh", seed=3),
    )
    other = scenario_questions(service.index, "zh", seed=4)
    assert [q.model_dump() for q in first] == [q.model_dump() for q in again]
    assert [q.id for q in first] == [q.id for q in other]
    assert [q.options for q in first] != [q.options for q in other]
    with pytest.raises(ValueError, match="need an embedder"):
        scenario_questions(service.index.all_chunks(), "zh")
    with pytest.raises(ValueError, match="unknown language"):
        scenario_questions(service.index, "fr")  # type: ignore[arg-type]
