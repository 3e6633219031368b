"""`yunying fit`: rank the five operating models for a business, with cited evidence, and draft a memo."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from pydantic import ValidationError

from assistant.frontends.cli.options import LLMOpt
from assistant.frontends.cli.service_access import CommandError, print_json, service


def fit(
    text: Annotated[str | None, typer.Option("--text", help="The business description.")] = None,
    file: Annotated[Path | None, typer.Option("--file", help="Read the description from this file.")] = None,
    llm: Annotated[LLMOpt | None, typer.Option(help="Backend (default YUNYING_LLM).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the analysis as JSON.")] = False,
    memo: Annotated[Path | None, typer.Option("--memo", help="Write the memo to out.md or out.docx.")] = None,
    business_type: Annotated[
        str, typer.Option("--business-type", help="Selection factor: what kind of business it is.")
    ] = "",
    resources: Annotated[str, typer.Option(help="Selection factor: the team's resources, strengths.")] = "",
    target_users: Annotated[
        str, typer.Option("--target-users", help="Selection factor: who it serves.")
    ] = "",
    stage: Annotated[str, typer.Option(help="Selection factor: stage (start-up, growth, mature).")] = "",
) -> None:
    """Rank the five operating models for a business, with cited evidence, and draft a memo."""
    from assistant.fit import FitInputError

    factors = _factors(business_type, resources, target_users, stage)
    if text is not None and file is not None:
        raise CommandError("give the business description with one of --text or --file, not both")
    if text is None and file is None and not factors.given():
        raise CommandError("give the business description with --text or --file")
    if file is not None:
        text = _read_description(file)
    if memo is not None and memo.suffix.lower() not in (".md", ".docx"):
        raise CommandError(f"{memo}: the memo can be written as .md or .docx")
    try:
        analysis = service().fit(text or "", llm.value if llm else None, factors)
    except FitInputError as exc:
        raise CommandError(str(exc)) from exc
    if memo is not None:
        from assistant.fit.export import export

        export(analysis, memo)
    if as_json:
        print_json(json.loads(analysis.model_dump_json(exclude={"references": {"__all__": {"text"}}})))
        return
    from rich.console import Console
    from rich.markdown import Markdown

    Console().print(Markdown(analysis.memo_markdown))
    if memo is not None:
        sys.stderr.write(f"memo: {memo}\n")


def _factors(business_type: str, resources: str, target_users: str, stage: str) -> Any:
    from assistant.fit import SelectionFactors

    try:
        return SelectionFactors(
            business_type=business_type, resources=resources, target_users=target_users, stage=stage
        )
    except ValidationError as exc:
        field = ".".join(str(p) for p in exc.errors()[0]["loc"])
        raise CommandError(f"--{field.replace('_', '-')}: {exc.errors()[0]['msg']}") from exc


def _read_description(file: Path) -> str:
    from assistant.ingest.loaders import decode_text

    try:
        text, _ = decode_text(file.read_bytes())
    except (OSError, UnicodeError) as exc:
        raise CommandError(f"{file}: cannot read the description ({exc.__class__.__name__})") from exc
    return text


def register(app: typer.Typer) -> None:
    app.command()(fit)
