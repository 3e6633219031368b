"""Users' own files: checked, copied to DATA_DIR/uploads under a safe name, ingested as `user` documents.

The checks run before anything is written: an allowed extension, a size limit (YUNYING_MAX_FILE_MB), a
file the corpus loader can read, and no knowledge-base front matter (an upload must never replace a
framework or case document by declaring its id).
"""

from __future__ import annotations

import os
import re
import tempfile
import unicodedata
from pathlib import Path
from typing import Literal

from pydantic import BaseModel

from assistant.ingest.loaders import CorpusError, load_document

UPLOAD_SUFFIXES = (".md", ".txt", ".pdf", ".docx")
MAX_NAME = 100


class UploadResult(BaseModel):
    """What happened to one uploaded file."""

    name: str
    status: Literal["accepted", "updated", "unchanged", "rejected"]
    reason: str = ""
    stored_as: str = ""
    doc_id: str = ""
    title: str = ""
    chunks: int = 0

    @property
    def ok(self) -> bool:
        return self.status != "rejected"


class RemoveResult(BaseModel):
    doc_id: str
    title: str
    chunks_removed: int
    file_deleted: bool


def safe_filename(name: str) -> str:
    """The last path component only, NFKC-normalised, letters/digits/`._-` (CJK letters kept), no leading
    dot, at most 100 characters with the extension kept. `../../etc/passwd` becomes `passwd`."""
    base = re.split(r"[\\/]", unicodedata.normalize("NFKC", name or ""))[-1]
    base = "".join(ch for ch in base if ch.isprintable())
    stem, dot, suffix = base.rpartition(".")
    if not dot:
        stem, suffix = base, ""
    stem = re.sub(r"[^\w.-]+", "_", stem, flags=re.UNICODE).strip("._-")
    suffix = re.sub(r"[^A-Za-z0-9]+", "", suffix).lower()
    stem = stem[: MAX_NAME - len(suffix) - 1] or "upload"
    return f"{stem}.{suffix}" if suffix else stem


def check_upload(path: Path, name: str, max_mb: float) -> str:
    """Why this file cannot be accepted ('' when it can)."""
    suffix = Path(name).suffix.lower()
    if suffix not in UPLOAD_SUFFIXES:
        shown = suffix or "(none)"
        return f"file type {shown} is not accepted; use {', '.join(s[1:] for s in UPLOAD_SUFFIXES)}"
    try:
        size = path.stat().st_size
    except OSError as exc:
        return f"cannot read the file ({exc.strerror})"
    if size == 0:
        return "the file is empty"
    if size > max_mb * 1024 * 1024:
        return f"{size / 1024 / 1024:.1f} MB is over the {max_mb:g} MB limit (YUNYING_MAX_FILE_MB)"
    # parse a copy under the final name's suffix: the loader picks the format by extension
    with tempfile.TemporaryDirectory() as tmp:
        probe = Path(tmp) / f"probe{suffix}"
        probe.write_bytes(path.read_bytes())
        try:
            doc = load_document(probe)
        except CorpusError as exc:
            return str(exc).replace(str(probe), name).removeprefix(f"{name}: ")
    if doc.kind != "user":
        return (
            f"it has knowledge-base front matter (id '{doc.id}', kind {doc.kind}); knowledge documents are "
            "added to the knowledge folder, remove the front matter to upload it as your own document"
        )
    return ""


def store_upload(source: Path, directory: Path, name: str) -> Path:
    """Copy atomically into the uploads folder (a half-written file is never ingested)."""
    directory.mkdir(parents=True, exist_ok=True)
    target = directory / name
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=".part-")
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(source.read_bytes())
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target
