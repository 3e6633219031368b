"""The web UI's page classes without a browser: their handlers are called as the events would call them,
against the real service (real e5, Chroma and SQLite over two framework documents, the `none` backend;
a fake chat model only where a model must stream text). Gradio's own event objects (LikeData,
Request) are built as Gradio builds them."""

from __future__ import annotations

import re
from pathlib import Path

import gradio as gr
import pytest
from docx import Document
from langchain_core.language_models.fake_chat_models import FakeListChatModel

from assistant.frontends.web.pages.chat import WAITING, ChatPage, ChatSession
from assistant.frontends.web.pages.evaluation import EvaluationPage
from assistant.frontends.web.pages.fit import FitPage
from assistant.frontends.web.pages.knowledge import KnowledgePage
from assistant.services.yunying import Yunying
from tests.conftest import KNOWLEDGE, settings_for

QUESTION = "什么是私域流量？"
FOLLOW_UP = "那公域流量呢？"
OUT_OF_SCOPE = "怎样烤出松软的戚风蛋糕？"
LINK = re.compile(r"\]\(#(src-\d+-\d+)\)")
CARD = re.compile(r"id='(src-\d+-\d+)'")


@pytest.fixture(scope="module")
def service(tmp_path_factory, embedder, models_dir) -> Yunying:
    svc = Yunying(settings_for(tmp_path_factory.mktemp("pages"), models_dir), embedder=embedder)
    report = svc.ingest([KNOWLEDGE / "framework" / "trends.md", KNOWLEDGE / "framework" / "core-loop.md"])
    assert report.failed == [] and len(report.added) == 2
    return svc


@pytest.fixture
def chat(service) -> ChatPage:
    return ChatPage(service)


def ask(page: ChatPage, question: str, session: ChatSession, history=None, request=None):
    """What the page does on Enter: take the question, then stream the answer; returns every yield."""
    box, history, asked = page.take_question(question, history or [])
    assert box == "" and history[-1] == {"role": "user", "content": question}
    return list(page.respond(asked, history, session, "", "", request))


def test_an_answer_is_saved_and_its_reopened_conversation_keeps_every_link_working(chat, service):
    *_, (history, sources, session) = ask(chat, QUESTION, ChatSession())
    assert session.conversation_id and len(session.answers) == 1
    assert "(#src-1-1)" in history[-1]["content"] and "id='src-1-1'" in sources
    *_, (history, sources, session) = ask(chat, FOLLOW_UP, session, history)
    assert [m["role"] for m in history] == ["user", "assistant"] * 2
    assert "(#src-2-1)" in history[-1]["content"]
    # the first turn's cards are still there (folded), so its [n] links still land
    assert set(LINK.findall(history[1]["content"])) <= set(CARD.findall(sources))
    assert "class='src-turn'" in sources

    saved = service.conversations.get(session.conversation_id)
    assert [t.question for t in saved.turns] == [QUESTION, FOLLOW_UP]
    listing = chat.conversation_list(ChatSession(), "zh")
    assert session.conversation_id in [value for _, value in listing["choices"]]

    # a new tab reopens it: the same messages, and a card for every [n] of every turn
    opened = chat.open_conversation(session.conversation_id, ChatSession(), "zh")
    messages, cards, reopened, title, status = opened
    assert status == "" and title == QUESTION
    assert messages == history
    links = {link for m in messages if m["role"] == "assistant" for link in LINK.findall(m["content"])}
    assert links and links <= set(CARD.findall(cards))
    assert reopened.conversation_id == session.conversation_id and len(reopened.answers) == 2
    assert "打开全文" in cards  # the latest turn's cards open the whole document


def test_two_sessions_do_not_see_each_others_answers(chat, service):
    *_, (history_a, _, session_a) = ask(chat, QUESTION, ChatSession())
    fresh = ChatSession()
    *_, (history_b, _, session_b) = ask(chat, "价值循环包括哪些环节？", fresh)
    assert fresh.answers == [] and fresh.conversation_id == ""  # the initial state is never written to
    assert session_a.conversation_id != session_b.conversation_id
    assert [a.question for a in session_a.answers] == [QUESTION]
    assert [a.question for a in session_b.answers] == ["价值循环包括哪些环节？"]

    shown_in_a = history_a[-1]["content"]
    like = gr.LikeData(None, {"index": 1, "value": shown_in_a, "liked": True})
    pending, row, _ = chat.on_like(history_a, session_a, "zh", like)
    assert row["visible"] is True and pending["citations"] and pending["question"] == QUESTION
    # the same text liked from session B is not an answer B has shown: nothing of A's leaks into it
    pending_b, _, _ = chat.on_like(history_a, session_b, "zh", like)
    assert pending_b["citations"] == [] and pending_b["backend"] == service.settings.llm
    assert session_b.answer_shown_as(shown_in_a) is None


def test_conversations_belong_to_their_logged_in_user(chat):
    alice, bob = gr.Request(username="alice"), gr.Request(username="bob")
    *_, (_, _, session) = ask(chat, QUESTION, ChatSession(), request=alice)
    ids = lambda request: [v for _, v in chat.conversation_list(ChatSession(), "zh", request)["choices"]]  # noqa: E731
    assert session.conversation_id in ids(alice) and session.conversation_id not in ids(bob)
    *_, status = chat.open_conversation(session.conversation_id, ChatSession(), "en", bob)
    assert "no longer exists" in status
    assert "no longer exists" in chat.rename_conversation(session, "mine now", "en", bob)


def test_rename_export_and_delete_a_conversation(chat, tmp_path):
    assert "first" in chat.export_conversation(ChatSession(), "md", "en")[1]  # nothing to export yet
    *_, (_, _, session) = ask(chat, QUESTION, ChatSession())
    assert "私域" in chat.rename_conversation(session, "  私域 笔记  ", "zh")
    assert "⚠" in chat.rename_conversation(session, "   ", "zh")
    labels = [label for label, _ in chat.conversation_list(session, "zh")["choices"]]
    assert any(label.startswith("私域 笔记 · 1 轮") for label in labels)

    markdown_file, status = chat.export_conversation(session, "md", "zh")
    text = Path(markdown_file["value"]).read_text(encoding="utf-8")
    assert markdown_file["visible"] and "已导出" in status
    assert text.startswith("# 私域 笔记") and "[1]" in text and "## 参考资料" in text
    docx_file, _ = chat.export_conversation(session, "docx", "zh")
    headings = [p.text for p in Document(docx_file["value"]).paragraphs if p.style.name.startswith("Heading")]
    assert "参考资料" in headings

    chatbot, sources, fresh, title, status = chat.delete_conversation(session, "zh")
    assert chatbot == [] and fresh == ChatSession() and title == "" and "私域 笔记" in status
    assert session.conversation_id not in [v for _, v in chat.conversation_list(fresh, "zh")["choices"]]
    # the deleted conversation's tab keeps working: its next question starts a new conversation
    *_, (history, sources, again) = ask(chat, FOLLOW_UP, session, [{"role": "user", "content": QUESTION}])
    assert again.conversation_id not in ("", session.conversation_id) and len(again.answers) == 1
    assert history[0] == {"role": "user", "content": FOLLOW_UP} and "(#src-1-1)" in history[1]["content"]
    assert "id='src-1-1'" in sources and "src-turn" not in sources


def test_bad_input_is_one_short_line_and_loses_nothing(chat, service):
    *_, (history, _, session) = ask(chat, QUESTION, ChatSession())
    too_long = "长" * (service.settings.max_question_chars + 1)
    *_, (after, _, same) = ask(chat, too_long, session, history)
    assert after[:-1] == [*history, {"role": "user", "content": too_long}]
    assert after[-1]["content"].startswith("出错了") and "\n" not in after[-1]["content"]
    assert same.answers == session.answers  # the conversation is intact
    assert len(service.conversations.get(session.conversation_id).turns) == 1
    assert chat.open_conversation("no-such-id", session, "zh")[-1].startswith("⚠")


def test_the_chat_api_answers_with_links_and_cards(chat):
    reply, cards, session = chat.chat(QUESTION, ChatSession(), "", "")
    assert "[1]" in reply and "source-card" in cards and "framework-trends" in cards
    assert session.conversation_id and chat.chat("  ", session, "", "")[0].startswith("请输入问题")


def test_a_streaming_model_shows_its_text_as_it_comes(service, tmp_path, embedder, models_dir):
    streaming = Yunying(settings_for(tmp_path, models_dir, llm="openai"), embedder=embedder)
    streaming.ingest([KNOWLEDGE / "framework" / "trends.md"])
    sentence = streaming.search(QUESTION, k=1)[0].text.split("。")[0]
    # the LLM boundary: a fake chat model that streams a sentence of source [1], cited
    streaming._chat_models["openai"] = FakeListChatModel(responses=[f"{sentence}[1]。"] * 3)
    events = ask(ChatPage(streaming), QUESTION, ChatSession())
    partial = [sources for _, sources, _ in events if sources == WAITING]
    assert partial, "no text was shown before the answer was complete"
    history, sources, session = events[-1]
    assert session.answers[0].backend == "openai" and "id='src-1-1'" in sources


# ---- knowledge


def test_a_user_document_shows_its_chunks_is_reindexed_and_deleted(service, tmp_path):
    page = KnowledgePage(service)
    note = tmp_path / "gizmo notes.md"
    note.write_text(
        "# Gizmo 增长笔记\n\nGizmo 飞轮是我们的拉新方法：老用户邀请新用户，双方各得一个月会员。\n", "utf-8"
    )
    report, _ = page.upload([str(note)], "zh")
    assert "已添加" in report
    counts, table, opened, mine, _, sent = page.view("user", "", "", "", "", "zh")
    (doc_id,) = [value for _, value in mine["choices"] if value]
    assert "我的文档 **1**" in counts and list(table["id"]) == [doc_id]
    # the tab's refresh leaves choice lists the session already has alone (a new list closes a dropdown
    # the user is typing in), and sends one that changed
    *_, opened, mine, companies, sent = page.view("user", "", "", "", "", "zh", sent)
    assert opened == mine == companies == gr.skip()
    *_, opened, mine, companies, _ = page.view("", "", "", "", "", "zh", sent)
    assert len(opened["choices"]) > 1 and mine == companies == gr.skip()

    reader, chunks = page.open_document(doc_id, "zh")
    assert "Gizmo 增长笔记" in reader and len(chunks) >= 1 and "Gizmo 飞轮" in " ".join(chunks["文本 Text"])
    assert list(chunks["chunk_id"]) == [c.chunk_id for c in service.document_chunks(doc_id)]
    assert "已重新索引" in page.reindex(doc_id, "zh")
    assert "⚠" in page.remove("framework-trends", "zh")  # only users' documents can go
    assert "已删除" in page.remove(doc_id, "zh")
    assert "找不到" in page.open_document(doc_id, "zh")[0]
    assert "找不到" in page.reindex(doc_id, "zh") and "请先" in page.remove("", "zh")
    assert not [d for d in service.documents() if d.doc_id == doc_id]


def test_the_gap_panel_groups_by_topic_most_frequent_first_and_resolves(service, chat):
    *_, (_, _, session) = ask(chat, OUT_OF_SCOPE, ChatSession())
    assert session.answers[0].refused
    for question in ("社群团购怎么做？", "社群裂变怎么做？"):
        service.gaps.record(question, "refused", ["社群运营专题"])
    page = KnowledgePage(service)
    panel, picks = page.gaps_view("zh")
    groups = re.findall(r"data-topic='([^']*)'", panel)
    assert groups[0] == "社群运营专题"  # two entries beat one
    assert session.answers[0].nearest_topics[0] in groups and OUT_OF_SCOPE in panel
    (refused_id,) = [v for label, v in picks["choices"] if OUT_OF_SCOPE[:20] in label]
    assert "已标记" in page.resolve_gap(refused_id, "zh")
    panel, picks = page.gaps_view("zh")
    assert OUT_OF_SCOPE not in panel and refused_id not in [v for _, v in picks["choices"]]
    assert "请先" in page.resolve_gap(None, "zh") and "999999" in page.resolve_gap(999999, "zh")


# ---- the other tabs


def test_fit_and_eval_pages_answer_without_a_browser(service):
    # the full analysis in the page is the browser test's (test_ui); here its guard and the eval's empty state
    assert "请先描述业务" in FitPage(service).analyse("", "", "", "", "", "zh")[0]
    summary, table, *plots = EvaluationPage(service).show("en")
    assert "No eval report yet" in summary and table["visible"] is False
    assert len(plots) == 3 and not any(p["visible"] for p in plots)
