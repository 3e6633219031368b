"""The progress bar an ingest (or the eval's store) shows while it embeds chunks."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from assistant.store.records import IngestProgress


@contextlib.contextmanager
def embedding_progress(enabled: bool) -> Iterator[IngestProgress | None]:
    """A rich progress bar over the chunks an ingest embeds, on stderr (so `--json` output on stdout
    stays clean), or None when not wanted; the store calls it with (done, total)."""
    if not enabled:
        yield None
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    bar = Progress(
        TextColumn("embedding chunks"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        transient=True,
        console=Console(stderr=True),
    )
    task = bar.add_task("embed", total=None)

    def advance(done: int, total: int) -> None:
        if not bar.live.is_started:
            bar.start()
        bar.update(task, completed=done, total=total)

    try:
        yield advance
    finally:
        bar.stop()
