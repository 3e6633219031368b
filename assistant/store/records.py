"""What the store hands out: typed rows read back from Chroma, and the report of an ingest."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from pydantic import BaseModel, Field

# called after each group of chunks is embedded and written: (chunks done, chunks to do)
IngestProgress = Callable[[int, int], None]


class FailedFile(BaseModel):
    path: str
    error: str


class IngestReport(BaseModel):
    """What an ingest did, per document id. A second run over unchanged files adds and updates nothing."""

    added: list[str] = Field(default_factory=list)
    updated: list[str] = Field(default_factory=list)
    unchanged: list[str] = Field(default_factory=list)
    removed: list[str] = Field(default_factory=list)
    failed: list[FailedFile] = Field(default_factory=list)
    warnings: list[FailedFile] = Field(
        default_factory=list, description="Files ingested with a remark (e.g. decoded as GB18030)."
    )
    chunks_added: int = 0
    chunks_removed: int = 0
    total_documents: int = 0
    total_chunks: int = 0
    seconds: float = 0.0


@dataclass
class StoredDocument:
    """What the store holds of one document, read back from its chunks' metadata."""

    doc_id: str
    source: str
    content_hash: str
    signature: str
    expected_chunks: int
    chunk_ids: list[str]

    @property
    def complete(self) -> bool:
        return len(self.chunk_ids) == self.expected_chunks


@dataclass
class StoredChunk:
    """One chunk as stored: enough to rebuild BM25 and a search hit without touching the files."""

    chunk_id: str
    text: str
    metadata: dict[str, Any]

    @property
    def tokens(self) -> list[str]:
        return str(self.metadata.get("bm25", "")).split()


@dataclass
class EmbeddedChunk(StoredChunk):
    """A stored chunk with its vector (fit's case profiles, the scale benchmark, copying a store)."""

    vector: np.ndarray


@dataclass
class ChunkToWrite:
    """A chunk ready for the collection: its text, what to embed, and its flat metadata."""

    chunk_id: str
    text: str
    embed_text: str
    metadata: dict[str, Any]


@dataclass
class DenseMatch:
    """One nearest neighbour of a query vector: the chunk and its cosine similarity."""

    chunk_id: str
    text: str
    metadata: dict[str, Any]
    similarity: float
