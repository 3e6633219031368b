"""What the command groups share: the service, JSON output, and the error `main` prints as one line."""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel

from assistant.core.settings import Settings


class CommandError(ValueError):
    """Bad input or an unknown id: `yunying`'s main prints it as one line on stderr and exits 1."""


def service(settings: Settings | None = None) -> Any:
    from assistant.services.yunying import Yunying

    return Yunying(settings or Settings())


def print_json(data: Any) -> None:
    """One JSON value on a line; dates and paths (progress records hold them) as their text."""
    sys.stdout.write(json.dumps(data, ensure_ascii=False, default=str) + "\n")
    sys.stdout.flush()


def echo(text: str = "") -> None:
    sys.stdout.write(text + "\n")


def printed_whole(items: Sequence[BaseModel], as_json: bool, none: str) -> bool:
    """A list command's common part: with --json the items as one JSON list, else the line saying there
    are none when there are none. True when that was all there is to print."""
    if as_json:
        print_json([item.model_dump() for item in items])
        return True
    if not items:
        echo(none)
        return True
    return False
