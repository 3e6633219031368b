"""Kept for the old import path: the service lives in assistant.services.yunying."""

from assistant.services.yunying import QuizKind, Yunying  # noqa: F401
