"""Loading, front-matter validation and Chinese-aware chunking."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from assistant.ingest.chunking import chunk_document, split_sentences
from assistant.ingest.loaders import CorpusError, discover, load_document

FRAMEWORK_DOC = """---
id: framework-test
title: 测试文档
kind: framework
topic: core-loop
models: [product, content]
lang: zh
---
## 价值循环
运营的本质是在循环中不断优化。目标要明确！用户要找准？价值要独特；渠道要有效。

### 数据
数据用于衡量效果，比如留存率为3.5%时需要诊断。优化基于数据反馈持续迭代。
"""


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_sentences_split_on_chinese_and_english_ends_but_not_decimals():
    text = "第一句。第二句！第三句？第四句；Fifth one. Sixth, with 3.5 percent! Seventh e.g.x stays"
    assert split_sentences(text) == [
        "第一句。",
        "第二句！",
        "第三句？",
        "第四句；",
        "Fifth one.",
        "Sixth, with 3.5 percent!",
        "Seventh e.g.x stays",
    ]


def test_closing_quotes_stay_with_their_sentence():
    assert split_sentences("他说：“产品是最好的营销。”然后离开了。") == [
        "他说：“产品是最好的营销。”",
        "然后离开了。",
    ]


def test_a_semicolon_inside_brackets_ends_no_sentence():
    # Bilibili's English case lists its revenue lines inside one parenthesis; cutting there left the
    # answer a further point "(premium membership, 大会员;"
    text = (
        "Revenue comes from services (membership, 大会员; tipping; and so on) and ads. "
        "其次是广告（含品牌；效果）。完。"
    )
    assert split_sentences(text) == [
        "Revenue comes from services (membership, 大会员; tipping; and so on) and ads.",
        "其次是广告（含品牌；效果）。",
        "完。",
    ]
    # a bracket that never closes on its line protects nothing
    assert split_sentences("An open (aside; then more.") == ["An open (aside;", "then more."]


def test_front_matter_document_keeps_metadata_and_heading_paths(tmp_path):
    doc = load_document(write(tmp_path, "a.md", FRAMEWORK_DOC))
    assert (doc.id, doc.kind, doc.topic, doc.models) == (
        "framework-test",
        "framework",
        "core-loop",
        ["product", "content"],
    )
    chunks = chunk_document(doc, size=40, overlap=10)
    assert [c.heading_path for c in chunks][0] == ["价值循环"]
    assert chunks[-1].heading_path == ["价值循环", "数据"]
    assert all(c.topic == "core-loop" and c.models == ["product", "content"] for c in chunks)
    assert "3.5%" in "".join(c.text for c in chunks)  # the decimal was not a sentence end


def test_chinese_chunks_never_cut_mid_sentence_and_respect_size(tmp_path):
    sentences = [f"这是第{i}个关于用户留存与复购的完整句子，用来测试切分。" for i in range(40)]
    doc = load_document(
        write(tmp_path, "long.md", FRAMEWORK_DOC.split("## ")[0] + "## 长段落\n" + "".join(sentences))
    )
    chunks = chunk_document(doc, size=120, overlap=30)
    assert len(chunks) > 5
    for chunk in chunks:
        assert chunk.text.endswith("。"), chunk.text
        assert len(chunk.text) <= 120
        for piece in split_sentences(chunk.text):
            assert piece in sentences
    # overlap: each chunk after the first starts with the last sentence of the previous one
    for before, after in zip(chunks, chunks[1:], strict=False):
        assert split_sentences(after.text)[0] == split_sentences(before.text)[-1]
    # every sentence is somewhere
    joined = "".join(c.text for c in chunks)
    assert all(s in joined for s in sentences)


def test_english_chunks_split_on_sentence_ends(tmp_path):
    body = " ".join(f"Sentence number {i} talks about retention and conversion." for i in range(30))
    doc = load_document(write(tmp_path, "notes.txt", body))
    assert doc.kind == "user" and doc.lang == "en"
    chunks = chunk_document(doc, size=200, overlap=40)
    assert len(chunks) > 3
    for chunk in chunks:
        assert chunk.text.endswith("."), chunk.text
        assert re.match(r"Sentence number \d+", chunk.text)


def test_a_sentence_longer_than_the_size_is_kept_whole(tmp_path):
    long_sentence = "这" * 300 + "。"
    doc = load_document(write(tmp_path, "x.txt", "短句。" + long_sentence + "又一句。"))
    texts = [c.text for c in chunk_document(doc, size=100, overlap=10)]
    assert long_sentence in texts


def test_chunk_ids_are_stable_and_change_with_content(tmp_path):
    path = write(tmp_path, "a.md", FRAMEWORK_DOC)
    first = [c.chunk_id for c in chunk_document(load_document(path), 60, 10)]
    again = [c.chunk_id for c in chunk_document(load_document(path), 60, 10)]
    assert first == again
    assert all(cid.startswith("framework-test#") for cid in first)
    path.write_text(FRAMEWORK_DOC.replace("目标要明确", "目标必须明确"), encoding="utf-8")
    changed = [c.chunk_id for c in chunk_document(load_document(path), 60, 10)]
    assert changed != first


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (("topic: core-loop\n", ""), "field 'topic'"),
        (("topic: core-loop", "topic: marketing"), "field 'topic'"),
        (("models: [product, content]", "models: [product, growth]"), "field 'models"),
        (("kind: framework", "kind: blog"), "field 'kind'"),
        (("lang: zh", "lang: zh\nauthor: me"), "field 'author': unknown field"),
        (("id: framework-test", "id: Bad Id!"), "field 'id'"),
        (("models: [product, content]", "models: [product, product]"), "field 'models'"),
    ],
)
def test_front_matter_errors_name_the_file_and_field(tmp_path, change, expected):
    path = write(tmp_path, "bad.md", FRAMEWORK_DOC.replace(*change))
    with pytest.raises(CorpusError) as err:
        load_document(path)
    message = str(err.value)
    assert str(path) in message
    assert expected in message


def test_case_rules(tmp_path):
    case = FRAMEWORK_DOC.replace("kind: framework", "kind: case").replace("topic: core-loop\n", "")
    with pytest.raises(CorpusError, match="field 'company'"):
        load_document(write(tmp_path, "c1.md", case))
    case = case.replace("lang: zh", "lang: zh\ncompany: Zhihu\ncompany_zh: 知乎\nprimary_model: content")
    with pytest.raises(CorpusError, match="primary model"):
        load_document(write(tmp_path, "c2.md", case))


def test_broken_yaml_and_empty_body(tmp_path):
    with pytest.raises(CorpusError, match="not valid YAML"):
        load_document(write(tmp_path, "y.md", "---\nid: [unclosed\n---\n正文。"))
    with pytest.raises(CorpusError, match="no body"):
        load_document(write(tmp_path, "e.md", FRAMEWORK_DOC.split("## ")[0]))


def test_user_markdown_without_front_matter(tmp_path):
    doc = load_document(write(tmp_path, "My Notes.md", "# 我的运营笔记\n\n## 私域\n企业微信社群的复购更高。"))
    assert doc.kind == "user" and doc.title == "我的运营笔记" and doc.lang == "zh"
    assert doc.id.startswith("user-my-notes-")
    assert chunk_document(doc)[0].heading_path == ["我的运营笔记", "私域"]


def test_docx_headings_become_sections(tmp_path):
    from docx import Document as Docx

    word = Docx()
    word.add_heading("季度复盘", level=1)
    word.add_paragraph("本季度社群活跃度提升。复购率也有改善。")
    path = tmp_path / "review.docx"
    word.save(str(path))
    doc = load_document(path)
    chunks = chunk_document(doc)
    assert doc.kind == "user"
    assert chunks[0].heading_path[-1] == "季度复盘"
    assert "复购率也有改善。" in chunks[0].text


def minimal_pdf(text: str) -> bytes:
    """A one-page PDF with a line of Helvetica text, written by hand (no PDF library needed)."""
    stream = f"BT /F1 12 Tf 72 720 Td ({text}) Tj ET".encode()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % off for off in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


def test_pdf_text_is_extracted(tmp_path):
    path = tmp_path / "brief.pdf"
    path.write_bytes(minimal_pdf("Private traffic lowers acquisition cost."))
    doc = load_document(path)
    assert doc.kind == "user" and doc.lang == "en"
    assert "Private traffic lowers acquisition cost." in chunk_document(doc)[0].text


def test_unreadable_files_get_specific_errors(tmp_path):
    with pytest.raises(CorpusError, match="not a readable PDF"):
        load_document(write(tmp_path, "fake.pdf", "not a pdf"))
    with pytest.raises(CorpusError, match="not a readable DOCX"):
        load_document(write(tmp_path, "fake.docx", "not a docx"))
    with pytest.raises(CorpusError, match="unsupported file type"):
        load_document(write(tmp_path, "x.csv", "a,b"))
    (tmp_path / "bin.txt").write_bytes(b"\xff\xfe\x00bad")
    with pytest.raises(CorpusError, match="not UTF-8"):
        load_document(tmp_path / "bin.txt")
    with pytest.raises(CorpusError, match="no text"):
        load_document(write(tmp_path, "empty.txt", "   \n"))


def test_discover_skips_readme_hidden_and_unsupported(tmp_path):
    write(tmp_path, "README.md", "# readme")
    write(tmp_path, "a.md", FRAMEWORK_DOC)
    write(tmp_path, "b.csv", "x")
    (tmp_path / ".hidden").mkdir()
    write(tmp_path / ".hidden", "c.md", FRAMEWORK_DOC)
    assert [p.name for p in discover([tmp_path])] == ["a.md"]
    with pytest.raises(CorpusError, match="no such file"):
        discover([tmp_path / "missing"])
