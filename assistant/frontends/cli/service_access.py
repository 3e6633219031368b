"""What the command groups share: the service, JSON output, and the error `main` prints as one line."""

from __future__ import annotations

import json
import sys
from typing import Any

from assistant.core.settings import Settings


class CommandError(ValueError):
    """Bad input or an unknown id: `yunying`'s main prints it as one line on stderr and exits 1."""


def service(settings: Settings | None = None) -> Any:
    from assistant.service import Yunying

    return Yunying(settings or Settings())


def print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, ensure_ascii=False) + "\n")
    sys.stdout.flush()


def echo(text: str = "") -> None:
    sys.stdout.write(text + "\n")
