"""团队进度 Team progress: the manager's panel of the Onboarding tab (issue 18). Shown only to a logged-in
login named in YUNYING_MANAGERS; the service refuses the team's data to anyone else, so calling the
handler directly gives a non-manager a short reason and no rows."""

from __future__ import annotations

import html
import logging
from collections.abc import Callable
from typing import Any

import gradio as gr

from assistant.frontends.web.pages.base import Page, user_of
from assistant.frontends.web.render_onboarding import team_html
from assistant.frontends.web.text import tr
from assistant.onboarding import MODULE_KEYS
from assistant.services.training import TeamAccessError
from assistant.services.yunying import Yunying

log = logging.getLogger("yunying.ui")

Labels = Callable[..., Any]


class TeamPanel(Page):
    """The accordion (hidden until `show_team` finds a manager) and its one handler. `titles(lang)` names
    the path's modules (the weak topics are module keys)."""

    def __init__(self, service: Yunying, titles: Callable[[str], dict[str, str]]) -> None:
        super().__init__(service)
        self.titles = titles

    def show_team(self, lang: str, request: gr.Request | None = None) -> tuple[Any, str]:
        """(the accordion's visibility, the team table): shown with one row per login with progress to a
        manager; hidden, with the reason in place of the table, to anyone else."""
        try:
            team = self.service.team_view(user_of(request))
        except TeamAccessError as exc:
            return gr.update(visible=False), html.escape(tr(f"onb_team_{exc.reason}", lang))
        except Exception as exc:
            log.exception("team progress failed")
            error = tr("onb_team_error", lang).format(error=self.short(exc))
            return gr.update(visible=False), html.escape(error)
        return gr.update(visible=True), team_html(team, self.titles(lang), len(MODULE_KEYS), lang)

    def render(self, labels: Labels) -> None:
        with labels(
            gr.Accordion(tr("onb_team", "zh"), open=False, visible=False, elem_id="onb-team"), "onb_team"
        ) as self.accordion:
            self.table = gr.HTML(elem_id="onb-team-table")

    def loader(self, lang: gr.Radio) -> tuple[Callable[..., Any], list[Any], list[Any]]:
        """What to run on page load and after a language switch."""
        return self.show_team, [lang], [self.accordion, self.table]
