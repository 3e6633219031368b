"""The service methods behind the app's tabs: uploads, document catalogue, feedback. Real Chroma and the real
e5 model, in a temporary data dir."""

from __future__ import annotations

import json

import pytest

from assistant.ingest.uploads import safe_filename
from assistant.services.feedback import read_feedback
from assistant.services.yunying import Yunying
from tests.conftest import KNOWLEDGE

TERM = "Zorblax 留存飞轮"
NOTE = (
    f"# 我们的 Zorblax 打法\n\n{TERM}是我们团队自创的方法："
    "每周复盘新用户的第七日留存，并把结论写进运营周报。\n"
)


@pytest.fixture
def service(make_settings, embedder):
    settings = make_settings(max_file_mb=0.01)  # 10 KB, so the size limit is cheap to test
    svc = Yunying(settings, embedder=embedder)
    svc.ingest([KNOWLEDGE / "framework" / "overview.md"])
    return svc


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("../../etc/passwd", "passwd"),
        ("..\\..\\windows\\evil.md", "evil.md"),
        (".hidden.md", "hidden.md"),
        ("我的 笔记 (1).MD", "我的_笔记_1.md"),
        ("a<b>|c?.txt", "a_b_c.txt"),
        ("", "upload"),
        ("x" * 300 + ".docx", "x" * 95 + ".docx"),
    ],
)
def test_upload_names_are_sanitised(given, expected):
    assert safe_filename(given) == expected


def test_uploads_accept_reject_and_stay_incremental(service, tmp_path):
    incoming = tmp_path / "incoming"
    incoming.mkdir()
    good = incoming / "Zorblax 打法.md"
    good.write_text(NOTE, encoding="utf-8")
    (incoming / "tool.exe").write_bytes(b"MZ\x90\x00")
    (incoming / "big.txt").write_text("运营" * 4000, encoding="utf-8")  # ~24 KB > 10 KB
    (incoming / "empty.txt").write_text("", encoding="utf-8")
    (incoming / "fake.md").write_text(
        "---\nid: framework-overview\ntitle: x\nkind: framework\ntopic: overview\n---\n正文内容。\n",
        encoding="utf-8",
    )
    (incoming / "broken.pdf").write_bytes(b"%PDF-1.4 not really a pdf")
    names = ["Zorblax 打法.md", "tool.exe", "big.txt", "empty.txt", "fake.md", "broken.pdf"]
    results = {r.name: r for r in service.add_user_files([incoming / n for n in names])}

    ok = results["Zorblax_打法.md"]
    assert ok.status == "accepted" and ok.chunks >= 1 and ok.doc_id.startswith("user-")
    assert ok.title == "我们的 Zorblax 打法"
    stored = service.settings.uploads_dir / "Zorblax_打法.md"
    assert stored.read_text(encoding="utf-8") == NOTE
    assert "not accepted" in results["tool.exe"].reason
    assert "limit" in results["big.txt"].reason and "YUNYING_MAX_FILE_MB" in results["big.txt"].reason
    assert "empty" in results["empty.txt"].reason
    assert "front matter" in results["fake.md"].reason
    assert "PDF" in results["broken.pdf"].reason and str(incoming) not in results["broken.pdf"].reason
    assert all(r.status == "rejected" for n, r in results.items() if n != ok.name)
    assert sorted(p.name for p in service.settings.uploads_dir.iterdir()) == [ok.name]
    # the framework document was not replaced by the upload that claimed its id
    info, _ = service.document("framework-overview")
    assert info.kind == "framework"

    hits = service.search("Zorblax 留存飞轮是什么？", k=3)
    assert hits[0].doc_id == ok.doc_id and hits[0].kind == "user"

    again = service.add_user_files([good])
    assert [r.status for r in again] == ["unchanged"]
    good.write_text(NOTE + "\n第二版：加入第三十日留存。\n", encoding="utf-8")
    assert [r.status for r in service.add_user_files([good])] == ["updated"]


def test_catalogue_and_reading_a_document(service, tmp_path):
    note = tmp_path / "note.txt"
    note.write_text(NOTE, encoding="utf-8")
    (result,) = service.add_user_files([note])
    docs = {d.doc_id: d for d in service.documents()}
    assert list(docs)[0] == "framework-overview"  # framework documents come first
    assert docs["framework-overview"].topic == "overview" and docs["framework-overview"].chunks > 1
    assert docs[result.doc_id].kind == "user" and docs[result.doc_id].chunks == result.chunks
    info, body = service.document(result.doc_id)
    assert TERM in body and info.source.endswith("note.txt")
    with pytest.raises(KeyError):
        service.document("no-such-doc")


def test_only_user_documents_can_be_removed(service, tmp_path):
    note = tmp_path / "note.md"
    note.write_text(NOTE, encoding="utf-8")
    (result,) = service.add_user_files([note])
    with pytest.raises(ValueError, match="only your own documents"):
        service.remove_user_document("framework-overview")
    assert service.document("framework-overview")[0].chunks > 0
    removed = service.remove_user_document(result.doc_id)
    assert removed.chunks_removed == result.chunks and removed.file_deleted
    assert not (service.settings.uploads_dir / "note.md").exists()
    assert note.exists()  # the user's original is never touched
    assert result.doc_id not in {d.doc_id for d in service.documents()}
    assert all(h.doc_id != result.doc_id for h in service.search("Zorblax 留存飞轮", k=5))
    with pytest.raises(KeyError):
        service.remove_user_document(result.doc_id)


def test_a_user_document_ingested_from_its_own_folder_keeps_its_file(service, tmp_path):
    own = tmp_path / "mine" / "playbook.md"
    own.parent.mkdir()
    own.write_text(NOTE, encoding="utf-8")
    service.ingest([own])
    doc_id = next(d.doc_id for d in service.documents() if d.kind == "user")
    removed = service.remove_user_document(doc_id)
    assert removed.chunks_removed > 0 and not removed.file_deleted and own.exists()


def test_feedback_is_appended_as_json_lines(make_settings):
    service = Yunying(make_settings())
    first = service.record_feedback(
        "什么是私域流量？", "私域流量是……[1]", True, citations=["framework-trends", "framework-trends"]
    )
    service.record_feedback("Q2", "A2", False, comment="  引用不对  ", backend="local")
    service.record_feedback(first.question, first.answer, True, comment="很有用", feedback_id=first.id)
    lines = service.settings.feedback_path.read_text(encoding="utf-8").splitlines()
    assert len(lines) == 3
    row = json.loads(lines[0])
    assert set(row) >= {"timestamp", "question", "answer", "liked", "comment", "citations", "backend"}
    assert row["citations"] == ["framework-trends"] and row["backend"] == service.settings.llm
    saved = read_feedback(service.settings.feedback_path)
    assert saved[1].liked is False and saved[1].comment == "引用不对" and saved[1].backend == "local"
    assert saved[2].id == saved[0].id and saved[2].comment == "很有用"
