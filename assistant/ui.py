"""The Gradio front end. It only arranges what the service object returns; no retrieval logic lives here.

Tabs: 问答 Chat, 模式匹配 Model fit & memo, 知识库 Knowledge, 新人培训 Onboarding, 评测 Eval. A zh/en
switch at the top re-labels the main components. Every handler catches its errors: the log keeps the
details, the page shows one short line.
"""

from __future__ import annotations

import html
import logging
import re
from collections import OrderedDict
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, get_args

from assistant.answer import Answer, Citation
from assistant.answer.grounding import CITATION
from assistant.catalog import DocumentInfo, filter_documents
from assistant.config import apply_offline_env
from assistant.corpus import MODEL_KEYS, MODEL_NAMES_ZH, Topic
from assistant.retrieval import SearchFilters
from assistant.service import Yunying

log = logging.getLogger("yunying.ui")

# ---------------------------------------------------------------- static text

# (label, question): a few example questions per model / framework topic
EXAMPLES: list[tuple[str, str]] = [
    ("价值循环 Value loop", "运营的价值循环包括哪些环节？"),
    ("产品驱动 Product", "产品驱动模式的核心指标是什么？"),
    ("产品驱动 Product", "How does Notion grow through its product?"),
    ("内容驱动 Content", "How does a content platform make money?"),
    ("内容驱动 Content", "抖音的内容分发机制是怎样的？"),
    ("社区驱动 Community", "小红书为什么属于社区驱动模式？"),
    ("交易驱动 Transaction", "拼多多是如何获客的？"),
    ("服务驱动 Service", "SaaS 公司如何做客户续约与增购？"),
    ("趋势 Trends", "什么是私域流量？"),
    ("模式选择 Selection", "How should a new business choose its operating model?"),
]
KIND_CHOICES = [
    ("全部 All", ""),
    ("框架 Framework", "framework"),
    ("案例 Cases", "case"),
    ("我的文档 Mine", "user"),
]
MODEL_CHOICES = [("全部 All", "")] + [(f"{MODEL_NAMES_ZH[key]} {key}", key) for key in MODEL_KEYS]
TOPICS = list(get_args(Topic))  # the front-matter vocabulary, in its order
KIND_ZH = {"framework": "框架", "case": "案例", "user": "我的文档"}

FIT_EXAMPLES = [
    "我们是一款面向大学生的笔记 App，免费增值，靠高级会员订阅赚钱，"
    "团队以工程师为主，主要通过应用商店和自发传播获客。",
    "A podcast network with 12 shows; we earn from sponsorships and a paid membership, and grow through "
    "creators' audiences on social media.",
]

# Events other than /chat and /fit are the page's own plumbing: callable, but not listed as the app's API.
HIDDEN = "undocumented"

# UI strings: key -> (中文, English)
TEXT: dict[str, tuple[str, str]] = {
    "intro": (
        "基于知识库回答运营问题，每个回答都标明出处，点击 [n] 查看来源。",
        "Answers from the knowledge base; every claim cites its source — click [n] to see it.",
    ),
    "question": ("问题", "Question"),
    "question_ph": ("输入运营问题，回车发送…", "Ask an operations question, Enter to send…"),
    "chatbot": ("对话", "Conversation"),
    "kind": ("文档类型", "Kind"),
    "model": ("运营模式", "Operating model"),
    "sources": ("### 来源", "### Sources"),
    "comment": ("补充说明（可选）", "Comment (optional)"),
    "send_comment": ("提交反馈", "Send feedback"),
    "fit_desc": ("业务描述", "Business description"),
    "fit_desc_ph": (
        "我们做什么、卖给谁、怎么赚钱、靠什么获客……",
        "What the business offers, to whom, how it earns, how it grows…",
    ),
    "factors": ("选择因素（可选）", "Selection factors (optional)"),
    "f_business_type": ("业务类型", "Business type"),
    "f_resources": ("资源禀赋", "Resources"),
    "f_target_users": ("目标用户", "Target users"),
    "f_stage": ("发展阶段", "Stage"),
    "analyse": ("分析并起草备忘录", "Analyse and draft the memo"),
    "scores": ("模式评分", "Model scores"),
    "chart": ("得分", "Score"),
    "memo": ("### 备忘录预览", "### Memo preview"),
    "dl_md": ("下载 Markdown", "Download Markdown"),
    "dl_docx": ("下载 Word (DOCX)", "Download Word (DOCX)"),
    "k_kind": ("类型", "Kind"),
    "k_model": ("模式", "Model"),
    "k_company": ("公司", "Company"),
    "k_topic": ("主题", "Topic"),
    "k_search": ("标题搜索", "Title contains"),
    "k_docs": ("文档", "Documents"),
    "k_open": ("打开文档", "Open a document"),
    "k_upload": (
        "上传文档（md / txt / pdf / docx，可多选）",
        "Upload files (md / txt / pdf / docx, several at once)",
    ),
    "k_upload_btn": ("上传并索引", "Upload and index"),
    "k_remove": ("我的文档", "My documents"),
    "k_remove_btn": ("删除所选文档", "Remove the selected document"),
    "eval_rerun": ("重新运行检索评测", "Re-run the retrieval eval"),
    "eval_table": ("检索指标", "Retrieval metrics"),
    "onb_path": ("### 学习路径", "### Learning path"),
    "onb_quiz": ("### 小测验", "### Quiz"),
    "onb_submit": ("提交答案", "Submit"),
    "onb_next": ("下一题", "Next question"),
    "onb_restart": ("重新开始", "Restart"),
    "onb_options": ("选项", "Options"),
    "onb_module": ("模块", "Module"),
}


def tr(key: str, lang: str) -> str:
    zh, en = TEXT[key]
    return en if lang == "en" else zh


def msg(lang: str, zh: str, en: str) -> str:
    return en if lang == "en" else zh


CSS = """
:root, body, .gradio-container {
  font-family: "Noto Sans SC", "Noto Sans CJK SC", "Source Han Sans SC", "WenQuanYi Micro Hei",
    "Microsoft YaHei", "PingFang SC", "Hiragino Sans GB", system-ui, -apple-system, "Segoe UI", sans-serif;
}
.gradio-container {max-width: 1400px !important;}
#app-head h2 {margin: 0;}
#lang-switch {max-width: 240px; margin-left: auto;}
.unsupported {color: var(--body-text-color-subdued); opacity: 0.75; font-size: 0.9em;}
.source-card {border: 1px solid var(--border-color-primary); border-radius: 8px; padding: 10px 12px;
  margin-bottom: 10px; background: var(--background-fill-secondary); scroll-margin-top: 80px;
  transition: box-shadow .3s, border-color .3s;}
.source-card.src-flash {border-color: var(--color-accent); box-shadow: 0 0 0 3px var(--color-accent-soft);}
.source-card .src-head {font-weight: 600; margin-bottom: 4px;}
.source-card .src-n {display: inline-block; min-width: 1.8em; color: var(--color-accent);}
.source-card .src-meta {font-size: 0.85em; opacity: 0.8; margin-bottom: 6px;}
.source-card .src-text {font-size: 0.92em; white-space: pre-wrap; padding-left: 8px;
  border-left: 3px solid var(--color-accent-soft);}
.source-card details {margin-top: 6px; font-size: 0.9em;}
.source-card details summary {cursor: pointer; color: var(--color-accent);}
.source-card .src-doc {max-height: 420px; overflow: auto; padding: 4px 8px; margin-top: 4px;
  background: var(--background-fill-primary); border-radius: 6px;}
.source-card .src-doc h1, .source-card .src-doc h2, .source-card .src-doc h3 {font-size: 1.02em;
  margin: 10px 0 4px;}
.src-tag {display: inline-block; border-radius: 4px; padding: 0 6px; margin: 0 4px 2px 0;
  background: var(--color-accent-soft); font-size: 0.8em;}
.src-tag.model {background: #e0f2e9; color: #14532d;}
.src-timing {font-size: 0.78em; opacity: 0.6; margin: 0 0 8px 2px;}
.hint {font-size: 0.85em; opacity: 0.75;}
#chatbot .examples button, #chatbot button.example {border: 1px solid var(--border-color-primary);
  border-radius: 10px;}
.table-container {--font-mono: "Noto Sans SC", "Noto Sans CJK SC", "WenQuanYi Micro Hei", "Microsoft YaHei",
  "PingFang SC", system-ui, sans-serif;}
.src-meta code {font-size: 0.9em; word-break: break-all;}
.quiz-feedback.ok {color: #166534;} .quiz-feedback.bad {color: #991b1b;}
.learning-path details.module {border: 1px solid var(--border-color-primary); border-radius: 8px;
  padding: 8px 12px; margin-bottom: 8px; background: var(--background-fill-secondary);}
.learning-path summary {cursor: pointer; font-weight: 600;}
.learning-path .module-n {display: inline-block; width: 1.6em; height: 1.6em; line-height: 1.6em;
  text-align: center; border-radius: 50%; background: var(--color-accent); color: white; margin-right: 8px;
  font-size: 0.85em;}
.learning-path .module-h {font-weight: 600; font-size: 0.9em; margin-top: 8px;}
.learning-path ol.readings {padding-left: 0; list-style: none;}
.learning-path ol.readings li {margin: 6px 0;}
.learning-path .src-text {font-size: 0.88em; opacity: 0.85; white-space: pre-wrap; padding-left: 8px;
  border-left: 3px solid var(--color-accent-soft); margin-top: 2px;}
"""

# [n] links in an answer scroll to their source card (and flash it) instead of navigating.
HEAD = """
<script>
document.addEventListener('click', function (event) {
  var link = event.target.closest ? event.target.closest('a[href^="#src-"]') : null;
  if (!link) return;
  event.preventDefault();
  event.stopPropagation();
  var card = document.getElementById(link.getAttribute('href').slice(1));
  if (!card) return;
  card.scrollIntoView({behavior: 'smooth', block: 'center'});
  card.classList.add('src-flash');
  setTimeout(function () { card.classList.remove('src-flash'); }, 1600);
}, true);
</script>
"""

FONT_STACK = [
    "Noto Sans SC",
    "Noto Sans CJK SC",
    "WenQuanYi Micro Hei",
    "Microsoft YaHei",
    "PingFang SC",
    "ui-sans-serif",
    "system-ui",
    "sans-serif",
]


def theme() -> Any:
    """Soft, with local fonts only (the default theme fetches Google fonts, which an offline app must not)."""
    import gradio as gr

    return gr.themes.Soft(font=FONT_STACK, font_mono=["ui-monospace", "Consolas", "monospace"])


def launch_options() -> dict[str, Any]:
    """What `Blocks.launch` needs besides host and port (css/theme/head live on launch in Gradio 6)."""
    return {"css": CSS, "theme": theme(), "head": HEAD}


# ---------------------------------------------------------------- rendering helpers


def render_markdown_html(text: str) -> str:
    """Markdown to HTML with raw HTML disabled (escaped), so a document can never inject markup."""
    from markdown_it import MarkdownIt

    return MarkdownIt("commonmark", {"html": False, "linkify": False}).enable("table").render(text or "")


def link_citations(text: str, turn: int) -> str:
    """[n] -> a Markdown link to source card n of this turn (the card's element id is src-<turn>-<n>)."""
    return CITATION.sub(lambda m: f"[[{m.group(1)}]](#src-{turn}-{m.group(1)})", text)


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
        body = (documents or {}).get(c.doc_id)
        full = (
            "<details><summary>打开全文 Open the full document</summary>"
            f"<div class='src-doc'>{render_markdown_html(body)}</div></details>"
            if body
            else ""
        )
        heading = f" › {html.escape(c.heading)}" if c.heading else ""
        if c.twin_text:  # the same section in the other language, a click away
            label = "English version" if c.lang == "zh" else "中文原文 Chinese original"
            full = (
                f"<details class='src-twin'><summary>{label}</summary>"
                f"<div class='src-text'>{html.escape(c.twin_text)}</div></details>{full}"
            )
        cards.append(
            f"<div class='source-card' id='src-{turn}-{c.n}' data-testid='source-card' "
            f"data-doc-id='{html.escape(c.doc_id)}'>"
            f"<div class='src-head'><span class='src-n'>[{c.n}]</span>{html.escape(c.title)}{company}</div>"
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


# ---------------------------------------------------------------- the app


def build_app(service: Yunying) -> Any:
    apply_offline_env()
    import gradio as gr
    import pandas as pd

    def short(exc: BaseException) -> str:
        return _short(exc, service.settings)

    # answers shown in this process, by their displayed text: the like event only carries the text
    shown_answers: OrderedDict[str, Answer] = OrderedDict()

    def remember(text: str, answer: Answer) -> None:
        shown_answers[text] = answer
        while len(shown_answers) > 2000:
            shown_answers.popitem(last=False)

    def full_documents(citations: list[Citation]) -> dict[str, str]:
        bodies = {}
        for doc_id in dict.fromkeys(c.doc_id for c in citations):
            try:
                bodies[doc_id] = service.document(doc_id)[1]
            except Exception:  # a card without "open the full document" is still a card
                log.warning("cannot read document %s", doc_id, exc_info=True)
        return bodies

    # ---- chat

    def chat(message: str, history: list[dict], kind: str, model: str) -> Iterator[tuple[str, str]]:
        question = (message or "").strip()
        if not question:
            yield "请输入问题。Please type a question.", ""
            return
        turns = [
            {"role": m["role"], "content": unlink_citations(_text_of(m.get("content")))}
            for m in history or []
            if m.get("role") in ("user", "assistant")
        ]
        turn = sum(1 for m in turns if m["role"] == "user") + 1
        try:
            filters = SearchFilters(kind=kind or None, models=[model] if model else [])  # type: ignore[arg-type]
            chain = service.answer_chain()
            streamed = ""
            waiting = "<div class='source-card'>…</div>"
            for event in chain.stream(question, turns, filters):
                if isinstance(event, Answer):
                    text = link_citations(event.answer, turn) + unsupported_html(event)
                    remember(text, event)
                    cards = source_cards_html(
                        event.citations,
                        event.nearest_topics,
                        turn=turn,
                        timing=timing_line(event),
                        documents=full_documents(event.citations),
                    )
                    yield text, cards
                else:
                    streamed += event
                    yield link_citations(streamed, turn), waiting
        except Exception as exc:  # the UI must never crash; the log keeps the details
            log.exception("answer failed")
            yield f"出错了 / Something went wrong: {short(exc)}", ""

    def on_like(history: list[dict], lang: str, data: gr.LikeData) -> tuple[Any, Any, Any]:
        try:
            if data.liked not in (True, False):  # a thumb taken back, or a custom flag: nothing to record
                return None, gr.update(visible=False), gr.update()
            index = data.index if isinstance(data.index, int) else data.index[0]
            text = _text_of(data.value)
            answer = shown_answers.get(text)
            question = ""
            for m in reversed((history or [])[:index]):
                if m.get("role") == "user":
                    question = _text_of(m.get("content"))
                    break
            liked = bool(data.liked)
            feedback = service.record_feedback(
                question=answer.question if answer else question,
                answer=answer.answer if answer else unlink_citations(text),
                liked=liked,
                citations=[c.doc_id for c in answer.citations] if answer else [],
                backend=answer.backend if answer else None,
            )
            gr.Info(msg(lang, "谢谢反馈！可以再补充一句说明。", "Thanks! You can add a comment."))
            return feedback.model_dump(), gr.update(visible=True), gr.update(value="")
        except Exception as exc:
            log.exception("feedback failed")
            gr.Warning(msg(lang, f"反馈未保存：{short(exc)}", f"Feedback not saved: {short(exc)}"))
            return None, gr.update(), gr.update()

    on_like.__annotations__["data"] = gr.LikeData  # resolved here: Gradio reads the hint to inject the event

    def send_comment(pending: dict | None, comment: str, lang: str) -> tuple[Any, Any, Any]:
        if not pending or not (comment or "").strip():
            return pending, gr.update(visible=False), gr.update(value="")
        try:
            service.record_feedback(
                question=pending["question"],
                answer=pending["answer"],
                liked=pending["liked"],
                comment=comment,
                citations=pending.get("citations", []),
                backend=pending.get("backend"),
                feedback_id=pending.get("id"),
            )
            gr.Info(msg(lang, "反馈已保存。", "Feedback saved."))
        except Exception as exc:
            log.exception("feedback comment failed")
            gr.Warning(msg(lang, f"反馈未保存：{short(exc)}", f"Feedback not saved: {short(exc)}"))
        return None, gr.update(visible=False), gr.update(value="")

    # ---- model fit

    def run_fit(
        description: str,
        business_type: str,
        resources: str,
        target_users: str,
        stage: str,
        lang: str,
        progress: gr.Progress = gr.Progress(),  # noqa: B008 - Gradio's way to ask for a progress bar
    ) -> tuple[Any, ...]:
        from assistant.fit import MODEL_NAMES_EN, FitInputError

        empty = (gr.update(), gr.update(), gr.update(), gr.update(), gr.update(), gr.update())
        factors = {
            "business_type": business_type,
            "resources": resources,
            "target_users": target_users,
            "stage": stage,
        }
        if not (description or "").strip() and not any((v or "").strip() for v in factors.values()):
            return (msg(lang, "⚠ 请先描述业务。", "⚠ Describe the business first."), *empty)
        try:
            progress(0.1, desc=msg(lang, "检索各模式的证据…", "Gathering evidence for each model…"))
            analysis = service.fit(description or "", factors=factors)
            progress(0.8, desc=msg(lang, "起草备忘录…", "Drafting the memo…"))
            md_path, docx_path = service.write_memo(analysis)
        except FitInputError as exc:
            text = msg(
                lang,
                f"⚠ 描述不足以分析：请说明业务提供什么、面向谁、如何赚钱。（{exc}）",
                f"⚠ Not enough to analyse: {exc}.",
            )
            return (text, *empty)
        except Exception as exc:
            log.exception("fit failed")
            return (msg(lang, f"⚠ 分析失败：{short(exc)}", f"⚠ The analysis failed: {short(exc)}"), *empty)
        zh = analysis.profile.lang == "zh"

        def name(m: str) -> str:
            return f"{MODEL_NAMES_ZH[m]} {m}"

        rows = [
            {"模式 Model": name(r.model), "得分 Score": r.score, "理由 Rationale": r.rationale}
            for r in analysis.ranking
        ]
        table = pd.DataFrame(rows, columns=["模式 Model", "得分 Score", "理由 Rationale"])
        chart = pd.DataFrame({"model": [MODEL_NAMES_ZH[r.model] for r in analysis.ranking],
                              "score": [r.score for r in analysis.ranking]})  # fmt: skip
        supporting = (
            "、".join(MODEL_NAMES_ZH[m] for m in analysis.supporting)
            if zh
            else ", ".join(MODEL_NAMES_EN[m] for m in analysis.supporting)
        )
        headline = msg(
            lang,
            f"### 主模式：{MODEL_NAMES_ZH[analysis.primary]}（{analysis.primary}）\n"
            f"辅助模式：{supporting or '无'} · 置信度：{analysis.confidence} · 用时 {analysis.seconds:.1f} s",
            f"### Primary model: {MODEL_NAMES_EN[analysis.primary]}\n"
            f"Supporting: {supporting or 'none'} · confidence: {analysis.confidence} · "
            f"{analysis.seconds:.1f} s",
        )
        progress(1.0)
        status = msg(
            lang, f"✓ 已完成，备忘录已保存到 {md_path.parent}", f"✓ Done; memo saved in {md_path.parent}"
        )
        return (
            status,
            headline,
            table,
            chart,
            analysis.memo_markdown,
            gr.update(value=str(md_path), interactive=True),
            gr.update(value=str(docx_path), interactive=True),
        )

    # ---- knowledge

    def knowledge_view(
        kind: str, model: str, company: str, topic: str, text: str, lang: str
    ) -> tuple[Any, ...]:
        try:
            docs = service.documents()
            chunks = sum(d.chunks for d in docs)
        except Exception as exc:
            log.exception("catalogue failed")
            gr.Warning(short(exc))
            return gr.update(), gr.update(), gr.update(), gr.update(), gr.update()
        shown = filter_documents(docs, kind=kind, model=model, company=company, topic=topic, text=text)
        users = [d for d in docs if d.kind == "user"]
        counts = msg(
            lang,
            f"**{len(docs)}** 篇文档 · **{chunks}** 个片段 · 其中我的文档 **{len(users)}** 篇"
            f" · 当前显示 {len(shown)} 篇",
            f"**{len(docs)}** documents · **{chunks}** chunks · **{len(users)}** of them yours"
            f" · showing {len(shown)}",
        )
        companies = sorted({d.company for d in docs if d.company}, key=str.lower)
        return (
            counts,
            documents_table(shown),
            gr.update(choices=[(f"{d.title} · {d.doc_id}", d.doc_id) for d in shown]),
            gr.update(choices=[("—", "")] + [(f"{d.title} · {d.doc_id}", d.doc_id) for d in users]),
            gr.update(choices=[(msg(lang, "全部", "All"), "")] + [(c, c) for c in companies]),
        )

    def read_document(doc_id: str, lang: str) -> str:
        if not doc_id:
            return ""
        try:
            info, body = service.document(doc_id)
        except KeyError:
            return msg(
                lang, "找不到这篇文档（可能已被删除）。", "That document is not in the store (removed?)."
            )
        except Exception as exc:
            log.exception("read failed")
            return msg(lang, f"无法读取：{short(exc)}", f"Cannot read it: {short(exc)}")
        return document_markdown(info, body)

    def pick_row(table: Any, evt: gr.SelectData) -> Any:
        try:
            row = evt.index[0] if isinstance(evt.index, list | tuple) else evt.index
            return gr.update(value=str(table.iloc[row]["id"]))
        except Exception:
            return gr.update()

    pick_row.__annotations__["evt"] = gr.SelectData

    def upload(files: list[Any] | None, lang: str, progress: gr.Progress = gr.Progress()) -> tuple[Any, Any]:  # noqa: B008
        paths = [Path(f if isinstance(f, str) else getattr(f, "name", f["path"])) for f in files or []]
        if not paths:
            return upload_report_markdown([], lang), gr.update()
        try:
            progress(0.0, desc=msg(lang, "检查文件…", "Checking the files…"))
            results = service.add_user_files(paths, progress=lambda f, what: progress(f, desc=what))
        except Exception as exc:
            log.exception("upload failed")
            return msg(lang, f"⚠ 上传失败：{short(exc)}", f"⚠ Upload failed: {short(exc)}"), gr.update()
        return upload_report_markdown(results, lang), gr.update(value=None)

    def remove(doc_id: str, lang: str) -> str:
        if not doc_id:
            return msg(lang, "请先选择一篇我的文档。", "Pick one of your documents first.")
        try:
            result = service.remove_user_document(doc_id)
        except (KeyError, ValueError) as exc:
            return f"⚠ {short(exc)}"
        except Exception as exc:
            log.exception("remove failed")
            return msg(lang, f"⚠ 删除失败：{short(exc)}", f"⚠ Could not remove it: {short(exc)}")
        return msg(
            lang,
            f"已删除「{result.title}」（{result.chunks_removed} 个片段）。",
            f"Removed “{result.title}” ({result.chunks_removed} chunks).",
        )

    # ---- eval

    def eval_view(lang: str) -> tuple[Any, ...]:
        try:
            report = service.latest_eval_report()
        except Exception as exc:
            log.exception("reading the eval report failed")
            report = None
            gr.Warning(short(exc))
        images = [gr.update(value=None, visible=False) for _ in range(3)]
        if report is None:
            text = msg(
                lang,
                "还没有评测报告。点击「重新运行检索评测」生成一份（约半分钟），"
                f"或运行 `yunying eval --report {service.settings.eval_report_dir}`。",
                "No eval report yet. Click “Re-run the retrieval eval” to make one (about half a minute), "
                f"or run `yunying eval --report {service.settings.eval_report_dir}`.",
            )
            return (text, gr.update(value=None, visible=False), *images)
        s = report.summary
        overall = s.get("retrieval", {})
        text = msg(
            lang,
            f"**最新报告** {report.written} · {s.get('n_questions', '?')} 道黄金题 · "
            f"后端 {s.get('backend')} · "
            f"{s.get('seconds', 0):.1f} s · hit@5 **{overall.get('hit@5', 0):.3f}** · "
            f"MRR **{overall.get('mrr', 0):.3f}**\n\n<small>{html.escape(report.directory)}</small>",
            f"**Latest report** {report.written} · {s.get('n_questions', '?')} golden items · backend "
            f"{s.get('backend')} · {s.get('seconds', 0):.1f} s · hit@5 **{overall.get('hit@5', 0):.3f}** · "
            f"MRR **{overall.get('mrr', 0):.3f}**\n\n<small>{html.escape(report.directory)}</small>",
        )
        n_scored = sum(int(v.get("n", 0)) for v in s.get("by_type", {}).values()) or None
        rows = [{"group": "ours (hybrid)", "n": n_scored, **overall}]
        rows += [{"group": f"system: {k}", **v} for k, v in s.get("baselines", {}).items()]
        for section in ("by_lang", "by_type", "by_topic"):
            rows += [{"group": f"{section[3:]}: {k}", **v} for k, v in s.get(section, {}).items()]
        columns = ["group", "n", "hit@1", "hit@5", "mrr", "ndcg@5", "recall@5"]
        table = pd.DataFrame(rows).reindex(columns=columns).round(3)
        for i, (title, path) in enumerate(report.plots[:3]):
            images[i] = gr.update(value=path, label=title, visible=True)
        return (text, gr.update(value=table, visible=True), *images)

    def rerun_eval(lang: str, progress: gr.Progress = gr.Progress()) -> tuple[Any, ...]:  # noqa: B008
        try:
            progress(0.0, desc=msg(lang, "准备评测库…", "Preparing the eval store…"))
            service.run_retrieval_eval(progress=lambda n, total: progress(n / total, desc=f"{n}/{total}"))
        except Exception as exc:
            log.exception("eval failed")
            gr.Warning(msg(lang, f"评测失败：{short(exc)}", f"The eval failed: {short(exc)}"))
        return eval_view(lang)

    # ---- layout

    relabel: list[tuple[Any, str, str]] = []  # (component, property, TEXT key) re-set by the language switch

    def L(component: Any, key: str, prop: str = "label") -> Any:  # noqa: N802
        relabel.append((component, prop, key))
        return component

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
            with gr.Row():
                with gr.Column(scale=3):
                    sources = gr.HTML(
                        "<div class='hint'>提问后，回答引用的来源显示在这里。"
                        "The sources of an answer appear here.</div>",
                        elem_id="sources",
                        render=False,
                    )
                    with gr.Row():
                        kind = L(gr.Dropdown(KIND_CHOICES, value="", label=tr("kind", "zh"), scale=1), "kind")
                        model = L(
                            gr.Dropdown(MODEL_CHOICES, value="", label=tr("model", "zh"), scale=1), "model"
                        )
                    chatbot = L(
                        gr.Chatbot(
                            label=tr("chatbot", "zh"),
                            height=540,
                            elem_id="chatbot",
                            buttons=["copy", "copy_all"],
                            feedback_options=("Like", "Dislike"),
                        ),
                        "chatbot",
                    )
                    textbox = gr.Textbox(
                        placeholder=tr("question_ph", "zh"),
                        show_label=False,
                        submit_btn=True,
                        lines=1,
                        elem_id="chat-input",
                    )
                    L(textbox, "question_ph", "placeholder")
                    gr.ChatInterface(
                        fn=chat,
                        chatbot=chatbot,
                        textbox=textbox,
                        additional_inputs=[kind, model],
                        additional_outputs=[sources],
                        examples=[[q, None, None] for _, q in EXAMPLES],  # None: chips in the chatbot
                        example_labels=[f"{label} · {q}" for label, q in EXAMPLES],
                        api_name="chat",
                        fill_height=False,
                    )
                    pending = gr.State(None)
                    with gr.Row(visible=False) as comment_row:
                        comment = L(
                            gr.Textbox(label=tr("comment", "zh"), scale=4, elem_id="feedback-comment"),
                            "comment",
                        )
                        send = L(
                            gr.Button(tr("send_comment", "zh"), scale=1, elem_id="feedback-send"),
                            "send_comment",
                            "value",
                        )
                with gr.Column(scale=2):
                    L(gr.Markdown(tr("sources", "zh")), "sources", "value")
                    sources.render()
            chatbot.like(on_like, [chatbot, lang], [pending, comment_row, comment], api_visibility=HIDDEN)
            send.click(
                send_comment, [pending, comment, lang], [pending, comment_row, comment], api_visibility=HIDDEN
            )
            comment.submit(
                send_comment, [pending, comment, lang], [pending, comment_row, comment], api_visibility=HIDDEN
            )

        with gr.Tab("模式匹配 Model fit", id="fit"):
            with gr.Row():
                with gr.Column(scale=2):
                    description = L(
                        gr.Textbox(
                            label=tr("fit_desc", "zh"),
                            placeholder=tr("fit_desc_ph", "zh"),
                            lines=6,
                            elem_id="fit-description",
                        ),
                        "fit_desc",
                    )
                    with gr.Accordion(tr("factors", "zh"), open=False) as factors_box:
                        f_type = L(gr.Textbox(label=tr("f_business_type", "zh")), "f_business_type")
                        f_res = L(gr.Textbox(label=tr("f_resources", "zh")), "f_resources")
                        f_users = L(gr.Textbox(label=tr("f_target_users", "zh")), "f_target_users")
                        f_stage = L(gr.Textbox(label=tr("f_stage", "zh")), "f_stage")
                    L(factors_box, "factors")
                    analyse = L(
                        gr.Button(tr("analyse", "zh"), variant="primary", elem_id="fit-analyse"),
                        "analyse",
                        "value",
                    )
                    gr.Examples([[e] for e in FIT_EXAMPLES], [description], label="示例 Examples")
                    fit_status = gr.Markdown(elem_id="fit-status")
                    with gr.Row():
                        dl_md = L(
                            gr.DownloadButton(tr("dl_md", "zh"), interactive=False, elem_id="dl-md"),
                            "dl_md",
                            "value",
                        )
                        dl_docx = L(
                            gr.DownloadButton(tr("dl_docx", "zh"), interactive=False, elem_id="dl-docx"),
                            "dl_docx",
                            "value",
                        )
                with gr.Column(scale=3):
                    headline = gr.Markdown(elem_id="fit-headline")
                    chart = L(
                        gr.BarPlot(
                            x="model",
                            y="score",
                            y_lim=[0, 100],
                            sort="-y",
                            label=tr("chart", "zh"),
                            height=280,
                            x_title="",
                            y_title="",
                            x_label_angle=-20,
                        ),
                        "chart",
                    )
                    scores = L(
                        gr.Dataframe(
                            headers=["模式 Model", "得分 Score", "理由 Rationale"],
                            label=tr("scores", "zh"),
                            wrap=True,
                            interactive=False,
                            column_widths=["18%", "10%", "72%"],
                            elem_id="fit-scores",
                        ),
                        "scores",
                    )
            L(gr.Markdown(tr("memo", "zh")), "memo", "value")
            memo = gr.Markdown(elem_id="memo-preview", container=True)
            analyse.click(
                run_fit,
                [description, f_type, f_res, f_users, f_stage, lang],
                [fit_status, headline, scores, chart, memo, dl_md, dl_docx],
                api_name="fit",
            )

        with gr.Tab("知识库 Knowledge", id="knowledge") as knowledge_tab:
            counts = gr.Markdown(elem_id="kb-counts")
            with gr.Row():
                f_kind = L(
                    gr.Dropdown(KIND_CHOICES, value="", label=tr("k_kind", "zh"), min_width=120), "k_kind"
                )
                f_model = L(
                    gr.Dropdown(MODEL_CHOICES, value="", label=tr("k_model", "zh"), min_width=120), "k_model"
                )
                f_company = L(
                    gr.Dropdown([("全部", "")], value="", label=tr("k_company", "zh"), min_width=120),
                    "k_company",
                )
                f_topic = L(
                    gr.Dropdown(
                        [("全部", "")] + [(t, t) for t in TOPICS],
                        value="",
                        label=tr("k_topic", "zh"),
                        min_width=120,
                    ),  # fmt: skip
                    "k_topic",
                )
                f_text = L(gr.Textbox(label=tr("k_search", "zh"), min_width=160), "k_search")
            table = L(
                gr.Dataframe(
                    label=tr("k_docs", "zh"),
                    interactive=False,
                    wrap=True,
                    max_height=300,
                    column_widths=["30%", "7%", "11%", "20%", "14%", "6%", "12%"],
                    elem_id="kb-table",
                ),
                "k_docs",
            )
            with gr.Row():
                with gr.Column(scale=3):
                    doc_pick = L(gr.Dropdown([], label=tr("k_open", "zh"), elem_id="kb-open"), "k_open")
                    reader = gr.Markdown(elem_id="kb-reader", container=True, max_height=560)
                with gr.Column(scale=2):
                    files = L(
                        gr.File(
                            label=tr("k_upload", "zh"),
                            file_count="multiple",
                            type="filepath",
                            elem_id="kb-files",
                        ),
                        "k_upload",
                    )
                    upload_btn = L(
                        gr.Button(tr("k_upload_btn", "zh"), variant="primary", elem_id="kb-upload"),
                        "k_upload_btn",
                        "value",
                    )
                    upload_report = gr.Markdown(elem_id="kb-upload-report")
                    mine = L(
                        gr.Dropdown([("—", "")], value="", label=tr("k_remove", "zh"), elem_id="kb-mine"),
                        "k_remove",
                    )
                    remove_btn = L(
                        gr.Button(tr("k_remove_btn", "zh"), variant="stop", elem_id="kb-remove"),
                        "k_remove_btn",
                        "value",
                    )
                    remove_report = gr.Markdown(elem_id="kb-remove-report")
            filters = [f_kind, f_model, f_company, f_topic, f_text, lang]
            view_outputs = [counts, table, doc_pick, mine, f_company]
            for control in (f_kind, f_model, f_company, f_topic):
                control.change(knowledge_view, filters, view_outputs, queue=False, api_visibility=HIDDEN)
            f_text.submit(knowledge_view, filters, view_outputs, queue=False, api_visibility=HIDDEN)
            knowledge_tab.select(knowledge_view, filters, view_outputs, api_visibility=HIDDEN)
            doc_pick.change(read_document, [doc_pick, lang], reader, api_visibility=HIDDEN)
            table.select(pick_row, [table], doc_pick, api_visibility=HIDDEN)
            upload_btn.click(upload, [files, lang], [upload_report, files], api_visibility=HIDDEN).then(
                knowledge_view, filters, view_outputs, api_visibility=HIDDEN
            )
            remove_btn.click(remove, [mine, lang], remove_report, api_visibility=HIDDEN).then(
                knowledge_view, filters, view_outputs, api_visibility=HIDDEN
            )

        with gr.Tab("新人培训 Onboarding", id="onboarding"):
            onboarding_loaders = build_onboarding(service, lang, L)

        with gr.Tab("评测 Eval", id="eval") as eval_tab:
            eval_text = gr.Markdown(elem_id="eval-summary")
            rerun = L(gr.Button(tr("eval_rerun", "zh"), elem_id="eval-rerun"), "eval_rerun", "value")
            with gr.Row(elem_id="eval-plots"):
                plots = [
                    gr.Image(visible=False, type="filepath", interactive=False, show_label=False, height=300)
                    for _ in range(3)
                ]
            eval_table = L(
                gr.Dataframe(
                    label=tr("eval_table", "zh"), interactive=False, visible=False, elem_id="eval-table"
                ),
                "eval_table",
            )
            eval_tab.select(eval_view, [lang], [eval_text, eval_table, *plots], api_visibility=HIDDEN)
            rerun.click(
                rerun_eval,
                [lang],
                [eval_text, eval_table, *plots],
                concurrency_limit=1,
                api_visibility=HIDDEN,
            )

        def switch_language(choice: str) -> list[Any]:
            return [gr.update(**{prop: tr(key, choice)}) for _, prop, key in relabel]

        lang.change(switch_language, [lang], [c for c, _, _ in relabel], queue=False, api_visibility=HIDDEN)
        demo.load(knowledge_view, filters, view_outputs, api_visibility=HIDDEN)
        for fn, inputs, outputs in onboarding_loaders:
            demo.load(fn, inputs, outputs, api_visibility=HIDDEN)
    return demo


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


def build_onboarding(service: Yunying, lang: Any, L: Callable[..., Any]) -> list[tuple[Any, list, list]]:  # noqa: N803
    """新人培训: the learning path through the framework, and a quiz generated from the knowledge base.
    Returns the (function, inputs, outputs) to run when the page loads."""
    import gradio as gr

    from assistant.onboarding import MODULE_KEYS, QuizQuestion, grade

    def short(exc: BaseException) -> str:
        return _short(exc, service.settings)

    def module_choices(code: str) -> list[tuple[str, str]]:
        try:
            titles = {m.key: m.title for m in service.learning_path(code)}
        except Exception:
            titles = {}
        every = msg(code, "全部模块", "All modules")
        return [(every, "")] + [(f"{i}. {titles.get(k, k)}", k) for i, k in enumerate(MODULE_KEYS, start=1)]

    def show_path(code: str) -> tuple[Any, Any]:
        try:
            modules = service.learning_path(code)
        except Exception as exc:
            log.exception("learning path failed")
            return msg(
                code, f"学习路径暂不可用：{short(exc)}", f"The path is unavailable: {short(exc)}"
            ), gr.update()
        if not modules:
            text = msg(
                code,
                "知识库里还没有框架文档，先运行 `yunying ingest`。",
                "No framework documents: run ingest.",
            )
            return text, gr.update()
        return learning_path_html(modules, code), gr.update(choices=module_choices(code), value="")

    def view(state: dict, code: str) -> tuple[Any, ...]:
        questions = state.get("questions", [])
        if not questions:
            empty = msg(code, "这个模块暂时没有题目。", "No questions for this module yet.")
            return state, empty, "", gr.update(choices=[], value=None), ""
        i = state["i"]
        q = questions[i]
        answered = state["answered"]
        score = sum(answered.values())
        done = len(answered) == len(questions)
        progress = msg(
            code,
            f"第 **{i + 1} / {len(questions)}** 题 · 已答 {len(answered)} · 得分 **{score}**",
            f"Question **{i + 1} / {len(questions)}** · answered {len(answered)} · score **{score}**",
        )
        if done:
            progress += msg(
                code, f" · 全部完成：{score}/{len(questions)}", f" · finished: {score}/{len(questions)}"
            )
        return (
            state,
            progress,
            f"**{html.escape(q['question'])}**",
            gr.update(choices=[(o, k) for k, o in enumerate(q["options"])], value=None),
            "",
        )

    def start(code: str, module: str, seed: int = 0) -> tuple[Any, ...]:
        try:
            questions = service.quiz(code, module=module or None, n=10, seed=seed)
        except Exception as exc:
            log.exception("quiz failed")
            gr.Warning(short(exc))
            questions = []
        state = {"questions": [q.model_dump() for q in questions], "i": 0, "answered": {}, "seed": seed}
        return view(state, code)

    def submit(state: dict, chosen: int | None, code: str) -> tuple[Any, Any, Any]:
        questions = state.get("questions") or []
        if not questions:
            return state, gr.update(), ""
        if chosen is None:
            return state, gr.update(), msg(code, "请先选择一个选项。", "Pick an option first.")
        q = QuizQuestion.model_validate(questions[state["i"]])
        try:
            result = grade(q, int(chosen))
        except ValueError as exc:
            return state, gr.update(), f"⚠ {short(exc)}"
        state["answered"].setdefault(q.id, result.correct)  # the first answer counts
        c = result.citation
        verdict = (
            msg(code, "✓ 回答正确", "✓ Correct")
            if result.correct
            else msg(code, "✗ 不对，正确答案是：", "✗ Not quite; the answer is: ")
            + q.options[result.answer_index]
        )
        source = f"[{c.n}] {c.title}" + (f" › {c.heading}" if c.heading else "") + f" · `{c.doc_id}`"
        feedback = (
            f"<div class='quiz-feedback {'ok' if result.correct else 'bad'}'>"
            f"<b>{html.escape(verdict)}</b></div>\n\n"
            f"{result.explanation}\n\n> {c.quote.lstrip('-* ')}\n\n"
            f"<small>{msg(code, '出处', 'Source')}: {source}</small>"
        )
        _, progress, *_ = view(state, code)
        return state, progress, feedback

    def next_question(state: dict, code: str) -> tuple[Any, ...]:
        if state.get("questions"):
            state["i"] = (state["i"] + 1) % len(state["questions"])
        return view(state, code)

    def restart(state: dict, code: str, module: str) -> tuple[Any, ...]:
        return start(code, module, int((state or {}).get("seed", 0)) + 1)

    with gr.Row():
        with gr.Column(scale=3):
            L(gr.Markdown(tr("onb_path", "zh")), "onb_path", "value")
            path = gr.HTML(elem_id="learning-path")
        with gr.Column(scale=2):
            L(gr.Markdown(tr("onb_quiz", "zh")), "onb_quiz", "value")
            module = L(
                gr.Dropdown(module_choices("zh"), value="", label=tr("onb_module", "zh")), "onb_module"
            )
            state = gr.State({})
            progress = gr.Markdown(elem_id="quiz-progress")
            question = gr.Markdown(elem_id="quiz-question")
            options = L(
                gr.Radio([], type="value", label=tr("onb_options", "zh"), elem_id="quiz-options"),
                "onb_options",
            )
            with gr.Row():
                submit_btn = L(gr.Button(tr("onb_submit", "zh"), variant="primary", elem_id="quiz-submit"),
                               "onb_submit", "value")  # fmt: skip
                next_btn = L(gr.Button(tr("onb_next", "zh"), elem_id="quiz-next"), "onb_next", "value")
                restart_btn = L(
                    gr.Button(tr("onb_restart", "zh"), elem_id="quiz-restart"), "onb_restart", "value"
                )
            feedback = gr.Markdown(elem_id="quiz-feedback")
    quiz_outputs = [state, progress, question, options, feedback]
    submit_btn.click(submit, [state, options, lang], [state, progress, feedback], api_visibility=HIDDEN)
    next_btn.click(next_question, [state, lang], quiz_outputs, api_visibility=HIDDEN)
    restart_btn.click(restart, [state, lang, module], quiz_outputs, api_visibility=HIDDEN)
    module.input(lambda code, key: start(code, key), [lang, module], quiz_outputs, api_visibility=HIDDEN)
    lang.change(show_path, [lang], [path, module], api_visibility=HIDDEN).then(
        lambda code: start(code, ""), [lang], quiz_outputs, api_visibility=HIDDEN
    )
    return [(show_path, [lang], [path, module]), (lambda code: start(code, ""), [lang], quiz_outputs)]


def queue_concurrency(settings: Any) -> int:
    """Chat requests run at once. llama.cpp serves one request at a time, so with the local model the
    others wait in Gradio's queue, which shows each user their position, instead of piling up on its lock."""
    return 1 if settings.llm == "local" else int(settings.concurrency)


AUTH_MESSAGE = "Yunying 运营知识助手: please log in / 请登录"


def ready_app(service: Yunying) -> Any:
    """The app with its queue, over a store brought up to date and a warmed-up model: what `launch` serves,
    and what the API's server mounts beside its routes."""
    if service.settings.knowledge_dir.exists():  # `python app.py` on a fresh store works too
        report = service.ingest()
        for failed in report.failed:
            log.warning("not ingested: %s", failed.error)
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
