"""Crash safety and `yunying doctor` (issue 9): an ingest killed with SIGKILL mid-run is completed by the
next one with no duplicate or orphaned chunks and BM25 agreeing with Chroma; the doctor finds what a
broken store lacks and repairs it."""

from __future__ import annotations

import json
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from assistant.ingest.loaders import sha256_bytes
from assistant.ingest.pipeline import ingest_files
from assistant.retrieval import HybridRetriever
from assistant.store.chroma import KnowledgeIndex
from assistant.tools import doctor as d
from tests.conftest import KNOWLEDGE, REPO, cli_env, run_cli
from tests.test_index import write_doc

CRASH_FILES = [
    "framework/core-loop.md",
    "framework/community.md",
    "framework/content.md",
    "framework/product.md",
    "cases/jd.md",
    "cases/zhihu.md",
    "cases/xiaohongshu.md",
    "cases/bilibili.md",
    "cases/dingtalk.md",
    "cases/taobao.md",
]


def queued_writes(data_dir: Path) -> int:
    """Chunks Chroma has accepted so far, read from its SQLite log without opening the store."""
    db = data_dir / "chroma" / "chroma.sqlite3"
    if not db.exists():
        return 0
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=1) as conn:
            return int(conn.execute("select count(*) from embeddings_queue").fetchone()[0])
    except sqlite3.Error:
        return 0


def assert_consistent(settings, knowledge: Path, embedder) -> dict:
    index = KnowledgeIndex(settings, embedder)
    chunks = index.all_chunks()
    ids = [c.chunk_id for c in chunks]
    assert len(ids) == len(set(ids)), "duplicate chunk ids"
    stored = index.stored_documents()
    files = {p.name: sha256_bytes(p.read_bytes()) for p in knowledge.iterdir()}
    assert len(stored) == len(files)
    for doc in stored.values():
        assert doc.complete, f"{doc.doc_id}: {len(doc.chunk_ids)} of {doc.expected_chunks} chunks"
        assert all(cid.startswith(f"{doc.doc_id}#") for cid in doc.chunk_ids)
        assert files[Path(doc.source).name] == doc.content_hash, "a chunk of an old version survived"
    assert sum(d.expected_chunks for d in stored.values()) == len(ids)
    bm25 = HybridRetriever(index, settings).bm25_index()
    assert [c.chunk_id for c in bm25.chunks] and {c.chunk_id for c in bm25.chunks} == set(ids)
    assert all(c.tokens for c in bm25.chunks)
    return {"documents": len(stored), "chunks": len(ids)}


def test_ingest_killed_mid_run_is_completed_by_the_next_one(tmp_path, make_settings, embedder):
    knowledge = tmp_path / "knowledge"
    knowledge.mkdir()
    for name in CRASH_FILES:
        shutil.copy(KNOWLEDGE / name, knowledge / Path(name).name)
    data_dir = tmp_path / "data"
    env = cli_env(data_dir, YUNYING_KNOWLEDGE_DIR=str(knowledge), YUNYING_EMBED_BATCH_SIZE="4")
    proc = subprocess.Popen(
        [sys.executable, "-m", "assistant.cli", "ingest", "--json"],
        cwd=REPO,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    deadline = time.time() + 300
    while queued_writes(data_dir) < 40:  # some documents whole, one half-written
        assert proc.poll() is None, f"ingest ended before it could be killed: {proc.stderr.read()!r}"
        assert time.time() < deadline, "ingest wrote nothing in 300 s"
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    killed_at = queued_writes(data_dir)

    before = run_cli("doctor", "--json", data_dir=data_dir, YUNYING_KNOWLEDGE_DIR=str(knowledge))
    assert before.returncode == 1, before.stdout + before.stderr
    found = json.loads(before.stdout)
    assert found["healthy"] is False and found["checks"]["files"] == "error"
    assert "doctor --repair" in found["repair"]

    again = run_cli("ingest", "--json", data_dir=data_dir, YUNYING_KNOWLEDGE_DIR=str(knowledge))
    assert again.returncode == 0, again.stderr
    report = json.loads(again.stdout)
    assert report["failed"] == [] and report["total_documents"] == len(CRASH_FILES)
    assert report["unchanged"], "documents completed before the kill are not embedded again"
    assert report["chunks_added"] < report["total_chunks"]

    settings = make_settings(data_dir=data_dir, knowledge_dir=knowledge)
    figures = assert_consistent(settings, knowledge, embedder)
    after = run_cli("doctor", "--json", data_dir=data_dir, YUNYING_KNOWLEDGE_DIR=str(knowledge))
    assert after.returncode == 0, after.stdout
    assert json.loads(after.stdout)["store"]["chunks"] == figures["chunks"]
    print(f"killed after {killed_at} chunks were written; next ingest: {figures}, {report['seconds']} s")


def test_doctor_finds_and_repairs_a_broken_store(tmp_path, make_settings, embedder):
    kb = tmp_path / "knowledge"
    write_doc(kb, "a.md", "doc-a", "产品驱动的核心是极致体验。" * 30)
    write_doc(kb, "b.md", "doc-b", "内容驱动依靠持续生产优质内容。" * 30)
    write_doc(kb, "c.md", "doc-c", "社区驱动依靠用户之间的关系。")
    settings = make_settings(chunk_size=100, chunk_overlap=0)
    index = KnowledgeIndex(settings, embedder)
    ingest_files(index)
    healthy = d.check(index)
    assert healthy.healthy and set(healthy.checks.values()) == {"ok"} and healthy.store["documents"] == 3

    chunks = {c.chunk_id: c for c in index.all_chunks()}
    b_ids = sorted(cid for cid in chunks if cid.startswith("doc-b#"))
    a_first = sorted(cid for cid in chunks if cid.startswith("doc-a#"))[0]
    index.collection.delete(ids=b_ids[:2])  # an incomplete document
    index.collection.update(ids=[a_first], metadatas=[{**chunks[a_first].metadata, "bm25": ""}])
    index.collection.upsert(  # an orphan: a chunk no document owns
        ids=["stray-chunk"],
        embeddings=[embedder.embed_passages(["游离的片段"])[0]],
        documents=["游离的片段"],
        metadatas=[{"title": "?"}],
    )
    (kb / "c.md").unlink()  # removed from the folder, still stored
    write_doc(kb, "d.md", "doc-d", "服务驱动依靠专业能力。")  # new, not ingested

    broken = d.check(index)
    assert not broken.healthy
    assert broken.checks == {"chunks": "error", "bm25": "error", "embedding": "ok", "files": "error"}
    messages = " | ".join(f.message for f in broken.findings)
    assert "orphaned chunk 'stray-chunk'" in messages
    assert f"doc-b: incomplete, {len(b_ids) - 2} of its {len(b_ids)} chunks" in messages
    assert "2 chunks have no BM25 tokens" in messages  # doc-a#0 and the orphan
    assert "doc-c: its file" in messages and "removed from the knowledge folder" in messages
    assert "d.md: not ingested" in messages

    env = {"YUNYING_KNOWLEDGE_DIR": str(kb), "YUNYING_CHUNK_SIZE": "100", "YUNYING_CHUNK_OVERLAP": "0"}
    data_dir = settings.data_dir
    text = run_cli("doctor", data_dir=data_dir, **env)
    assert text.returncode == 1 and "NOT healthy" in text.stdout and "doctor --repair" in text.stdout
    assert "orphaned chunk" in text.stdout and text.stderr == ""

    fixed = run_cli("doctor", "--repair", "--json", data_dir=data_dir, **env)
    assert fixed.returncode == 0, fixed.stdout + fixed.stderr
    repaired = json.loads(fixed.stdout)
    assert repaired["healthy"] and repaired["repaired"]["deleted_chunks"] == 1 + (len(b_ids) - 2) + 1
    assert sorted(repaired["repaired"]["ingest"]["removed"]) == ["doc-c"]
    assert run_cli("doctor", data_dir=data_dir, **env).returncode == 0
    assert set(KnowledgeIndex(settings, embedder).stored_documents()) == {"doc-a", "doc-b", "doc-d"}


def test_doctor_notices_another_embedding_model(make_settings, embedder, tmp_path):
    write_doc(tmp_path / "knowledge", "a.md", "doc-a", "交易驱动的核心是货与场。")
    index = KnowledgeIndex(make_settings(), embedder)
    ingest_files(index)
    index.collection.modify(metadata={"embedding_model": "bge-m3", "app": "yunying"})
    report = d.check(index)
    assert report.checks["embedding"] == "error" and "bge-m3" in report.findings[0].message
    repaired = d.repair(index, report)
    assert repaired.healthy and repaired.repaired["reset_collection"] is True
    assert index.collection.metadata["embedding_model"] == "multilingual-e5-small" and index.count() == 1
