"""Kept for the old import path (answer/, fit/, the API): input errors live in core/errors.py."""

from assistant.core.errors import InputError, check_text  # noqa: F401
