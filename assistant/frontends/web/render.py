"""Render helpers of the web UI: answers, citations, source cards, documents and reports as HTML/Markdown.
Pure functions of their arguments, testable without Gradio."""

from __future__ import annotations

import html
import re
from typing import Any

from assistant.answer import Answer, Citation
from assistant.answer.grounding import CITATION
from assistant.core.vocabulary import MODEL_KEYS
from assistant.frontends.web.text import KIND_ZH, MODEL_NAMES_ZH, TEXT, msg
from assistant.services.catalog import DocumentInfo


def render_markdown_html(text: str) -> str:
    """Markdown to HTML with raw HTML disabled (escaped), so a document can never inject markup."""
    from markdown_it import MarkdownIt

    return MarkdownIt("commonmark", {"html": False, "linkify": False}).enable("table").render(text or "")


def link_citations(text: str, turn: int, unlinked: set[int] | frozenset[int] = frozenset()) -> str:
    """[n] -> a Markdown link to source card n of this turn (the card's element id is src-<turn>-<n>);
    the numbers in `unlinked` (sources deleted since) stay plain text."""

    def link(m: re.Match[str]) -> str:
        n = m.group(1)
        return m.group(0) if int(n) in unlinked else f"[[{n}]](#src-{turn}-{n})"

    return CITATION.sub(link, text)


_LINKED = re.compile(r"\[\[(\d{1,2})\]\]\(#src-\d+-\d+\)")


def unlink_citations(text: str) -> str:
    return _LINKED.sub(r"[\1]", text)


def model_badges(models: list[str]) -> str:
    return "".join(
        f"<span class='src-tag model'>{html.escape(MODEL_NAMES_ZH.get(m, m))}</span>" for m in models
    )


def source_cards_html(
    citations: list[Citation],
    nearest: list[str] | None = None,
    *,
    turn: int = 1,
    timing: str = "",
    documents: dict[str, str] | None = None,
) -> str:
    """Cards for the cited chunks, with ids the answer's [n] links point to. All document text is escaped
    (or rendered from Markdown with HTML disabled), so a document can never inject markup."""
    head = f"<div class='src-timing'>{html.escape(timing)}</div>" if timing else ""
    if not citations:
        if nearest:
            items = "".join(f"<li>{html.escape(t)}</li>" for t in nearest)
            return f"{head}<div class='source-card'>知识库中相近的主题 Nearby topics:<ul>{items}</ul></div>"
        return f"{head}<div class='source-card'>No sources.</div>"
    cards = []
    for c in citations:
        tags = f"<span class='src-tag'>{html.escape(KIND_ZH.get(c.kind, c.kind))}</span>"
        if c.topic:
            tags += f"<span class='src-tag'>{html.escape(c.topic)}</span>"
        company = f" · {html.escape(c.company)}" if c.company else ""
        body = None if c.deleted else (documents or {}).get(c.doc_id)
        full = (
            "<details><summary>打开全文 Open the full document</summary>"
            f"<div class='src-doc'>{render_markdown_html(body)}</div></details>"
            if body
            else ""
        )
        gone = f"<span class='src-tag src-gone'>{html.escape(TEXT['src_deleted'][0])}</span>"
        gone = gone if c.deleted else ""  # a saved answer's source deleted since: no document to open
        heading = f" › {html.escape(c.heading)}" if c.heading else ""
        if c.twin_text and not c.deleted:  # the same section in the other language, a click away
            label = "English version" if c.lang == "zh" else "中文原文 Chinese original"
            full = (
                f"<details class='src-twin'><summary>{label}</summary>"
                f"<div class='src-text'>{html.escape(c.twin_text)}</div></details>{full}"
            )
        cards.append(
            f"<div class='source-card{' src-deleted' if c.deleted else ''}' id='src-{turn}-{c.n}' "
            f"data-testid='source-card' data-doc-id='{html.escape(c.doc_id)}' "
            f"data-deleted='{str(c.deleted).lower()}'>"
            f"<div class='src-head'><span class='src-n'>[{c.n}]</span>{html.escape(c.title)}{company}"
            f"{gone}</div>"
            f"<div class='src-meta'>{tags}{model_badges(c.models)}{heading}"
            f" · <code>{html.escape(c.doc_id)}</code></div>"
            f"<div class='src-text'>{html.escape(c.text or c.quote)}</div>{full}</div>"
        )
    return head + "\n".join(cards)


def unsupported_html(answer: Answer) -> str:
    """The draft sentences the grounding check left out, greyed under a closed disclosure."""
    if not answer.unsupported_sentences:
        return ""
    items = "".join(f"<li>{html.escape(s)}</li>" for s in answer.unsupported_sentences)
    return (
        "\n\n<details class='unsupported'><summary>来源不支持的句子 / Not supported by the sources "
        f"({len(answer.unsupported_sentences)})</summary><ul>{items}</ul></details>"
    )


def timing_line(answer: Answer) -> str:
    t = answer.timings
    parts = [f"backend: {answer.backend}"]
    if "retrieval_ms" in t:
        parts.append(f"检索 retrieval {t['retrieval_ms']:.0f} ms")
    if "total_ms" in t:
        parts.append(f"总计 total {t['total_ms']:.0f} ms")
    return " · ".join(parts)


def _text_of(content: Any) -> str:
    """Gradio message content is a string or a list of typed parts; history needs plain text."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(_text_of(p) for p in content)
    if isinstance(content, dict):
        return str(content.get("text", content.get("value", "")))
    return str(content or "")


def document_markdown(info: DocumentInfo, body: str) -> str:
    meta = [KIND_ZH.get(info.kind, info.kind)]
    if info.topic:
        meta.append(info.topic)
    if info.company:
        meta.append(info.company + (f"（{info.company_zh}）" if info.company_zh else ""))
    meta += [MODEL_NAMES_ZH.get(m, m) for m in info.models]
    meta.append(f"{info.chunks} chunks · `{info.doc_id}`")
    text = re.sub(r"^# .*\n+", "", body.strip(), count=1)  # the title is shown above
    return f"## {info.title}\n\n<small>{' · '.join(html.escape(m) for m in meta)}</small>\n\n---\n\n{text}"


def documents_table(docs: list[DocumentInfo]) -> Any:
    import pandas as pd

    rows = [
        {
            "标题 Title": d.title,
            "类型 Kind": KIND_ZH.get(d.kind, d.kind),
            "主题 Topic": d.topic,
            "模式 Models": "五种全部"
            if len(d.models) == len(MODEL_KEYS)
            else "、".join(MODEL_NAMES_ZH.get(m, m) for m in d.models),
            "公司 Company": d.company + (f" {d.company_zh}" if d.company_zh else ""),
            "片段 Chunks": d.chunks,
            "id": d.doc_id,
        }
        for d in docs
    ]
    columns = ["标题 Title", "类型 Kind", "主题 Topic", "模式 Models", "公司 Company", "片段 Chunks", "id"]
    return pd.DataFrame(rows, columns=columns)


def upload_report_markdown(results: list[Any], lang: str) -> str:
    if not results:
        return msg(lang, "请先选择文件。", "Choose one or more files first.")
    status_zh = {
        "accepted": "✓ 已添加",
        "updated": "↻ 已更新",
        "unchanged": "= 未变化",
        "rejected": "✗ 已拒绝",
    }
    status_en = {"accepted": "✓ accepted", "updated": "↻ updated", "unchanged": "= unchanged",
                 "rejected": "✗ rejected"}  # fmt: skip
    names = status_en if lang == "en" else status_zh
    lines = [
        msg(lang, "| 文件 | 结果 | 说明 |", "| File | Result | Details |"),
        "|---|---|---|",
    ]
    for r in results:
        if r.status == "rejected":
            detail = r.reason
        else:
            detail = msg(
                lang, f"{r.chunks} 个片段，标题「{r.title}」", f"{r.chunks} chunks, title “{r.title}”"
            )
        cell = str(detail).replace("|", "/").replace("\n", " ")
        lines.append(f"| {r.name.replace('|', '/')} | {names[r.status]} | {cell} |")
    return "\n".join(lines)


def _short(exc: BaseException, settings: Any = None) -> str:
    """One line for the user; secrets (API key, passwords) masked, as in the CLI's error lines."""
    text = " ".join(str(exc).split()) or exc.__class__.__name__
    return (settings.redact(text) if settings is not None else text)[:300]


def learning_path_html(modules: list[Any], lang: str) -> str:
    """The path as expandable modules: summary, objectives, and the cited readings with their passages."""
    parts = []
    for m in modules:
        readings = "".join(
            f"<li><span class='src-n'>[{c.n}]</span><b>{html.escape(c.title)}</b>"
            + (f" › {html.escape(c.heading)}" if c.heading else "")
            + f" <code>{html.escape(c.doc_id)}</code>"
            + f"<div class='src-text'>{html.escape(c.quote)}</div></li>"
            for c in m.readings
        )
        objectives = "".join(f"<li>{html.escape(o)}</li>" for o in m.objectives)
        parts.append(
            f"<details class='module' data-module='{html.escape(m.key)}'{' open' if m.order == 1 else ''}>"
            f"<summary><span class='module-n'>{m.order}</span>{html.escape(m.title)}</summary>"
            f"<p>{html.escape(m.summary)}</p>"
            f"<div class='module-h'>{msg(lang, '学完你应该能', 'After this module you can')}</div>"
            f"<ul>{objectives}</ul>"
            f"<div class='module-h'>{msg(lang, '阅读', 'Readings')}</div><ol class='readings'>{readings}</ol>"
            "</details>"
        )
    return "<div class='learning-path'>" + "".join(parts) + "</div>"
