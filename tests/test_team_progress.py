"""The manager's view of the team (issue 18): YUNYING_MANAGERS, and the Onboarding tab's team panel called
as a plain handler (no browser) over the real service with progress in a real SQLite file."""

from __future__ import annotations

import html
import re

import gradio as gr
import pytest

from assistant.core.settings import Settings
from assistant.frontends.web.pages.onboarding import OnboardingPage
from assistant.frontends.web.text import tr
from assistant.onboarding import MODULE_KEYS
from assistant.services.training import TeamAccessError
from assistant.services.yunying import Yunying

N = len(MODULE_KEYS)
LOGINS = "wang:secret-1,li:secret-2,zhao:secret-3"


def test_managers_parse_from_a_comma_separated_list(monkeypatch):
    monkeypatch.setenv("YUNYING_MANAGERS", "a, b")
    assert Settings(_env_file=None).managers == ["a", "b"]
    monkeypatch.setenv("YUNYING_MANAGERS", " alice ,, ")
    assert Settings(_env_file=None).managers == ["alice"]
    monkeypatch.delenv("YUNYING_MANAGERS")
    assert Settings(_env_file=None).managers == []
    assert "YUNYING_MANAGERS" in {env for env, _, _ in Settings(_env_file=None).described()}


@pytest.fixture
def team_page(make_settings) -> OnboardingPage:
    """Three logins, wang a manager (with a name that is no login beside him); li and wang have progress,
    zhao none, and a user who is no login has some too."""
    service = Yunying(make_settings(auth=LOGINS, managers="ghost, wang"))
    store = service.progress_store
    store.record_read("core-loop", "li")
    store.record_read("community", "li")
    store.record_result("recall", "q1", "community", False, "zh", user="li")
    store.record_result("recall", "q2", "community", True, "zh", user="li")
    store.record_result("practice", "case-keep", "product", True, "zh", user="li", verdict="right")
    store.record_result("scenario", "s1", "content", False, "en", user="wang")
    store.record_read("overview", "stranger")
    return OnboardingPage(service)


def _reason(key: str, lang: str) -> str:
    return html.escape(tr(key, lang))


def _rows(table: str) -> dict[str, list[str]]:
    found = re.findall(r"<tr data-user='([^']*)'>(.*?)</tr>", table)
    return {user: re.findall(r"<td>(.*?)</td>", cells) for user, cells in found}


def test_a_manager_sees_one_row_per_login_with_progress(team_page):
    shown, table = team_page.team.show_team("en", gr.Request(username="wang"))
    assert shown["visible"] is True
    rows = _rows(table)
    assert list(rows) == ["wang", "li"]  # the logins' order; zhao has nothing, stranger is no login
    user, read, recall, scenario, practice, weak, due = rows["li"]
    assert (user, read, recall, scenario, practice, due) == ("li", f"2/{N}", "1/2", "–", "1/1", "0")
    assert weak in ("community", team_page.module_titles("en").get("community"))  # li's one miss
    assert rows["wang"][5] in ("content", team_page.module_titles("en").get("content"))
    assert rows["wang"][1:5] == [f"0/{N}", "–", "0/1", "–"]
    assert "Learner|" not in table and "<th>Learner</th>" in table


def test_anyone_else_gets_no_team_data_and_a_reason(team_page, make_settings):
    for user in ("li", "ghost", "local"):  # a learner; a manager name that is no login; the local user
        shown, text = team_page.team.show_team("zh", gr.Request(username=user))
        assert shown["visible"] is False and text == _reason("onb_team_not-manager", "zh")
        assert "data-user" not in text and "<table" not in text
    shown, text = team_page.team.show_team("en")  # no request: the local user
    assert shown["visible"] is False and text == _reason("onb_team_not-manager", "en")
    with pytest.raises(TeamAccessError) as info:
        team_page.service.team_view("li")
    assert info.value.reason == "not-manager"


def test_with_logins_off_nobody_sees_the_team(make_settings):
    service = Yunying(make_settings(managers="local, wang"))
    service.progress_store.record_read("overview", "local")
    page = OnboardingPage(service)
    for request in (None, gr.Request(username="wang")):
        shown, text = page.team.show_team("en", request)
        assert shown["visible"] is False and text == _reason("onb_team_logins-off", "en")
    with pytest.raises(TeamAccessError) as info:
        service.team_view("local")
    assert info.value.reason == "logins-off"


def test_the_app_hides_the_panel_until_the_page_load_asks_who_is_looking(make_settings):
    from assistant.frontends.web.app import build_app

    demo = build_app(Yunying(make_settings(llm="none", auth=LOGINS, managers="wang")))
    panel = [b for b in demo.blocks.values() if getattr(b, "elem_id", None) == "onb-team"]
    assert len(panel) == 1 and panel[0].visible is False
    fns = demo.fns.values() if isinstance(demo.fns, dict) else demo.fns
    team = [f for f in fns if getattr(f.fn, "__name__", "") == "show_team"]
    triggers = {event for f in team for _, event in f.targets}
    assert triggers == {"load", "then"}  # on page load, and again after the zh/en switch
    assert all([o.elem_id for o in f.outputs] == ["onb-team", "onb-team-table"] for f in team)
