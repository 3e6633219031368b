"""What the store holds, per document: the Knowledge tab's table and its reader."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from assistant.core.schema import models_of
from assistant.ingest.loaders import CorpusError, load_document

KIND_ORDER = {"framework": 0, "case": 1, "user": 2}


class DocumentInfo(BaseModel):
    doc_id: str
    title: str
    kind: str
    topic: str = ""
    models: list[str] = Field(default_factory=list)
    company: str = ""
    company_zh: str = ""
    lang: str = "zh"
    source: str = ""
    chunks: int = 0


def catalog(metadatas: Any) -> list[DocumentInfo]:
    """One entry per document from its chunks' metadata: framework first, then cases, then users' files."""
    docs: dict[str, DocumentInfo] = {}
    for meta in metadatas:
        doc_id = str(meta.get("doc_id", ""))
        info = docs.get(doc_id)
        if info is None:
            info = docs[doc_id] = DocumentInfo(
                doc_id=doc_id,
                title=str(meta.get("title", "")),
                kind=str(meta.get("kind", "")),
                topic=str(meta.get("topic") or ""),
                models=models_of(meta),
                company=str(meta.get("company") or ""),
                company_zh=str(meta.get("company_zh") or ""),
                lang=str(meta.get("lang", "zh")),
                source=str(meta.get("source", "")),
            )
        info.chunks += 1
    return sorted(docs.values(), key=lambda d: (KIND_ORDER.get(d.kind, 9), d.topic, d.company, d.title))


def document_body(info: DocumentInfo, chunks: list[tuple[int, str]]) -> str:
    """The whole document: from its file when it is still there, else its chunks in order (they overlap
    by a sentence or two, which is honest about what the store holds)."""
    path = Path(info.source)
    if info.source and path.is_file():
        try:
            return load_document(path).body
        except CorpusError:
            pass
    return "\n\n".join(text for _, text in sorted(chunks))


def filter_documents(
    docs: list[DocumentInfo],
    *,
    kind: str | None = None,
    model: str | None = None,
    company: str | None = None,
    topic: str | None = None,
    text: str | None = None,
) -> list[DocumentInfo]:
    """The documents matching every given filter (empty ones are ignored); `text` matches title or id."""
    needle = (text or "").strip().lower()
    return [
        d
        for d in docs
        if (not kind or d.kind == kind)
        and (not model or model in d.models)
        and (not company or company.lower() in (d.company.lower(), d.company_zh.lower()))
        and (not topic or d.topic == topic)
        and (not needle or needle in d.title.lower() or needle in d.doc_id.lower())
    ]
