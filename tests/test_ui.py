"""The Gradio app served on localhost for real, driven in headless Chromium like a user would."""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import time
import urllib.request

import pytest

from tests.conftest import REPO, cli_env

pytestmark = pytest.mark.browser


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def server(knowledge_store):
    port = free_port()
    log = open(knowledge_store.parent / "serve.log", "w")  # noqa: SIM115 - closed in teardown
    proc = subprocess.Popen(
        [sys.executable, "-m", "assistant.cli", "serve", "--port", str(port)],
        cwd=REPO,
        env=cli_env(knowledge_store, YUNYING_LLM="none"),  # extractive answers: the LLM has its own tests
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}/"
    deadline = time.time() + 180
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited: {(knowledge_store.parent / 'serve.log').read_text()}")
        try:
            urllib.request.urlopen(url, timeout=2)
            break
        except OSError:
            time.sleep(1)
    else:
        proc.kill()
        raise RuntimeError("server did not start in 180 s")
    yield url
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
    log.close()


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    executable = shutil.which("chromium") or shutil.which("chromium-browser")
    if executable is None:
        pytest.fail("Chromium is not installed: `make test` installs it (apt-get install chromium)")
    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=executable,
            headless=True,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
            ],
        )
        yield browser
        browser.close()


def ask(page, question: str) -> None:
    box = page.get_by_role("textbox").first
    box.fill(question)
    box.press("Enter")


def test_chat_answers_with_passages_and_source_cards(server, browser):
    page = browser.new_page()
    page.goto(server, wait_until="load")
    ask(page, "运营的价值循环包括哪些环节？")
    bot = page.locator("[data-testid=bot]").last
    bot.wait_for(timeout=60_000)
    page.wait_for_function(
        "() => document.querySelectorAll('[data-testid=source-card]').length >= 3", timeout=60_000
    )
    cards = page.locator("[data-testid=source-card]")
    assert "价值循环" in cards.first.inner_text()
    assert "[1]" in bot.inner_text()
    page.screenshot(path=str(REPO / ".yunying" / "ui-chat.png"), full_page=True)

    # a second turn in English keeps the history and replaces the source cards
    ask(page, "How does a content platform make money?")
    page.wait_for_function("() => document.querySelectorAll('[data-testid=bot]').length >= 2", timeout=60_000)
    page.wait_for_function(
        "() => [...document.querySelectorAll('[data-testid=source-card]')]"
        ".some(c => c.innerText.includes('framework-content'))",
        timeout=60_000,
    )
    assert page.locator("[data-testid=user]").count() == 2
    page.close()


def test_gradio_client_calls_the_chat_api(server):
    from gradio_client import Client

    client = Client(server, verbose=False)
    reply, cards = client.predict("什么是私域流量？", "", "", api_name="/chat")
    assert "[1]" in reply and "source-card" in cards
