"""Kept for the old import path (the API tests): the loopback and login policy is services/security.py."""

from assistant.services.security import (  # noqa: F401
    SecurityError,
    is_loopback,
    load_api_keys,
    load_logins,
    serve_api_keys,
    serve_logins,
)
