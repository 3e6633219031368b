"""新人培训 Onboarding: the reading path (a module marked read is recorded), a quiz of one of three types
(recall, scenario, practice: a business with its name hidden, answered in free text and given cited
feedback), and the learner's progress (modules read, results over time, weak topics with readings,
questions due again). Everything follows the UI language; every handler is a plain method that takes
and returns values, with the session's quiz and practice case in `gr.State`, and catches its errors:
the log keeps the details, the page shows one short line."""

from __future__ import annotations

import html
import logging
from collections.abc import Callable
from typing import Any

import gradio as gr

from assistant.frontends.web.pages.base import user_of
from assistant.frontends.web.pages.onboarding_team import TeamPanel
from assistant.frontends.web.render import _short, learning_path_html
from assistant.frontends.web.render_onboarding import (
    case_html,
    practice_feedback_html,
    progress_html,
    quiz_feedback_html,
)
from assistant.frontends.web.text import HIDDEN, tr
from assistant.onboarding import MODULE_KEYS, QuizQuestion
from assistant.onboarding.practice import PracticeCase
from assistant.services.yunying import Yunying

log = logging.getLogger("yunying.ui")

QUIZ_TYPES = ("recall", "scenario", "practice")
QUIZ_LENGTH = 10
Labels = Callable[..., Any]  # labels(component, key, prop="label") registers it for the zh/en switch
Loader = tuple[Callable[..., Any], list[Any], list[Any]]


def _kind(quiz_type: str | None) -> str:
    return quiz_type if quiz_type in QUIZ_TYPES else "recall"


class OnboardingPage:
    """The Onboarding tab over the shared service. `render` lays it out inside the tab and returns what
    to run when the page loads; the other methods are its event handlers."""

    def __init__(self, service: Yunying) -> None:
        self.service = service
        self.team = TeamPanel(service, self.module_titles)

    def short(self, exc: BaseException) -> str:
        return _short(exc, self.service.settings)

    # ------------------------------------------------------------------ path and reading

    def module_titles(self, lang: str) -> dict[str, str]:
        try:
            return {m.key: m.title for m in self.service.learning_path(lang)}  # type: ignore[arg-type]
        except Exception:  # the choices fall back to the module keys
            log.warning("learning path failed", exc_info=True)
            return {}

    def module_choices(self, lang: str, every: bool = True) -> list[tuple[str, str]]:
        titles = self.module_titles(lang)
        numbered = [(f"{i}. {titles.get(k, k)}", k) for i, k in enumerate(MODULE_KEYS, start=1)]
        return [(tr("onb_all_modules", lang), ""), *numbered] if every else numbered

    def type_choices(self, lang: str) -> list[tuple[str, str]]:
        return [(tr(f"onb_type_{kind}", lang), kind) for kind in QUIZ_TYPES]

    def show_path(self, lang: str) -> tuple[Any, ...]:
        """(path, quiz module choices, reading module choices, quiz type choices, practice answer box) in
        the language."""
        relabelled = (
            gr.update(choices=self.module_choices(lang), value=""),
            gr.update(choices=self.module_choices(lang, every=False)),
            gr.update(choices=self.type_choices(lang)),
            gr.update(label=tr("onb_practice_answer", lang), placeholder=tr("onb_practice_ph", lang)),
        )
        try:
            modules = self.service.learning_path(lang)  # type: ignore[arg-type]
        except Exception as exc:
            log.exception("learning path failed")
            return tr("onb_path_error", lang).format(error=self.short(exc)), *relabelled
        if not modules:
            return tr("onb_path_none", lang), *relabelled
        return learning_path_html(modules, lang), *relabelled

    def mark_read(self, module: str | None, lang: str, request: gr.Request | None = None) -> tuple[str, str]:
        """Record a module as read: (a line saying so, the progress panel)."""
        if not module:
            return tr("onb_read_pick", lang), self.show_progress(lang, request)
        try:
            self.service.record_reading(module, user_of(request))
        except Exception as exc:
            log.exception("recording a reading failed")
            return tr("onb_error", lang).format(error=self.short(exc)), self.show_progress(lang, request)
        title = self.module_titles(lang).get(module, module)
        return tr("onb_read_done", lang).format(title=title), self.show_progress(lang, request)

    # ------------------------------------------------------------------ progress

    def show_progress(self, lang: str, request: gr.Request | None = None) -> str:
        try:
            view = self.service.progress(lang, user_of(request))  # type: ignore[arg-type]
        except Exception as exc:
            log.exception("progress failed")
            return html.escape(tr("onb_error", lang).format(error=self.short(exc)))
        return progress_html(view, self.module_titles(lang), lang)

    # ------------------------------------------------------------------ recall and scenario quizzes

    def quiz_view(self, state: dict, lang: str) -> tuple[Any, ...]:
        """(state, progress line, question, options, feedback) for the state's current question."""
        questions = state.get("questions") or []
        if not questions:
            return (
                state,
                state.get("empty") or tr("onb_no_questions", lang),
                "",
                gr.update(choices=[], value=None),
                "",
            )
        i, answered = state["i"], state["answered"]
        score = sum(answered.values())
        line = tr("onb_q_progress", lang).format(
            i=i + 1, n=len(questions), answered=len(answered), score=score
        )
        if len(answered) == len(questions):
            line += tr("onb_q_done", lang).format(score=score, n=len(questions))
        if state.get("review"):
            line = tr("onb_q_review", lang) + line
        q = questions[i]
        options = gr.update(choices=[(o, k) for k, o in enumerate(q["options"])], value=None)
        return state, line, f"**{html.escape(q['question'])}**", options, ""

    def start_quiz(self, lang: str, quiz_type: str, module: str | None, seed: int = 0) -> tuple[Any, ...]:
        """A new quiz of the type (a scenario's module is its answer, so only recall is filtered)."""
        kind = "scenario" if quiz_type == "scenario" else "recall"
        try:
            questions = self.service.quiz(
                lang,  # type: ignore[arg-type]
                module=(module or None) if kind == "recall" else None,
                n=QUIZ_LENGTH,
                seed=seed,
                kind=kind,
            )
            empty = ""
        except Exception as exc:
            log.exception("quiz failed")
            questions, empty = [], tr("onb_error", lang).format(error=self.short(exc))
        state = {"questions": [q.model_dump() for q in questions], "i": 0, "answered": {}, "seed": seed}
        return self.quiz_view({**state, "type": kind, "empty": empty}, lang)

    def submit(
        self, state: dict, chosen: int | None, lang: str, request: gr.Request | None = None
    ) -> tuple[Any, Any, str, str]:
        """Grade the current question: (state, progress line, feedback, progress panel). The first answer
        to a question counts and is recorded; a miss comes back for review later."""
        questions = state.get("questions") or []
        if not questions:
            return state, gr.update(), "", gr.update()
        if chosen is None:
            return state, gr.update(), tr("onb_pick_option", lang), gr.update()
        question = QuizQuestion.model_validate(questions[state["i"]])
        try:
            first = question.id not in state["answered"]
            result = self.service.answer_quiz(question, int(chosen), user=user_of(request), record=first)
            state["answered"].setdefault(question.id, result.correct)
        except Exception as exc:
            log.exception("grading failed")
            return state, gr.update(), f"⚠ {html.escape(self.short(exc))}", gr.update()
        _, line, *_ = self.quiz_view(state, lang)
        return state, line, quiz_feedback_html(question, result, lang), self.show_progress(lang, request)

    def next_question(self, state: dict, lang: str) -> tuple[Any, ...]:
        if state.get("questions"):
            state["i"] = (state["i"] + 1) % len(state["questions"])
        return self.quiz_view(state, lang)

    def restart(
        self, state: dict, lang: str, quiz_type: str, module: str | None, request: gr.Request | None = None
    ) -> tuple[Any, ...]:
        if (state or {}).get("review"):
            return self.review_due(lang, request)[3:]
        return self.start_quiz(lang, _kind(quiz_type), module, int((state or {}).get("seed", 0)) + 1)

    def review_due(self, lang: str, request: gr.Request | None = None) -> tuple[Any, ...]:
        """The learner's missed questions that are due again, as a quiz: (the quiz type, the quiz and
        the practice columns' visibility, then the quiz outputs)."""
        try:
            questions = self.service.due_questions(lang, user_of(request))  # type: ignore[arg-type]
        except Exception as exc:
            log.exception("due questions failed")
            questions = []
            gr.Warning(self.short(exc))
        if not questions:
            empty = {"questions": [], "empty": tr("onb_no_due", lang)}
            return gr.update(), gr.update(), gr.update(), *self.quiz_view(empty, lang)
        state = {"questions": [q.model_dump() for q in questions], "i": 0, "answered": {}, "review": True}
        shown = (gr.update(value=questions[0].quiz_type), gr.update(visible=True), gr.update(visible=False))
        return *shown, *self.quiz_view(state, lang)

    # ------------------------------------------------------------------ practice cases

    def practice_view(
        self, case: PracticeCase | None, seed: int, lang: str, empty: str = "", keep_answer: bool = False
    ) -> tuple[Any, ...]:
        """(practice state, case, answer box, feedback): a new case starts with an empty answer box; the
        case shown again in the other language keeps what the learner wrote and the feedback they got."""
        if case is None:
            return {"seed": seed}, html.escape(empty or tr("onb_practice_none", lang)), gr.update(), ""
        state = {"case": case.model_dump(), "seed": seed}
        if keep_answer:
            return state, case_html(case, lang), gr.update(), gr.update()
        return state, case_html(case, lang), gr.update(value=""), ""

    def start_practice(
        self, lang: str, seed: int = 0, avoid: str | None = None, request: gr.Request | None = None
    ) -> tuple[Any, ...]:
        """A practice case: one the learner missed and is due again first, else a seeded draw (not the
        case just shown)."""
        try:
            cases = self.service.practice_round(lang, n=2, seed=seed, user=user_of(request))  # type: ignore[arg-type]
        except Exception as exc:
            log.exception("practice round failed")
            return self.practice_view(None, seed, lang, tr("onb_error", lang).format(error=self.short(exc)))
        fresh = [c for c in cases if c.id != avoid] or cases
        return self.practice_view(fresh[0] if fresh else None, seed, lang)

    def next_case(self, state: dict, lang: str, request: gr.Request | None = None) -> tuple[Any, ...]:
        case = (state or {}).get("case") or {}
        return self.start_practice(lang, int((state or {}).get("seed", 0)) + 1, case.get("id"), request)

    def review_practice(
        self, state: dict, answer: str | None, lang: str, request: gr.Request | None = None
    ) -> tuple[Any, str, Any]:
        """Feedback on the learner's free-text answer, recorded: (state, feedback, progress panel). An
        empty answer gets a hint and records nothing."""
        case = (state or {}).get("case")
        if not case:
            return state, html.escape(tr("onb_practice_none", lang)), gr.update()
        if not (answer or "").strip():
            return (
                state,
                f"<div class='quiz-feedback bad'>{html.escape(tr('onb_practice_empty', lang))}</div>",
                gr.update(),
            )
        try:
            feedback = self.service.review_practice(
                case["id"], answer or "", case["lang"], user=user_of(request)
            )
        except Exception as exc:
            log.exception("practice feedback failed")
            return state, f"⚠ {html.escape(self.short(exc))}", gr.update()
        return state, practice_feedback_html(feedback, case["lang"]), self.show_progress(lang, request)

    # ------------------------------------------------------------------ the type switch

    def choose(
        self,
        lang: str,
        quiz_type: str,
        module: str | None,
        practice: dict | None = None,
        request: gr.Request | None = None,
    ) -> tuple[Any, ...]:
        """Show the quiz type chosen: (module, quiz column, practice column visibility), the quiz outputs,
        the practice outputs. Practice keeps the case on show (in the new language after a switch)."""
        kind = _kind(quiz_type)
        shown = (
            gr.update(visible=kind == "recall"),
            gr.update(visible=kind != "practice"),
            gr.update(visible=kind == "practice"),
        )
        unchanged_quiz, unchanged_practice = (gr.update(),) * 5, (gr.update(),) * 4
        if kind != "practice":
            return *shown, *self.start_quiz(lang, kind, module), *unchanged_practice
        case_id = ((practice or {}).get("case") or {}).get("id")
        if case_id:
            try:
                case = self.service.practice_case(case_id, lang)  # type: ignore[arg-type]
            except Exception:  # the case is gone (a re-ingest): draw another
                log.warning("practice case %s unavailable", case_id, exc_info=True)
            else:
                seed = int((practice or {}).get("seed", 0))
                return *shown, *unchanged_quiz, *self.practice_view(case, seed, lang, keep_answer=True)
        return *shown, *unchanged_quiz, *self.start_practice(lang, request=request)

    # ------------------------------------------------------------------ layout and events

    def render(self, lang: gr.Radio, labels: Labels) -> list[Loader]:
        """Lay the tab out (inside its `gr.Tab`) and wire its events; returns the (function, inputs,
        outputs) to run when the page loads."""
        with gr.Row():
            with gr.Column(scale=3):
                self._path_column(labels)
                self._progress_panel(labels)
            with gr.Column(scale=2):
                labels(gr.Markdown(tr("onb_quiz", "zh")), "onb_quiz", "value")
                self.quiz_type = labels(
                    gr.Radio(
                        self.type_choices("zh"),
                        value="recall",
                        label=tr("onb_type", "zh"),
                        elem_id="quiz-type",
                    ),
                    "onb_type",
                )
                self.module = labels(
                    gr.Dropdown(
                        self.module_choices("zh"),
                        value="",
                        label=tr("onb_module", "zh"),
                        elem_id="quiz-module",
                    ),
                    "onb_module",
                )
                self._quiz_column(labels)
                self._practice_column(labels)
        return self._wire(lang)

    def _path_column(self, labels: Labels) -> None:
        labels(gr.Markdown(tr("onb_path", "zh")), "onb_path", "value")
        self.path = gr.HTML(elem_id="learning-path")
        with gr.Row(equal_height=True):
            self.read_pick = labels(
                gr.Dropdown(
                    self.module_choices("zh", every=False),
                    value=None,
                    label=tr("onb_read_module", "zh"),
                    elem_id="onb-read-module",
                    scale=3,
                ),
                "onb_read_module",
            )
            self.read_btn = labels(
                gr.Button(tr("onb_mark_read", "zh"), elem_id="onb-mark-read", scale=1),
                "onb_mark_read",
                "value",
            )
        self.read_report = gr.Markdown(elem_id="onb-read-report")

    def _progress_panel(self, labels: Labels) -> None:
        labels(gr.Markdown(tr("onb_progress", "zh")), "onb_progress", "value")
        self.progress_panel = gr.HTML(elem_id="onb-progress")
        self.review_btn = labels(
            gr.Button(tr("onb_review_due", "zh"), elem_id="onb-review-due", size="sm"),
            "onb_review_due",
            "value",
        )
        self.team.render(labels)  # a manager's view of the team, hidden from everyone else

    def _quiz_column(self, labels: Labels) -> None:
        with gr.Column(elem_id="quiz-mcq") as self.mcq:
            self.quiz_state = gr.State({})
            self.quiz_progress = gr.Markdown(elem_id="quiz-progress")
            self.question = gr.Markdown(elem_id="quiz-question")
            self.options = labels(
                gr.Radio([], type="value", label=tr("onb_options", "zh"), elem_id="quiz-options"),
                "onb_options",
            )
            with gr.Row():
                self.submit_btn = labels(
                    gr.Button(tr("onb_submit", "zh"), variant="primary", elem_id="quiz-submit"),
                    "onb_submit",
                    "value",
                )
                self.next_btn = labels(
                    gr.Button(tr("onb_next", "zh"), elem_id="quiz-next"), "onb_next", "value"
                )
                self.restart_btn = labels(
                    gr.Button(tr("onb_restart", "zh"), elem_id="quiz-restart"), "onb_restart", "value"
                )
            self.quiz_feedback = gr.Markdown(elem_id="quiz-feedback")

    def _practice_column(self, labels: Labels) -> None:
        with gr.Column(elem_id="practice", visible=False) as self.practice:
            self.practice_state = gr.State({})
            self.case = gr.HTML(elem_id="practice-case")
            self.answer = gr.Textbox(  # re-labelled by show_path (label and placeholder)
                label=tr("onb_practice_answer", "zh"),
                placeholder=tr("onb_practice_ph", "zh"),
                lines=4,
                elem_id="practice-answer",
            )
            with gr.Row():
                self.practice_submit = labels(
                    gr.Button(tr("onb_practice_submit", "zh"), variant="primary", elem_id="practice-submit"),
                    "onb_practice_submit",
                    "value",
                )
                self.practice_next = labels(
                    gr.Button(tr("onb_practice_next", "zh"), elem_id="practice-next"),
                    "onb_practice_next",
                    "value",
                )
            self.practice_feedback = gr.HTML(elem_id="practice-feedback")

    def _wire(self, lang: gr.Radio) -> list[Loader]:
        quiz = [self.quiz_state, self.quiz_progress, self.question, self.options, self.quiz_feedback]
        practice = [self.practice_state, self.case, self.answer, self.practice_feedback]
        shown = [self.module, self.mcq, self.practice]
        path_outputs = [self.path, self.module, self.read_pick, self.quiz_type, self.answer]
        chosen = ([lang, self.quiz_type, self.module, self.practice_state], [*shown, *quiz, *practice])
        events: list[tuple[Any, Callable[..., Any], list[Any], list[Any]]] = [
            (self.quiz_type.input, self.choose, *chosen),
            (self.module.input, self.choose, *chosen),
            (
                self.read_btn.click,
                self.mark_read,
                [self.read_pick, lang],
                [self.read_report, self.progress_panel],
            ),
            (
                self.review_btn.click,
                self.review_due,
                [lang],
                [self.quiz_type, self.mcq, self.practice, *quiz],
            ),
            (
                self.submit_btn.click,
                self.submit,
                [self.quiz_state, self.options, lang],
                [self.quiz_state, self.quiz_progress, self.quiz_feedback, self.progress_panel],
            ),
            (self.next_btn.click, self.next_question, [self.quiz_state, lang], quiz),
            (
                self.restart_btn.click,
                self.restart,
                [self.quiz_state, lang, self.quiz_type, self.module],
                quiz,
            ),
            (
                self.practice_submit.click,
                self.review_practice,
                [self.practice_state, self.answer, lang],
                [self.practice_state, self.practice_feedback, self.progress_panel],
            ),
            (self.practice_next.click, self.next_case, [self.practice_state, lang], practice),
        ]
        for event, handler, inputs, outputs in events:
            event(handler, inputs, outputs, api_visibility=HIDDEN)
        lang.change(self.show_path, [lang], path_outputs, api_visibility=HIDDEN).then(
            self.choose, *chosen, api_visibility=HIDDEN
        ).then(self.show_progress, [lang], [self.progress_panel], api_visibility=HIDDEN).then(
            *self.team.loader(lang), api_visibility=HIDDEN
        )
        return [
            (self.show_path, [lang], path_outputs),
            (self.choose, *chosen),
            (self.show_progress, [lang], [self.progress_panel]),
            self.team.loader(lang),
        ]
