"""The Gradio front end. It only arranges what the service object returns; no retrieval logic lives here."""

from __future__ import annotations

import html
import logging
from collections.abc import Iterator
from typing import Any

from assistant.config import apply_offline_env
from assistant.corpus import MODEL_NAMES_ZH
from assistant.retrieval import Hit, SearchFilters
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


def is_chinese(text: str) -> bool:
    return any("\u4e00" <= ch <= "\u9fff" for ch in text)


def source_cards_html(hits: list[Hit]) -> str:
    """Source cards; all document text is escaped, so a document can never inject markup."""
    if not hits:
        return "<div class='source-card'>No sources.</div>"
    cards = []
    for hit in hits:
        tags = [hit.kind] + ([hit.topic] if hit.topic else []) + ([hit.company] if hit.company else [])
        tags_html = "".join(f"<span class='src-tag'>{html.escape(t)}</span>" for t in tags)
        cards.append(
            "<div class='source-card' data-testid='source-card'>"
            f"<div class='src-head'>[{hit.rank}] {html.escape(hit.title)}</div>"
            f"<div class='src-meta'>{tags_html} {html.escape(hit.heading)}"
            f" · <code>{html.escape(hit.doc_id)}</code>"
            f" · score {hit.score:.4f}</div>"
            f"<div class='src-text'>{html.escape(hit.text)}</div></div>"
        )
    return "\n".join(cards)


def passages_reply(question: str, hits: list[Hit]) -> str:
    """The chat reply before an LLM exists: the top passages, numbered to match the source cards."""
    zh = is_chinese(question)
    if not hits:
        return (
            "知识库中没有找到相关内容。可以换个说法，或先导入文档（yunying ingest）。"
            if zh
            else "Nothing in the knowledge base matches. Try other words, or ingest documents first."
        )
    lines = ["知识库中最相关的段落：" if zh else "The most relevant passages in the knowledge base:"]
    for hit in hits:
        snippet = hit.text if len(hit.text) <= 160 else hit.text[:160] + "…"
        where = f"{hit.title}" + (f" › {hit.heading}" if hit.heading else "")
        lines.append(f"\n**[{hit.rank}] {where}**\n{snippet}")
    return "\n".join(lines)


def build_app(service: Yunying) -> Any:
    apply_offline_env()
    import gradio as gr

    def chat(message: str, history: list[dict], kind: str, model: str) -> Iterator[tuple[str, str]]:
        question = (message or "").strip()
        if not question:
            yield "请输入问题。Please type a question.", ""
            return
        try:
            filters = SearchFilters(kind=kind or None, models=[model] if model else [])
            hits = service.search(question, filters=filters)
        except Exception as exc:  # the UI must never crash; the log keeps the details
            log.exception("search failed")
            yield f"出错了 / Something went wrong: {exc}", ""
            return
        yield passages_reply(question, hits), source_cards_html(hits)

    with gr.Blocks(title="Yunying 运营知识助手") as demo:
        gr.Markdown("## Yunying 运营知识助手\n基于知识库回答运营问题，每个回答都标明出处。")
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


def launch(service: Yunying, host: str = "127.0.0.1", port: int = 7860) -> None:
    import gradio as gr

    service.warm_up()
    demo = build_app(service)
    demo.queue(default_concurrency_limit=4).launch(
        server_name=host, server_port=port, show_error=True, css=CSS, theme=gr.themes.Soft()
    )
