"""The LLM layer's two errors."""

from __future__ import annotations


class LLMUnavailable(RuntimeError):
    """The configured LLM cannot be used (missing weights package, bad hash, missing settings...)."""


class LLMRequestError(RuntimeError):
    """llama.cpp refused or failed a request (for example ``exceed_context_size_error``)."""

    def __init__(self, message: str, error_type: str = "", code: int | None = None) -> None:
        super().__init__(message)
        self.error_type = error_type
        self.code = code
