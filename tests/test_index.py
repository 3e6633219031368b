"""Incremental ingestion into a real Chroma store with the real e5 model."""

from __future__ import annotations

from pathlib import Path

import pytest

from assistant.ingest.pipeline import ingest_files
from assistant.store.chroma import KnowledgeIndex

DOC = """---
id: {id}
title: {title}
kind: framework
topic: {topic}
models: [product]
lang: zh
---
## 要点
{body}
"""


def write_doc(folder: Path, name: str, doc_id: str, body: str, topic: str = "product") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(DOC.format(id=doc_id, title=f"标题{doc_id}", topic=topic, body=body), encoding="utf-8")
    return path


@pytest.fixture
def counted(embedder, monkeypatch):
    """The real embedder, counting the passages it embeds (and able to fail on a chosen call)."""
    state = {"passages": 0, "calls": 0, "fail_on_call": None}
    original = type(embedder).embed_passages

    def embed_passages(texts):
        state["calls"] += 1
        if state["fail_on_call"] == state["calls"]:
            raise KeyboardInterrupt("simulated interruption")
        state["passages"] += len(texts)
        return original(embedder, texts)

    monkeypatch.setattr(embedder, "embed_passages", embed_passages)
    return state


def long_body(prefix: str, n: int) -> str:
    return "".join(f"{prefix}第{i}条：运营需要持续关注用户留存与转化效率。" for i in range(n))


def test_add_rerun_modify_delete(tmp_path, make_settings, embedder, counted):
    kb = tmp_path / "knowledge"
    write_doc(kb, "a.md", "doc-a", "产品驱动的核心是极致体验。用户自发传播。")
    write_doc(kb, "b.md", "doc-b", long_body("B", 20))
    index = KnowledgeIndex(make_settings(chunk_size=120, chunk_overlap=20), embedder)

    first = ingest_files(index)
    assert sorted(first.added) == ["doc-a", "doc-b"]
    assert first.updated == first.removed == first.failed == []
    assert counted["passages"] == first.chunks_added == index.count() > 2

    counted["passages"] = 0
    second = ingest_files(index)
    assert second.added == second.updated == second.removed == []
    assert sorted(second.unchanged) == ["doc-a", "doc-b"]
    assert counted["passages"] == 0, "an unchanged corpus must embed nothing"

    old_a = {c.chunk_id for c in index.all_chunks() if c.metadata["doc_id"] == "doc-a"}
    write_doc(kb, "a.md", "doc-a", "内容驱动的核心是持续生产优质内容。")
    third = ingest_files(index)
    assert third.updated == ["doc-a"] and third.unchanged == ["doc-b"]
    new_a = [c for c in index.all_chunks() if c.metadata["doc_id"] == "doc-a"]
    assert old_a.isdisjoint({c.chunk_id for c in new_a})
    assert "内容驱动" in new_a[0].text
    assert counted["passages"] == len(new_a)

    (kb / "b.md").unlink()
    fourth = ingest_files(index)
    assert fourth.removed == ["doc-b"]
    assert {c.metadata["doc_id"] for c in index.all_chunks()} == {"doc-a"}
    assert fourth.total_documents == 1


def test_interrupted_ingest_is_completed_by_the_next_run(tmp_path, make_settings, embedder, counted):
    kb = tmp_path / "knowledge"
    write_doc(kb, "big.md", "doc-big", long_body("X", 60))
    write_doc(kb, "small.md", "doc-small", "社区驱动依靠用户关系。")
    settings = make_settings(chunk_size=100, chunk_overlap=0, embed_batch_size=1)  # groups of 4 chunks
    index = KnowledgeIndex(settings, embedder)

    counted["fail_on_call"] = 3
    with pytest.raises(KeyboardInterrupt):
        ingest_files(index)
    partial = index.stored_documents()
    assert any(not doc.complete for doc in partial.values()), "the interruption left a partial document"

    counted["fail_on_call"] = None
    report = ingest_files(index)
    assert "doc-big" in report.added
    stored = index.stored_documents()
    assert set(stored) == {"doc-big", "doc-small"}
    assert all(doc.complete for doc in stored.values())
    ids = [c.chunk_id for c in index.all_chunks()]
    assert len(ids) == len(set(ids)) == sum(d.expected_chunks for d in stored.values())
    assert ingest_files(index).unchanged == sorted(["doc-big", "doc-small"]) or set(
        ingest_files(index).unchanged
    ) == {
        "doc-big",
        "doc-small",
    }


def test_a_broken_file_is_reported_and_its_stored_version_kept(tmp_path, make_settings, embedder):
    kb = tmp_path / "knowledge"
    path = write_doc(kb, "a.md", "doc-a", "交易驱动的核心是货与场。")
    index = KnowledgeIndex(make_settings(), embedder)
    ingest_files(index)
    path.write_text(
        path.read_text(encoding="utf-8").replace("topic: product", "topic: nonsense"), encoding="utf-8"
    )
    report = ingest_files(index)
    assert len(report.failed) == 1 and "field 'topic'" in report.failed[0].error
    assert report.removed == []
    assert {c.metadata["doc_id"] for c in index.all_chunks()} == {"doc-a"}


def test_duplicate_ids_are_refused(tmp_path, make_settings, embedder):
    kb = tmp_path / "knowledge"
    write_doc(kb, "a.md", "same-id", "第一篇。")
    write_doc(kb, "b.md", "same-id", "第二篇。")
    report = ingest_files(KnowledgeIndex(make_settings(), embedder))
    assert report.added == ["same-id"]
    assert "already used" in report.failed[0].error


def test_user_files_elsewhere_survive_a_knowledge_ingest(tmp_path, make_settings, embedder):
    kb = tmp_path / "knowledge"
    write_doc(kb, "a.md", "doc-a", "服务驱动的核心是专业能力。")
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "plan.txt").write_text("我们计划在下沉市场试点社交拼团。", encoding="utf-8")
    index = KnowledgeIndex(make_settings(), embedder)
    ingest_files(index)
    user = ingest_files(index, [mine])
    assert len(user.added) == 1 and user.added[0].startswith("user-plan-")
    again = ingest_files(index)  # the knowledge folder only: the user file is outside it and stays
    assert again.removed == []
    assert len(index.stored_documents()) == 2


def test_changing_the_chunking_reindexes(tmp_path, make_settings, embedder):
    kb = tmp_path / "knowledge"
    write_doc(kb, "b.md", "doc-b", long_body("B", 10))
    ingest_files(KnowledgeIndex(make_settings(chunk_size=120, chunk_overlap=20), embedder))
    report = ingest_files(KnowledgeIndex(make_settings(chunk_size=200, chunk_overlap=20), embedder))
    assert report.updated == ["doc-b"]


def test_collection_name_records_the_embedding_model(make_settings, embedder):
    index = KnowledgeIndex(make_settings(), embedder)
    assert index.collection_name == "yunying-multilingual-e5-small"
    assert index.collection.metadata["embedding_model"] == "multilingual-e5-small"


def test_passage_vector_cache_spares_embedding_across_stores(tmp_path, make_settings, embedder, monkeypatch):
    """A second store of the same text (eval store, test store, a rebuilt store) reads the vectors the
    first one computed; only new text reaches the model, and the vectors are the model's own."""
    import numpy as np

    from assistant.store.chroma import E5EmbeddingFunction

    kb = tmp_path / "knowledge"
    write_doc(kb, "a.md", "doc-a", long_body("A", 12))
    cached = E5EmbeddingFunction(embedder.model_dir, cache_path=str(tmp_path / "cache.sqlite"))
    cached._model = embedder.model  # the session's loaded model, not a second copy
    encoded: list[int] = []
    original = E5EmbeddingFunction._encode_passages

    def counting(self, texts):
        encoded.append(len(texts))
        return original(self, texts)

    monkeypatch.setattr(E5EmbeddingFunction, "_encode_passages", counting)
    first = KnowledgeIndex(make_settings(chunk_size=120, data_dir=tmp_path / "one"), cached)
    report = ingest_files(first)
    assert report.chunks_added > 1 and sum(encoded) == report.chunks_added

    encoded.clear()
    write_doc(kb, "b.md", "doc-b", "全新的一段文字，只有它需要嵌入。")
    second = KnowledgeIndex(make_settings(chunk_size=120, data_dir=tmp_path / "two"), cached)
    report = ingest_files(second)
    assert sorted(report.added) == ["doc-a", "doc-b"]
    assert sum(encoded) == 1  # doc-b's one chunk; doc-a came from the cache

    one = first.collection.get(include=["embeddings"])
    two = second.collection.get(ids=one["ids"], include=["embeddings"])
    by_id = dict(zip(two["ids"], two["embeddings"], strict=True))
    for chunk_id, vector in zip(one["ids"], one["embeddings"], strict=True):
        assert np.allclose(vector, by_id[chunk_id], atol=1e-6)


def test_an_older_store_gets_the_wide_search_beam_and_dense_search_returns_the_nearest(
    tmp_path, make_settings, embedder
):
    """A store made with hnswlib's default beam (ef_search 100, barely wider than the 40 candidates a
    search asks for, so the answer depended on the graph walk) is widened when it is opened; the dense
    search then returns what brute force over the stored vectors returns, ties in chunk-id order."""
    import numpy as np

    from assistant.store.chroma import HNSW_EF_SEARCH

    settings = make_settings(chunk_size=120, chunk_overlap=20)
    write_doc(tmp_path / "knowledge", "b.md", "doc-b", long_body("B", 40))
    ingest_files(KnowledgeIndex(settings, embedder))
    KnowledgeIndex(settings, embedder).collection.modify(configuration={"hnsw": {"ef_search": 100}})

    index = KnowledgeIndex(settings, embedder)
    assert index.collection.configuration["hnsw"]["ef_search"] == HNSW_EF_SEARCH
    stored = index.collection.get(include=["embeddings"])
    vectors = np.asarray(stored["embeddings"], dtype=np.float32)
    query = embedder.embed_query(["运营需要关注用户留存"])[0]
    similarity = vectors @ np.asarray(query, dtype=np.float32)
    nearest = [stored["ids"][i] for i in np.argsort(-similarity)[:10]]
    found = index.query_dense(query, 10)
    assert {m.chunk_id for m in found} == set(nearest)
    ranked = [(-round(m.similarity, 6), m.chunk_id) for m in found]
    assert ranked == sorted(ranked)  # best first, equal similarities in chunk-id order
