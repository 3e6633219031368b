"""File helpers shared by the modules that build model files under DATA_DIR."""

from __future__ import annotations

import contextlib
import fcntl
from collections.abc import Iterator
from pathlib import Path


@contextlib.contextmanager
def exclusive_lock(target: Path) -> Iterator[None]:
    """Serialize processes building the same target (tests, the CLI and the server may start together);
    the lock is a hidden sibling file, so it works for files and folders alike."""
    lock_path = target.parent / f".{target.name}.lock"
    with lock_path.open("w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)
