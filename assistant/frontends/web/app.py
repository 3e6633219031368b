"""The Gradio app. It only arranges what the service object returns; no retrieval logic lives here, and it
does not ingest (whoever serves it brings the store up to date first).

Tabs: 问答 Chat, 模式匹配 Model fit & memo, 知识库 Knowledge, 新人培训 Onboarding, 评测 Eval. A zh/en
switch at the top re-labels the main components. Every handler catches its errors: the log keeps the
details, the page shows one short line.
"""

from __future__ import annotations

import html
import logging
from collections import OrderedDict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from assistant.answer import Answer, Citation
from assistant.catalog import filter_documents
from assistant.config import apply_offline_env
from assistant.frontends.web.render import (
    _short,
    _text_of,
    document_markdown,
    documents_table,
    link_citations,
    source_cards_html,
    timing_line,
    unlink_citations,
    unsupported_html,
    upload_report_markdown,
)
from assistant.frontends.web.text import (
    EXAMPLES,
    FIT_EXAMPLES,
    HIDDEN,
    KIND_CHOICES,
    MODEL_CHOICES,
    MODEL_NAMES_ZH,
    TOPICS,
    launch_options,
    msg,
    tr,
)
from assistant.retrieval import SearchFilters
from assistant.service import Yunying

log = logging.getLogger("yunying.ui")


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
            # the page module imports gradio at its top: only after apply_offline_env
            from assistant.frontends.web.pages.onboarding import OnboardingPage

            onboarding_loaders = OnboardingPage(service).render(lang, L)

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
