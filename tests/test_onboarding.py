"""Onboarding on the real store: the learning path's order, extracted summaries and resolvable readings;
quizzes that are deterministic, well formed and whose answers the cited chunk really states."""

from __future__ import annotations

import json
import re

import pytest

from assistant.core.settings import Settings
from assistant.core.text import is_chinese
from assistant.onboarding import (
    MODEL_LABELS,
    MODULE_KEYS,
    QuizQuestion,
    build_quiz,
    grade,
    learning_path,
    question_bank,
)
from assistant.services.yunying import Yunying
from assistant.store.records import StoredChunk
from tests.conftest import run_cli

ZH_SHORT = {
    "product": "产品",
    "content": "内容",
    "community": "社区",
    "transaction": "交易",
    "service": "服务",
}


@pytest.fixture(scope="module")
def service(knowledge_store, models_dir):
    return Yunying(
        Settings(_env_file=None, data_dir=knowledge_store, models_dir_override=models_dir, llm="none")
    )


@pytest.fixture(scope="module")
def stored(service) -> dict[str, StoredChunk]:
    return {c.chunk_id: c for c in service.index.all_chunks()}


def _sentences_with_markers(summary: str) -> list[tuple[str, list[int]]]:
    """(sentence without its markers, the marker numbers) for each sentence of a summary."""
    out = []
    for match in re.finditer(r"(.+?)((?:\[\d+\])+)([。！？；]?)\s*", summary):
        text = (match.group(1) + match.group(3)).strip()
        out.append((text, [int(n) for n in re.findall(r"\d+", match.group(2))]))
    return out


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_path_is_in_order_with_extracted_summaries_and_resolvable_readings(service, stored, lang):
    path = service.learning_path(lang)
    assert [m.key for m in path] == list(MODULE_KEYS)
    assert [m.order for m in path] == list(range(1, len(MODULE_KEYS) + 1))
    assert path[0].title == ("运营全景" if lang == "zh" else "The big picture of operating models")
    assert ("目标→用户→价值→渠道→数据→优化" in path[1].title) == (lang == "zh")
    for module in path:
        assert is_chinese(module.title) == (lang == "zh")
        assert module.objectives and all(is_chinese(o) == (lang == "zh") for o in module.objectives)
        readings = module.readings
        assert [c.n for c in readings] == list(range(1, len(readings) + 1))
        framework = [c for c in readings if c.kind == "framework"]
        cases = readings[len(framework) :]
        assert 1 <= len(framework) <= 2 and 1 <= len(cases) <= 3, module.key
        assert all(c.doc_id == module.doc_id and c.topic == module.key for c in framework)
        assert all(c.kind == "case" for c in cases)
        for c in readings:
            assert c.chunk_id in stored and c.text == stored[c.chunk_id].text
            if lang == "en":
                assert c.heading == "English summary", (module.key, c.chunk_id)
        if module.key in ZH_SHORT:  # a model module reads cases whose primary model it is
            assert all(c.models[0] == module.key for c in cases), module.key
        sentences = _sentences_with_markers(module.summary)
        assert 2 <= len(sentences) <= 4, module.summary
        for sentence, numbers in sentences:
            assert numbers and all(1 <= n <= len(readings) for n in numbers)
            # extracted, not invented: the sentence is in the chunk its marker points at
            for n in numbers:
                assert sentence in readings[n - 1].text, (module.key, sentence)
            assert is_chinese(sentence) == (lang == "zh"), sentence


def test_quiz_is_deterministic_per_seed_and_covers_the_path(service):
    first = service.quiz("zh", seed=0)
    again = build_quiz(service.index, "zh", seed=0)
    other = service.quiz("zh", seed=1)
    assert len(first) == 10
    assert [q.model_dump() for q in first] == [q.model_dump() for q in again]
    assert [(q.id, q.options) for q in first] != [(q.id, q.options) for q in other]
    assert len({q.module for q in first}) == 10  # dealt round-robin over the modules, not one big group
    assert len({q.id for q in first}) == 10


def _in_sequence(text: str, items: list[str]) -> bool:
    """Written apart from framework_questions.in_order (a regex, not a scan) so it checks that, not itself."""
    return re.search(".*?".join(map(re.escape, items)), text, re.DOTALL) is not None


def _check_answer_is_stated(q: QuizQuestion, lang: str, stored: dict[str, StoredChunk]) -> None:
    """The correct option is what the cited chunk (or its document's metadata) says, per generator."""
    text, quote = q.citation.text, q.citation.quote
    answer = q.options[q.answer_index]
    meta = stored[q.citation.chunk_id].metadata
    key = {label: k for k, label in MODEL_LABELS[lang].items()}.get(answer)
    if q.kind == "company-model":
        models = str(meta["models"]).split(",")
        assert meta["kind"] == "case" and models[0] == key == q.module, q.id  # the case's primary model
        if "主导模式" in quote:
            assert f"（{key}）" in quote and quote in text
        else:
            assert "primary" in quote and key in quote and quote in text
    elif q.kind == "value-loop":
        asked = re.search(r"[“](.+?)[”]", q.question).group(1)
        loop = re.search(r"(?:依次是|runs )(.+?)(?:，再回到| and back)", q.explanation).group(1)
        steps = re.split(r"\s*→\s*", loop)
        assert len(steps) == 6 and _in_sequence(text, steps), (steps, text)
        assert answer == steps[(steps.index(asked) + 1) % len(steps)]
    elif q.kind == "glossary":
        assert meta["topic"] == "glossary"
        if lang == "en":
            english = re.search(r"“(.+)”", q.question).group(1)
            assert f"**{answer} ({english}" in text
        else:
            clue = re.search(r"“(.+)”", q.question).group(1)
            assert re.search(rf"\*\*{re.escape(answer)} \(.*?\)\*\*：{re.escape(clue)}", text), q.id
    elif q.kind == "trend":
        assert meta["topic"] == "trends" and quote in text
        if lang == "zh":
            assert q.citation.heading == f"{answer} > {answer}：趋势是什么"
        else:
            assert quote.startswith(answer.split()[0])
    elif q.kind == "core-object":
        assert meta["topic"] == "overview" and quote in text
        assert (f"（{key}）" in quote) if lang == "zh" else (f"{key}" in quote and "-driven (" in quote)
    elif q.kind == "model-passage":
        assert meta["topic"] == key and quote in text
        assert (ZH_SHORT[key] + "驱动" in quote) if lang == "zh" else (key in quote)
    elif q.kind == "support":
        assert meta["topic"] == "support-systems" and quote in text
        assert (
            (ZH_SHORT[key] + "驱动" in q.citation.heading) if lang == "zh" else (f"for {key}-driven" in quote)
        )
    else:
        assert q.kind == "selection" and meta["topic"] == "selection" and quote in text
        assert f"以{ZH_SHORT[key]}驱动为主" in quote or f"适合{ZH_SHORT[key]}驱动" in quote


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_every_question_is_well_formed_and_its_answer_is_stated_by_its_citation(service, stored, lang):
    questions = service.quiz(lang, n=500)
    assert len(questions) == len(question_bank(service.index, lang)) >= 100
    assert len({q.id for q in questions}) == len(questions)
    kinds = {q.kind for q in questions}
    assert kinds >= {
        "company-model",
        "glossary",
        "core-object",
        "model-passage",
        "support",
        "selection",
        "trend",
    }
    assert "value-loop" in kinds
    for q in questions:
        assert q.module in MODULE_KEYS and q.id.startswith("q-")
        assert 3 <= len(q.options) <= 4 and len(set(q.options)) == len(q.options), q.id
        assert 0 <= q.answer_index < len(q.options)
        assert q.citation.chunk_id in stored and q.citation.text == stored[q.citation.chunk_id].text
        assert q.explanation.endswith("[1]") and q.citation.n == 1
        assert is_chinese(q.question) == (lang == "zh") or q.kind == "selection", q.question
        _check_answer_is_stated(q, lang, stored)
    # every case whose "主导模式" line names its first model gets a primary-model question
    cases = {
        c.metadata["doc_id"]
        for c in stored.values()
        if c.metadata["kind"] == "case" and c.metadata.get("pair") == c.metadata["doc_id"]  # not twins
    }
    assert len([q for q in questions if q.kind == "company-model"]) == len(cases)
    xhs = next(q for q in questions if q.id == "q-community-xiaohongshu-model")
    assert xhs.options[xhs.answer_index] == MODEL_LABELS[lang]["community"]


def test_module_filter_caps_and_unknown_module(service):
    community = service.quiz("zh", module="community", n=500)
    assert community and all(q.module == "community" for q in community)
    assert len(service.quiz("zh", module="community", n=3)) == 3
    overview = service.quiz("en", module="overview", n=50)  # fewer than asked: what exists, no error
    assert 0 < len(overview) < 50 and all(q.module == "overview" for q in overview)
    with pytest.raises(ValueError, match="unknown module 'marketing'"):
        service.quiz("zh", module="marketing")


def test_grade_right_and_wrong(service):
    question = service.quiz("en", module="core-loop", n=1, seed=7)[0]
    right = grade(question, question.answer_index)
    wrong_choice = (question.answer_index + 1) % len(question.options)
    wrong = grade(question, wrong_choice)
    assert right.correct and right.chosen == question.answer_index
    assert not wrong.correct and wrong.chosen == wrong_choice and wrong.answer_index == question.answer_index
    assert wrong.explanation == question.explanation and wrong.citation == question.citation
    with pytest.raises(ValueError, match="out of range"):
        grade(question, len(question.options))


def _chunk(doc_id: str, position: int, heading: str, text: str, **meta: str) -> StoredChunk:
    base = {"doc_id": doc_id, "position": position, "heading": heading, "title": doc_id, "lang": "zh"}
    return StoredChunk(f"{doc_id}#{position:04d}", text, {**base, **meta})


def test_a_case_whose_stated_primary_disagrees_with_its_first_model_gets_no_question():
    """The primary-model question is only asked when front matter and text agree: otherwise "which one
    is primary" has no single right answer."""
    meta = {"kind": "case", "models": "content,community", "company": "Acme", "company_zh": "阿克米"}
    agree = _chunk(
        "case-acme", 0, "主导模式与辅助模式", "主导模式：内容驱动运营模式（content）。它靠内容。", **meta
    )
    clash = _chunk("case-acme", 0, "主导模式与辅助模式", "主导模式：社区驱动运营模式（community）。", **meta)
    assert [d.id for d in question_bank([agree], "zh")] == ["q-content-acme-model"]
    assert question_bank([clash], "zh") == []
    with pytest.raises(ValueError, match="no framework documents"):
        learning_path([agree], "zh")


def test_cli_learn_and_quiz_json(knowledge_store):
    result = run_cli("learn", "--json", "--lang", "en", data_dir=knowledge_store)
    assert result.returncode == 0, result.stderr
    modules = json.loads(result.stdout)
    assert [m["key"] for m in modules] == list(MODULE_KEYS)
    assert set(modules[0]) >= {"key", "order", "title", "summary", "objectives", "readings", "doc_id"}
    assert modules[1]["readings"][0]["doc_id"] == "framework-core-loop"

    args = ("quiz", "--json", "--module", "core-loop", "-n", "4", "--seed", "3")
    first, second = run_cli(*args, data_dir=knowledge_store), run_cli(*args, data_dir=knowledge_store)
    assert first.returncode == 0, first.stderr
    questions = [QuizQuestion.model_validate(q) for q in json.loads(first.stdout)]
    assert first.stdout == second.stdout
    assert len(questions) == 4 and all(q.module == "core-loop" for q in questions)
    assert all(0 <= q.answer_index < len(q.options) for q in questions)

    bad = run_cli("quiz", "--module", "marketing", data_dir=knowledge_store)
    assert bad.returncode != 0 and bad.stdout == ""
    assert bad.stderr.startswith("yunying: error: unknown module 'marketing'")
    assert len(bad.stderr.strip().splitlines()) == 1


def test_cli_scenario_quiz(knowledge_store):
    args = ("quiz", "--type", "scenario", "--json", "--lang", "en", "-n", "3", "--seed", "2")
    first, second = run_cli(*args, data_dir=knowledge_store), run_cli(*args, data_dir=knowledge_store)
    assert first.returncode == 0, first.stderr
    assert first.stdout == second.stdout  # same seed, same draw
    questions = [QuizQuestion.model_validate(q) for q in json.loads(first.stdout)]
    # a short quiz mixes the kinds: a failure mode, a value-loop link, an operating focus
    assert [q.kind for q in questions] == ["failure-mode", "value-loop-link", "operating-focus"]
    assert all(q.lang == "en" and q.quiz_type == "scenario" for q in questions)
    assert all(len(q.options) == 4 and q.citation.doc_id.startswith("framework-") for q in questions)
    community = run_cli(
        "quiz", "--type", "scenario", "--json", "--module", "community", "-n", "50", data_dir=knowledge_store
    )
    assert {q["module"] for q in json.loads(community.stdout)} == {"community"}
    printed = run_cli("quiz", "--type", "scenario", "-n", "2", "--seed", "2", data_dir=knowledge_store)
    question_lines = printed.stdout.split("Answers")[0]
    assert "驱动" in question_lines and "(product)" not in question_lines  # the answer is not given away
    assert not any(f"({key})" in question_lines for key in ("content", "community", "transaction", "service"))
    bad = run_cli("quiz", "--type", "scenario", "--module", "marketing", data_dir=knowledge_store)
    assert bad.returncode != 0 and "no scenario questions for module 'marketing'" in bad.stderr
