"""Knowledge management beside the catalogue: a document's chunks as stored, and keeping a shared folder
in step with the store (`watch_folder`: added, changed and removed files are ingested as they happen).

Watching is a polling loop over the folder's content hashes (no file-system notification library is a
dependency). Each change runs the ordinary incremental ingest, whose record is the chunks' own metadata:
stopping it at any moment (Ctrl-C) leaves at worst one incomplete document, which the next ingest redoes."""

from __future__ import annotations

import hashlib
import logging
import threading
from collections.abc import Callable
from pathlib import Path

from pydantic import BaseModel

from assistant.ingest.loaders import discover
from assistant.store.records import IngestReport, StoredChunk

log = logging.getLogger("yunying.watch")

# a file's (mtime, size) and its content hash: the hash is only recomputed when the stat changes
Snapshot = dict[str, tuple[tuple[int, int], str]]


class ChunkView(BaseModel):
    """One chunk of a document as the store holds it (what `yunying docs show --chunks` prints)."""

    chunk_id: str
    position: int
    heading: str
    section: int
    lang: str
    text: str
    bm25_tokens: int

    @classmethod
    def of(cls, chunk: StoredChunk) -> ChunkView:
        meta = chunk.metadata
        return cls(
            chunk_id=chunk.chunk_id,
            position=int(meta.get("position", 0)),
            heading=str(meta.get("heading", "")),
            section=int(meta.get("section", 0)),
            lang=str(meta.get("lang", "")),
            text=chunk.text,
            bm25_tokens=len(chunk.tokens),
        )


def snapshot(folder: Path, previous: Snapshot | None = None) -> Snapshot:
    """The content hash of every file the ingest would read under `folder`."""
    previous = previous or {}
    current: Snapshot = {}
    for path in discover([folder]):
        try:
            stat = path.stat()
            key = (stat.st_mtime_ns, stat.st_size)
            known = previous.get(str(path))
            digest = known[1] if known and known[0] == key else hashlib.sha256(path.read_bytes()).hexdigest()
        except OSError:  # removed between listing and reading: the next poll sees it gone
            continue
        current[str(path)] = (key, digest)
    return current


def changed(before: Snapshot, after: Snapshot) -> bool:
    return {p: h for p, (_, h) in before.items()} != {p: h for p, (_, h) in after.items()}


def watch_folder(
    folder: Path,
    ingest: Callable[[Path], IngestReport],
    on_report: Callable[[IngestReport], None],
    *,
    interval: float = 1.0,
    stop: threading.Event | None = None,
) -> None:
    """Ingest `folder` now and again whenever a file under it is added, changed or removed, until `stop`
    is set (or KeyboardInterrupt). A change is ingested once it has held still for one poll, so a file
    being copied in is not read half-written."""
    stop = stop or threading.Event()
    folder = Path(folder)
    state = snapshot(folder)
    on_report(ingest(folder))
    pending: Snapshot | None = None
    while not stop.wait(interval):
        current = snapshot(folder, state)
        if pending is not None and not changed(pending, current):
            state, pending = current, None
            on_report(ingest(folder))
        elif changed(state, current):
            pending = current  # wait one more poll for the folder to settle
        else:
            pending = None
