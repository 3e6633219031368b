"""`yunying docs list|show|delete|reindex`: the documents in the store, and `yunying ingest --watch DIR`
(its loop lives here, the option on `ingest`)."""

from __future__ import annotations

import signal
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from assistant.frontends.cli.service_access import CommandError, echo, print_json, printed_whole, service

docs_app = typer.Typer(
    name="docs", help="The knowledge base's documents: list, show, delete, reindex.", no_args_is_help=True
)

JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON.")]
DocArg = Annotated[str, typer.Argument(help="The document's id (see `yunying docs list`).")]


def _unknown(doc_id: str) -> CommandError:
    return CommandError(f"no document '{doc_id}' in the store; see `yunying docs list`")


@docs_app.command("list")
def list_documents(
    kind: Annotated[str | None, typer.Option(help="Only framework, case or user documents.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Every stored document with its kind and chunk count (framework, cases, then users' files)."""
    if kind is not None and kind not in ("framework", "case", "user"):
        raise CommandError(f"--kind must be framework, case or user, not {kind!r}")
    documents = [d for d in service().documents() if kind is None or d.kind == kind]
    none = "No documents. Is the knowledge base ingested? Run `yunying ingest`."
    if printed_whole(documents, as_json, none):
        return
    for d in documents:
        echo(f"{d.doc_id}  [{d.kind}]  {d.chunks} chunks  {d.title}")


@docs_app.command("show")
def show(
    doc_id: DocArg,
    chunks: Annotated[
        bool, typer.Option("--chunks", help="Print the chunks as stored, not the text.")
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """A document's metadata and text; with --chunks (always in --json) its chunks as stored."""
    svc = service()
    try:
        info, body = svc.document(doc_id)
        stored = svc.document_chunks(doc_id)
    except KeyError:
        raise _unknown(doc_id) from None
    if as_json:
        print_json({**info.model_dump(), "text": body, "stored_chunks": [c.model_dump() for c in stored]})
        return
    echo(f"{info.doc_id}  [{info.kind}]  {info.title}  ({info.chunks} chunks, {info.source})")
    if not chunks:
        echo()
        echo(body)
        return
    for c in stored:
        echo(f"\n--- {c.chunk_id}  position {c.position}  {c.heading}  ({c.bm25_tokens} BM25 tokens)")
        echo(c.text)


@docs_app.command("delete")
def delete(doc_id: DocArg, as_json: JsonOpt = False) -> None:
    """Delete one of your own documents: its chunks, its BM25 entries, and its uploaded copy."""
    try:
        removed = service().remove_user_document(doc_id)
    except KeyError:
        raise _unknown(doc_id) from None
    if as_json:
        print_json(removed.model_dump())
    else:
        echo(f"deleted {removed.doc_id} ({removed.chunks_removed} chunks): {removed.title}")


@docs_app.command("reindex")
def reindex(doc_id: DocArg, as_json: JsonOpt = False) -> None:
    """Read one document's file again and re-embed it, replacing its chunks."""
    try:
        report = service().reindex_document(doc_id)
    except KeyError:
        raise _unknown(doc_id) from None
    except FileNotFoundError as exc:
        raise CommandError(str(exc)) from None
    if as_json:
        print_json(report.model_dump())
        return
    echo(f"reindexed {doc_id}: {report.chunks_added} chunks ({report.seconds:.1f} s)")
    for failed in report.failed:
        echo(f"failed {failed.error}")
    if report.failed:
        raise typer.Exit(1)


def _report_line(report: Any) -> str:
    counts = (
        f"added {len(report.added)}  updated {len(report.updated)}  removed {len(report.removed)}  "
        f"unchanged {len(report.unchanged)}  failed {len(report.failed)}"
    )
    return counts + "".join(f"\n  failed {f.error}" for f in report.failed)


def watch(folder: Path, as_json: bool) -> None:
    """Ingest `folder` now and on every change until Ctrl-C; one report per ingest (a JSON line each
    with --json)."""
    if not folder.is_dir():
        raise CommandError(f"{folder}: --watch needs a folder")

    def on_report(report: Any) -> None:
        if as_json:
            print_json(report.model_dump())
        else:
            echo(_report_line(report))
        sys.stdout.flush()

    if not as_json:
        sys.stderr.write(f"watching {folder} (Ctrl-C to stop)\n")
    # Ctrl-C (SIGINT) and a supervisor's SIGTERM both stop the watch cleanly. A shell starts a background
    # job with SIGINT ignored, and Python then installs no handler of its own: such a watcher ignored
    # `kill -INT` and had to be killed
    for stop_signal in (signal.SIGINT, signal.SIGTERM):
        signal.signal(stop_signal, signal.default_int_handler)
    try:
        service().watch_folder(folder, on_report)
    except KeyboardInterrupt:
        # the store's record is the chunks' metadata: an ingest cut short is completed by the next one
        sys.stderr.write("stopped watching; the store is consistent\n")


def register(app: typer.Typer) -> None:
    app.add_typer(docs_app, name="docs")
