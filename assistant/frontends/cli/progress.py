"""`yunying quiz --type practice` (a practice round: a case with its names hidden, the learner's answer,
the feedback) and `yunying progress` (what has been read, answered, missed and is due again). Answers
are recorded to the learner's progress (the local user: the CLI has no logins)."""

from __future__ import annotations

import sys
from typing import Annotated, Any

import typer

from assistant.frontends.cli.service_access import print_json
from assistant.frontends.cli.service_access import service as make_service


def _labels(lang: str) -> dict[str, str]:
    from assistant.services.progress import progress_config

    return progress_config().labels[lang]


def _print_feedback(feedback: Any, lang: str) -> None:
    from rich.console import Console

    console = Console(soft_wrap=True)
    for line in feedback.lines:
        console.print(line, markup=False, highlight=False)
    console.print(f"\n{_labels(lang)['sources']}", style="bold")
    for c in feedback.citations:
        console.print(f"[{c.n}] {c.title} · {c.heading}  ({c.doc_id})", markup=False, highlight=False)


def _print_case(case: Any, number: int, total: int, lang: str) -> None:
    from rich.console import Console

    console = Console(soft_wrap=True)
    console.print(f"\n{_labels(lang)['case']} {number}/{total}  [{case.id}]", style="bold", markup=False)
    console.print(case.task, markup=False, highlight=False)
    console.print(f"\n{case.description}\n", markup=False, highlight=False)
    console.print(" / ".join(case.choices), style="dim", markup=False)


def _feedback_json(case: Any, feedback: Any) -> dict[str, Any]:
    return {
        "case": case.model_dump(mode="json"),
        "feedback": feedback.model_dump(mode="json", exclude={"citations": {"__all__": {"text"}}}),
    }


def run_practice(
    lang: str, n: int, seed: int, as_json: bool, answer: str | None, case_id: str | None
) -> None:
    """A practice round. With `answer`: feedback on the first case; on a terminal without one: each case
    is asked in turn; otherwise the cases are printed (to answer later with --answer)."""
    service = make_service()
    cases = (
        [service.practice_case(case_id, lang)] if case_id else service.practice_round(lang, n=n, seed=seed)
    )
    if not cases:
        raise ValueError(_labels(lang)["no_cases"])
    if answer is not None:
        feedback = service.review_practice(cases[0].id, answer, lang)
        if as_json:
            print_json(_feedback_json(cases[0], feedback))
            return
        _print_case(cases[0], 1, 1, lang)
        _print_feedback(feedback, lang)
        return
    if as_json or not sys.stdin.isatty():
        if as_json:
            print_json([c.model_dump(mode="json") for c in cases])
        else:
            for number, case in enumerate(cases, start=1):
                _print_case(case, number, len(cases), lang)
        return
    for number, case in enumerate(cases, start=1):
        _print_case(case, number, len(cases), lang)
        reply = typer.prompt(_labels(lang)["prompt"])
        _print_feedback(service.review_practice(case.id, reply, lang), lang)


def run_quiz_answers(questions: list[Any], kind: str, answers: str, as_json: bool) -> None:
    """Grade letter answers ("A,C,B") to a recall or scenario quiz and record them."""
    letters = [a.strip().upper() for a in answers.replace("，", ",").split(",") if a.strip()]
    if len(letters) != len(questions) or any(len(a) != 1 or not "A" <= a <= "Z" for a in letters):
        raise ValueError(f"--answer takes one letter per question, e.g. A,C,B ({len(questions)} questions)")
    service = make_service()
    results = [service.answer_quiz(q, ord(a) - 65, kind) for q, a in zip(questions, letters, strict=True)]
    if as_json:
        print_json([r.model_dump(mode="json", exclude={"citation": {"text"}}) for r in results])
        return
    for number, (q, r) in enumerate(zip(questions, results, strict=True), start=1):
        mark = "✓" if r.correct else f"✗ {chr(65 + r.answer_index)}"
        sys.stdout.write(f"{number}. {mark}  {q.question}\n   {r.explanation}  [1] {r.citation.doc_id}\n")


def _print_progress(view: Any, lang: str) -> None:
    from rich.console import Console

    labels, summary, console = _labels(lang), view.summary, Console(soft_wrap=True)
    if not summary.modules_read and not summary.tallies:
        console.print(labels["nothing"], markup=False)
        return
    read = ", ".join(summary.modules_read)
    console.print(f"{labels['read']}: {len(summary.modules_read)}/{view.path_modules}  {read}", markup=False)
    for kind, tally in summary.tallies.items():
        console.print(
            f"{labels['results']} ({kind}): {tally.answered}, {labels['correct']} {tally.correct}",
            markup=False,
        )
    for weak in summary.weak_topics:
        console.print(
            f"{labels['weak']}: {weak.topic} ({labels['misses']} {weak.misses}/{weak.answered})", markup=False
        )
    for entry in view.suggested:
        console.print(f"{labels['suggested']} · {entry.module_title}", style="bold", markup=False)
        for c in entry.readings:
            console.print(f"  [{c.n}] {c.title} · {c.heading}", markup=False, highlight=False)
    console.print(
        f"{labels['due']}: {len(summary.due)}  ({labels['scheduled']}: {summary.scheduled})", markup=False
    )
    for item in summary.due:
        console.print(f"  {item.kind} {item.item_id} ({item.topic}, {item.lang})", markup=False)
    console.print(labels["recent"], style="bold", markup=False)
    for r in summary.recent:
        mark = r.verdict or ("✓" if r.correct else "✗")
        console.print(f"  {r.at:%Y-%m-%d %H:%M} {r.kind} {r.item_id} {mark}", markup=False)


def _print_team(summaries: list[Any], as_json: bool) -> None:
    if as_json:
        print_json([s.model_dump(mode="json") for s in summaries])
        return
    for s in summaries:
        tallies = ", ".join(f"{kind} {t.correct}/{t.answered}" for kind, t in s.tallies.items())
        sys.stdout.write(f"{s.user}: {len(s.modules_read)} read; {tallies or '-'}; {len(s.due)} due\n")


def register(app: typer.Typer) -> None:
    """Add `yunying progress` to the app."""

    @app.command()
    def progress(
        lang: Annotated[str, typer.Option(help="Language of the suggested readings: zh or en.")] = "zh",
        as_json: Annotated[bool, typer.Option("--json", help="Print the progress as JSON.")] = False,
        team: Annotated[
            bool, typer.Option("--team", help="Every login's summary (needs YUNYING_AUTH).")
        ] = False,
        read: Annotated[
            str | None, typer.Option(help="Mark this module of the path as read (e.g. core-loop) first.")
        ] = None,
    ) -> None:
        """Show what you have read and answered, your weak topics and what is due for review."""
        if lang not in ("zh", "en"):
            raise ValueError(f"unknown language '{lang}': use zh or en")
        service = make_service()
        if read is not None:
            service.record_reading(read)
        if team:
            _print_team(service.team_progress(), as_json)
            return
        view = service.progress(lang)
        if as_json:
            print_json(
                view.model_dump(
                    mode="json", exclude={"suggested": {"__all__": {"readings": {"__all__": {"text"}}}}}
                )
            )
            return
        _print_progress(view, lang)


__all__ = ["register", "run_practice", "run_quiz_answers"]
