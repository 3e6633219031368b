"""Practice cases on the real store and the real e5: the description never names the company, and a
right, a half-right and a wrong answer get different feedback, each cited to the passages that
settle it (the case's primary-model statement and the fit package's criteria)."""

from __future__ import annotations

import json
import re
from datetime import timedelta

import pytest

from assistant.core.settings import Settings
from assistant.core.vocabulary import MODEL_LABELS
from assistant.onboarding.practice import practice_config
from assistant.services.database import Database
from assistant.services.progress import ProgressStore
from assistant.services.yunying import Yunying
from tests.conftest import run_cli

ANSWERS = {
    "zh": {
        "right": "主导模式是产品驱动。它靠好用的免费跟练课程吸引用户，口碑和应用商店推荐带来增长，"
        "用户留下来之后再通过会员变现。",
        "half-right": "我觉得是产品驱动，因为它很有名，大家都在用。",
        "wrong": "主导模式是交易驱动，它卖智能单车和运动装备，靠供应链和商品赚钱。",
    },
    "en": {
        "right": "The primary model is product-driven: growth came from word of mouth and app-store "
        "recommendations, and membership monetises the users later.",
        "half-right": "Product-driven, I think, because it is famous and many people use it.",
        "wrong": "Transaction-driven: it sells smart bikes and sports gear and earns from its supply chain "
        "and goods.",
    },
}


@pytest.fixture(scope="module")
def service(knowledge_store, models_dir, tmp_path_factory):
    service = Yunying(
        Settings(_env_file=None, data_dir=knowledge_store, models_dir_override=models_dir, llm="none")
    )
    # progress goes to a database of this module's own, not the shared store's folder
    service.__dict__["progress_store"] = ProgressStore(Database(tmp_path_factory.mktemp("progress")))
    return service


def _named(name: str, text: str, any_case: bool) -> bool:
    if not name.isascii():
        return name in text
    return (
        re.search(rf"(?<![A-Za-z0-9]){re.escape(name)}(?![A-Za-z0-9])", text, re.I if any_case else 0)
        is not None
    )


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_the_description_never_names_the_company(service, lang):
    practice = service._practice()
    ids = practice.ids(lang)
    assert len(ids) >= 40  # every company case, in both languages
    ordinary = set(practice_config().ordinary_words)
    for case_id in ids:
        case = practice.case(case_id, lang)
        company_names, other_names = practice.hidden_names(case_id, lang)
        assert len(case.description) > 200, case_id
        for name in company_names:
            assert not _named(name, case.description, name not in ordinary), (case_id, name)
        for name in other_names:
            assert not _named(name, case.description, False), (case_id, name)
        for label in MODEL_LABELS["zh"].values():
            assert label not in case.description, (case_id, label)  # the answer is not given away


def _markers(line: str) -> list[int]:
    return [int(n) for n in re.findall(r"\[(\d+)\]", line)]


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_right_half_right_and_wrong_answers_get_different_cited_feedback(service, lang):
    case_id = "case-keep"
    feedback = {kind: service.review_practice(case_id, text, lang) for kind, text in ANSWERS[lang].items()}
    assert {kind: f.verdict for kind, f in feedback.items()} == {
        "right": "right",
        "half-right": "half-right",
        "wrong": "wrong",
    }
    assert feedback["right"].label_correct and feedback["half-right"].label_correct
    assert feedback["wrong"].named_model == "transaction" and not feedback["wrong"].label_correct
    # the right answer's reasons use criteria of the product model; the vague one's use none
    assert feedback["right"].used and all(u.model == "product" for u in feedback["right"].used)
    assert feedback["half-right"].used == [] and feedback["wrong"].used == []
    assert len({tuple(f.lines) for f in feedback.values()}) == 3
    marker = getattr(practice_config().primary_marker, lang)
    for f in feedback.values():
        assert f.company == "Keep" and f.actual_model == "product"
        # [1] is the case's own primary-model statement, quoted from the chunk it cites
        first = f.citations[0]
        assert first.doc_id in (case_id, f"{case_id}-en") and first.quote.startswith(marker)
        assert first.quote.rstrip("…") in " ".join(first.text.split()) or first.quote[:40] in first.text
        # every criterion (used or missed) cites the product model's framework document
        for use in [*f.used, *f.missed]:
            assert use.citation.doc_id.startswith("framework-product"), use.citation.doc_id
        assert len(f.used) + len(f.missed) >= 5
        # every marker in the lines points at a citation, and every citation is pointed at
        numbers = {n for line in f.lines for n in _markers(line)}
        assert numbers == {c.n for c in f.citations}
    for use in feedback["right"].used:
        # the quoted sentence is one of the cited criterion passage's own
        assert use.clause and use.citation.quote.rstrip("…")[:30] in " ".join(use.citation.text.split())


def test_practice_results_are_recorded_and_a_miss_comes_back_first(service):
    service.review_practice("case-keep", ANSWERS["zh"]["half-right"], "zh")
    summary = service.progress_store.summary()
    assert summary.tallies["practice"].answered >= 1
    assert any(r.item_id == "case-keep" and r.verdict == "half-right" for r in summary.recent)
    # due again tomorrow: then the round starts with it
    store = service.progress_store
    store.clock = lambda: summary.recent[0].at + timedelta(days=2)
    assert [c.id for c in service.practice_round("zh", n=2, seed=5)][0] == "case-keep"


def test_cli_practice_round_with_an_answer(knowledge_store, tmp_path):
    result = run_cli(
        "quiz", "--type", "practice", "--lang", "en", "--case", "case-keep", "--json",
        "--answer", ANSWERS["en"]["wrong"],
        data_dir=knowledge_store,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)
    assert out["case"]["id"] == "case-keep" and "Keep" not in out["case"]["description"]
    assert out["feedback"]["verdict"] == "wrong" and out["feedback"]["citations"]
    progress = run_cli("progress", "--json", data_dir=knowledge_store)
    assert progress.returncode == 0, progress.stderr
    view = json.loads(progress.stdout)
    assert view["summary"]["tallies"]["practice"]["answered"] >= 1
    assert any(w["topic"] == "product" for w in view["summary"]["weak_topics"])
    assert any(s["topic"] == "product" and s["readings"] for s in view["suggested"])


def test_a_missed_quiz_question_comes_back_as_a_question(service):
    question = service.quiz("zh", module="core-loop", n=1, seed=3)[0]
    wrong = (question.answer_index + 1) % len(question.options)
    result = service.answer_quiz(question, wrong, "recall")
    assert not result.correct
    store = service.progress_store
    answered_at = store.summary().recent[0].at
    store.clock = lambda: answered_at + timedelta(hours=12)
    assert question.id not in {q.id for q in service.due_questions("zh")}
    store.clock = lambda: answered_at + timedelta(days=1)
    again = [q for q in service.due_questions("zh") if q.id == question.id]
    assert again and again[0].answer_index == again[0].options.index(question.options[question.answer_index])
    view = service.progress("zh")
    assert "core-loop" in {w.topic for w in view.summary.weak_topics}
    assert any(s.topic == "core-loop" and s.readings for s in view.suggested)


@pytest.mark.parametrize(
    ("case_id", "lang", "answer"),
    [
        ("case-pinduoduo", "en", "Transaction-driven, I think, because it is very big."),
        (
            "case-pinduoduo",
            "en",
            "Transaction-driven, since it has a really large user base and everybody knows it.",
        ),
        ("case-douban", "zh", "社区驱动，因为它规模很大。"),
        ("case-douban", "zh", "我觉得是社区驱动，因为它特别火，身边的人都在用。"),
    ],
)
def test_a_right_label_with_a_content_free_reason_is_only_half_right(service, case_id, lang, answer):
    """ "Because it is big / famous" still has a closest criterion (e5's cosines crowd together); it must
    not count as using one, or a vague answer is graded right."""
    feedback = service.review_practice(case_id, answer, lang)
    assert feedback.label_correct and feedback.used == []
    assert feedback.verdict == "half-right"
