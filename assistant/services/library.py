"""The knowledge-admin half of the service: the catalogue, users' files, reindex and watch.

A mixin of `Yunying` (services.yunying), which builds the store it works on: it only uses the
composition root's `settings`, `index`, `ingest`, `search` and write lock."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from assistant.core.settings import Settings
from assistant.ingest.loaders import user_doc_id
from assistant.ingest.pipeline import ingest_files
from assistant.ingest.uploads import RemoveResult, UploadResult, check_upload, safe_filename, store_upload
from assistant.services.catalog import DocumentInfo, catalog, document_body
from assistant.services.knowledge import ChunkView, watch_folder
from assistant.store.records import IngestReport

if TYPE_CHECKING:
    from assistant.store.chroma import KnowledgeIndex

log = logging.getLogger("yunying.service")


class KnowledgeLibrary:
    """Browse, add, remove and re-read the stored documents (the app's knowledge tab, `yunying docs`)."""

    settings: Settings
    index: KnowledgeIndex
    _write_lock: threading.Lock

    ingest: Callable[..., IngestReport]  # the composition root's (one write at a time)

    # ---- the knowledge catalogue, users' files

    def documents(self) -> list[DocumentInfo]:
        """Every stored document with its metadata and chunk count (framework, cases, then users')."""
        return catalog(self.index.chunk_metadatas())

    def document(self, doc_id: str) -> tuple[DocumentInfo, str]:
        """One document's metadata and whole text (Markdown); KeyError when the store has no such id."""
        chunks = self.index.document_chunks(doc_id)
        if not chunks:
            raise KeyError(doc_id)
        info = catalog(c.metadata for c in chunks)[0]
        body = document_body(info, [(int(c.metadata.get("position", 0)), c.text) for c in chunks])
        return info, body

    def add_user_files(
        self, paths: Sequence[Path], progress: Callable[[float, str], None] | None = None
    ) -> list[UploadResult]:
        """Check each file (extension, size, readable, no knowledge front matter), copy the good ones to
        DATA_DIR/uploads under a sanitised name, then ingest them incrementally. One result per file."""
        uploads = self.settings.uploads_dir
        results: list[UploadResult] = []
        stored: list[tuple[UploadResult, Path]] = []
        total = max(1, len(paths))
        for i, path in enumerate(paths):
            path = Path(path)
            name = safe_filename(path.name)
            if progress:
                progress(i / total * 0.5, f"checking {name}")
            reason = check_upload(path, name, self.settings.max_file_mb)
            if reason:
                log.info("upload rejected: %s: %s", name, reason)
                results.append(UploadResult(name=name, status="rejected", reason=reason))
                continue
            result = UploadResult(name=name, status="accepted", stored_as=str(uploads / name))
            results.append(result)
            if any(r.name == name for r, _ in stored):
                result.status, result.reason = "rejected", "the same name twice in one upload"
                continue
            stored.append((result, store_upload(path, uploads, name)))
        if not stored:
            return results
        if progress:
            progress(0.5, "indexing")
        report = self.ingest([target for _, target in stored])
        failed = {str(Path(f.path).resolve()): f.error for f in report.failed}
        for result, target in stored:
            doc_id = user_doc_id(target)
            result.doc_id = doc_id
            if str(target.resolve()) in failed:
                target.unlink(missing_ok=True)
                result.status = "rejected"
                result.reason = failed[str(target.resolve())].replace(str(target.resolve()), result.name)
                result.reason = result.reason.removeprefix(f"{result.name}: ")
                result.doc_id = ""
            elif doc_id in report.unchanged:
                result.status = "unchanged"
            elif doc_id in report.updated:
                result.status = "updated"
        for result in results:
            if result.doc_id:
                chunks = self.index.document_chunks(result.doc_id)
                result.chunks = len(chunks)
                result.title = str(chunks[0].metadata.get("title", "")) if chunks else ""
        if progress:
            progress(1.0, "done")
        return results

    def remove_user_document(self, doc_id: str) -> RemoveResult:
        """Delete one of the users' documents: its chunks, and its file when it is an upload. Framework and
        case documents cannot be removed here (ValueError); an unknown id is a KeyError. BM25 and the
        onboarding results follow (both are rebuilt when the store's write counter moves); there is no
        answer cache to clear."""
        info, _ = self.document(doc_id)
        if info.kind != "user":
            raise ValueError(f"{doc_id} is a {info.kind} document; only your own documents can be removed")
        with self._write_lock:
            removed = self.index.remove_document(doc_id)
        source = Path(info.source)
        uploads = self.settings.uploads_dir.resolve()
        deleted = False
        if info.source and uploads in source.resolve().parents and source.is_file():
            source.unlink()  # only our copy; a file ingested from the user's own folder stays where it is
            deleted = True
        return RemoveResult(doc_id=doc_id, title=info.title, chunks_removed=removed, file_deleted=deleted)

    def document_chunks(self, doc_id: str) -> list[ChunkView]:
        """One document's chunks as stored, in reading order; KeyError when the store has no such id."""
        chunks = self.index.document_chunks(doc_id)
        if not chunks:
            raise KeyError(doc_id)
        return [ChunkView.of(c) for c in chunks]

    def reindex_document(self, doc_id: str) -> IngestReport:
        """Read one document's file again and re-embed it, replacing its chunks (a changed chunk size, a
        damaged document). KeyError: unknown id; FileNotFoundError: its file is gone (delete it instead)."""
        chunks = self.index.document_chunks(doc_id)
        if not chunks:
            raise KeyError(doc_id)
        source = Path(str(chunks[0].metadata.get("source", "")))
        if not source.is_file():
            raise FileNotFoundError(f"{doc_id}: its file {source} is gone; remove the document instead")
        with self._write_lock:
            return ingest_files(self.index, [source], force=[doc_id])

    def watch_folder(
        self,
        folder: Path,
        on_report: Callable[[IngestReport], None],
        stop: threading.Event | None = None,
        interval: float = 1.0,
    ) -> None:
        """Keep the store in step with a shared folder until `stop` is set or Ctrl-C (services.knowledge)."""
        watch_folder(folder, lambda root: self.ingest([root]), on_report, stop=stop, interval=interval)

    def document_titles(self, doc_ids: Sequence[str]) -> list[str]:
        """The titles of the stored documents among `doc_ids`, in their order (unknown ids left out)."""
        titles = []
        for doc_id in dict.fromkeys(doc_ids):
            chunks = self.index.document_chunks(doc_id)
            if chunks:
                titles.append(str(chunks[0].metadata.get("title", doc_id)))
        return list(dict.fromkeys(titles))
