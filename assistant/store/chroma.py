"""The Chroma collection of one embedding model: the only module of the package that imports chromadb.

Everybody else reads and writes the store through `KnowledgeIndex`'s methods, which return the typed
rows of `store.records`; nobody outside store/ touches the collection or its client.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator, Sequence
from typing import Any
from urllib.parse import urlparse

from assistant.core.settings import Settings
from assistant.store.embedder import E5_MODEL_NAME, E5Embedder, build_e5_folder, passage_cache_path
from assistant.store.generation import StoreGeneration
from assistant.store.records import (
    ChunkToWrite,
    DenseMatch,
    EmbeddedChunk,
    IngestProgress,
    StoredChunk,
    StoredDocument,
)

try:
    from chromadb.api.types import Documents, EmbeddingFunction, Embeddings
    from chromadb.utils.embedding_functions import register_embedding_function
except ImportError as exc:  # pragma: no cover - chromadb is a hard dependency
    raise RuntimeError("chromadb is not installed; run `make run` or `pip install -e .`") from exc

log = logging.getLogger("yunying.index")

# what a Chroma `where` filter is: plain JSON-like dicts
Where = dict[str, Any]

# The HNSW beam of a query. hnswlib's default (100) is barely wider than the 40 candidates a search asks
# for, so which 40 come back depended on the graph walk: on the dev questions, 3 to 5 of 153 top-10s
# differed between two runs of the same code over the same store. A wider beam returns the exact nearest
# ones in practice (checked against brute force over the stored vectors), at a cost of well under a
# millisecond per query at this size.
HNSW_EF_SEARCH = 400


@register_embedding_function
class E5EmbeddingFunction(E5Embedder, EmbeddingFunction[Documents]):
    """The e5 embedder as a Chroma embedding function.

    Registered with Chroma so a collection records which model wrote its vectors, and so Chroma never
    falls back to its default embedding function (which downloads a model and fails offline).
    """

    def __call__(self, input: Documents) -> Embeddings:
        return self.embed_passages(list(input))

    @staticmethod
    def name() -> str:
        return "yunying-e5"

    def default_space(self) -> str:  # type: ignore[override]
        return "cosine"

    def supported_spaces(self) -> list[str]:  # type: ignore[override]
        return ["cosine"]

    def get_config(self) -> dict[str, Any]:
        return {
            "model": E5_MODEL_NAME,
            "model_dir": self.model_dir,
            "batch_size": self.batch_size,
            "cache_path": self.cache_path,
        }

    @staticmethod
    def build_from_config(config: dict[str, Any]) -> E5EmbeddingFunction:
        return E5EmbeddingFunction(
            config["model_dir"], int(config.get("batch_size", 32)), config.get("cache_path") or None
        )

    def validate_config_update(self, old_config: dict[str, Any], new_config: dict[str, Any]) -> None:
        if old_config.get("model") != new_config.get("model"):
            raise ValueError("the embedding model of a collection cannot change; reindex instead")


def embedding_function(settings: Settings) -> E5EmbeddingFunction:
    """Build the e5 folder once under DATA_DIR (seconds) and return a lazily loading function."""
    folder = build_e5_folder(settings.models_dir / E5_MODEL_NAME)
    cache = str(passage_cache_path(settings.models_dir, folder)) if settings.embed_cache else None
    return E5EmbeddingFunction(str(folder), settings.embed_batch_size, cache)


def _rows(batch: Any) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """(id, text, metadata) of a Chroma `get` result; text and metadata are empty where not included."""
    ids = batch["ids"]
    docs = batch.get("documents") or [None] * len(ids)
    metas = batch.get("metadatas") or [None] * len(ids)
    for cid, doc, meta in zip(ids, docs, metas, strict=True):
        yield cid, doc or "", dict(meta or {})


class KnowledgeIndex:
    """The Chroma collection of one embedding model: reading and writing its chunks (what to write is
    the ingest pipeline's to decide, assistant.ingest.pipeline)."""

    def __init__(self, settings: Settings, embedder: E5EmbeddingFunction | None = None) -> None:
        self.settings = settings  # the environment is the composition root's (services.yunying)
        self.embedder = embedder or embedding_function(settings)
        self.collection_name = f"{settings.collection_prefix}-{E5_MODEL_NAME}"
        self._chroma = self._connect()
        self._collection = self._open_collection()
        self._writes = 0
        self.generation = StoreGeneration(settings.data_dir / f"{self.collection_name}.generation")

    @property
    def version(self) -> str:
        """Moves on every write, in this process or another on the same data dir, so retrievers and
        onboarding know to rebuild what they derived from the store (read per request; one small file)."""
        return f"{self._writes}:{self.generation.current()}"

    def _wrote(self) -> None:
        self._writes += 1
        self.generation.bump()

    def _connect(self) -> Any:
        import chromadb
        from chromadb.config import Settings as ChromaSettings

        chroma_settings = ChromaSettings(anonymized_telemetry=False)
        if self.settings.chroma_url:
            url = urlparse(self.settings.chroma_url)
            try:
                return chromadb.HttpClient(
                    host=url.hostname or "127.0.0.1",
                    port=url.port or (443 if url.scheme == "https" else 8000),
                    ssl=url.scheme == "https",
                    settings=chroma_settings,
                )
            except Exception as exc:  # chromadb raises several types for an unreachable server
                raise ConnectionError(
                    f"cannot reach the Chroma server at {self.settings.chroma_url} ({exc}); "
                    "start it with `chroma run --path DIR --port N` or unset YUNYING_CHROMA_URL"
                ) from exc
        self.settings.chroma_dir.mkdir(parents=True, exist_ok=True)
        return chromadb.PersistentClient(path=str(self.settings.chroma_dir), settings=chroma_settings)

    def _open_collection(self) -> Any:
        collection = self._chroma.get_or_create_collection(
            name=self.collection_name,
            embedding_function=self.embedder,
            configuration={"hnsw": {"space": "cosine", "ef_search": HNSW_EF_SEARCH}},
            metadata={"embedding_model": E5_MODEL_NAME, "app": "yunying"},
        )
        hnsw = (collection.configuration or {}).get("hnsw") or {}
        if hnsw.get("ef_search") != HNSW_EF_SEARCH:  # a store made before the wider beam
            collection.modify(configuration={"hnsw": {"ef_search": HNSW_EF_SEARCH}})
        return collection

    @property
    def collection(self) -> Any:
        """The raw Chroma collection, for tests that damage a store on purpose. Package code uses the
        methods below (the architecture test holds it to that)."""
        return self._collection

    # ---- reading the store

    def count(self) -> int:
        return self._collection.count()

    def _get_all(self, include: list[str], page: int = 5000) -> Iterator[tuple[str, str, dict[str, Any]]]:
        offset = 0
        while True:
            batch = self._collection.get(include=include, limit=page, offset=offset)  # type: ignore[arg-type]
            if not batch["ids"]:
                return
            yield from _rows(batch)
            if len(batch["ids"]) < page:
                return
            offset += page

    def chunk_rows(self) -> list[StoredChunk]:
        """Every chunk's id and metadata, without its text (the doctor's consistency checks)."""
        return [StoredChunk(cid, "", meta) for cid, _, meta in self._get_all(["metadatas"])]

    def stored_documents(self) -> dict[str, StoredDocument]:
        stored: dict[str, StoredDocument] = {}
        for chunk_id, _, meta in self._get_all(["metadatas"]):
            doc_id = str(meta.get("doc_id", ""))
            entry = stored.get(doc_id)
            if entry is None:
                entry = stored[doc_id] = StoredDocument(
                    doc_id=doc_id,
                    source=str(meta.get("source", "")),
                    content_hash=str(meta.get("doc_hash", "")),
                    signature=str(meta.get("doc_sig", "")),
                    expected_chunks=int(meta.get("doc_chunks", -1)),
                    chunk_ids=[],
                )
            entry.chunk_ids.append(chunk_id)
        return stored

    def all_chunks(self) -> list[StoredChunk]:
        return [StoredChunk(cid, doc, meta) for cid, doc, meta in self._get_all(["documents", "metadatas"])]

    def chunk_metadatas(self) -> Iterator[dict[str, Any]]:
        """Every chunk's metadata (the document catalogue is built from these)."""
        return (meta for _, _, meta in self._get_all(["metadatas"]))

    def document_chunks(self, doc_id: str) -> list[StoredChunk]:
        """One document's chunks, in reading order."""
        batch = self._collection.get(where={"doc_id": doc_id}, include=["documents", "metadatas"])  # type: ignore[list-item]
        chunks = [StoredChunk(cid, doc, meta) for cid, doc, meta in _rows(batch)]
        return sorted(chunks, key=lambda c: int(c.metadata.get("position", 0)))

    def stored_doc_ids(self, doc_ids: Iterable[str]) -> set[str]:
        """Which of `doc_ids` the store still holds (one query, no texts read)."""
        wanted = list(dict.fromkeys(doc_ids))
        if not wanted:
            return set()
        batch = self._collection.get(where={"doc_id": {"$in": wanted}}, include=["metadatas"])  # type: ignore[list-item]
        return {str(meta.get("doc_id", "")) for meta in batch["metadatas"] or []} & set(wanted)

    def twin_section_text(self, pair: str, section: int, doc_id: str) -> str:
        """The text of the same section in the other document of a translated pair ('' when there is
        none): an English answer sentence is checked against the English twin of a Chinese source."""
        batch = self._collection.get(
            where={"$and": [{"pair": pair}, {"section": section}]},
            include=["documents", "metadatas"],  # type: ignore[list-item]
        )
        rows = [
            (int(meta.get("position", 0)), doc)
            for _, doc, meta in _rows(batch)
            if meta.get("doc_id") != doc_id
        ]
        return "\n".join(text for _, text in sorted(rows))

    def chunks_with_vectors(self, kinds: Sequence[str] | None = None) -> list[EmbeddedChunk]:
        """Chunks with their stored vectors, all of them or those of some document kinds."""
        where = {"kind": {"$in": list(kinds)}} if kinds is not None else None
        got = self._collection.get(where=where, include=["embeddings", "documents", "metadatas"])  # type: ignore[list-item,arg-type]
        vectors = got["embeddings"] if got["embeddings"] is not None else []
        return [
            EmbeddedChunk(cid, doc, meta, vector)
            for (cid, doc, meta), vector in zip(_rows(got), vectors, strict=True)
        ]

    def query_dense(self, vector: Any, k: int, where: Where | None = None) -> list[DenseMatch]:
        """The `k` chunks nearest to a query vector (cosine), best first, within a metadata filter."""
        total = self.count()
        if total == 0:
            return []
        result = self._collection.query(
            query_embeddings=[vector],
            n_results=min(k, total),
            where=where,
            include=["documents", "metadatas", "distances"],  # type: ignore[list-item]
        )
        ids = result["ids"][0]
        docs = (result.get("documents") or [[]])[0]
        metas = (result.get("metadatas") or [[]])[0]
        dists = (result.get("distances") or [[]])[0]
        matches = [
            DenseMatch(cid, doc or "", dict(meta or {}), 1.0 - float(dist))
            for cid, doc, meta, dist in zip(ids, docs, metas, dists, strict=True)
        ]
        # equal distances (a passage stored twice, a twin's identical table) in one fixed order
        return sorted(matches, key=lambda m: (-m.similarity, m.chunk_id))

    def stored_vector_dimension(self, chunk_id: str) -> int | None:
        """How many dimensions a stored chunk's vector has (None when it has none)."""
        sample = self._collection.get(ids=[chunk_id], include=["embeddings"])  # type: ignore[list-item]
        vectors = sample.get("embeddings")
        return len(vectors[0]) if vectors is not None and len(vectors) else None

    def embedding_model_recorded(self) -> str | None:
        """The embedding model the collection says wrote its vectors."""
        return (self._collection.metadata or {}).get("embedding_model")

    def list_collections(self) -> list[str]:
        """The names of every collection on the Chroma client (this one included)."""
        return [c.name if hasattr(c, "name") else str(c) for c in self._chroma.list_collections()]

    def as_langchain(self, embeddings: Any) -> Any:
        """This collection as a plain LangChain `Chroma` vector store (the benchmark's baseline retriever),
        querying with `embeddings` instead of ours."""
        from langchain_chroma import Chroma

        return Chroma(
            client=self._chroma, collection_name=self.collection_name, embedding_function=embeddings
        )

    # ---- writing the store

    def remove_document(self, doc_id: str) -> int:
        """Delete a document's chunks; returns how many there were."""
        ids = self._collection.get(where={"doc_id": doc_id}, include=[])["ids"]
        if ids:
            self.delete_chunks(list(ids))
        return len(ids)

    def delete_chunks(self, chunk_ids: Sequence[str]) -> None:
        chunk_ids = list(chunk_ids)
        for start in range(0, len(chunk_ids), 1000):
            self._collection.delete(ids=chunk_ids[start : start + 1000])
        self._wrote()

    def add_embedded(self, rows: Sequence[EmbeddedChunk]) -> None:
        """Write chunks whose vectors are already computed (nothing is embedded)."""
        self._collection.add(
            ids=[r.chunk_id for r in rows],
            embeddings=[r.vector for r in rows],
            documents=[r.text for r in rows],
            metadatas=[r.metadata for r in rows],
        )
        self._wrote()

    def embed_and_write(self, rows: Sequence[ChunkToWrite], progress: IngestProgress | None = None) -> None:
        """Embed and upsert chunks in groups that cross document borders (sentence-transformers sorts each
        group by length, so less padding is computed). `progress` hears of every group written."""
        group = max(1, self.settings.embed_batch_size) * 4
        for start in range(0, len(rows), group):
            part = rows[start : start + group]
            vectors = self.embedder.embed_passages([row.embed_text for row in part])
            self._collection.upsert(
                ids=[row.chunk_id for row in part],
                embeddings=vectors,
                documents=[row.text for row in part],
                metadatas=[row.metadata for row in part],
            )
            self._wrote()
            if progress is not None:
                progress(start + len(part), len(rows))

    def seed_from(self, other: KnowledgeIndex, page: int = 1000) -> int:
        """Copy another store's chunks (with their vectors) into this empty one, so a second store of the
        same knowledge (the eval store) costs no embedding. The next ingest then reconciles as usual."""
        if self.count() > 0 or other.count() == 0 or other.collection_name != self.collection_name:
            return 0
        copied = 0
        offset = 0
        while True:
            batch = other._collection.get(
                include=["embeddings", "documents", "metadatas"],  # type: ignore[list-item]
                limit=page,
                offset=offset,
            )
            ids = batch["ids"]
            if not ids:
                break
            self._collection.upsert(
                ids=ids,
                embeddings=batch["embeddings"],
                documents=batch["documents"],
                metadatas=batch["metadatas"],
            )
            copied += len(ids)
            offset += page
            if len(ids) < page:
                break
        self._wrote()
        return copied

    def reset(self) -> None:
        """Drop the collection (used to recover from a corrupt store or a model change)."""
        self._chroma.delete_collection(self.collection_name)
        self._collection = self._open_collection()
        self._wrote()
