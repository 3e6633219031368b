"""Knowledge management (issue 17, item 2): a deleted user document is no longer found nor cited (its
chunks and BM25 entries are gone), in this process and in a fresh `yunying` process; a saved conversation
that cited it shows those citations as deleted (chat, export, `yunying history`); `yunying docs
list|show|delete|reindex`; re-indexing one document; `yunying ingest --watch DIR` following added,
changed and removed files and stopping cleanly on Ctrl-C. Real e5 and Chroma, the `none` backend."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from docx import Document

from assistant.answer import Answer
from assistant.frontends.web.pages.chat import ChatPage, ChatSession
from assistant.services.yunying import Yunying
from assistant.store.records import IngestReport
from tests.conftest import KNOWLEDGE, REPO, cli_env, run_cli

INPROCESS_TERM = "Zorblax 留存飞轮"
CLI_TERM = "Quenvik 复盘法"
SAVED_TERM = "Vantrel 周复盘"
MONTHLY = "每月最后一周，Quenvik 复盘法还要做一次月度总复盘，回看四周的假设哪些成立。"
CARD = re.compile(r"<div class='source-card[^']*' id='src-(\d+)-(\d+)'[^>]*data-deleted='(true|false)'>")


def note(term: str) -> str:
    return (
        f"# 我们的 {term}\n\n{term}是我们团队自创的方法：每周复盘新用户的第七日留存，"
        f"并把结论写进运营周报。{term}由增长组负责，每次复盘都要列出下一周要验证的三个假设。\n"
    )


def wait_for(condition: Callable[[], bool], seconds: float = 120) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.2)
    return condition()


@pytest.fixture(scope="module")
def store(module_settings, embedder) -> tuple[Yunying, dict[str, str], Path]:
    """The overview framework document and three user notes (uploads), one for each deletion test."""
    settings = module_settings("knowledge-admin")
    root = settings.data_dir.parent
    service = Yunying(settings, embedder=embedder)
    assert service.ingest([KNOWLEDGE / "framework" / "overview.md"]).failed == []
    ids: dict[str, str] = {}
    for term, name in ((INPROCESS_TERM, "zorblax.md"), (CLI_TERM, "quenvik.md"), (SAVED_TERM, "vantrel.md")):
        path = root / name
        path.write_text(note(term), encoding="utf-8")
        (result,) = service.add_user_files([path])
        assert result.ok and result.chunks > 0
        ids[term] = result.doc_id
    return service, ids, settings.data_dir


def cited_docs(answer: Answer | dict) -> set[str]:
    if isinstance(answer, Answer):
        return {c.doc_id for c in answer.citations}
    return {c["doc_id"] for c in answer["citations"]}


def test_a_deleted_document_is_no_longer_found_nor_cited(store):
    service, ids, _ = store
    doc_id = ids[INPROCESS_TERM]
    question = f"什么是{INPROCESS_TERM}？"
    before = service.ask(question)
    assert not before.refused and doc_id in cited_docs(before)  # only this document answers it
    assert service.search(INPROCESS_TERM, k=3, mode="bm25")[0].doc_id == doc_id

    removed = service.remove_user_document(doc_id)
    assert removed.chunks_removed > 0 and removed.file_deleted
    for mode in ("hybrid", "dense", "bm25"):
        assert all(h.doc_id != doc_id for h in service.search(INPROCESS_TERM, k=10, mode=mode)), mode
    after = service.ask(question)
    assert doc_id not in cited_docs(after)
    assert INPROCESS_TERM not in after.answer


def test_the_docs_commands_and_a_fresh_process_no_longer_answering(store):
    service, ids, data_dir = store
    doc_id = ids[CLI_TERM]
    listed = run_cli("docs", "list", "--json", data_dir=data_dir)
    assert listed.returncode == 0, listed.stderr
    documents = {d["doc_id"]: d for d in json.loads(listed.stdout)}
    assert documents[doc_id]["kind"] == "user" and documents["framework-overview"]["kind"] == "framework"

    shown = run_cli("docs", "show", doc_id, "--json", data_dir=data_dir)
    assert shown.returncode == 0, shown.stderr
    document = json.loads(shown.stdout)
    assert CLI_TERM in document["text"]
    chunks = document["stored_chunks"]
    assert len(chunks) == document["chunks"] and chunks[0]["bm25_tokens"] > 0
    assert [c["chunk_id"] for c in chunks] == [c.chunk_id for c in service.index.document_chunks(doc_id)]

    # reindex reads the file again: a section added to it is stored after
    Path(document["source"]).write_text(note(CLI_TERM) + f"\n## 月度总复盘\n\n{MONTHLY}\n", encoding="utf-8")
    reindexed = run_cli("docs", "reindex", doc_id, "--json", data_dir=data_dir)
    assert reindexed.returncode == 0, reindexed.stderr
    report = json.loads(reindexed.stdout)
    assert report["updated"] == [doc_id] and report["added"] == report["removed"] == report["failed"] == []
    assert report["unchanged"] == [] and report["warnings"] == []
    shown = json.loads(run_cli("docs", "show", doc_id, "--json", data_dir=data_dir).stdout)
    chunks = shown["stored_chunks"]
    assert report["chunks_removed"] == document["chunks"] and report["chunks_added"] == len(chunks)
    assert MONTHLY in " ".join(c["text"] for c in chunks) and MONTHLY in shown["text"]
    assert report["total_documents"] == len(documents)
    listed_chunks = sum(
        d["chunks"] for d in json.loads(run_cli("docs", "list", "--json", data_dir=data_dir).stdout)
    )
    assert report["total_chunks"] == listed_chunks
    assert isinstance(report["seconds"], float) and report["seconds"] > 0
    plain = run_cli("docs", "reindex", doc_id, data_dir=data_dir)
    assert plain.returncode == 0 and plain.stdout.startswith(f"reindexed {doc_id}: {len(chunks)} chunks")
    unknown = run_cli("docs", "reindex", "no-such-doc", "--json", data_dir=data_dir)
    assert unknown.returncode == 1 and "no document 'no-such-doc'" in unknown.stderr and not unknown.stdout

    refused = run_cli("docs", "delete", "framework-overview", data_dir=data_dir)
    assert refused.returncode == 1 and "only your own documents can be removed" in refused.stderr
    unknown = run_cli("docs", "show", "no-such-doc", data_dir=data_dir)
    assert unknown.returncode == 1 and "no document 'no-such-doc'" in unknown.stderr

    deleted = run_cli("docs", "delete", doc_id, "--json", data_dir=data_dir)
    assert deleted.returncode == 0, deleted.stderr
    assert json.loads(deleted.stdout)["chunks_removed"] == len(chunks)
    asked = run_cli("ask", f"什么是{CLI_TERM}？", "--json", "--llm", "none", data_dir=data_dir)
    assert asked.returncode == 0, asked.stderr
    assert doc_id not in cited_docs(json.loads(asked.stdout))
    listed = run_cli("docs", "list", "--kind", "user", "--json", data_dir=data_dir)
    assert doc_id not in {d["doc_id"] for d in json.loads(listed.stdout)}


def test_a_saved_conversation_shows_the_citations_of_a_deleted_document_as_deleted(store, embedder, tmp_path):
    service, ids, data_dir = store
    doc_id = ids[SAVED_TERM]
    conversation = service.conversations.create()
    framework = service.ask("运营模式有哪五种？", conversation_id=conversation.id)
    mine = service.ask(f"什么是{SAVED_TERM}？", conversation_id=conversation.id)
    assert "framework-overview" in cited_docs(framework) and doc_id in cited_docs(mine)
    cited = [c for t in service.conversations.get(conversation.id).turns for c in t.answer.citations]
    assert not any(c.deleted for c in cited)  # while the document is stored, nothing is marked
    assert service.remove_user_document(doc_id).chunks_removed > 0

    restarted = Yunying(service.settings, embedder=embedder)  # reopened after a restart
    turns = restarted.conversations.get(conversation.id).turns
    marks = {(c.doc_id, c.deleted) for t in turns for c in t.answer.citations}
    assert (doc_id, True) in marks and ("framework-overview", False) in marks
    assert (doc_id, False) not in marks and ("framework-overview", True) not in marks
    gone = {(turn, c.n) for turn, t in enumerate(turns, 1) for c in t.answer.citations if c.deleted}

    # the chat: a deleted source's card says so and offers no document; its [n] is no link to it
    messages, cards, *_ = ChatPage(restarted).open_conversation(conversation.id, ChatSession(), "zh")
    shown = {(int(t), int(n)): deleted == "true" for t, n, deleted in CARD.findall(cards)}
    assert {key for key, deleted in shown.items() if deleted} == gone and not all(shown.values())
    for turn, n in gone:
        answer = messages[2 * turn - 1]["content"]
        assert f"(#src-{turn}-{n})" not in answer and f"[{n}]" in answer
    for card in cards.split("<div class='source-card")[1:]:
        assert ("来源已删除" in card) == ("data-deleted='true'" in card)
        assert "data-deleted='false'" in card or "src-doc" not in card  # nothing to open

    # the export says so in its references, Markdown and Word alike
    markdown = restarted.export_conversation(conversation.id, tmp_path / "chat.md").read_text("utf-8")
    references = re.findall(r"^- \[\d+\] .+ \((.+?)\)( · 来源已删除)?$", markdown, re.M)
    assert (doc_id, " · 来源已删除") in references and ("framework-overview", "") in references
    assert all(bool(mark) == (ref == doc_id) for ref, mark in references)
    paragraphs = [
        p.text
        for p in Document(str(restarted.export_conversation(conversation.id, tmp_path / "c.docx"))).paragraphs
    ]
    assert any(p.startswith("[") and f"({doc_id}) · 来源已删除" in p for p in paragraphs)

    # and `yunying history show`, in a fresh process
    shown_json = run_cli("history", "show", conversation.id, "--json", data_dir=data_dir)
    assert shown_json.returncode == 0, shown_json.stderr
    citations = [c for t in json.loads(shown_json.stdout)["turns"] for c in t["answer"]["citations"]]
    assert {(c["doc_id"], c["deleted"]) for c in citations} == marks
    shown_text = run_cli("history", "show", conversation.id, data_dir=data_dir)
    assert shown_text.returncode == 0, shown_text.stderr
    assert f"({doc_id})  (source deleted)" in shown_text.stdout


def test_a_running_service_notices_a_delete_made_by_another_service_on_the_same_data_dir(
    make_settings, embedder, tmp_path
):
    """Two service objects on one data dir stand for `yunying serve` and `yunying docs delete`: the
    server built its BM25 before the delete and must not keep finding (or citing) the gone document."""
    settings = make_settings(llm="none")
    server = Yunying(settings, embedder=embedder)
    term = "Plombit 留存复盘"
    path = tmp_path / "plombit.md"
    path.write_text(note(term), encoding="utf-8")
    (added,) = server.add_user_files([path])
    assert added.ok
    question = f"什么是{term}？"
    assert server.search(term, k=3, mode="bm25")[0].doc_id == added.doc_id  # BM25 built, with the doc
    assert added.doc_id in cited_docs(server.ask(question))

    other = Yunying(settings, embedder=embedder)
    assert other.remove_user_document(added.doc_id).chunks_removed > 0

    for mode in ("bm25", "hybrid"):
        assert all(h.doc_id != added.doc_id for h in server.search(term, k=10, mode=mode)), mode
    after = server.ask(question)
    assert added.doc_id not in cited_docs(after) and term not in after.answer


def test_reindexing_one_document(store):
    service, _, _ = store
    before = service.index.document_chunks("framework-overview")
    report = service.reindex_document("framework-overview")
    assert report.updated == ["framework-overview"] and report.added == [] and report.removed == []
    assert report.chunks_added == len(before) == report.chunks_removed
    after = service.index.document_chunks("framework-overview")
    assert [c.chunk_id for c in after] == [c.chunk_id for c in before]
    assert service.ingest([KNOWLEDGE / "framework" / "overview.md"]).unchanged == ["framework-overview"]
    with pytest.raises(KeyError):
        service.reindex_document("no-such-doc")


def test_reindexing_a_document_whose_file_is_gone_says_so(make_settings, embedder, tmp_path):
    service = Yunying(make_settings(), embedder=embedder)
    own = tmp_path / "gone.md"
    own.write_text(note("Vantor 周会"), encoding="utf-8")
    service.ingest([own])
    doc_id = next(d.doc_id for d in service.documents())
    own.unlink()
    with pytest.raises(FileNotFoundError, match="remove the document instead"):
        service.reindex_document(doc_id)
    assert service.index.document_chunks(doc_id)  # nothing was lost


def test_watching_a_folder_follows_added_changed_and_removed_files(make_settings, embedder, tmp_path):
    service = Yunying(make_settings(), embedder=embedder)
    shared = tmp_path / "shared"
    shared.mkdir()
    (shared / "a.md").write_text(note("Aldren 看板"), encoding="utf-8")
    reports: list[IngestReport] = []
    stop = threading.Event()
    watcher = threading.Thread(target=service.watch_folder, args=(shared, reports.append, stop, 0.2))
    watcher.start()
    try:
        assert wait_for(lambda: len(reports) == 1) and len(reports[0].added) == 1
        (shared / "b.md").write_text(note("Brisk 例会"), encoding="utf-8")
        assert wait_for(lambda: len(reports) == 2) and len(reports[1].added) == 1
        (shared / "a.md").write_text(note("Aldren 看板") + "\n看板每天更新一次。\n", encoding="utf-8")
        assert wait_for(lambda: len(reports) == 3) and len(reports[2].updated) == 1
        (shared / "b.md").unlink()
        assert wait_for(lambda: len(reports) == 4) and reports[3].removed == reports[1].added
        time.sleep(1)
        assert len(reports) == 4  # nothing changed, nothing ingested
    finally:
        stop.set()
        watcher.join(timeout=30)
    assert not watcher.is_alive()
    assert {d.doc_id for d in service.documents()} == set(reports[0].added)


@pytest.mark.parametrize("stop_signal", [signal.SIGINT, signal.SIGTERM])
def test_ingest_watch_stops_cleanly_on_ctrl_c(tmp_path, stop_signal):
    shared = tmp_path / "shared"
    shared.mkdir()
    (shared / "c.md").write_text(note("Corvel 日报"), encoding="utf-8")
    data_dir = tmp_path / "data"
    process = subprocess.Popen(
        [sys.executable, "-m", "assistant.cli", "ingest", "--watch", str(shared), "--json"],
        cwd=REPO,
        env=cli_env(data_dir),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        # started as a shell starts a background job, with SIGINT ignored: the watcher still stops (this
        # is how the test hung when the suite itself ran in the background)
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN),
    )
    try:
        first = json.loads(process.stdout.readline())  # type: ignore[union-attr]
        assert len(first["added"]) == 1
        process.send_signal(stop_signal)
        _, stderr = process.communicate(timeout=180)
    finally:
        if process.poll() is None:
            os.kill(process.pid, signal.SIGKILL)
    assert process.returncode == 0, stderr
    assert "stopped watching" in stderr and "Traceback" not in stderr
    again = run_cli("ingest", str(shared), "--json", data_dir=data_dir)
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout)["unchanged"] == first["added"]  # the store stayed consistent
