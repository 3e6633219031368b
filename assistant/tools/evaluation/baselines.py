"""The baselines our retrieval is measured against (besides BM25-only and dense-only, which are the
retriever's own modes): a plain LangChain + Chroma pipeline as a tutorial builds it."""

from __future__ import annotations

from pathlib import Path

from assistant.core.settings import Settings


class LangChainDefaultBaseline:
    """A plain LangChain + Chroma pipeline, as a tutorial builds it: RecursiveCharacterTextSplitter with
    LangChain's common 1000/200 settings over the raw files, the same e5 weights through
    HuggingFaceEmbeddings without e5's query/passage prompts, and `similarity_search`."""

    def __init__(self, settings: Settings, model_dir: Path, sources: list[Path]) -> None:
        from langchain_chroma import Chroma
        from langchain_core.documents import Document as LCDocument
        from langchain_huggingface import HuggingFaceEmbeddings
        from langchain_text_splitters import RecursiveCharacterTextSplitter

        from assistant.ingest.loaders import discover, load_document

        documents = []
        for path in discover(sources):
            doc = load_document(path)
            documents.append(
                LCDocument(page_content=doc.body, metadata={"doc_id": doc.id, "hash": doc.content_hash})
            )
        fingerprint = _fingerprint([d.metadata["hash"] for d in documents])
        embeddings = HuggingFaceEmbeddings(
            model_name=str(model_dir),
            model_kwargs={"device": "cpu"},
            encode_kwargs={"normalize_embeddings": True},
        )
        directory = settings.data_dir / "baseline-langchain"
        self.store = Chroma(
            collection_name=f"langchain-default-{fingerprint}",
            embedding_function=embeddings,
            persist_directory=str(directory),
            collection_metadata={"hnsw:space": "cosine"},
        )
        if not self.store.get(limit=1, include=[])["ids"]:  # built once per knowledge version
            splitter = RecursiveCharacterTextSplitter(chunk_size=1000, chunk_overlap=200)
            self.store.add_documents(splitter.split_documents(documents))

    def search(self, query: str, k: int) -> list[str]:
        return [d.metadata["doc_id"] for d in self.store.similarity_search(query, k=k)]


def _fingerprint(hashes: list[str]) -> str:
    import hashlib

    return hashlib.sha1("".join(sorted(hashes)).encode()).hexdigest()[:12]
