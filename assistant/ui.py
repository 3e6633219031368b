"""Shim: the web UI lives in assistant/frontends/web/. Kept for the CLI and the tests that import from here.

`ready_app` here still brings the store up to date before serving (`python app.py` on a fresh store works),
until `serve` does that itself; the web package itself never ingests."""

from __future__ import annotations

import logging
from typing import Any

from assistant.frontends.web import app as _web
from assistant.frontends.web.app import AUTH_MESSAGE, build_app, queue_concurrency
from assistant.frontends.web.render import (
    _short,
    document_markdown,
    documents_table,
    learning_path_html,
    link_citations,
    model_badges,
    render_markdown_html,
    source_cards_html,
    timing_line,
    unlink_citations,
    unsupported_html,
    upload_report_markdown,
)
from assistant.frontends.web.text import CSS, HEAD, TEXT, launch_options, msg, theme, tr
from assistant.service import Yunying

log = logging.getLogger("yunying.ui")

__all__ = [
    "AUTH_MESSAGE",
    "CSS",
    "HEAD",
    "TEXT",
    "_short",
    "build_app",
    "document_markdown",
    "documents_table",
    "launch",
    "launch_options",
    "learning_path_html",
    "link_citations",
    "model_badges",
    "msg",
    "queue_concurrency",
    "ready_app",
    "render_markdown_html",
    "source_cards_html",
    "theme",
    "timing_line",
    "tr",
    "unlink_citations",
    "unsupported_html",
    "upload_report_markdown",
]


def _bring_store_up_to_date(service: Yunying) -> None:
    if service.settings.knowledge_dir.exists():
        report = service.ingest()
        for failed in report.failed:
            log.warning("not ingested: %s", failed.error)


def ready_app(service: Yunying) -> Any:
    """The store brought up to date, then the web app with its queue (see assistant.frontends.web.app)."""
    _bring_store_up_to_date(service)
    return _web.ready_app(service)


def launch(
    service: Yunying,
    host: str = "127.0.0.1",
    port: int = 7860,
    auth: list[tuple[str, str]] | None = None,
) -> None:
    """Serve the app (store brought up to date first). `auth`: logins the app requires (None: open)."""
    _bring_store_up_to_date(service)
    _web.launch(service, host=host, port=port, auth=auth)
