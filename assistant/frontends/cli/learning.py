"""`yunying learn` (the onboarding path) and `yunying quiz` (recall, scenario and practice questions)."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any

import typer

from assistant.frontends.cli import progress as progress_cli
from assistant.frontends.cli.options import LangOpt
from assistant.frontends.cli.service_access import CommandError, print_json, service


class QuizTypeOpt(StrEnum):
    recall = "recall"
    scenario = "scenario"
    practice = "practice"


def learn(
    lang: Annotated[LangOpt, typer.Option(help="Language of titles, summaries and objectives.")] = LangOpt.zh,
    as_json: Annotated[bool, typer.Option("--json", help="Print the modules as JSON.")] = False,
) -> None:
    """Print the onboarding learning path: modules in order, each with a cited summary and readings."""
    modules = service().learning_path(lang.value)
    if as_json:
        print_json([m.model_dump(exclude={"readings": {"__all__": {"text"}}}) for m in modules])
        return
    from rich.console import Console

    console = Console(soft_wrap=True)
    for module in modules:
        console.print(f"\n[bold]{module.order}. {module.title}[/]  [dim]({module.key})[/]")
        console.print(module.summary, markup=False, highlight=False)
        for objective in module.objectives:
            console.print(f"  • {objective}", markup=False, highlight=False)
        for c in module.readings:
            console.print(
                f"  [{c.n}] {c.title}" + (f" › {c.heading}" if c.heading else "") + f"  ({c.doc_id})",
                markup=False,
                highlight=False,
            )


def quiz(
    lang: Annotated[LangOpt, typer.Option(help="Language of the questions.")] = LangOpt.zh,
    module: Annotated[
        str | None, typer.Option(help="Only questions of this module (e.g. core-loop, community).")
    ] = None,
    n: Annotated[
        int | None,
        typer.Option("-n", "--number", min=1, max=500, help="At most this many questions (10; practice: 1)."),
    ] = None,
    seed: Annotated[int, typer.Option(help="Same seed, same questions and option order.")] = 0,
    as_json: Annotated[bool, typer.Option("--json", help="Print the questions as JSON.")] = False,
    kind: Annotated[
        QuizTypeOpt,
        typer.Option(
            "--type",
            help="recall: what the documents state; scenario: a situation to diagnose; practice: a case "
            "with its name hidden, answered in your own words.",
        ),
    ] = QuizTypeOpt.recall,
    answer: Annotated[
        str | None,
        typer.Option(
            help="Answer without a prompt and record it: practice, your text (which model and why); "
            "recall/scenario, one letter per question (A,C,B).",
        ),
    ] = None,
    case: Annotated[str | None, typer.Option(help="practice: this case (e.g. case-keep).")] = None,
) -> None:
    """Print a quiz generated from the knowledge base (deterministic, no LLM), answers at the end."""
    if kind == QuizTypeOpt.practice:
        return progress_cli.run_practice(lang.value, n or 1, seed, as_json, answer, case)
    try:
        questions = service().quiz(lang.value, module=module, n=n or 10, seed=seed, kind=kind.value)
    except ValueError as exc:
        raise CommandError(str(exc)) from exc
    if answer is not None:
        return progress_cli.run_quiz_answers(questions, kind.value, answer, as_json)
    if as_json:
        print_json([q.model_dump(exclude={"citation": {"text"}}) for q in questions])
        return
    _print_quiz(questions, kind)


def _print_quiz(questions: list[Any], kind: QuizTypeOpt) -> None:
    from rich.console import Console

    console = Console(soft_wrap=True)
    if not questions:
        console.print("No questions. Is the knowledge base ingested? Run `yunying ingest`.")
        return
    for number, q in enumerate(questions, start=1):
        # a scenario's module is the model it is about, i.e. its answer: not shown with the question
        tag = "" if kind == QuizTypeOpt.scenario else f"  [dim]({q.module})[/]"
        console.print(f"\n[bold]{number}. {q.question}[/]{tag}", highlight=False)
        for i, option in enumerate(q.options):
            console.print(f"   {chr(65 + i)}. {option}", markup=False, highlight=False)
    console.print("\n[bold]Answers[/]")
    for number, q in enumerate(questions, start=1):
        console.print(
            f"{number}. {chr(65 + q.answer_index)}  {q.explanation}  [1] {q.citation.doc_id}",
            markup=False,
            highlight=False,
        )


def register(app: typer.Typer) -> None:
    app.command()(learn)
    app.command()(quiz)
