"""`yunying`: the command-line front end, its typer root and entry point. Each command group lives in a
module of its own that adds its commands with `register(app)`. The JSON output is a contract scripts and
the eval suite use: fields are only ever added, never renamed or dropped. Errors: non-zero exit, one line
on stderr, never a traceback."""

from __future__ import annotations

import contextlib
import sys

import typer
from pydantic import ValidationError

from assistant.core.settings import Settings
from assistant.frontends.cli import (
    ask,
    config,
    docs,
    fit,
    gaps,
    history,
    ingest,
    learning,
    progress,
    search,
    serve,
    tools,
)
from assistant.frontends.cli.service_access import CommandError

app = typer.Typer(
    name="yunying",
    help="Yunying (运营): a grounded knowledge assistant for internet operations.",
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)

# the order of `yunying --help`
for group in (ingest, search, ask, fit, learning, progress, tools, serve, history, docs, gaps, config):
    group.register(app)


def _redact(message: str) -> str:
    """Mask every secret in effect (API key, login passwords): a server may echo a key in its error."""
    try:
        return Settings().redact(message)
    except Exception:  # invalid settings: mask what the environment holds
        import os

        for name in ("YUNYING_OPENAI_API_KEY", "OPENAI_API_KEY"):
            secret = os.environ.get(name, "")
            if len(secret) >= 4:
                message = message.replace(secret, "**********")
        return message


def _fail(message: str, code: int = 1) -> None:
    sys.stderr.write(f"yunying: error: {' '.join(_redact(message).split())}\n")
    sys.exit(code)


def _llm_error(exc: Exception) -> str | None:
    """One line for a failure of the answer backend, or None when `exc` is not one."""
    from assistant.llm import LLMRequestError, LLMUnavailable

    if isinstance(exc, (LLMUnavailable, LLMRequestError)):
        return str(exc)
    try:
        import openai
    except ImportError:  # pragma: no cover - langchain-openai is a dependency
        return None
    settings_url = ""
    with contextlib.suppress(Exception):
        settings_url = Settings().openai_base_url
    where = f" at {settings_url}" if settings_url else ""
    if isinstance(exc, openai.APIConnectionError):
        return f"cannot reach the OpenAI-compatible server{where} ({exc.__class__.__name__}); is it running?"
    if isinstance(exc, openai.APIStatusError):
        return (
            f"the OpenAI-compatible server{where} refused the request (HTTP {exc.status_code}: {exc.message})"
        )
    if isinstance(exc, openai.OpenAIError):
        return f"the OpenAI-compatible server{where} failed: {exc}"
    return None


def main(argv: list[str] | None = None) -> None:
    """Entry point: every error becomes one clear line on stderr and a non-zero exit, no traceback. The
    offline environment is applied by the service every command builds (services.yunying)."""
    try:
        result = app(args=argv, prog_name="yunying", standalone_mode=False)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except typer.Abort:
        _fail("aborted", 130)
    except typer.TyperException as exc:  # usage errors: typer >= 0.29 vendors click's exceptions
        if type(exc).__name__ == "NoArgsIsHelpError":
            sys.stdout.write(exc.ctx.get_help() + "\n")  # type: ignore[attr-defined]
            sys.exit(0)
        _fail(exc.format_message().replace("Value error, ", ""), exc.exit_code)
    except ValidationError as exc:  # a ValueError too, so it must come first
        first = exc.errors()[0]
        field = ".".join(map(str, first["loc"])) or "settings"
        _fail(f"invalid setting YUNYING_{field.upper()}: {first['msg'].removeprefix('Value error, ')}")
    except (CommandError, ValueError, ConnectionError, OSError) as exc:
        _fail(str(exc) or exc.__class__.__name__)
    except KeyboardInterrupt:
        _fail("interrupted; the store stays consistent and the next ingest completes it", 130)
    except Exception as exc:  # the contract: one line, never a traceback (details go to the log)
        message = _llm_error(exc)
        if message is None:
            import logging

            logging.getLogger("yunying").debug("unexpected error", exc_info=True)
            message = f"unexpected {exc.__class__.__name__}: {exc}"
        _fail(message)
    sys.exit(result if isinstance(result, int) else 0)


if __name__ == "__main__":
    main()
