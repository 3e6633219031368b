"""Bad input (issue 9): every kind of unusable question, description and file gives a clear reason, loses
nothing and never spoils the store or the other files of the same ingest."""

from __future__ import annotations

import io
import json
import os
import random
import zipfile
from pathlib import Path

import pytest

from assistant.core.errors import InputError
from assistant.ingest.loaders import CorpusError, discover, load_document
from assistant.ingest.pipeline import ingest_files
from assistant.store.chroma import KnowledgeIndex
from tests.conftest import run_cli
from tests.test_corpus import minimal_pdf

GOOD_MD = """---
id: doc-good
title: 社群运营的基本功
kind: framework
topic: community
models: [community]
---
## 要点
社群运营的基本功是每周复盘退群率，并为新成员安排破冰话题。
"""
GBK_TEXT = "私域复购手册：老客户每月收到一次专属新品试用邀请，复购率因此提升了两成。"


def one_error_line(result) -> str:
    assert result.returncode != 0, result.stdout
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("yunying: error:"), result.stderr
    return lines[0]


# ---------------------------------------------------------------- questions and descriptions


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["ask", "", "--llm", "none"], "the question is empty"),
        (["ask", " \n\t　", "--llm", "none"], "the question is empty"),
        (["ask", "私域" * 40, "--llm", "none"], "the limit is 50 (setting YUNYING_MAX_QUESTION_CHARS)"),
        (["search", "增长" * 40], "the limit is 50"),
        (["fit", "--text", "   "], "the business description is empty"),
        (["fit", "--text", "我们做社区团购。" * 20], "limit is 60 (setting YUNYING_MAX_DESCRIPTION_CHARS)"),
    ],
)
def test_empty_blank_and_oversized_text_is_one_line(tmp_path, args, message):
    result = run_cli(
        *args,
        data_dir=tmp_path / "data",
        YUNYING_MAX_QUESTION_CHARS="50",
        YUNYING_MAX_DESCRIPTION_CHARS="60",
    )
    assert message in one_error_line(result)
    assert result.stdout == ""


def test_limits_are_enforced_in_the_service_for_every_front_end(make_settings, embedder):
    from assistant.services.yunying import Yunying

    service = Yunying(make_settings(llm="none", max_question_chars=20, max_description_chars=30))
    service.__dict__["index"] = KnowledgeIndex(service.settings, embedder)
    for call in (
        lambda: service.ask("运营" * 11),
        lambda: service.ask("  "),
        lambda: service.answer_chain().invoke("x" * 21),
        lambda: service.search("y" * 21),
        lambda: service.fit("卖货" * 16),
        lambda: service.fit("\n"),
    ):
        with pytest.raises(InputError):
            call()


# ---------------------------------------------------------------- files


def encrypted_pdf() -> bytes:
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter()
    writer.append(PdfReader(io.BytesIO(minimal_pdf("Confidential plan."))))
    writer.encrypt(user_password="secret", owner_password="owner", algorithm="RC4-128")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def image_only_pdf() -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (300, 120), (200, 30, 30)).save(out, "PDF")
    return out.getvalue()


def not_a_docx_zip() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("word/document.xml", "<not really/>")
    return out.getvalue()


BAD_FILES: dict[str, tuple[bytes, str]] = {
    "encrypted.pdf": (encrypted_pdf(), "encrypted with a password"),
    "scan.pdf": (image_only_pdf(), "no text layer"),
    "truncated.pdf": (minimal_pdf("Half a file.")[:200], "not a readable PDF"),
    "empty.pdf": (b"", "the file is empty"),
    "random.docx": (random.Random(9).randbytes(4096), "not a readable DOCX"),
    "zip.docx": (not_a_docx_zip(), "not a readable DOCX"),
    "binary.txt": (b"\x00\x01\x02PNG\x00" * 50, "not UTF-8 or GB18030"),
    "bad-front-matter.md": (
        GOOD_MD.replace("doc-good", "doc-bad").replace("topic: community", "topic: cooking").encode(),
        "field 'topic'",
    ),
    "broken-yaml.md": (b"---\nid: [unclosed\n---\nbody\n", "not valid YAML"),
    "duplicate.md": (GOOD_MD.replace("基本功是", "基本功也是").encode(), "already used by"),
    "huge.txt": (("很长的文件。" * 4000).encode(), "over the limit of 0.05 MB (setting YUNYING_MAX_FILE_MB)"),
}


@pytest.mark.parametrize("name", sorted(set(BAD_FILES) - {"duplicate.md"}))  # duplicates: the ingest below
def test_each_bad_file_gets_a_specific_reason(tmp_path, name):
    data, reason = BAD_FILES[name]
    path = tmp_path / name
    path.write_bytes(data)
    with pytest.raises(CorpusError) as info:
        load_document(path, max_bytes=int(0.05 * 1048576))
    assert reason in str(info.value) and str(path) in str(info.value)


def test_unsupported_type_and_gbk_text(tmp_path):
    csv = tmp_path / "table.csv"
    csv.write_text("a,b\n", encoding="utf-8")
    with pytest.raises(CorpusError, match="unsupported file type '.csv'"):
        load_document(csv)
    gbk = tmp_path / "手册.txt"
    gbk.write_bytes(GBK_TEXT.encode("gbk"))
    doc = load_document(gbk)
    assert doc.encoding == "gb18030" and doc.body == GBK_TEXT and doc.lang == "zh"
    bom = tmp_path / "bom.txt"
    bom.write_bytes(b"\xef\xbb\xbf" + GBK_TEXT.encode("utf-8"))
    assert load_document(bom).encoding == "utf-8" and load_document(bom).body == GBK_TEXT


def test_one_ingest_of_good_and_bad_files_keeps_the_good_ones(tmp_path):
    """The whole bad set plus two good files in one `yunying ingest`: the good ones are searchable, each bad
    one is listed with its reason, the exit code says something failed, and the store is consistent."""
    folder = tmp_path / "mixed"
    folder.mkdir()
    for name, (data, _) in BAD_FILES.items():
        (folder / name).write_bytes(data)
    (folder / "a-good.md").write_text(GOOD_MD, encoding="utf-8")  # sorts before duplicate.md
    (folder / "复购手册.txt").write_bytes(GBK_TEXT.encode("gbk"))
    data_dir = tmp_path / "data"
    result = run_cli("ingest", str(folder), "--json", data_dir=data_dir, YUNYING_MAX_FILE_MB="0.05")
    assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr
    report = json.loads(result.stdout)
    assert "doc-good" in report["added"] and len(report["added"]) == 2
    failed = {Path(f["path"]).name: f["error"] for f in report["failed"]}
    assert set(failed) == set(BAD_FILES)
    for name, (_, reason) in BAD_FILES.items():
        assert reason in failed[name], (name, failed[name])
    assert [Path(w["path"]).name for w in report["warnings"]] == ["复购手册.txt"]
    assert "GB18030" in report["warnings"][0]["error"]

    hits = json.loads(run_cli("search", "老客户复购率", "--json", data_dir=data_dir).stdout)
    assert hits[0]["text"] == GBK_TEXT
    hits = json.loads(run_cli("search", "退群率 破冰", "--json", data_dir=data_dir).stdout)
    assert hits[0]["doc_id"] == "doc-good" and "也是" not in hits[0]["text"]

    empty = tmp_path / "empty-knowledge"
    empty.mkdir()
    doctor = run_cli("doctor", "--json", data_dir=data_dir, YUNYING_KNOWLEDGE_DIR=str(empty))
    assert doctor.returncode == 0, doctor.stdout + doctor.stderr
    assert json.loads(doctor.stdout)["store"]["chunks"] == 2


# ---------------------------------------------------------------- paths


def test_path_tricks_do_not_duplicate_or_escape(tmp_path, make_settings, embedder):
    """Dot-dot paths, odd names and symlinks: one document per real file, nothing read from outside the
    folder through a link, no hang on a link loop. (Names of files uploaded in the app are sanitized by the
    upload code, which has its own test.)"""
    folder = tmp_path / "docs"
    (folder / "sub").mkdir(parents=True)
    odd = folder / "-周报 (final)\n v2.md"
    odd.write_text("# 周报\n社群活跃率本周提升。", encoding="utf-8")
    outside = tmp_path / "secret.txt"
    outside.write_text("服务器密码不应被索引。", encoding="utf-8")
    (folder / "link-out.txt").symlink_to(outside)
    (folder / "sub" / "loop").symlink_to(folder / "sub")

    assert discover([folder]) == [odd]
    index = KnowledgeIndex(make_settings(), embedder)
    first = ingest_files(index, [folder / "sub" / ".." / odd.name])
    assert len(first.added) == 1 and first.failed == []
    again = ingest_files(index, [folder])
    assert again.unchanged == first.added and again.added == [] and again.removed == []
    stored = index.stored_documents()
    assert len(stored) == 1 and next(iter(stored.values())).source == str(odd.resolve())
    assert all("密码" not in c.text for c in index.all_chunks())


def test_unreadable_file_is_reported_not_raised(tmp_path, make_settings, embedder):
    if os.geteuid() == 0:
        pytest.skip("root reads files whatever their mode")
    folder = tmp_path / "k"
    folder.mkdir()
    locked = folder / "locked.md"
    locked.write_text(GOOD_MD, encoding="utf-8")
    locked.chmod(0)
    report = ingest_files(KnowledgeIndex(make_settings(), embedder), [folder])
    assert "cannot read the file" in report.failed[0].error
