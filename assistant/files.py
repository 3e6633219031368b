"""Kept for the old import path (llm/weights.py): the file helpers live in core/files.py."""

from assistant.core.files import exclusive_lock  # noqa: F401
