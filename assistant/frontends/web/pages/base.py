"""What every page shares: the service, one-line error messages, the user of a request, and the labels
the zh/en switch re-sets."""

from __future__ import annotations

from typing import Any

import gradio as gr

from assistant.frontends.web.render import _short
from assistant.frontends.web.text import tr
from assistant.services.database import LOCAL_USER
from assistant.services.yunying import Yunying


class Labels:
    """The components whose label (or value, placeholder…) the language switch re-sets, with their key in
    resources/ui/strings.yaml. Called as `labels(component, key, prop)`: registers and returns it."""

    def __init__(self) -> None:
        self.entries: list[tuple[Any, str, str]] = []

    def __call__(self, component: Any, key: str, prop: str = "label") -> Any:
        self.entries.append((component, prop, key))
        return component

    @property
    def components(self) -> list[Any]:
        return [component for component, _, _ in self.entries]

    def relabel(self, lang: str) -> list[Any]:
        """One update per registered component, in the language `lang`."""
        return [gr.update(**{prop: tr(key, lang)}) for _, prop, key in self.entries]


def user_of(request: gr.Request | None) -> str:
    """The logged-in user of a request; the one local user when logins are off (or outside a request)."""
    return (getattr(request, "username", None) or LOCAL_USER) if request is not None else LOCAL_USER


class Page:
    """A tab over the shared service. Subclasses add `render(lang, labels)` and their handlers."""

    def __init__(self, service: Yunying) -> None:
        self.service = service

    def short(self, exc: BaseException) -> str:
        """One line for the page (secrets masked); the log keeps the details."""
        return _short(exc, self.service.settings)
