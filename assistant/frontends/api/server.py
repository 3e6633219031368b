"""`yunying serve`: the Gradio app and the API on one port, one process, one service object. A FastAPI app
holds the `/v1` routes and the Gradio Blocks mounted at `/` (the routes are matched first); uvicorn
serves it."""

from __future__ import annotations

from collections.abc import Sequence

import uvicorn
from fastapi import FastAPI

from assistant.frontends.api.app import create_api
from assistant.services.yunying import Yunying


def combined_app(
    service: Yunying,
    *,
    host: str = "127.0.0.1",
    port: int = 7860,
    logins: list[tuple[str, str]] | None = None,
    api_keys: Sequence[str] | None = None,
) -> FastAPI:
    """The API beside the app. `logins` guard the Gradio pages (as the web app's `launch` does),
    `api_keys` the API: each side keeps its own way of logging in."""
    import gradio as gr

    from assistant.frontends.web.app import AUTH_MESSAGE, ready_app
    from assistant.frontends.web.text import launch_options

    app = create_api(service, api_keys)
    # with mount_gradio_app, css/theme/head are its own arguments, as they are launch's in Gradio 6
    return gr.mount_gradio_app(
        app,
        ready_app(service),
        path="/",
        server_name=host,
        server_port=port,
        auth=logins or None,
        auth_message=AUTH_MESSAGE if logins else None,
        show_error=True,
        **launch_options(),
    )


def serve(
    service: Yunying,
    *,
    host: str = "127.0.0.1",
    port: int = 7860,
    logins: list[tuple[str, str]] | None = None,
    api_keys: Sequence[str] | None = None,
) -> None:
    """Serve until interrupted. The caller has already applied the loopback policy (security.py)."""
    app = combined_app(service, host=host, port=port, logins=logins, api_keys=api_keys)
    base = f"http://{host}:{port}"
    print(f"Yunying: the app at {base}/ and the OpenAI-compatible API at {base}/v1", flush=True)
    uvicorn.run(app, host=host, port=port, log_level="warning", timeout_graceful_shutdown=5)
