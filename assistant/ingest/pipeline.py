"""Incremental ingest: which files to (re)index and which stored documents to drop (`plan_ingest`), the
metadata each chunk is written with, and carrying the plan out through the store's public methods
(`ingest_files`).

Ingestion needs no side file: every chunk carries its document's content hash, store signature and chunk
count, so the store itself says which documents are complete and current. That keeps it correct after an
interrupted run and when the store is a shared Chroma server. The pipeline sits above the store (DESIGN:
retrieval -> store <- ingest): the store reads and writes chunks, this module decides which.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from assistant.core.schema import Chunk, Document, models_field
from assistant.core.settings import Settings
from assistant.core.vocabulary import MODEL_KEYS
from assistant.ingest.chunking import chunk_document, chunking_signature
from assistant.ingest.loaders import CorpusError, discover, load_document
from assistant.store.chroma import KnowledgeIndex
from assistant.store.records import ChunkToWrite, FailedFile, IngestProgress, IngestReport, StoredDocument
from assistant.store.tokenizer import TOKENIZER_VERSION, dictionary_fingerprint, tokenize

log = logging.getLogger("yunying.index")

# Bumped when chunk metadata gains a field the retriever relies on (3: company aliases), so stores re-ingest.
METADATA_VERSION = "4"


def store_signature(settings: Settings) -> str:
    """What a document's stored chunks must have been made with to count as current: chunking settings,
    tokenizer (version and user dictionary) and metadata versions (ingest redoes a document whose chunks
    record another one)."""
    chunking = chunking_signature(settings.chunk_size, settings.chunk_overlap)
    return f"{chunking}-t{TOKENIZER_VERSION}.{dictionary_fingerprint()}-m{METADATA_VERSION}"


def chunk_metadata(chunk: Chunk, doc: Document, signature: str, n_chunks: int) -> dict[str, Any]:
    """Flat metadata (Chroma accepts scalars): a boolean per model so filters stay simple `where`s."""
    meta: dict[str, Any] = {
        "doc_id": chunk.doc_id,
        "position": chunk.position,
        "heading": chunk.heading,
        "title": chunk.title,
        "kind": chunk.kind,
        "topic": chunk.topic or "",
        "models": models_field(chunk.models),
        "company": chunk.company or "",
        "company_key": (chunk.company or "").lower(),
        "company_zh": chunk.company_zh or "",
        "aliases": "|".join(chunk.aliases),
        "lang": chunk.lang,
        # a document and its translated twin share `pair` and their sections' ordinals
        "pair": chunk.translation_of or chunk.doc_id,
        "section": chunk.section,
        "source": doc.source,
        "doc_hash": doc.content_hash,
        "doc_sig": signature,
        "doc_chunks": n_chunks,
        "bm25": " ".join(tokenize(chunk.embed_text)),
    }
    for key in MODEL_KEYS:
        meta[f"model_{key}"] = key in chunk.models
    return meta


def resolved(path: str | Path) -> Path:
    return Path(path).expanduser().resolve()


@dataclass
class PendingDocument:
    """A document to (re)index: its chunks, and what the store held of it before (None: new)."""

    doc: Document
    chunks: list[Chunk]
    previous: StoredDocument | None


@dataclass
class IngestPlan:
    report: IngestReport
    signature: str
    todo: list[PendingDocument] = field(default_factory=list)
    removals: list[StoredDocument] = field(default_factory=list)


def load_documents(roots: Sequence[Path], max_file_bytes: int, report: IngestReport) -> list[Document]:
    """Every file under `roots` as a Document; files that fail are recorded in `report`, not raised."""
    documents: list[Document] = []
    seen_ids: dict[str, str] = {}
    for path in discover(roots):
        try:
            doc = load_document(path, max_file_bytes)
        except CorpusError as exc:
            report.failed.append(FailedFile(path=str(path), error=str(exc)))
            continue
        except Exception as exc:  # never let one odd file stop the others
            log.exception("loading %s failed", path)
            report.failed.append(
                FailedFile(path=str(path), error=f"{path}: cannot be read ({exc.__class__.__name__}: {exc})")
            )
            continue
        if doc.encoding != "utf-8":
            report.warnings.append(
                FailedFile(path=str(path), error=f"{path}: not UTF-8; read as {doc.encoding.upper()}")
            )
        doc.source = str(resolved(path))
        if doc.id in seen_ids:
            report.failed.append(
                FailedFile(
                    path=str(path),
                    error=f"{path}: field 'id': '{doc.id}' is already used by {seen_ids[doc.id]}",
                )
            )
            continue
        seen_ids[doc.id] = str(path)
        documents.append(doc)
    return documents


def plan_ingest(
    settings: Settings,
    roots: Sequence[Path],
    stored: dict[str, StoredDocument],
    *,
    remove_missing: bool,
    force: Collection[str] = (),
) -> IngestPlan:
    """Compare the files under `roots` with what the store holds, by content hash and store signature:
    new documents are added, changed ones replace their old chunks, unchanged ones are skipped (nothing
    embedded), and documents that came from an ingested folder but whose file is gone are removed. A file
    that fails to parse is reported and its previously stored version is kept. Documents whose id is in
    `force` are redone even when unchanged (re-indexing one document)."""
    for root in roots:
        if not root.exists():
            raise CorpusError(f"{root}: no such file or folder")
    plan = IngestPlan(report=IngestReport(), signature=store_signature(settings))
    documents = load_documents(roots, settings.max_file_bytes, plan.report)
    for doc in documents:
        previous = stored.get(doc.id)
        if (
            previous is not None
            and previous.complete
            and previous.content_hash == doc.content_hash
            and previous.signature == plan.signature
            and previous.source == doc.source
            and doc.id not in force
        ):
            plan.report.unchanged.append(doc.id)
            continue
        chunks = chunk_document(doc, settings.chunk_size, settings.chunk_overlap)
        if not chunks:
            plan.report.failed.append(FailedFile(path=doc.source, error=f"{doc.source}: no text to index"))
            continue
        plan.todo.append(PendingDocument(doc, chunks, previous))
    if remove_missing:
        failed_sources = {str(resolved(f.path)) for f in plan.report.failed}
        root_paths = [resolved(r) for r in roots]
        current = {doc.id for doc in documents}
        for doc_id, previous in stored.items():
            if doc_id in current or previous.source in failed_sources:
                continue
            source = Path(previous.source)
            if any(source == r or r in source.parents for r in root_paths):
                plan.removals.append(previous)
    return plan


def _rows_to_write(todo: Sequence[PendingDocument], signature: str) -> list[ChunkToWrite]:
    return [
        ChunkToWrite(
            chunk.chunk_id,
            chunk.text,
            chunk.embed_text,
            chunk_metadata(chunk, p.doc, signature, len(p.chunks)),
        )
        for p in todo
        for chunk in p.chunks
    ]


def ingest_files(
    index: KnowledgeIndex,
    paths: Sequence[Path] | None = None,
    *,
    progress: IngestProgress | None = None,
    remove_missing: bool = True,
    force: Collection[str] = (),
) -> IngestReport:
    """Bring the store in line with the files under `paths` (default: the knowledge folder); see
    `plan_ingest` for what is added, replaced, skipped and removed. `progress` hears of every group of
    chunks embedded; documents whose id is in `force` are re-embedded even when unchanged. An interruption
    leaves the current document with fewer chunks than its `doc_chunks`, which the next ingest redoes."""
    started = time.perf_counter()
    roots = [Path(p) for p in (paths or [index.settings.knowledge_dir])]
    stored = index.stored_documents()
    plan = plan_ingest(index.settings, roots, stored, remove_missing=remove_missing, force=set(force))
    report = plan.report
    for previous in plan.removals:
        index.delete_chunks(previous.chunk_ids)
        report.removed.append(previous.doc_id)
        report.chunks_removed += len(previous.chunk_ids)
    for pending in plan.todo:
        if pending.previous is not None:
            index.delete_chunks(pending.previous.chunk_ids)
            report.chunks_removed += len(pending.previous.chunk_ids)
    index.embed_and_write(_rows_to_write(plan.todo, plan.signature), progress)
    for pending in plan.todo:
        report.chunks_added += len(pending.chunks)
        updated = pending.previous is not None and pending.previous.complete
        (report.updated if updated else report.added).append(pending.doc.id)

    report.total_chunks = index.count()
    changed = plan.todo or report.removed
    report.total_documents = len(index.stored_documents()) if changed else len(stored)
    report.seconds = round(time.perf_counter() - started, 3)
    log.info("ingest: %s", report.model_dump(exclude={"unchanged"}))
    return report
