"""The store's generation stamp: a small file beside the store that every write moves on.

Each process keeps its own BM25 index and onboarding results built from the store. A write made by
another process (`yunying docs delete` while `yunying serve` runs) is invisible to that process's
in-memory counter, so readers compare this on-disk stamp per request (one small file read) and
rebuild when it moved."""

from __future__ import annotations

import os
import time
import uuid
from pathlib import Path


class StoreGeneration:
    """A stamp file; `current()` changes whenever any process on this data dir calls `bump()`."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def current(self) -> str:
        try:
            return self.path.read_text(encoding="utf-8").strip()
        except FileNotFoundError:
            return ""

    def bump(self) -> str:
        # A fresh value, not old + 1: two processes bumping at once still both leave a new stamp, and
        # os.replace makes the write atomic, so a reader never sees a half-written one.
        stamp = f"{time.time_ns()}-{uuid.uuid4().hex[:8]}"
        self.path.parent.mkdir(parents=True, exist_ok=True)
        temporary = self.path.with_name(f"{self.path.name}.{os.getpid()}.tmp")
        temporary.write_text(stamp, encoding="utf-8")
        os.replace(temporary, self.path)
        return stamp
