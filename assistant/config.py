"""Kept for the old import path (the web UI, the API, tests): settings live in core/settings.py."""

from assistant.core.settings import Settings, apply_offline_env  # noqa: F401
