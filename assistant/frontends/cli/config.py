"""`yunying config`: the effective settings (env vars YUNYING_*, .env, defaults)."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from assistant.core.settings import Settings
from assistant.frontends.cli.service_access import print_json


def show_config(
    as_json: Annotated[bool, typer.Option("--json", help="Print settings as JSON.")] = False,
) -> None:
    """Print the effective settings (env vars YUNYING_*, .env, defaults)."""
    settings = Settings()
    if as_json:
        print_json(json.loads(settings.model_dump_json()))
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(title="Yunying settings")
    for column in ("variable", "value", "meaning"):
        table.add_column(column)
    for name, value, description in settings.described():
        table.add_row(name, value, description)
    Console().print(table)


def register(app: typer.Typer) -> None:
    app.command("config")(show_config)
