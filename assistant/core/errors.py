"""Errors the front ends show as they are (one line in the CLI, a message in the app), and the input checks
that raise them. The limits live in Settings, so the CLI and the app enforce the same ones."""

from __future__ import annotations


class InputError(ValueError):
    """User text that cannot be used: empty, whitespace-only or longer than its documented limit."""


def check_text(text: str | None, *, what: str, limit: int, setting: str) -> str:
    """The text, stripped; raises InputError naming the limit and the setting that changes it."""
    cleaned = (text or "").strip()
    if not cleaned:
        raise InputError(f"the {what} is empty")
    if len(cleaned) > limit:
        raise InputError(
            f"the {what} is {len(cleaned)} characters long; the limit is {limit} (setting YUNYING_{setting})"
        )
    return cleaned
