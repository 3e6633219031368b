"""The Onboarding tab's handlers, called as plain methods (no browser) against the real service: the
whole bundled knowledge base in real Chroma, the real e5 model, progress in a real SQLite file. The
browser test of a practice round is in tests/test_ui.py."""

from __future__ import annotations

import re
from datetime import timedelta

import gradio as gr
import pytest

from assistant.core.settings import Settings
from assistant.core.vocabulary import MODEL_LABELS
from assistant.frontends.web.pages.onboarding import OnboardingPage, user_of
from assistant.frontends.web.text import tr
from assistant.services.database import LOCAL_USER, Database
from assistant.services.progress import ProgressStore, utc_now
from assistant.services.yunying import Yunying
from tests.test_onboarding_practice import ANSWERS

# the outputs of `choose`: (module, quiz column, practice column), the quiz's five, the practice's four
SHOWN, QUIZ, PRACTICE = slice(0, 3), slice(3, 8), slice(8, 12)

RIGHT_ZH, WRONG_ZH = ANSWERS["zh"]["right"], ANSWERS["zh"]["wrong"]  # for case-keep


def _service(knowledge_store, models_dir, progress_dir) -> Yunying:
    service = Yunying(
        Settings(_env_file=None, data_dir=knowledge_store, models_dir_override=models_dir, llm="none")
    )
    # progress goes to a database of this module's own, not the shared store's folder
    service.__dict__["progress_store"] = ProgressStore(Database(progress_dir))
    return service


@pytest.fixture(scope="module")
def progress_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("page-progress")


@pytest.fixture(scope="module")
def service(knowledge_store, models_dir, progress_dir):
    return _service(knowledge_store, models_dir, progress_dir)


@pytest.fixture(scope="module")
def page(service):
    return OnboardingPage(service)


def _visible(update) -> bool:
    return update["visible"]


def _tallies(service, user: str = LOCAL_USER) -> dict[str, int]:
    return {k: t.answered for k, t in service.progress_store.summary(user).tallies.items()}


def test_each_quiz_type_shows_its_panel_in_the_ui_language(page):
    recall = page.choose("zh", "recall", "", {})
    assert [_visible(u) for u in recall[SHOWN]] == [True, True, False]
    state, line, question, options, _ = recall[QUIZ]
    assert len(state["questions"]) == 10 and "第 **1 / 10** 题" in line
    assert re.search(r"[\u4e00-\u9fff]", question) and len(options["choices"]) == 4

    scenario = page.choose("en", "scenario", "community", {})  # a scenario's module is its answer: no filter
    assert [_visible(u) for u in scenario[SHOWN]] == [False, True, False]
    state, line, question, options, _ = scenario[QUIZ]
    assert state["type"] == "scenario" and "Question **1 / 10**" in line
    assert {label for label, _ in options["choices"]} <= set(MODEL_LABELS["en"].values())
    assert len({q["module"] for q in state["questions"]}) > 1
    assert {q["kind"] for q in state["questions"]} == {"failure-mode", "value-loop-link", "operating-focus"}

    practice = page.choose("zh", "practice", "", {})
    assert [_visible(u) for u in practice[SHOWN]] == [False, False, True]
    case_state, case, answer, feedback = practice[PRACTICE]
    company_names, _ = page.service._practice().hidden_names(case_state["case"]["id"], "zh")
    assert "阅读下面这家公司的情况" in case and "data-case=" in case and feedback == ""
    assert not any(name in case for name in company_names if not name.isascii())
    assert answer["value"] == ""  # a new case starts with an empty answer box


def test_a_quiz_answer_is_graded_recorded_once_and_shown_in_progress(page, service):
    state, *_ = page.start_quiz("zh", "recall", "core-loop", seed=2)
    assert {q["module"] for q in state["questions"]} == {"core-loop"}
    before = _tallies(service).get("recall", 0)
    _, _, hint, progress = page.submit(state, None, "zh")
    assert hint == tr("onb_pick_option", "zh") and _tallies(service).get("recall", 0) == before
    question = state["questions"][0]
    wrong = (question["answer_index"] + 1) % len(question["options"])
    state, line, feedback, progress = page.submit(state, wrong, "zh")
    assert "正确答案是" in feedback and question["options"][question["answer_index"]] in feedback
    assert "[1]" in feedback and question["citation"]["doc_id"] in feedback
    assert "已答 1" in line and "得分 **0**" in line
    assert _tallies(service)["recall"] == before + 1 and "记忆题" in progress and "q-core-loop" in progress
    # a second try at the same question is graded, not recorded again, and does not change the score
    state, line, feedback, _ = page.submit(state, question["answer_index"], "zh")
    assert "回答正确" in feedback and "得分 **0**" in line and _tallies(service)["recall"] == before + 1


def test_a_practice_round_gives_cited_feedback_and_is_recorded(page, service):
    state, case, _, _ = page.practice_view(service.practice_case("case-keep", "zh"), 0, "zh")
    assert "Keep" not in case  # the company is revealed with the feedback, not before
    before = _tallies(service).get("practice", 0)
    state, right, progress = page.review_practice(state, RIGHT_ZH, "zh")
    _, wrong, _ = page.review_practice(state, WRONG_ZH, "zh")
    assert "data-verdict='right'" in right and "data-verdict='wrong'" in wrong
    for html in (right, wrong):
        # the actual label, the revealed company, the criteria counts and the numbered sources they cite
        assert "实际标签：<b>产品驱动</b>（Keep）" in html and "用上的判断依据" in html
        assert "<sup class='src-n'>[1]</sup>" in html and "<code>case-keep</code>" in html
        assert "<code>framework-product</code>" in html
        numbers = set(re.findall(r"<sup class='src-n'>\[(\d+)\]</sup>", html))
        assert numbers == set(re.findall(r"<li data-n='(\d+)'>", html))  # every marker has its source
    assert "你的判断：交易驱动" in wrong and "你的判断：产品驱动" in right
    assert "用上的判断依据 0 条" in wrong and "用上的判断依据 0 条" not in right
    assert _tallies(service)["practice"] == before + 2 and "案例练习" in progress


def test_an_empty_practice_answer_gets_a_clear_message_and_records_nothing(page, service):
    state, *_ = page.practice_view(service.practice_case("case-douban", "en"), 0, "en")
    before = _tallies(service).get("practice", 0)
    for empty in ("", "   \n ", None):
        kept, message, progress = page.review_practice(state, empty, "en")
        assert tr("onb_practice_empty", "en") in message and kept == state
        assert progress == gr.update()  # the panel is left as it is
    assert _tallies(service).get("practice", 0) == before
    _, message, _ = page.review_practice({}, "community-driven", "en")  # no case on show: no crash
    assert tr("onb_practice_none", "en") in message


def test_the_language_switch_keeps_the_case_and_the_answer(page, service):
    state, *_ = page.practice_view(service.practice_case("case-keep", "zh"), 3, "zh")
    switched = page.choose("en", "practice", "", state)
    new_state, case, answer, feedback = switched[PRACTICE]
    assert new_state["case"]["id"] == "case-keep" and new_state["case"]["lang"] == "en"
    assert "Read the business below" in case
    assert answer == gr.update() and feedback == gr.update()  # what was typed and the feedback stay
    assert all(u == gr.update() for u in switched[QUIZ])
    other = page.next_case(new_state, "en")[0]
    assert other["case"]["id"] != "case-keep" and other["seed"] == 4


def test_a_missed_question_comes_back_for_review(page, service):
    store = service.progress_store
    _, _, _, *quiz = page.review_due("en")  # nothing due yet
    assert quiz[1] == tr("onb_no_due", "en") and quiz[0]["questions"] == []
    state, *_ = page.start_quiz("en", "scenario", None, seed=5)
    question = state["questions"][0]
    page.submit(state, (question["answer_index"] + 1) % 4, "en")
    answered_at = store.summary().recent[0].at
    store.clock = lambda: answered_at + timedelta(days=1, minutes=1)
    try:
        kind, mcq, practice, state, line, text, _, _ = page.review_due("en")
        assert kind["value"] == "scenario" and _visible(mcq) and not _visible(practice)
        assert state["review"] and line.startswith(tr("onb_q_review", "en"))
        assert question["id"] in {q["id"] for q in state["questions"]}
        i = [q["id"] for q in state["questions"]].index(question["id"])
        state["i"] = i
        page.submit(state, state["questions"][i]["answer_index"], "en")
        latest = store.summary().recent[0]
        assert (latest.kind, latest.item_id, latest.correct) == ("scenario", question["id"], True)
        assert question["id"] not in {d.item_id for d in store.due()}  # right: pushed 3 days on
    finally:
        store.clock = utc_now


def test_reading_is_recorded_per_user_and_survives_a_restart(page, knowledge_store, models_dir, progress_dir):
    message, _ = page.mark_read(None, "zh")
    assert message == tr("onb_read_pick", "zh")
    message, _ = page.mark_read("no-such-module", "en")
    assert message.startswith("Something went wrong") and "unknown module" in message
    wang = gr.Request(username="wang")
    assert user_of(wang) == "wang" and user_of(None) == LOCAL_USER
    message, progress = page.mark_read("community", "en", wang)
    assert "Recorded" in message and "Learner: wang" in progress and "Modules read 1/" in progress

    restarted = OnboardingPage(
        _service(knowledge_store, models_dir, progress_dir)
    )  # a new service, same file
    after = restarted.show_progress("en", wang)
    assert "Learner: wang" in after and "Modules read 1/" in after
    assert restarted.service.progress_store.summary("wang").modules_read == ["community"]
    assert "Learner: local" in restarted.show_progress("en")  # the local user's own progress
