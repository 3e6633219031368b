"""HTML of the Onboarding tab: a quiz answer's feedback, a practice case and its feedback, and the learner's
progress. Pure functions of the service's pydantic results; every text from the knowledge base is escaped,
and every word of the page's own comes from resources/ui/strings.yaml."""

from __future__ import annotations

import html
import re
from collections.abc import Sequence

from assistant.answer.state import Citation
from assistant.core.vocabulary import MODEL_LABELS
from assistant.frontends.web.text import tr
from assistant.onboarding.practice import PracticeCase, PracticeFeedback
from assistant.onboarding.schema import QuizQuestion, QuizResult
from assistant.services.learning import LearnerProgress
from assistant.services.progress import ProgressSummary

VERDICT_CLASS = {"right": "ok", "half-right": "half", "wrong": "bad"}
HALF_STYLE = " style='color:#92400e'"  # app.css colours ok and bad only
MARKER = re.compile(r"\[(\d+)\]")


def _with_markers(text: str) -> str:
    """Escaped text whose [n] markers are set off as the source number they are."""
    return MARKER.sub(r"<sup class='src-n'>[\1]</sup>", html.escape(text))


def sources_html(citations: Sequence[Citation], lang: str) -> str:
    """The numbered sources: title › heading, the document id, and the quoted passage."""
    items = "".join(
        f"<li data-n='{c.n}'><span class='src-n'>[{c.n}]</span><b>{html.escape(c.title)}</b>"
        + (f" › {html.escape(c.heading)}" if c.heading else "")
        + f" <code>{html.escape(c.doc_id)}</code>"
        + f"<div class='src-text'>{html.escape(c.quote)}</div></li>"
        for c in citations
    )
    return (
        f"<div class='learning-path'><div class='module-h'>{html.escape(tr('onb_source', lang))}</div>"
        f"<ol class='readings'>{items}</ol></div>"
    )


def quiz_feedback_html(question: QuizQuestion, result: QuizResult, lang: str) -> str:
    """Right or not (and the right option), the explanation and the passage that states the answer."""
    verdict = (
        tr("onb_correct", lang)
        if result.correct
        else tr("onb_wrong", lang) + question.options[result.answer_index]
    )
    c = result.citation
    source = f"[{c.n}] {c.title}" + (f" › {c.heading}" if c.heading else "") + f" · `{c.doc_id}`"
    return (
        f"<div class='quiz-feedback {'ok' if result.correct else 'bad'}'>"
        f"<b>{html.escape(verdict)}</b></div>\n\n"
        f"{result.explanation}\n\n> {c.quote.lstrip('-* ')}\n\n"
        f"<small>{tr('onb_source', lang)}: {source}</small>"
    )


def case_html(case: PracticeCase, lang: str) -> str:
    """The task, the business by its facts (names hidden) and the five models to choose from."""
    paragraphs = "".join(f"<p>{html.escape(p)}</p>" for p in case.description.split("\n\n") if p.strip())
    choices = tr("onb_practice_choices", lang).format(choices=" / ".join(case.choices))
    return (
        f"<div class='practice-case' data-case='{html.escape(case.id)}'>"
        f"<p><b>{html.escape(case.task)}</b></p>{paragraphs}"
        f"<p class='hint'>{html.escape(choices)}</p></div>"
    )


def practice_feedback_html(feedback: PracticeFeedback, lang: str) -> str:
    """The verdict, the actual label with the counts of criteria used and missed, the feedback's lines
    (each with its [n]) and the numbered sources they cite."""
    css = VERDICT_CLASS[feedback.verdict]
    verdict, *lines = feedback.lines
    named = MODEL_LABELS[lang][feedback.named_model] if feedback.named_model else tr("onb_named_none", lang)
    summary = tr("onb_practice_summary", lang).format(
        actual=html.escape(MODEL_LABELS[lang][feedback.actual_model]),
        company=html.escape(feedback.company),
        named=html.escape(named),
        used=len(feedback.used),
        missed=len(feedback.missed),
    )
    items = "".join(f"<li>{_with_markers(line)}</li>" for line in lines)
    return (
        f"<div class='practice-feedback' data-verdict='{feedback.verdict}'>"
        f"<div class='quiz-feedback {css}'{HALF_STYLE if css == 'half' else ''}><b>{html.escape(verdict)}</b>"
        f"</div><p class='practice-summary'>{summary}</p><ul class='practice-lines'>{items}</ul>"
        f"{sources_html(feedback.citations, lang)}</div>"
    )


def _type_name(kind: str, lang: str) -> str:
    return tr(f"onb_type_{kind}", lang) if kind in ("recall", "scenario", "practice") else kind


def _result_mark(correct: bool, verdict: str, lang: str) -> str:
    if verdict in VERDICT_CLASS:
        return tr(f"onb_v_{verdict}", lang)
    return tr("onb_v_right" if correct else "onb_v_wrong", lang)


def _results_html(view: LearnerProgress, lang: str) -> str:
    """Tallies per quiz type and the latest results, newest first (when, type, item, result)."""
    summary = view.summary
    tally = tr("onb_p_tally", lang)
    tallies = "".join(
        f"<li>{html.escape(tally.format(kind=_type_name(kind, lang), **t.model_dump()))}</li>"
        for kind, t in summary.tallies.items()
    )
    head = "".join(f"<th>{html.escape(c)}</th>" for c in tr("onb_p_cols", lang).split("|"))
    rows = "".join(
        f"<tr data-kind='{html.escape(r.kind)}'><td>{r.at:%Y-%m-%d %H:%M}</td>"
        f"<td>{html.escape(_type_name(r.kind, lang))}</td><td><code>{html.escape(r.item_id)}</code></td>"
        f"<td>{html.escape(_result_mark(r.correct, r.verdict, lang))}</td></tr>"
        for r in summary.recent
    )
    return (
        f"<div class='module-h'>{html.escape(tr('onb_p_results', lang))}</div><ul>{tallies}</ul>"
        f"<div class='module-h'>{html.escape(tr('onb_p_recent', lang))}</div>"
        f"<table class='onb-recent'><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>"
    )


def _weak_html(view: LearnerProgress, lang: str) -> str:
    """Each weak topic with how often it was missed and the path's readings for it."""
    misses = {w.topic: w for w in view.summary.weak_topics}
    parts = []
    for entry in view.suggested:
        weak = misses[entry.topic]
        readings = "".join(
            f"<li><span class='src-n'>[{c.n}]</span>{html.escape(c.title)}"
            + (f" › {html.escape(c.heading)}" if c.heading else "")
            + f" <code>{html.escape(c.doc_id)}</code></li>"
            for c in entry.readings[:3]
        )
        counts = tr("onb_p_misses", lang).format(misses=weak.misses, answered=weak.answered)
        parts.append(
            f"<li data-topic='{html.escape(entry.topic)}'><b>{html.escape(entry.module_title)}</b> "
            f"{html.escape(counts)}<ol class='readings'>{readings}</ol></li>"
        )
    if not parts:
        return ""
    heading = html.escape(tr("onb_p_weak", lang))
    return f"<div class='module-h'>{heading}</div><ul class='onb-weak'>{''.join(parts)}</ul>"


def progress_html(view: LearnerProgress, titles: dict[str, str], lang: str) -> str:
    """The learner's progress: modules read, results over time, weak topics with readings, what is due."""
    summary = view.summary
    user = html.escape(tr("onb_p_user", lang).format(user=summary.user))
    if not summary.modules_read and not summary.tallies:
        return f"<div class='learning-path' id='onb-progress-body'><p class='hint'>{user}</p>" + (
            f"<p>{html.escape(tr('onb_p_nothing', lang))}</p></div>"
        )
    read = tr("onb_p_read", lang).format(k=len(summary.modules_read), n=view.path_modules)
    modules = "、" if lang == "zh" else ", "
    read_list = modules.join(titles.get(m, m) for m in summary.modules_read)
    due = tr("onb_p_due", lang).format(due=len(summary.due), scheduled=summary.scheduled)
    due_items = "".join(
        f"<li><code>{html.escape(d.item_id)}</code> · {html.escape(_type_name(d.kind, lang))}</li>"
        for d in summary.due
    )
    return (
        f"<div class='learning-path' id='onb-progress-body'><p class='hint'>{user}</p>"
        f"<div class='module-h onb-read'>{html.escape(read)}</div><p>{html.escape(read_list)}</p>"
        f"{_results_html(view, lang)}{_weak_html(view, lang)}"
        f"<div class='module-h onb-due'>{html.escape(due)}</div><ul>{due_items}</ul></div>"
    )


def team_html(team: Sequence[ProgressSummary], titles: dict[str, str], path_modules: int, lang: str) -> str:
    """The manager's table: one row per learner (modules read, right/answered per quiz type, weak
    topics, items due for review now)."""
    if not team:
        return f"<p class='hint' id='onb-team-body'>{html.escape(tr('onb_team_empty', lang))}</p>"
    head = "".join(f"<th>{html.escape(c)}</th>" for c in tr("onb_team_cols", lang).split("|"))
    rows = []
    for s in team:
        tallies = [s.tallies.get(kind) for kind in ("recall", "scenario", "practice")]
        counts = "".join(f"<td>{f'{t.correct}/{t.answered}' if t else '–'}</td>" for t in tallies)
        weak = ", ".join(titles.get(w.topic, w.topic) for w in s.weak_topics) or "–"
        rows.append(
            f"<tr data-user='{html.escape(s.user)}'><td>{html.escape(s.user)}</td>"
            f"<td>{len(s.modules_read)}/{path_modules}</td>{counts}"
            f"<td>{html.escape(weak)}</td><td>{len(s.due)}</td></tr>"
        )
    return (
        f"<div class='learning-path' id='onb-team-body'><table class='onb-recent onb-team'>"
        f"<thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table></div>"
    )


__all__ = [
    "case_html",
    "practice_feedback_html",
    "progress_html",
    "quiz_feedback_html",
    "sources_html",
    "team_html",
]
