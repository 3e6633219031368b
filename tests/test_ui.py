"""The Gradio app served on localhost for real, driven in headless Chromium like a user would.

One server per module (YUNYING_LLM=none: extractive answers) over a private copy of the knowledge store, so
uploads and feedback written here never reach other tests' store.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import REPO, cli_env

pytestmark = pytest.mark.browser

ANSWER_TIMEOUT = 90_000
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def data_dir(knowledge_store, tmp_path_factory) -> Path:
    copy = tmp_path_factory.mktemp("ui") / "data"
    shutil.copytree(
        knowledge_store, copy, ignore=shutil.ignore_patterns("eval", "logs", "uploads", "*.jsonl")
    )
    return copy


@contextlib.contextmanager
def served(env: dict[str, str], log_path: Path) -> Iterator[str]:
    """`yunying serve` on a free port with `env` until the block ends; yields the app's URL."""
    port = free_port()
    log = open(log_path, "w")  # noqa: SIM115 - closed on leaving the block
    proc = subprocess.Popen(
        [sys.executable, "-m", "assistant.cli", "serve", "--port", str(port)],
        cwd=REPO,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}/"
    deadline = time.time() + 240
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited: {log_path.read_text()}")
        try:
            urllib.request.urlopen(url, timeout=2)
            break
        except OSError:
            time.sleep(1)
    else:
        proc.kill()
        raise RuntimeError("server did not start in 240 s")
    try:
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


@pytest.fixture(scope="module")
def server(data_dir):
    # extractive answers: the LLM has its own tests
    with served(cli_env(data_dir, YUNYING_LLM="none"), data_dir.parent / "serve.log") as url:
        yield url


@contextlib.contextmanager
def chromium() -> Iterator[Any]:
    """Headless Chromium (the Debian package `make test` installs) until the block ends."""
    from playwright.sync_api import sync_playwright

    executable = shutil.which("chromium") or shutil.which("chromium-browser")
    if executable is None:
        pytest.fail("Chromium is not installed: `make test` installs it (apt-get install chromium)")
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=executable, headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture(scope="module")
def browser():
    with chromium() as launched:
        yield launched


@pytest.fixture
def page(browser, server):
    page = browser.new_page(viewport={"width": 1366, "height": 900}, accept_downloads=True)
    page.goto(server, wait_until="load")
    page.wait_for_selector("#chat-input textarea", timeout=60_000)
    yield page
    assert "Traceback" not in page.inner_text("body")  # errors are short messages, never a traceback
    page.close()


def ask(page, question: str) -> None:
    box = page.locator("#chat-input textarea")
    box.fill(question)
    box.press("Enter")


def wait_cards(page, turn: int) -> list[str]:
    """Doc ids of the source cards of a turn, once they are there."""
    page.wait_for_selector(f"[data-testid=source-card][id^=src-{turn}-]", timeout=ANSWER_TIMEOUT)
    return page.eval_on_selector_all(
        f"[data-testid=source-card][id^=src-{turn}-]", "cards => cards.map(c => c.dataset.docId)"
    )


def open_tab(page, name: str) -> None:
    page.get_by_role("tab", name=name).click()


def test_chat_streams_a_cited_answer_and_follows_up(page, data_dir):
    ask(page, "小红书为什么属于社区驱动模式？")
    docs = wait_cards(page, 1)
    bot = page.locator("[data-testid=bot]").last
    assert "case-xiaohongshu" in docs
    assert "[1]" in bot.inner_text()
    # the inline [1] links to its card, and the card can open the whole document
    assert bot.locator("a[href='#src-1-1']").count() >= 1
    card = page.locator("#src-1-1")
    assert "小红书" in card.inner_text() and "社区驱动" in card.inner_text()
    assert "retrieval" in page.locator("#sources").inner_text()  # backend and timing, discreetly
    card.locator("summary", has_text="Open the full document").click()
    assert card.locator(".src-doc h2").count() >= 1
    # the same section in English is a click away too
    card.locator("summary", has_text="English version").click()
    assert "Xiaohongshu" in card.locator(".src-twin").inner_text()

    # a follow-up leaning on a pronoun is answered about the first turn's subject
    ask(page, "它的核心指标是什么？")
    follow = wait_cards(page, 2)
    assert page.locator("[data-testid=user]").count() == 2
    assert "case-xiaohongshu" in follow or any("community" in d for d in follow), follow
    assert (
        "小红书" in page.locator("#sources").inner_text() or "社区" in page.locator("#sources").inner_text()
    )

    # thumbs up on the last answer lands in feedback.jsonl, then a comment as a second line
    page.locator("[data-testid=bot]").last.hover()
    page.get_by_role("button", name="Like").last.click()
    page.locator("#feedback-comment textarea").fill("引用很清楚")
    page.locator("#feedback-send").click()
    feedback = data_dir / "feedback.jsonl"
    deadline = time.time() + 20
    while time.time() < deadline and (not feedback.exists() or len(feedback.read_text().splitlines()) < 2):
        time.sleep(0.5)
    rows = [json.loads(line) for line in feedback.read_text(encoding="utf-8").splitlines()]
    assert rows[0]["liked"] is True and rows[0]["question"] == "它的核心指标是什么？"
    assert rows[0]["citations"] and rows[0]["backend"] == "none"
    assert rows[1]["id"] == rows[0]["id"] and rows[1]["comment"] == "引用很清楚"


def test_a_reopened_conversation_has_working_links_in_every_turn_and_exports(page, tmp_path):
    from docx import Document

    ask(page, "拼多多是如何获客的？")
    wait_cards(page, 1)
    ask(page, "它的核心指标是什么？")
    wait_cards(page, 2)
    # a reload is a new session: an empty chat, the saved conversation in the list
    page.reload(wait_until="load")
    page.wait_for_selector("#chat-input textarea", timeout=60_000)
    assert page.locator("[data-testid=bot]").count() == 0
    page.locator("#conv-list input").click()
    page.get_by_role("option", name="拼多多是如何获客的？").first.click()
    page.wait_for_function("() => document.querySelectorAll('[data-testid=bot]').length == 2", timeout=30_000)
    assert page.locator("[data-testid=user]").first.inner_text().strip() == "拼多多是如何获客的？"
    # the first turn's [1] opens its folded card and scrolls to it
    first = page.locator("[data-testid=bot]").first.locator("a[href='#src-1-1']").first
    card = page.locator("#src-1-1")
    assert not card.is_visible()
    first.click()
    page.wait_for_function("() => document.querySelector('#src-1-1').classList.contains('src-flash')")
    assert card.is_visible() and "拼多多" in card.inner_text()
    assert page.locator("#src-2-1").is_visible()  # the latest turn's cards are open anyway

    page.locator("#conv-manage").get_by_text("管理对话").click()
    page.get_by_label("Word (DOCX)").check()
    page.locator("#conv-export").click()
    link = page.locator("#conv-file a").first
    link.wait_for(timeout=30_000)
    with page.expect_download(timeout=30_000) as info:
        link.click()
    path = tmp_path / "conversation.docx"
    info.value.save_as(path)
    texts = [p.text for p in Document(str(path)).paragraphs]
    assert "拼多多是如何获客的？" in " ".join(texts) and "参考资料" in texts


def test_model_fit_and_docx_download(page, tmp_path):
    from docx import Document

    open_tab(page, "模式匹配 Model fit")
    page.locator("#fit-analyse").click()  # empty form: a short message, nothing else
    page.wait_for_function(
        "() => document.querySelector('#fit-status').innerText.includes('请先描述业务')", timeout=30_000
    )
    page.locator("#fit-description textarea").fill(
        "我们是一款面向大学生的笔记 App，免费增值，靠高级会员订阅赚钱，"
        "团队以工程师为主，主要通过应用商店获客。"
    )
    page.locator("#fit-analyse").click()
    page.wait_for_selector("#fit-headline h3", timeout=ANSWER_TIMEOUT)
    assert "产品驱动" in page.locator("#fit-headline").inner_text()
    assert page.locator("#fit-scores").inner_text().count("驱动") >= 5
    assert "运营模式建议备忘录" in page.locator("#memo-preview").inner_text()
    with page.expect_download(timeout=30_000) as info:
        page.locator("#dl-docx").click()
    path = tmp_path / "memo.docx"
    info.value.save_as(path)
    doc = Document(str(path))
    headings = [p.text for p in doc.paragraphs if p.style.name.startswith(("Heading", "Title"))]
    assert "运营模式建议备忘录" in headings and "模式评分表" in headings
    table = doc.tables[0]
    assert len(table.rows) == 6 and "产品驱动" in table.rows[1].cells[0].text


def test_upload_then_find_it_in_chat_then_remove_it(page, tmp_path):
    note = tmp_path / "zorblax playbook.md"
    note.write_text(
        "# Zorblax 留存飞轮\n\nZorblax 留存飞轮是我们团队自创的方法：每周复盘新用户的第七日留存，"
        "再把结论写进运营周报，驱动下一轮产品改进。\n",
        encoding="utf-8",
    )
    bad = tmp_path / "tool.exe"
    bad.write_bytes(b"MZ")
    open_tab(page, "知识库 Knowledge")
    page.wait_for_function(
        "() => document.querySelector('#kb-counts').innerText.includes('篇文档')", timeout=30_000
    )
    page.locator("#kb-files input[type=file]").set_input_files([str(note), str(bad)])
    page.wait_for_timeout(500)
    page.locator("#kb-upload").click()
    page.wait_for_function(
        "() => document.querySelector('#kb-upload-report').innerText.includes('已添加')",
        timeout=ANSWER_TIMEOUT,
    )
    report = page.locator("#kb-upload-report").inner_text()
    assert "zorblax_playbook.md" in report and "tool.exe" in report and "not accepted" in report
    page.wait_for_function(
        "() => document.querySelector('#kb-counts').innerText.includes('我的文档 1')", timeout=30_000
    )

    open_tab(page, "问答 Chat")
    ask(page, "Zorblax 留存飞轮是什么？")
    docs = wait_cards(page, 1)
    assert any(d.startswith("user-zorblax-playbook") for d in docs), docs
    assert "Zorblax" in page.locator("[data-testid=source-card]").first.inner_text()

    open_tab(page, "知识库 Knowledge")
    # its chunks as stored, then delete it: gone from the catalogue and from "my documents"
    page.locator("#kb-open input").press_sequentially("Zorblax")  # filters the long list of documents
    page.get_by_role("option", name="Zorblax").first.click()
    page.wait_for_function(
        "() => document.querySelector('#kb-reader').innerText.includes('Zorblax')", timeout=ANSWER_TIMEOUT
    )
    page.locator("#kb-chunks-box").get_by_text("存储的片段").click()
    page.wait_for_function(  # the table inside the accordion is rendered a moment after it opens
        "() => document.querySelector('#kb-chunks')?.textContent.includes('每周复盘')", timeout=30_000
    )
    page.locator("#kb-mine input").click()
    page.get_by_role("option", name="Zorblax").first.click()
    page.locator("#kb-remove").click()
    page.wait_for_function(
        "() => document.querySelector('#kb-remove-report').innerText.includes('已删除')", timeout=30_000
    )
    page.wait_for_function(
        "() => document.querySelector('#kb-counts').innerText.includes('我的文档 0')", timeout=30_000
    )
    page.locator("#kb-mine input").click()
    assert page.get_by_role("option", name="Zorblax").count() == 0


def test_learning_path_and_a_quiz_question_with_its_explanation(page):
    open_tab(page, "新人培训 Onboarding")
    page.wait_for_selector("#learning-path details.module", timeout=60_000)
    modules = page.eval_on_selector_all(
        "#learning-path details.module", "ms => ms.map(m => m.dataset.module)"
    )
    assert modules[:2] == ["overview", "core-loop"] and {"product", "selection", "trends"} <= set(modules)
    assert "framework-overview" in page.locator("#learning-path details.module").first.inner_text()

    page.wait_for_selector("#quiz-options label", timeout=30_000)
    assert "1 / 10" in page.locator("#quiz-progress").inner_text()
    page.locator("#quiz-submit").click()  # nothing chosen: a short hint
    page.wait_for_function(
        "() => document.querySelector('#quiz-feedback').innerText.includes('请先选择')", timeout=30_000
    )
    page.locator("#quiz-options label").first.click()
    page.locator("#quiz-submit").click()
    page.wait_for_selector("#quiz-feedback .quiz-feedback", timeout=30_000)
    feedback = page.locator("#quiz-feedback").inner_text()
    assert ("回答正确" in feedback or "正确答案是" in feedback) and "出处" in feedback and "[1]" in feedback
    assert "已答 1" in page.locator("#quiz-progress").inner_text()
    first = page.locator("#quiz-question").inner_text()
    page.locator("#quiz-next").click()
    page.wait_for_function(
        "() => document.querySelector('#quiz-progress').innerText.includes('2 / 10')", timeout=30_000
    )
    assert page.locator("#quiz-question").inner_text() != first

    # the language switch re-labels the page and asks the quiz in English
    page.get_by_label("English").check()
    page.wait_for_function(
        "() => document.querySelector('#quiz-progress').innerText.includes('Question 1 / 10')", timeout=30_000
    )
    assert page.get_by_role("button", name="Submit").count() == 1


def test_a_practice_round_in_the_onboarding_tab(page):
    open_tab(page, "新人培训 Onboarding")
    page.wait_for_selector("#quiz-options label", timeout=60_000)  # the recall quiz is up first
    page.locator("#quiz-type label", has_text="案例练习").click()
    page.wait_for_selector(
        "#practice-case .practice-case", timeout=ANSWER_TIMEOUT
    )  # the first builds the cases
    assert page.locator("#quiz-mcq").is_hidden()
    assert "公司名已隐去" in page.locator("#practice-case").inner_text()
    page.locator("#practice-submit").click()  # nothing written: a short hint, nothing recorded
    page.wait_for_function(
        "() => document.querySelector('#practice-feedback').innerText.includes('请先写下你的判断')",
        timeout=30_000,
    )
    page.locator("#practice-answer textarea").fill(
        "主导模式是社区驱动，因为用户之间互相分享、讨论，平台靠社区氛围留住用户。"
    )
    page.locator("#practice-submit").click()
    page.wait_for_selector("#practice-feedback .practice-feedback", timeout=ANSWER_TIMEOUT)
    verdict = page.locator("#practice-feedback .practice-feedback").get_attribute("data-verdict")
    text = page.locator("#practice-feedback").inner_text()
    assert verdict in ("right", "half-right", "wrong")
    assert "实际标签" in text and "你的判断：社区驱动" in text and "[1]" in text
    assert page.locator("#practice-feedback li[data-n]").count() >= 2  # the numbered sources
    page.wait_for_function(
        "() => document.querySelector('#onb-progress').innerText.includes('案例练习')", timeout=30_000
    )


def test_eval_tab_shows_and_reruns_the_retrieval_eval(page):
    open_tab(page, "评测 Eval")
    page.wait_for_function(
        "() => /还没有评测报告|最新报告/.test(document.querySelector('#eval-summary').innerText)",
        timeout=30_000,
    )
    page.locator("#eval-rerun").click()
    page.wait_for_function(
        "() => document.querySelector('#eval-summary').innerText.includes('最新报告')", timeout=240_000
    )
    assert "ours (hybrid)" in page.locator("#eval-table").inner_text()
    page.wait_for_selector("#eval-plots img", timeout=30_000)


def test_gradio_client_calls_the_chat_api(server):
    from gradio_client import Client

    client = Client(server, verbose=False)
    api = client.view_api(return_format="dict", print_info=False)["named_endpoints"]
    assert [p["parameter_name"] for p in api["/chat"]["parameters"]] == ["message", "kind", "model"]
    assert len(api["/chat"]["returns"]) == 2 and "/fit" in api
    assert "/remove" not in api  # the page's own plumbing is not listed as API
    reply, cards = client.predict("什么是私域流量？", "", "", api_name="/chat")
    assert "[1]" in reply and "source-card" in cards
    assert "framework-trends" in cards
