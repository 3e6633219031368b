"""`yunying ask`: an answer from the knowledge base with numbered citations, one question or `--jsonl`."""

from __future__ import annotations

import json
import sys
from typing import Annotated

import typer

from assistant.frontends.cli import history as history_commands
from assistant.frontends.cli.options import LLMOpt
from assistant.frontends.cli.service_access import CommandError, print_json, service

# the chunk text of each citation stays out of the JSON answer (the quote is there)
WITHOUT_CHUNK_TEXT = {"citations": {"__all__": {"text"}}}


def parse_turns(line: str) -> tuple[str, list[dict[str, str]]]:
    """A --jsonl line: plain text, a JSON string, or a JSON list of turns whose last user turn is the
    question and whose earlier turns are the history."""
    text = line.strip()
    if not text.startswith(("[", '"', "{")):
        return text, []
    try:
        data = json.loads(text)
    except json.JSONDecodeError:
        return text, []
    if isinstance(data, str):
        return data, []
    if isinstance(data, dict):
        data = [data]
    if not isinstance(data, list) or not all(isinstance(t, dict) and "content" in t for t in data):
        raise CommandError("a --jsonl line must be a question or a JSON list of {role, content} turns")
    turns = [{"role": str(t.get("role", "user")), "content": str(t["content"])} for t in data]
    if turns[-1]["role"] != "user":
        raise CommandError("the last turn of a --jsonl conversation must be the user's question")
    return turns[-1]["content"], turns[:-1]


def ask(
    question: Annotated[str | None, typer.Argument(help="The question (Chinese or English).")] = None,
    llm: Annotated[LLMOpt | None, typer.Option(help="Answer backend (default: YUNYING_LLM).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the answer as JSON.")] = False,
    jsonl: Annotated[
        bool,
        typer.Option(
            "--jsonl", help="Read one question (or JSON list of turns) per stdin line; JSON per line."
        ),
    ] = False,
    conversation: Annotated[
        str | None,
        typer.Option(help="Save the turn to this saved conversation (`new` starts one; see `history`)."),
    ] = None,
) -> None:
    """Answer from the knowledge base with numbered citations, or say it is not covered."""
    yunying = service()
    backend = llm.value if llm else None
    if jsonl:
        if question or conversation:
            raise CommandError(
                "--jsonl reads questions from stdin; do not also pass QUESTION or --conversation"
            )
        chain = yunying.answer_chain(backend)
        for line in sys.stdin:
            if not line.strip():
                continue
            text, history = parse_turns(line)
            print_json(chain.invoke(text, history).model_dump(exclude=WITHOUT_CHUNK_TEXT))
        return
    if question is None or not question.strip():
        raise CommandError('the question is empty; e.g. yunying ask "什么是私域流量？"')
    saved = history_commands.conversation_for(yunying, conversation)
    if as_json:
        answer = yunying.ask(question, backend=backend, conversation_id=saved)
        extra = {"conversation_id": saved} if saved else {}
        print_json({**answer.model_dump(exclude=WITHOUT_CHUNK_TEXT), **extra})
        return
    from rich.console import Console

    from assistant.frontends.cli.answer_view import show_answer

    show_answer(yunying.stream_answer(question, backend=backend, conversation_id=saved), Console())


def register(app: typer.Typer) -> None:
    app.command()(ask)
