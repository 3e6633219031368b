"""`yunying history list|show|export|rename|delete`: the saved conversations (the same ones the app and the
API save), per user (`--user`, default the one local user)."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer

from assistant.frontends.cli.service_access import CommandError, echo, print_json, printed_whole, service

history_app = typer.Typer(
    name="history", help="Saved conversations: list, show, export, rename, delete.", no_args_is_help=True
)

UserOpt = Annotated[str, typer.Option("--user", help="Whose conversations (default: the local user).")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON.")]
IdArg = Annotated[str, typer.Argument(help="The conversation's id (see `yunying history list`).")]


def _conversations() -> Any:
    return service().conversations


def _user(user: str) -> str:
    from assistant.services.database import LOCAL_USER  # imported late: SQLAlchemy costs every start

    return user or LOCAL_USER


Found = TypeVar("Found")


def _known(conversation_id: str, read: Callable[[], Found]) -> Found:
    """What `read` returns of a saved conversation; one the user does not have (KeyError) is one clear
    error line."""
    try:
        return read()
    except KeyError:
        raise CommandError(f"no saved conversation '{conversation_id}'; see `yunying history list`") from None


@history_app.command("list")
def list_conversations(user: UserOpt = "", as_json: JsonOpt = False) -> None:
    """The saved conversations, the most recently used first."""
    summaries = _conversations().list(_user(user))
    if printed_whole(summaries, as_json, "No saved conversations."):
        return
    for s in summaries:
        echo(f"{s.id}  {s.updated[:16].replace('T', ' ')}  {s.turn_count:>3} turns  {s.title}")


@history_app.command("show")
def show(conversation_id: IdArg, user: UserOpt = "", as_json: JsonOpt = False) -> None:
    """Every question and answer of a conversation, each answer with its numbered sources."""
    conversation = _known(conversation_id, lambda: _conversations().get(conversation_id, _user(user)))
    if as_json:
        print_json(
            conversation.model_dump(
                exclude={"turns": {"__all__": {"answer": {"citations": {"__all__": {"text"}}}}}}
            )
        )
        return
    echo(f"# {conversation.title}")
    for turn in conversation.turns:
        echo(f"\n> {turn.question}\n")
        echo(turn.answer.answer)
        for c in turn.answer.citations:
            gone = "  (source deleted)" if c.deleted else ""
            echo(f"  [{c.n}] {c.title}" + (f" › {c.heading}" if c.heading else "") + f"  ({c.doc_id}){gone}")


@history_app.command("export")
def export(
    conversation_id: IdArg,
    out: Annotated[Path, typer.Argument(help="The file to write: .md or .docx.")],
    user: UserOpt = "",
    as_json: JsonOpt = False,
) -> None:
    """Write a conversation as Markdown or Word, with numbered references."""
    if out.suffix.lower() not in (".md", ".docx"):
        raise CommandError(f"{out}: a conversation can be exported as .md or .docx")
    path = _known(conversation_id, lambda: service().export_conversation(conversation_id, out, _user(user)))
    if as_json:
        print_json({"id": conversation_id, "path": str(path)})
    else:
        echo(str(path))


@history_app.command("rename")
def rename(
    conversation_id: IdArg,
    title: Annotated[str, typer.Argument(help="The new title.")],
    user: UserOpt = "",
    as_json: JsonOpt = False,
) -> None:
    """Give a conversation a new title."""
    summary = _known(conversation_id, lambda: _conversations().rename(conversation_id, title, _user(user)))
    if as_json:
        print_json(summary.model_dump())
    else:
        echo(f"renamed {summary.id}: {summary.title}")


@history_app.command("delete")
def delete(conversation_id: IdArg, user: UserOpt = "", as_json: JsonOpt = False) -> None:
    """Delete a conversation and all its turns."""
    summary = _known(conversation_id, lambda: _conversations().delete(conversation_id, _user(user)))
    if as_json:
        print_json({**summary.model_dump(), "deleted": True})
    else:
        echo(f"deleted {summary.id} ({summary.turn_count} turns): {summary.title}")


def conversation_for(svc: Any, wanted: str | None, user: str = "") -> str | None:
    """The id of the saved conversation `yunying ask --conversation` names (`new` starts one and says so
    on stderr); None when none is named."""
    if not wanted:
        return None
    if wanted == "new":
        created = svc.conversations.create(_user(user))
        sys.stderr.write(f"conversation: {created.id}\n")
        return created.id
    return _known(wanted, lambda: svc.conversations.summary(wanted, _user(user)).id)


def register(app: typer.Typer) -> None:
    app.add_typer(history_app, name="history")
