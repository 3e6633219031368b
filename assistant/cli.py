"""Kept for `python -m assistant.cli` and the `yunying` script: the CLI lives in assistant/frontends/cli/."""

from assistant.frontends.cli.app import app, main

__all__ = ["app", "main"]

if __name__ == "__main__":
    main()
