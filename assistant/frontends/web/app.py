"""The Gradio app: a composition of one page class per tab (frontends/web/pages/). It only arranges what
the service object returns; no retrieval logic lives here, and it does not ingest (whoever serves it brings
the store up to date first).

Tabs: 问答 Chat, 模式匹配 Model fit & memo, 知识库 Knowledge, 新人培训 Onboarding, 评测 Eval. A zh/en
switch at the top re-labels the main components. Every handler catches its errors: the log keeps the
details, the page shows one short line. What a session has shown lives in its own `gr.State`.
"""

from __future__ import annotations

import logging
from typing import Any

from assistant.core.settings import apply_offline_env
from assistant.frontends.web.text import HIDDEN, launch_options, tr
from assistant.services.yunying import Yunying

log = logging.getLogger("yunying.ui")


def build_app(service: Yunying) -> Any:
    apply_offline_env()  # before gradio (and huggingface_hub under it) is imported
    import gradio as gr

    from assistant.frontends.web.pages.base import Labels
    from assistant.frontends.web.pages.chat import ChatPage
    from assistant.frontends.web.pages.evaluation import EvaluationPage
    from assistant.frontends.web.pages.fit import FitPage
    from assistant.frontends.web.pages.knowledge import KnowledgePage
    from assistant.frontends.web.pages.onboarding import OnboardingPage

    L = Labels()  # noqa: N806 - every page's name for it
    with gr.Blocks(title="Yunying 运营知识助手") as demo:
        with gr.Row(equal_height=True):
            with gr.Column(scale=4):
                gr.Markdown("## Yunying 运营知识助手", elem_id="app-head")
                L(gr.Markdown(tr("intro", "zh"), elem_classes="hint"), "intro", "value")
            lang = gr.Radio(
                [("中文", "zh"), ("English", "en")],
                value="zh",
                label="界面语言 Language",
                elem_id="lang-switch",
                scale=1,
            )
        with gr.Tab("问答 Chat", id="chat"):
            loaders = [ChatPage(service).render(lang, L)]
        with gr.Tab("模式匹配 Model fit", id="fit"):
            FitPage(service).render(lang, L)
        with gr.Tab("知识库 Knowledge", id="knowledge") as knowledge_tab:
            loaders.append(KnowledgePage(service).render(lang, L, knowledge_tab))

        with gr.Tab("新人培训 Onboarding", id="onboarding"):
            onboarding_loaders = OnboardingPage(service).render(lang, L)

        with gr.Tab("评测 Eval", id="eval") as eval_tab:
            EvaluationPage(service).render(lang, L, eval_tab)

        lang.change(L.relabel, [lang], L.components, queue=False, api_visibility=HIDDEN)
        for fn, inputs, outputs in loaders:
            demo.load(fn, inputs, outputs, api_visibility=HIDDEN)
        for fn, inputs, outputs in onboarding_loaders:
            demo.load(fn, inputs, outputs, api_visibility=HIDDEN)
    return demo


def queue_concurrency(settings: Any) -> int:
    """Chat requests run at once. llama.cpp serves one request at a time, so with the local model the
    others wait in Gradio's queue, which shows each user their position, instead of piling up on its lock."""
    return 1 if settings.llm == "local" else int(settings.concurrency)


AUTH_MESSAGE = "Yunying 运营知识助手: please log in / 请登录"


def ready_app(service: Yunying) -> Any:
    """The app with its queue over a warmed-up model (the store is the caller's to bring up to date): what
    `launch` serves, and what the API's server mounts beside its routes."""
    service.warm_up()
    return build_app(service).queue(default_concurrency_limit=queue_concurrency(service.settings))


def launch(
    service: Yunying,
    host: str = "127.0.0.1",
    port: int = 7860,
    auth: list[tuple[str, str]] | None = None,
) -> None:
    """Serve the app. `auth`: logins the app requires (None: open; `yunying serve` only allows that on
    loopback or with --insecure)."""
    ready_app(service).launch(
        server_name=host,
        server_port=port,
        auth=auth or None,
        auth_message=AUTH_MESSAGE if auth else None,
        show_error=True,
        **launch_options(),
    )
