"""The app's rendering helpers, without a browser: links to source cards, escaping, upload messages."""

from __future__ import annotations

from assistant.answer.state import Citation
from assistant.frontends.web.render import (
    link_citations,
    source_cards_html,
    unlink_citations,
    upload_report_markdown,
)
from assistant.ingest.uploads import UploadResult


def citation(**overrides) -> Citation:
    values = {
        "n": 1,
        "chunk_id": "case-x#0001",
        "doc_id": "case-x",
        "title": "X 公司",
        "kind": "case",
        "models": ["community", "content"],
        "company": "X",
        "heading": "主导模式",
        "quote": "引用",
        "text": "整段文字",
    }
    values.update(overrides)
    return Citation(**values)


def test_citations_link_to_the_cards_of_their_turn_and_back():
    linked = link_citations("社区驱动[1]。内容驱动[2][3]。", 2)
    assert linked == "社区驱动[[1]](#src-2-1)。内容驱动[[2]](#src-2-2)[[3]](#src-2-3)。"
    assert unlink_citations(linked) == "社区驱动[1]。内容驱动[2][3]。"


def test_cards_carry_ids_badges_and_escape_documents():
    evil = citation(title="<img src=x onerror=alert(1)>", text="<script>alert(1)</script>")
    cards = source_cards_html(
        [evil], turn=3, timing="backend: none", documents={"case-x": "# T\n\n<b>hi</b> <script>x</script>"}
    )
    assert "id='src-3-1'" in cards and "data-doc-id='case-x'" in cards
    assert "社区驱动" in cards and "内容驱动" in cards  # model badges in Chinese
    assert "<script>" not in cards and "<img" not in cards and "&lt;script&gt;" in cards
    assert "<h1>T</h1>" in cards and "&lt;b&gt;hi&lt;/b&gt;" in cards  # Markdown rendered, raw HTML escaped
    assert "backend: none" in cards
    assert "Nearby topics" in source_cards_html([], ["价值循环"])


def test_upload_messages_say_what_happened_to_each_file():
    text = upload_report_markdown(
        [
            UploadResult(name="a.md", status="accepted", chunks=2, title="A"),
            UploadResult(name="b.exe", status="rejected", reason="file type .exe is not accepted"),
            UploadResult(name="c|d.txt", status="unchanged", chunks=1, title="C"),
        ],
        "zh",
    )
    assert "已添加" in text and "已拒绝" in text and "未变化" in text and "not accepted" in text
    assert "c/d.txt" in text  # a | would break the table
    assert "Choose" in upload_report_markdown([], "en")


def test_a_card_offers_the_same_section_in_the_other_language_and_the_left_out_sentences():
    from assistant.answer import Answer
    from assistant.frontends.web.render import unsupported_html

    card = source_cards_html([citation(twin_text="The whole passage <in English>.")])
    assert "<summary>English version</summary>" in card and "&lt;in English&gt;" in card
    english = source_cards_html([citation(lang="en", twin_text="整段文字")])
    assert "中文原文" in english
    assert "src-twin" not in source_cards_html([citation()])  # a document without a twin
    answer = Answer(
        question="q", answer="a[1]。", refused=False, backend="none", unsupported_sentences=["<b>x</b>"]
    )
    greyed = unsupported_html(answer)
    assert "class='unsupported'" in greyed and "&lt;b&gt;x&lt;/b&gt;" in greyed and "(1)" in greyed
