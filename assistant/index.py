"""Index: embed chunks with multilingual-e5 into Chroma, and keep BM25 tokens beside them.

Ingestion is incremental and needs no side file: every chunk carries its document's content hash,
chunking signature and chunk count, so the store itself says which documents are complete and current.
That keeps it correct after an interrupted run and when the store is a shared Chroma server.
"""

from __future__ import annotations

import hashlib
import logging
import re
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from pydantic import BaseModel, Field

from assistant.config import Settings, apply_offline_env
from assistant.corpus import (
    MODEL_KEYS,
    Chunk,
    CorpusError,
    Document,
    chunk_document,
    chunking_signature,
    discover,
    load_document,
)
from assistant.embedding import COMPLETE_MARKER, E5_MODEL_NAME, build_e5_folder, load_e5
from assistant.vector_cache import PassageVectorCache

log = logging.getLogger("yunying.index")

# ---------------------------------------------------------------- BM25 tokens (jieba)

# Bump when tokenization changes: stored BM25 tokens are then recomputed on the next ingest.
TOKENIZER_VERSION = "2"
# Bumped when chunk metadata gains a field the retriever relies on (3: company aliases), so stores re-ingest.
METADATA_VERSION = "4"
# Domain terms and company names jieba would otherwise split, so "价值循环", "下沉市场" or "钉钉"
# match as one token.
DOMAIN_WORDS = (
    "钉钉",
    "飞书",
    "得到",
    "虎扑",
    "闲鱼",
    "金蝶",
    "瑞幸",
    "瑞幸咖啡",
    "完美日记",
    "网易云音乐",
    "小红书",
    "拼多多",
    "哔哩哔哩",
    "今日头条",
    "多邻国",
    "爱彼迎",
    "希音",
    "奈飞",
    "印象笔记",
    "金山办公",
    "麦肯锡",
    "埃森哲",
    "美团",
    "豆瓣",
    "知乎",
    "快手",
    "抖音",
    "淘宝",
    "天猫",
    "京东",
    "微信",
    "微博",
    "小米",
    "价值循环",
    "运营模式",
    "产品驱动",
    "内容驱动",
    "社区驱动",
    "交易驱动",
    "电商驱动",
    "服务驱动",
    "解决方案驱动",
    "支撑体系",
    "私域流量",
    "私域",
    "公域",
    "全域运营",
    "下沉市场",
    "知识付费",
    "直播电商",
    "直播带货",
    "社交拼团",
    "网络效应",
    "用户共创",
    "精细化运营",
    "客户成功",
    "续约",
    "增购",
    "复购",
    "履约",
    "种草",
    "拔草",
    "留存",
    "转化",
    "裂变",
    "冷启动",
    "用户画像",
    "数据埋点",
    "小程序",
    "大会员",
    "盐选会员",
    "米粉",
    "买家秀",
    "评价区",
    "客单价",
    "新手引导",
)
STOPWORDS = frozenset(
    [
        "的",
        "了",
        "是",
        "在",
        "和",
        "与",
        "及",
        "或",
        "等",
        "也",
        "都",
        "就",
        "而",
        "及其",
        "之",
        "其",
        "这",
        "那",
        "这个",
        "那个",
        "一个",
        "一种",
        "吗",
        "呢",
        "吧",
        "啊",
        "什么",
        "哪些",
        "哪个",
        "如何",
        "怎么",
        "怎样",
        "为什么",
        "为何",
        "是否",
        "可以",
        "能",
        "会",
        "要",
        "有",
        "没有",
        "对",
        "从",
        "把",
        "被",
        "让",
        "给",
        "我",
        "我们",
        "你",
        "你们",
        "他",
        "她",
        "它",
        "他们",
        "请",
        "请问",
        "一下",
        "a",
        "an",
        "the",
        "of",
        "to",
        "in",
        "on",
        "for",
        "and",
        "or",
        "is",
        "are",
        "was",
        "were",
        "be",
        "been",
        "being",
        "do",
        "does",
        "did",
        "what",
        "which",
        "who",
        "how",
        "why",
        "when",
        "where",
        "with",
        "by",
        "as",
        "at",
        "from",
        "that",
        "this",
        "these",
        "those",
        "it",
        "its",
        "their",
        "there",
        "can",
        "could",
        "should",
        "would",
        "will",
        "shall",
        "may",
        "might",
        "about",
        "into",
        "than",
        "then",
        "so",
        "such",
    ]
)
_TOKEN_OK = re.compile(r"[\w\u4e00-\u9fff]")
_jieba_lock = threading.Lock()
_jieba_ready = False


def _jieba() -> Any:
    global _jieba_ready  # one-time dictionary load shared by every tokenizer caller in the process
    import jieba

    with _jieba_lock:
        if not _jieba_ready:
            jieba.setLogLevel(logging.WARNING)
            for word in DOMAIN_WORDS:
                jieba.add_word(word, freq=20000)
            jieba.initialize()
            _jieba_ready = True
    return jieba


def tokenize(text: str) -> list[str]:
    """BM25 tokens: jieba's search-mode words for Chinese, lower-cased words for English, no
    punctuation or stop words."""
    jieba = _jieba()
    tokens = []
    for token in jieba.lcut_for_search(text.lower()):
        token = token.strip()
        if token and _TOKEN_OK.search(token) and token not in STOPWORDS:
            tokens.append(token)
    return tokens


# ---------------------------------------------------------------- embedding function


try:
    from chromadb.api.types import Documents, EmbeddingFunction, Embeddings
    from chromadb.utils.embedding_functions import register_embedding_function
except ImportError as exc:  # pragma: no cover - chromadb is a hard dependency
    raise RuntimeError("chromadb is not installed; run `make run` or `pip install -e .`") from exc


@register_embedding_function
class E5EmbeddingFunction(EmbeddingFunction[Documents]):
    """multilingual-e5-small through sentence-transformers, with e5's query/passage prompts.

    Registered with Chroma so a collection records which model wrote its vectors, and so Chroma never
    falls back to its default embedding function (which downloads a model and fails offline).
    """

    def __init__(self, model_dir: str, batch_size: int = 32, cache_path: str | None = None) -> None:
        self.model_dir = model_dir
        self.batch_size = batch_size
        self.cache_path = cache_path
        self.cache = PassageVectorCache(Path(cache_path)) if cache_path else None
        self._model: Any = None
        self._lock = threading.Lock()

    @property
    def model(self) -> Any:
        with self._lock:
            if self._model is None:
                self._model = load_e5(Path(self.model_dir))
            return self._model

    def __call__(self, input: Documents) -> Embeddings:
        return self.embed_passages(list(input))

    def embed_passages(self, texts: Sequence[str]) -> Embeddings:
        texts = list(texts)
        if self.cache is None:
            return self._encode_passages(texts)
        vectors = self.cache.get_many(texts)
        missing = [i for i, v in enumerate(vectors) if v is None]
        if missing:
            fresh = self._encode_passages([texts[i] for i in missing])
            self.cache.put_many([texts[i] for i in missing], fresh)
            for i, vector in zip(missing, fresh, strict=True):
                vectors[i] = vector
        return [v for v in vectors if v is not None]

    def _encode_passages(self, texts: list[str]) -> Embeddings:
        vectors = self.model.encode(
            texts, prompt_name="passage", batch_size=self.batch_size, normalize_embeddings=True
        )
        return [v for v in vectors]

    def embed_query(self, input: Documents) -> Embeddings:
        vectors = self.model.encode(list(input), prompt_name="query", normalize_embeddings=True)
        return [v for v in vectors]

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
    cache = None
    if settings.embed_cache:
        # named after the build's marker (weights sha256 + format version): a new model, a new cache
        fingerprint = hashlib.sha1((folder / COMPLETE_MARKER).read_bytes()).hexdigest()[:12]
        cache = str(settings.models_dir / f"{E5_MODEL_NAME}-passages-{fingerprint}.sqlite")
    return E5EmbeddingFunction(str(folder), settings.embed_batch_size, cache)


# ---------------------------------------------------------------- ingest report


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


def store_signature(settings: Settings) -> str:
    """What a document's stored chunks must have been made with to count as current: chunking settings,
    tokenizer and metadata versions (ingest redoes a document whose chunks record another one)."""
    chunking = chunking_signature(settings.chunk_size, settings.chunk_overlap)
    return f"{chunking}-t{TOKENIZER_VERSION}-m{METADATA_VERSION}"


def chunk_metadata(chunk: Chunk, doc: Document, signature: str, n_chunks: int) -> dict[str, Any]:
    """Flat metadata (Chroma accepts scalars): a boolean per model so filters stay simple `where`s."""
    meta: dict[str, Any] = {
        "doc_id": chunk.doc_id,
        "position": chunk.position,
        "heading": chunk.heading,
        "title": chunk.title,
        "kind": chunk.kind,
        "topic": chunk.topic or "",
        "models": ",".join(chunk.models),
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


def _resolved(path: str | Path) -> Path:
    return Path(path).expanduser().resolve()


# ---------------------------------------------------------------- the index


class KnowledgeIndex:
    """The Chroma collection of one embedding model, and incremental ingestion into it."""

    def __init__(self, settings: Settings, embedder: E5EmbeddingFunction | None = None) -> None:
        apply_offline_env()
        self.settings = settings
        self.embedder = embedder or embedding_function(settings)
        self.collection_name = f"{settings.collection_prefix}-{E5_MODEL_NAME}"
        self.client = self._client()
        self.collection = self.client.get_or_create_collection(
            name=self.collection_name,
            embedding_function=self.embedder,
            configuration={"hnsw": {"space": "cosine"}},
            metadata={"embedding_model": E5_MODEL_NAME, "app": "yunying"},
        )
        self.version = 0  # bumped on every write, so retrievers know to rebuild BM25

    def _client(self) -> Any:
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

    # ---- reading the store

    def count(self) -> int:
        return self.collection.count()

    def _get_all(self, include: list[str], page: int = 5000) -> Iterable[tuple[str, str | None, dict]]:
        offset = 0
        while True:
            batch = self.collection.get(include=include, limit=page, offset=offset)  # type: ignore[arg-type]
            ids = batch["ids"]
            if not ids:
                return
            docs = batch.get("documents") or [None] * len(ids)
            metas = batch.get("metadatas") or [{}] * len(ids)
            yield from zip(ids, docs, metas, strict=True)
            if len(ids) < page:
                return
            offset += page

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
        return [
            StoredChunk(cid, doc or "", meta) for cid, doc, meta in self._get_all(["documents", "metadatas"])
        ]

    def chunk_metadatas(self) -> Iterable[dict]:
        """Every chunk's metadata (the document catalogue is built from these)."""
        return (meta for _, _, meta in self._get_all(["metadatas"]))

    def document_chunks(self, doc_id: str) -> list[StoredChunk]:
        """One document's chunks, in reading order."""
        batch = self.collection.get(where={"doc_id": doc_id}, include=["documents", "metadatas"])  # type: ignore[list-item]
        rows = zip(batch["ids"], batch["documents"] or [], batch["metadatas"] or [], strict=True)
        chunks = [StoredChunk(cid, doc or "", meta or {}) for cid, doc, meta in rows]
        return sorted(chunks, key=lambda c: int(c.metadata.get("position", 0)))

    def twin_section_text(self, pair: str, section: int, doc_id: str) -> str:
        """The text of the same section in the other document of a translated pair ('' when there is
        none): an English answer sentence is checked against the English twin of a Chinese source."""
        batch = self.collection.get(
            where={"$and": [{"pair": pair}, {"section": section}]},
            include=["documents", "metadatas"],  # type: ignore[list-item]
        )
        rows = [
            (int((meta or {}).get("position", 0)), doc or "")
            for doc, meta in zip(batch["documents"] or [], batch["metadatas"] or [], strict=True)
            if (meta or {}).get("doc_id") != doc_id
        ]
        return "\n".join(text for _, text in sorted(rows))

    def remove_document(self, doc_id: str) -> int:
        """Delete a document's chunks; returns how many there were."""
        ids = self.collection.get(where={"doc_id": doc_id}, include=[])["ids"]
        if ids:
            self._delete(list(ids))
        return len(ids)

    # ---- writing the store

    def _delete(self, chunk_ids: list[str]) -> None:
        for start in range(0, len(chunk_ids), 1000):
            self.collection.delete(ids=chunk_ids[start : start + 1000])
        self.version += 1

    def _add(
        self, todo: list[tuple[Document, list[Chunk], Any]], signature: str, on_chunks: Callable[[int], None]
    ) -> None:
        """Embed and add chunks in groups that cross document borders (sentence-transformers sorts each
        group by length, so less padding is computed). An interruption leaves the current document with
        fewer chunks than its `doc_chunks`, which the next ingest detects and redoes."""
        items = [(doc, chunk, len(chunks)) for doc, chunks, _ in todo for chunk in chunks]
        group = max(1, self.settings.embed_batch_size) * 4
        for start in range(0, len(items), group):
            part = items[start : start + group]
            vectors = self.embedder.embed_passages([chunk.embed_text for _, chunk, _ in part])
            self.collection.upsert(
                ids=[chunk.chunk_id for _, chunk, _ in part],
                embeddings=vectors,
                documents=[chunk.text for _, chunk, _ in part],
                metadatas=[chunk_metadata(chunk, doc, signature, n) for doc, chunk, n in part],
            )
            self.version += 1
            on_chunks(len(part))

    def ingest(
        self,
        paths: Sequence[Path] | None = None,
        *,
        progress: bool = False,
        remove_missing: bool = True,
    ) -> IngestReport:
        """Bring the store in line with the files under `paths` (default: the knowledge folder).

        Documents are compared by content hash and chunking signature: new ones are added, changed
        ones replace their old chunks, unchanged ones are skipped (nothing embedded), and documents
        that came from an ingested folder but whose file is gone are removed. A file that fails to
        parse is reported and its previously stored version is kept.
        """
        started = time.perf_counter()
        roots = [Path(p) for p in (paths or [self.settings.knowledge_dir])]
        report = IngestReport()
        for root in roots:
            if not root.exists():
                raise CorpusError(f"{root}: no such file or folder")
        signature = store_signature(self.settings)

        documents: list[Document] = []
        seen_ids: dict[str, str] = {}
        for path in discover(roots):
            try:
                doc = load_document(path, self.settings.max_file_bytes)
            except CorpusError as exc:
                report.failed.append(FailedFile(path=str(path), error=str(exc)))
                continue
            except Exception as exc:  # never let one odd file stop the others
                log.exception("loading %s failed", path)
                report.failed.append(
                    FailedFile(
                        path=str(path), error=f"{path}: cannot be read ({exc.__class__.__name__}: {exc})"
                    )
                )
                continue
            if doc.encoding != "utf-8":
                report.warnings.append(
                    FailedFile(path=str(path), error=f"{path}: not UTF-8; read as {doc.encoding.upper()}")
                )
            doc.source = str(_resolved(path))
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

        stored = self.stored_documents()
        todo: list[tuple[Document, list[Chunk], StoredDocument | None]] = []
        for doc in documents:
            previous = stored.get(doc.id)
            if (
                previous is not None
                and previous.complete
                and previous.content_hash == doc.content_hash
                and previous.signature == signature
                and previous.source == doc.source
            ):
                report.unchanged.append(doc.id)
                continue
            chunks = chunk_document(doc, self.settings.chunk_size, self.settings.chunk_overlap)
            if not chunks:
                report.failed.append(FailedFile(path=doc.source, error=f"{doc.source}: no text to index"))
                continue
            todo.append((doc, chunks, previous))

        if remove_missing:
            failed_sources = {str(_resolved(f.path)) for f in report.failed}
            root_paths = [_resolved(r) for r in roots]
            current = {doc.id for doc in documents}
            for doc_id, previous in stored.items():
                if doc_id in current or previous.source in failed_sources:
                    continue
                source = Path(previous.source)
                under_root = any(source == r or r in source.parents for r in root_paths)
                if under_root:
                    self._delete(previous.chunk_ids)
                    report.removed.append(doc_id)
                    report.chunks_removed += len(previous.chunk_ids)

        total = sum(len(chunks) for _, chunks, _ in todo)
        for _, _, previous in todo:
            if previous is not None:
                self._delete(previous.chunk_ids)
                report.chunks_removed += len(previous.chunk_ids)
        with _progress(progress and total > 0, total) as advance:
            self._add(todo, signature, advance)
        for doc, chunks, previous in todo:
            report.chunks_added += len(chunks)
            (report.updated if previous is not None and previous.complete else report.added).append(doc.id)

        report.total_chunks = self.count()
        report.total_documents = len(self.stored_documents()) if (todo or report.removed) else len(stored)
        report.seconds = round(time.perf_counter() - started, 3)
        log.info("ingest: %s", report.model_dump(exclude={"unchanged"}))
        return report

    def seed_from(self, other: KnowledgeIndex, page: int = 1000) -> int:
        """Copy another store's chunks (with their vectors) into this empty one, so a second store of the
        same knowledge (the eval store) costs no embedding. The next ingest then reconciles as usual."""
        if self.count() > 0 or other.count() == 0 or other.collection_name != self.collection_name:
            return 0
        copied = 0
        offset = 0
        while True:
            batch = other.collection.get(
                include=["embeddings", "documents", "metadatas"],  # type: ignore[list-item]
                limit=page,
                offset=offset,
            )
            ids = batch["ids"]
            if not ids:
                break
            self.collection.upsert(
                ids=ids,
                embeddings=batch["embeddings"],
                documents=batch["documents"],
                metadatas=batch["metadatas"],
            )
            copied += len(ids)
            offset += page
            if len(ids) < page:
                break
        self.version += 1
        return copied

    def reset(self) -> None:
        """Drop the collection (used to recover from a corrupt store or a model change)."""
        self.client.delete_collection(self.collection_name)
        self.collection = self.client.get_or_create_collection(
            name=self.collection_name,
            embedding_function=self.embedder,
            configuration={"hnsw": {"space": "cosine"}},
            metadata={"embedding_model": E5_MODEL_NAME, "app": "yunying"},
        )
        self.version += 1


class _progress:
    """A rich progress bar over chunks embedded, or a no-op when not wanted (JSON output, tests)."""

    def __init__(self, enabled: bool, total: int) -> None:
        self.enabled = enabled
        self.total = total
        self._bar: Any = None

    def __enter__(self) -> Callable[[int], None]:
        if not self.enabled:
            return lambda n: None
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

        # stderr, so `--json` output on stdout stays clean
        self._bar = Progress(
            TextColumn("embedding chunks"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeRemainingColumn(),
            transient=True,
            console=Console(stderr=True),
        )
        self._bar.start()
        task = self._bar.add_task("embed", total=self.total)
        return lambda n: self._bar.advance(task, n)

    def __exit__(self, *exc: object) -> None:
        if self._bar is not None:
            self._bar.stop()
