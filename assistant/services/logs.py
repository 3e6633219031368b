"""The yunying log file: DATA_DIR/logs/yunying.log, rotated, with every secret of the settings masked.

Exceptions from a model server can echo the request, API key included; the formatter redacts the whole
formatted record (message and traceback), so a key never reaches the log even through an exception."""

from __future__ import annotations

import logging
from logging.handlers import RotatingFileHandler
from pathlib import Path

from assistant.core.settings import Settings

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class RedactingFormatter(logging.Formatter):
    def __init__(self, settings: Settings) -> None:
        super().__init__(FORMAT)
        self.settings = settings

    def format(self, record: logging.LogRecord) -> str:
        return self.settings.redact(super().format(record))


def configure_logging(settings: Settings) -> Path:
    """Attach the file handler for this DATA_DIR to the `yunying` logger (once per path)."""
    logger = logging.getLogger("yunying")
    logger.setLevel(settings.log_level)
    path = settings.logs_dir / "yunying.log"
    for handler in logger.handlers:
        if getattr(handler, "yunying_path", None) == path:
            return path
    path.parent.mkdir(parents=True, exist_ok=True)
    handler = RotatingFileHandler(path, maxBytes=5_000_000, backupCount=3, encoding="utf-8", delay=True)
    handler.yunying_path = path  # type: ignore[attr-defined]
    handler.setFormatter(RedactingFormatter(settings))
    logger.addHandler(handler)
    return path
