"""`yunying search`: hybrid (dense + BM25) search of the knowledge base, one query or `--jsonl` batches."""

from __future__ import annotations

import sys
from typing import Annotated, Any

import typer
from pydantic import ValidationError

from assistant.frontends.cli.options import KindOpt, ModelOpt
from assistant.frontends.cli.service_access import CommandError, print_json, service


def search_filters(
    kind: KindOpt | None, model: list[ModelOpt] | None, company: str | None, topic: str | None
) -> Any:
    from assistant.retrieval import SearchFilters

    try:
        return SearchFilters(
            kind=kind.value if kind else None,
            models=[m.value for m in model or []],
            company=company,
            topic=topic,
        )
    except ValidationError as exc:
        first = exc.errors()[0]
        raise CommandError(f"invalid filter '{first['loc'][0]}': {first['msg']}") from exc


def search(
    query: Annotated[
        str | None, typer.Argument(help="The question or keywords (Chinese or English).")
    ] = None,
    k: Annotated[int | None, typer.Option("-k", "--top-k", min=1, max=100, help="Number of hits.")] = None,
    kind: Annotated[KindOpt | None, typer.Option(help="Only this kind of document.")] = None,
    model: Annotated[
        list[ModelOpt] | None, typer.Option(help="Only documents about this model (repeatable).")
    ] = None,
    company: Annotated[str | None, typer.Option(help="Only this company (English or Chinese name).")] = None,
    topic: Annotated[str | None, typer.Option(help="Only this framework topic (e.g. core-loop).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print hits as JSON.")] = False,
    jsonl: Annotated[
        bool, typer.Option("--jsonl", help="Read one query per stdin line; print one JSON object per line.")
    ] = False,
) -> None:
    """Hybrid (dense + BM25) search of the knowledge base."""
    filters = search_filters(kind, model, company, topic)
    if jsonl:
        if query:
            raise CommandError("--jsonl reads queries from stdin; do not also pass QUERY")
        yunying = service()
        for line in sys.stdin:
            text = line.strip()
            if not text:
                continue
            hits = yunying.search(text, k=k, filters=filters)
            print_json({"query": text, "hits": [h.model_dump() for h in hits]})
        return
    if query is None or not query.strip():
        raise CommandError('the query is empty; pass a question, e.g. yunying search "什么是私域流量？"')
    hits = service().search(query, k=k, filters=filters)
    if as_json:
        print_json([h.model_dump() for h in hits])
        return
    _print_hits(hits)


def _print_hits(hits: list[Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    if not hits:
        Console().print("No matching passages. Is the knowledge base ingested? Run `yunying ingest`.")
        return
    table = Table(show_lines=True)
    for column in ("#", "score", "document", "passage"):
        table.add_column(column)
    for hit in hits:
        where = hit.title + (f"\n[dim]{hit.heading}[/]" if hit.heading else "")
        snippet = hit.text if len(hit.text) <= 220 else hit.text[:220] + "…"
        table.add_row(str(hit.rank), f"{hit.score:.4f}", where, snippet)
    Console().print(table)


def register(app: typer.Typer) -> None:
    app.command()(search)
