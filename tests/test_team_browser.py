"""The manager's team panel in a real browser (issue 18): `yunying serve` with logins and YUNYING_MANAGERS,
driven in headless Chromium. A manager who logs in sees the team's progress in the Onboarding tab (one row
per login with progress, read from the real SQLite); a learner who logs in sees no panel and no rows.
tests/test_team_progress.py covers the same at the service and handler level."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from assistant.core.settings import Settings
from assistant.onboarding import MODULE_KEYS
from assistant.services.yunying import Yunying
from tests.conftest import cli_env
from tests.test_ui import chromium, open_tab, served

pytestmark = pytest.mark.browser

LOGINS = {"wang": "team-pw-1", "li": "team-pw-2"}


@pytest.fixture(scope="module")
def data_dir(knowledge_store, models_dir, tmp_path_factory) -> Path:
    """A private copy of the store, with li's progress recorded before the app starts."""
    copy = tmp_path_factory.mktemp("team-ui") / "data"
    shutil.copytree(
        knowledge_store, copy, ignore=shutil.ignore_patterns("eval", "logs", "uploads", "*.jsonl")
    )
    service = Yunying(Settings(_env_file=None, data_dir=copy, models_dir_override=models_dir, llm="none"))
    store = service.progress_store
    store.record_read("core-loop", "li")
    store.record_result("recall", "q1", "community", False, "zh", user="li")
    store.record_result("recall", "q2", "community", True, "zh", user="li")
    return copy


@pytest.fixture(scope="module")
def server(data_dir):
    env = cli_env(
        data_dir,
        YUNYING_LLM="none",
        YUNYING_AUTH=",".join(f"{user}:{password}" for user, password in LOGINS.items()),
        YUNYING_MANAGERS="wang",
    )
    with served(env, data_dir.parent / "serve.log") as url:
        yield url


@pytest.fixture(scope="module")
def browser():
    with chromium() as launched:
        yield launched


def logged_in(browser, server: str, user: str):
    """A fresh browser context (no shared cookie) logged in through the app's own login form, on the
    Onboarding tab with its path loaded (so the page's load events, the team panel's among them, ran)."""
    context = browser.new_context(viewport={"width": 1366, "height": 900})
    page = context.new_page()
    page.goto(server, wait_until="load")
    page.locator("input[type=text]").first.fill(user)
    page.locator("input[type=password]").first.fill(LOGINS[user])
    page.get_by_role("button", name="Login").click()
    page.wait_for_selector("#chat-input textarea", timeout=60_000)
    open_tab(page, "新人培训 Onboarding")
    page.wait_for_selector("#learning-path details.module", timeout=60_000)
    return context, page


def test_a_manager_sees_the_teams_progress(browser, server):
    context, page = logged_in(browser, server, "wang")
    try:
        page.wait_for_selector("#onb-team", state="visible", timeout=30_000)
        page.locator("#onb-team").get_by_text("团队进度").first.click()  # the accordion starts closed
        page.wait_for_selector("#onb-team-table tr[data-user='li']", timeout=30_000)
        users = page.eval_on_selector_all(
            "#onb-team-table tr[data-user]", "rows => rows.map(r => r.dataset.user)"
        )
        assert "li" in users and set(users) <= set(LOGINS), users  # logins with progress only
        cells = page.eval_on_selector_all(
            "#onb-team-table tr[data-user='li'] td", "cells => cells.map(c => c.innerText.trim())"
        )
        assert cells[:3] == ["li", f"1/{len(MODULE_KEYS)}", "1/2"], (
            cells
        )  # one module read, one of two recall answers right
        assert "学员" in page.locator("#onb-team-table").inner_text()
        assert "Traceback" not in page.inner_text("body")
    finally:
        context.close()


def test_a_learner_sees_no_team_panel(browser, server):
    context, page = logged_in(browser, server, "li")
    try:
        page.wait_for_timeout(
            3_000
        )  # the load events have run (the path is there); give the panel's a moment
        assert not page.locator("#onb-team").is_visible()
        assert page.locator("#onb-team-table tr[data-user]").count() == 0
        assert "团队进度" not in page.inner_text("body")
    finally:
        context.close()
