"""`yunying gaps [--all] [--json]` and `yunying gaps resolve ID`: the knowledge-gap queue, grouped by
nearest topic with the most frequent first, so a curator sees what to write next."""

from __future__ import annotations

from typing import Annotated

import typer

from assistant.frontends.cli.service_access import CommandError, echo, print_json, printed_whole, service
from assistant.resources import load_yaml

gaps_app = typer.Typer(
    name="gaps",
    help="The knowledge-gap queue: refused questions, unsupported answers, thumbs-down.",
    invoke_without_command=True,
)

JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON.")]


@gaps_app.callback()
def list_gaps(
    ctx: typer.Context,
    include_resolved: Annotated[bool, typer.Option("--all", help="Resolved entries too.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """List the open entries grouped by nearest topic, the most frequent topic first."""
    if ctx.invoked_subcommand is not None:
        return
    groups = service().gaps.grouped(include_resolved)
    if printed_whole(groups, as_json, "No knowledge gaps recorded."):
        return
    words = load_yaml("services/wording.yaml")["gaps"]
    for group in groups:
        echo(f"\n{group.topic or words['no_topic']['en']}  ({group.count})")
        for entry in group.entries:
            mark = "resolved " if entry.resolved else ""
            echo(f"  #{entry.id} {mark}[{words['reasons'][entry.reason]['en']}] {entry.question}")


@gaps_app.command("resolve")
def resolve(
    entry_id: Annotated[int, typer.Argument(help="The entry's number (#ID in `yunying gaps`).")],
    reopen: Annotated[bool, typer.Option("--reopen", help="Mark it open again.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Mark an entry resolved (the knowledge base now covers it), or open again with --reopen."""
    try:
        entry = service().gaps.resolve(entry_id, resolved=not reopen)
    except KeyError:
        raise CommandError(f"no knowledge-gap entry #{entry_id}; see `yunying gaps --all`") from None
    if as_json:
        print_json(entry.model_dump())
    else:
        echo(f"#{entry.id} {'resolved' if entry.resolved else 'open again'}: {entry.question}")


def register(app: typer.Typer) -> None:
    app.add_typer(gaps_app, name="gaps")
