"""`yunying doctor`: is the store consistent, and if not, what repairs it.

Checks, each from the store itself (it needs no side file, so it works on a Chroma server too):

* chunks: every chunk belongs to a document (its metadata names one and its id starts with it), every
  document's chunks agree on one version (hash, chunking signature, chunk count, source) and are all there
  (count = the recorded `doc_chunks`, positions 0..n-1);
* bm25: the BM25 side, built from the same chunks, holds exactly Chroma's chunk ids, each with tokens
  of the current tokenizer;
* embedding: the collection records the configured embedding model and its vectors have its dimension;
* files: the knowledge folder and the store agree (files not ingested, changed since, or removed).

`repair` deletes orphaned chunks and every chunk of an incomplete or mixed document, then runs the usual
incremental ingest, which re-adds what is missing and drops what was removed.
"""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field

from assistant.ingest.loaders import CorpusError, discover, load_document
from assistant.ingest.pipeline import ingest_files, store_signature
from assistant.store.chroma import KnowledgeIndex
from assistant.store.embedder import E5_MODEL_NAME

CHECKS = ("chunks", "bm25", "embedding", "files")


class Finding(BaseModel):
    severity: Literal["error", "warning"]
    check: str
    message: str
    doc_id: str | None = None
    path: str | None = None
    chunk_ids: list[str] = Field(default_factory=list, description="Chunks a repair deletes.")


class DoctorReport(BaseModel):
    """What `yunying doctor --json` prints. Fields are only ever added."""

    healthy: bool
    store: dict[str, Any]
    checks: dict[str, str] = Field(description="check -> ok | warning | error")
    findings: list[Finding] = Field(default_factory=list)
    repair: str = ""
    repaired: dict[str, Any] | None = None

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "error"]


def _model_dimension(model_dir: str) -> int | None:
    try:
        return int(json.loads((Path(model_dir) / "config.json").read_text(encoding="utf-8"))["hidden_size"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _chunk_findings(rows: list[tuple[str, dict[str, Any]]], signature: str) -> tuple[list[Finding], int]:
    findings: list[Finding] = []
    by_doc: dict[str, list[tuple[str, dict[str, Any]]]] = defaultdict(list)
    ids = [cid for cid, _ in rows]
    if len(ids) != len(set(ids)):
        dupes = sorted({c for c in ids if ids.count(c) > 1})
        findings.append(
            Finding(severity="error", check="chunks", message=f"duplicate chunk ids: {dupes[:5]}")
        )
    for cid, meta in rows:
        doc_id = str(meta.get("doc_id") or "")
        if (
            not doc_id
            or not meta.get("doc_hash")
            or meta.get("doc_chunks") is None
            or not cid.startswith(f"{doc_id}#")
        ):
            findings.append(
                Finding(
                    severity="error",
                    check="chunks",
                    message=f"orphaned chunk {cid!r}: it belongs to no document",
                    chunk_ids=[cid],
                )
            )
            continue
        by_doc[doc_id].append((cid, meta))
    for doc_id, chunks in sorted(by_doc.items()):
        chunk_ids = [cid for cid, _ in chunks]
        versions = {
            (m.get("doc_hash"), m.get("doc_sig"), m.get("doc_chunks"), m.get("source")) for _, m in chunks
        }
        if len(versions) > 1:
            findings.append(
                Finding(
                    severity="error",
                    check="chunks",
                    doc_id=doc_id,
                    message=f"{doc_id}: chunks of {len(versions)} versions of the document are mixed",
                    chunk_ids=chunk_ids,
                )
            )
            continue
        expected = int(chunks[0][1].get("doc_chunks", -1))
        positions = sorted(int(m.get("position", -1)) for _, m in chunks)
        source = str(chunks[0][1].get("source", ""))
        if len(chunks) != expected or positions != list(range(expected)):
            findings.append(
                Finding(
                    severity="error",
                    check="chunks",
                    doc_id=doc_id,
                    path=source,
                    message=f"{doc_id}: incomplete, {len(chunks)} of its {expected} chunks are stored "
                    "(an interrupted ingest?)",
                    chunk_ids=chunk_ids,
                )
            )
        elif str(chunks[0][1].get("doc_sig")) != signature:
            findings.append(
                Finding(
                    severity="warning",
                    check="chunks",
                    doc_id=doc_id,
                    path=source,
                    message=f"{doc_id}: chunked with older settings ({chunks[0][1].get('doc_sig')}); "
                    "the next ingest re-chunks it",
                )
            )
    return findings, len(by_doc)


def check(index: KnowledgeIndex, knowledge_dir: Path | None = None) -> DoctorReport:
    """Run every check on the store (read only)."""
    settings = index.settings
    signature = store_signature(settings)
    rows = [(row.chunk_id, row.metadata) for row in index.chunk_rows()]
    findings, n_docs = _chunk_findings(rows, signature)
    bm25_ids = _bm25_findings(index, rows, findings)
    recorded = _embedding_findings(index, rows, findings)
    root = (knowledge_dir or settings.knowledge_dir).expanduser().resolve()
    _file_findings(settings, rows, root, findings)
    checks = {}
    for name in CHECKS:
        severities = {f.severity for f in findings if f.check == name}
        checks[name] = "error" if "error" in severities else "warning" if severities else "ok"
    healthy = all(f.severity != "error" for f in findings)
    return DoctorReport(
        healthy=healthy,
        store={
            "location": settings.chroma_url or str(settings.chroma_dir),
            "collection": index.collection_name,
            "embedding_model": recorded,
            "documents": n_docs,
            "chunks": len(rows),
            "bm25_chunks": len(bm25_ids),
            "knowledge_dir": str(root),
        },
        checks=checks,
        findings=findings,
        repair=""
        if healthy
        else "run `yunying doctor --repair`: it deletes orphaned chunks and the chunks of incomplete "
        "documents, then ingests the knowledge folder again (only what is missing or changed is embedded)",
    )


def _bm25_findings(index: KnowledgeIndex, rows: list[tuple[str, dict]], findings: list[Finding]) -> list[str]:
    """BM25: the retriever's index is built from the store, so this checks what a search really uses.
    Appends to `findings`; returns the BM25 index's chunk ids."""
    from assistant.retrieval import HybridRetriever

    settings = index.settings
    bm25 = HybridRetriever(index, settings).bm25_index()
    bm25_ids = [c.chunk_id for c in bm25.chunks]
    chroma_ids = {cid for cid, _ in rows}
    if set(bm25_ids) != chroma_ids or len(bm25_ids) != len(chroma_ids):
        missing = sorted(chroma_ids - set(bm25_ids))
        extra = sorted(set(bm25_ids) - chroma_ids)
        findings.append(
            Finding(
                severity="error",
                check="bm25",
                message=f"BM25 vs Chroma: {len(missing)} chunks missing in BM25, {len(extra)} extra",
            )
        )
    untokenized = [c.chunk_id for c in bm25.chunks if not c.tokens and c.text.strip()]
    if untokenized:
        findings.append(
            Finding(
                severity="error",
                check="bm25",
                message=f"{len(untokenized)} chunks have no BM25 tokens (first: {untokenized[0]})",
                chunk_ids=untokenized,
            )
        )
    return bm25_ids


def _embedding_findings(index: KnowledgeIndex, rows: list[tuple[str, dict]], findings: list[Finding]) -> str:
    """Embedding model: recorded on the collection, and the vectors' dimension matches it. Appends to
    `findings`; returns the recorded model name."""
    settings = index.settings
    recorded = index.embedding_model_recorded()
    if recorded != E5_MODEL_NAME or not index.collection_name.endswith(E5_MODEL_NAME):
        findings.append(
            Finding(
                severity="error",
                check="embedding",
                message=f"the collection {index.collection_name!r} records embedding model {recorded!r}, "
                f"the configured one is {E5_MODEL_NAME!r}",
            )
        )
    dimension = _model_dimension(index.embedder.model_dir)
    if rows:
        stored_dim = index.stored_vector_dimension(rows[0][0])
        if dimension and stored_dim and stored_dim != dimension:
            findings.append(
                Finding(
                    severity="error",
                    check="embedding",
                    message=f"stored vectors have {stored_dim} dimensions, the model makes {dimension}",
                )
            )
    prefix = f"{settings.collection_prefix}-"
    others = [
        name for name in index.list_collections() if name.startswith(prefix) and name != index.collection_name
    ]
    if others:
        findings.append(
            Finding(
                severity="warning",
                check="embedding",
                message=f"collections of other embedding models are also stored: {', '.join(others)}",
            )
        )
    return recorded


def _file_findings(settings: Any, rows: list[tuple[str, dict]], root: Path, findings: list[Finding]) -> None:
    """Files: the knowledge folder against the store, and every stored document's source file."""
    stored: dict[str, dict[str, Any]] = {}
    for _, meta in rows:
        if meta.get("doc_id"):
            stored.setdefault(str(meta["doc_id"]), meta)
    on_disk: dict[str, tuple[str, str]] = {}  # doc id -> (source, hash)
    if root.is_dir():
        for path in discover([root]):
            try:
                doc = load_document(path, settings.max_file_bytes)
            except CorpusError as exc:
                findings.append(Finding(severity="warning", check="files", path=str(path), message=str(exc)))
                continue
            on_disk.setdefault(doc.id, (str(path.resolve()), doc.content_hash))
    for doc_id, (source, content_hash) in sorted(on_disk.items()):
        meta = stored.get(doc_id)
        if meta is None:
            fate = "not ingested"
        elif meta.get("doc_hash") != content_hash:
            fate = "changed since it was ingested"
        else:
            continue
        findings.append(
            Finding(severity="error", check="files", doc_id=doc_id, path=source, message=f"{source}: {fate}")
        )
    for doc_id, meta in sorted(stored.items()):
        source = Path(str(meta.get("source", "")))
        if doc_id in on_disk:
            continue
        if source == root or root in source.parents:
            severity, fate = "error", "was removed from the knowledge folder"
        elif not source.exists():
            severity, fate = "warning", "is gone (the stored copy stays searchable)"
        else:
            continue
        findings.append(
            Finding(
                severity=severity,
                check="files",
                doc_id=doc_id,
                path=str(source),
                message=f"{doc_id}: its file {source} {fate}",
            )
        )


def repair(index: KnowledgeIndex, report: DoctorReport, knowledge_dir: Path | None = None) -> DoctorReport:
    """Fix what `check` found, then check again; the new report says what was done in `repaired`."""
    settings = index.settings
    root = knowledge_dir or settings.knowledge_dir
    done: dict[str, Any] = {"deleted_chunks": 0, "reset_collection": False, "reingested": []}
    if any(f.check == "embedding" and f.severity == "error" for f in report.findings):
        index.reset()  # vectors of another model cannot be mixed or converted: rebuild from the files
        done["reset_collection"] = True
    else:
        doomed = sorted({cid for f in report.findings if f.severity == "error" for cid in f.chunk_ids})
        if doomed:
            index.delete_chunks(doomed)
            done["deleted_chunks"] = len(doomed)
    if root.is_dir():
        ingest = ingest_files(index, [root])
        done["ingest"] = ingest.model_dump(include={"added", "updated", "removed", "failed"})
    # documents from outside the knowledge folder whose chunks were deleted: re-read their files
    elsewhere = {
        f.path
        for f in report.findings
        if f.check == "chunks" and f.severity == "error" and f.path and Path(f.path).is_file()
    }
    root_resolved = root.expanduser().resolve()
    for path in sorted(elsewhere):
        if root_resolved not in Path(path).parents:
            ingest_files(index, [Path(path)], remove_missing=False)
            done["reingested"].append(path)
    after = check(index, knowledge_dir)
    after.repaired = done
    return after


def render(report: DoctorReport) -> str:
    """The human-readable report."""
    store = report.store
    lines = [
        f"store: {store['location']} · collection {store['collection']} · "
        f"{store['documents']} documents, {store['chunks']} chunks (BM25: {store['bm25_chunks']})",
        f"embedding model recorded: {store['embedding_model']}",
    ]
    marks = {"ok": "ok     ", "warning": "warning", "error": "ERROR  "}
    for name, state in report.checks.items():
        lines.append(f"  {marks[state]} {name}")
    for finding in report.findings:
        lines.append(f"  - [{finding.severity}] {finding.message}")
    if report.repaired is not None:
        lines.append(f"repaired: {json.dumps(report.repaired, ensure_ascii=False)}")
    lines.append(
        "healthy" if report.healthy else f"NOT healthy: {len(report.errors)} problems; {report.repair}"
    )
    return "\n".join(lines)
