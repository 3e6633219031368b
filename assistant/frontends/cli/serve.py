"""`yunying serve`: the Gradio app and the OpenAI-compatible API (/v1) on one port. The store is brought up
to date (incrementally) before anything is served; the web package never ingests."""

from __future__ import annotations

import logging
from typing import Annotated, Any

import typer

from assistant.core.settings import Settings
from assistant.frontends.cli.service_access import service

log = logging.getLogger("yunying.serve")


def serve(
    host: Annotated[
        str | None,
        typer.Option(help="Interface to listen on (default 127.0.0.1; any other needs YUNYING_AUTH)."),
    ] = None,
    port: Annotated[int | None, typer.Option(min=1, max=65535, help="Port to listen on.")] = None,
    insecure: Annotated[
        bool,
        typer.Option("--insecure", help="Allow a non-loopback address without a login (not recommended)."),
    ] = False,
    no_api: Annotated[
        bool, typer.Option("--no-api", help="Serve the app alone, without the OpenAI-compatible API.")
    ] = False,
) -> None:
    """Serve the Gradio app (chat with source cards) and the OpenAI-compatible API (/v1) on one port."""
    from assistant.services.security import serve_api_keys, serve_logins

    settings = Settings()
    host = host or settings.host
    port = port or settings.port
    logins = serve_logins(settings, host, insecure)  # refuses before anything slow is loaded
    api_keys = None if no_api else serve_api_keys(settings, host, insecure)
    yunying = service(settings)
    bring_store_up_to_date(yunying)
    if no_api:
        from assistant.frontends.web.app import launch

        launch(yunying, host=host, port=port, auth=logins)
        return
    from assistant.frontends.api import serve as serve_app_and_api

    serve_app_and_api(yunying, host=host, port=port, logins=logins, api_keys=api_keys)


def bring_store_up_to_date(yunying: Any) -> None:
    """An incremental ingest of the knowledge folder (a fresh store gets it all, an unchanged one costs a
    hash of each file); a document that fails is logged and left out, the rest is served."""
    if not yunying.settings.knowledge_dir.exists():
        return
    report = yunying.ingest()
    for failed in report.failed:
        log.warning("not ingested: %s", failed.error)


def register(app: typer.Typer) -> None:
    app.command()(serve)
