"""The Gradio front end. It only arranges what the service object returns; no retrieval logic lives here."""

from __future__ import annotations

import html
import logging
from collections.abc import Iterator
from typing import Any

from assistant.chains import Answer, Citation
from assistant.config import apply_offline_env
from assistant.corpus import MODEL_NAMES_ZH
from assistant.retrieval import SearchFilters
from assistant.service import Yunying

log = logging.getLogger("yunying.ui")

EXAMPLES = [
    "运营的价值循环包括哪些环节？",
    "How does a content platform make money?",
    "小红书为什么属于社区驱动模式？",
    "SaaS 公司如何做客户续约与增购？",
]
KIND_CHOICES = [
    ("全部 All", ""),
    ("框架 Framework", "framework"),
    ("案例 Cases", "case"),
    ("我的文档 Mine", "user"),
]
MODEL_CHOICES = [("全部 All", "")] + [(f"{zh} {key}", key) for key, zh in MODEL_NAMES_ZH.items()]

CSS = """
.source-card {border: 1px solid var(--border-color-primary); border-radius: 8px; padding: 10px 12px;
  margin-bottom: 10px; background: var(--background-fill-secondary);}
.source-card .src-head {font-weight: 600; margin-bottom: 4px;}
.source-card .src-meta {font-size: 0.85em; opacity: 0.75; margin-bottom: 6px;}
.source-card .src-text {font-size: 0.92em; white-space: pre-wrap;}
.src-tag {display: inline-block; border-radius: 4px; padding: 0 6px; margin-right: 4px;
  background: var(--color-accent-soft); font-size: 0.8em;}
"""


def source_cards_html(citations: list[Citation], nearest: list[str] | None = None) -> str:
    """Cards for the cited chunks; all document text is escaped, so a document can never inject markup."""
    if not citations:
        if nearest:
            items = "".join(f"<li>{html.escape(t)}</li>" for t in nearest)
            return f"<div class='source-card'>知识库中相近的主题 Nearby topics:<ul>{items}</ul></div>"
        return "<div class='source-card'>No sources.</div>"
    cards = []
    for c in citations:
        tags = [c.kind] + ([c.topic] if c.topic else []) + ([c.company] if c.company else [])
        tags_html = "".join(f"<span class='src-tag'>{html.escape(t)}</span>" for t in tags)
        cards.append(
            "<div class='source-card' data-testid='source-card'>"
            f"<div class='src-head'>[{c.n}] {html.escape(c.title)}</div>"
            f"<div class='src-meta'>{tags_html} {html.escape(c.heading)}"
            f" · <code>{html.escape(c.doc_id)}</code></div>"
            f"<div class='src-text'>{html.escape(c.text or c.quote)}</div></div>"
        )
    return "\n".join(cards)


def _text_of(content: Any) -> str:
    """Gradio message content is a string or a list of typed parts; history needs plain text."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(p.get("text", "") if isinstance(p, dict) else str(p) for p in content)
    if isinstance(content, dict):
        return str(content.get("text", ""))
    return str(content or "")


def build_app(service: Yunying) -> Any:
    apply_offline_env()
    import gradio as gr

    def chat(message: str, history: list[dict], kind: str, model: str) -> Iterator[tuple[str, str]]:
        question = (message or "").strip()
        if not question:
            yield "请输入问题。Please type a question.", ""
            return
        turns = [{"role": m["role"], "content": _text_of(m.get("content"))} for m in history or []]
        try:
            filters = SearchFilters(kind=kind or None, models=[model] if model else [])
            chain = service.answer_chain()
            shown = ""
            for event in chain.stream(question, turns, filters):
                if isinstance(event, Answer):
                    yield event.answer, source_cards_html(event.citations, event.nearest_topics)
                else:
                    shown += event
                    yield shown, "<div class='source-card'>…</div>"
        except Exception as exc:  # the UI must never crash; the log keeps the details
            log.exception("answer failed")
            yield f"出错了 / Something went wrong: {exc}", ""

    with gr.Blocks(title="Yunying 运营知识助手") as demo:
        gr.Markdown(
            "## Yunying 运营知识助手\n基于知识库回答运营问题，每个回答都标明出处。"
            f" <small>backend: {html.escape(service.settings.llm)}</small>"
        )
        with gr.Row():
            with gr.Column(scale=3):
                sources = gr.HTML(label="Sources", elem_id="sources", render=False)
                with gr.Row():
                    kind = gr.Dropdown(KIND_CHOICES, value="", label="文档类型 Kind", scale=1)
                    model = gr.Dropdown(MODEL_CHOICES, value="", label="运营模式 Model", scale=1)
                gr.ChatInterface(
                    fn=chat,
                    chatbot=gr.Chatbot(label="Yunying", height=520, elem_id="chatbot"),
                    additional_inputs=[kind, model],
                    additional_outputs=[sources],
                    examples=[[e, "", ""] for e in EXAMPLES],
                    api_name="chat",
                    fill_height=False,
                )
            with gr.Column(scale=2):
                gr.Markdown("### 来源 Sources")
                sources.render()
    return demo


def queue_concurrency(settings: Any) -> int:
    """Chat requests run at once. llama.cpp serves one request at a time, so with the local model the
    others wait in Gradio's queue, which shows each user their position, instead of piling up on its lock."""
    return 1 if settings.llm == "local" else int(settings.concurrency)


def launch(
    service: Yunying,
    host: str = "127.0.0.1",
    port: int = 7860,
    auth: list[tuple[str, str]] | None = None,
) -> None:
    """Serve the app. `auth`: logins the app requires (None: open; `yunying serve` only allows that on
    loopback or with --insecure)."""
    import gradio as gr

    if service.settings.knowledge_dir.exists():  # `python app.py` on a fresh store works too
        report = service.ingest()
        for failed in report.failed:
            log.warning("not ingested: %s", failed.error)
    service.warm_up()
    demo = build_app(service)
    demo.queue(default_concurrency_limit=queue_concurrency(service.settings)).launch(
        server_name=host,
        server_port=port,
        auth=auth or None,
        auth_message="Yunying 运营知识助手: please log in / 请登录" if auth else None,
        show_error=True,
        css=CSS,
        theme=gr.themes.Soft(),
    )
