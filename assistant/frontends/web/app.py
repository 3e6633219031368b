"""The Gradio app: a composition of one page class per tab (frontends/web/pages/). It only arranges what
the service object returns; no retrieval logic lives here, and it does not ingest (whoever serves it brings
the store up to date first).

Tabs: 问答 Chat, 模式匹配 Model fit & memo, 知识库 Knowledge, 新人培训 Onboarding, 评测 Eval. A zh/en
switch at the top re-labels the main components. Every handler catches its errors: the log keeps the
details, the page shows one short line. What a session has shown lives in its own `gr.State`.
"""

from __future__ import annotations

import html
import logging
from collections.abc import Callable
from typing import Any

from assistant.config import apply_offline_env
from assistant.frontends.web.render import _short, learning_path_html
from assistant.frontends.web.text import HIDDEN, launch_options, msg, tr
from assistant.service import Yunying

log = logging.getLogger("yunying.ui")


def build_app(service: Yunying) -> Any:
    apply_offline_env()  # before gradio (and huggingface_hub under it) is imported
    import gradio as gr

    from assistant.frontends.web.pages.base import Labels
    from assistant.frontends.web.pages.chat import ChatPage
    from assistant.frontends.web.pages.evaluation import EvaluationPage
    from assistant.frontends.web.pages.fit import FitPage
    from assistant.frontends.web.pages.knowledge import KnowledgePage

    L = Labels()  # noqa: N806 - the onboarding builder's name for it
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
            onboarding_loaders = build_onboarding(service, lang, L)

        with gr.Tab("评测 Eval", id="eval") as eval_tab:
            EvaluationPage(service).render(lang, L, eval_tab)

        lang.change(L.relabel, [lang], L.components, queue=False, api_visibility=HIDDEN)
        for fn, inputs, outputs in loaders:
            demo.load(fn, inputs, outputs, api_visibility=HIDDEN)
        for fn, inputs, outputs in onboarding_loaders:
            demo.load(fn, inputs, outputs, api_visibility=HIDDEN)
    return demo


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
