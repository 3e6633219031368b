"""`yunying ingest`: add, update or remove documents in the store (`--watch` keeps a folder in step)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from assistant.frontends.cli import docs as docs_commands
from assistant.frontends.cli.embedding_progress import embedding_progress
from assistant.frontends.cli.service_access import CommandError, print_json, service
from assistant.store.records import IngestReport


def ingest(
    paths: Annotated[
        list[Path] | None,
        typer.Argument(help="Files or folders (md, txt, pdf, docx); default KNOWLEDGE_DIR."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
    watch: Annotated[
        Path | None,
        typer.Option(
            "--watch", help="Keep this folder in step (added, changed, removed files) until Ctrl-C."
        ),
    ] = None,
) -> None:
    """Add, update or remove documents in the store, embedding only what changed."""
    from assistant.ingest.loaders import CorpusError

    if watch is not None:
        if paths:
            raise CommandError("--watch DIR takes the folder itself; do not also pass PATHS")
        docs_commands.watch(watch, as_json)
        return
    for path in paths or []:
        if not path.exists():
            raise CommandError(f"{path}: no such file or folder")
    yunying = service()
    try:
        with embedding_progress(not as_json and sys.stderr.isatty()) as progress:
            report = yunying.ingest(paths or None, progress=progress)
    except CorpusError as exc:
        raise CommandError(str(exc)) from exc
    if as_json:
        print_json(report.model_dump())
    else:
        _print_report(report)
    if report.failed:
        raise typer.Exit(1)


def _print_report(report: IngestReport) -> None:
    from rich.console import Console
    from rich.markup import escape

    console = Console()
    console.print(
        f"[bold]added[/] {len(report.added)}  [bold]updated[/] {len(report.updated)}  "
        f"[bold]unchanged[/] {len(report.unchanged)}  [bold]removed[/] {len(report.removed)}  "
        f"[bold]failed[/] {len(report.failed)}   "
        f"({report.total_documents} documents, {report.total_chunks} chunks, {report.seconds:.1f} s)"
    )
    for failed in report.failed:
        console.print(f"[red]failed[/] {escape(failed.error)}", soft_wrap=True)
    for warning in report.warnings:
        console.print(f"note: {warning.error}", soft_wrap=True, markup=False, highlight=False)


def register(app: typer.Typer) -> None:
    app.command()(ingest)
