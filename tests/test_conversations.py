"""Saved conversations (issue 17, item 1): turns saved in the real SQLite file under DATA_DIR with their
whole answers, read back by a new service object (a restart) with working citations, exported to Markdown
and DOCX with numbered references; the `yunying history` commands as a real subprocess; the API saving
turns when a request names a conversation. Real e5 and Chroma over two framework documents, the `none`
backend."""

from __future__ import annotations

import json
import re
from pathlib import Path

import openai
import pytest
from docx import Document

from assistant.core.settings import Settings
from assistant.services.database import DATABASE_FILE
from assistant.services.yunying import Yunying
from tests.conftest import KNOWLEDGE, run_cli
from tests.test_api import running

QUESTION = "什么是私域流量？"
FOLLOW_UP = "那公域流量呢？"
MARKER = re.compile(r"\[(\d{1,3})\]")


@pytest.fixture(scope="module")
def settings(module_settings, embedder) -> Settings:
    values = module_settings("conversations")
    service = Yunying(values, embedder=embedder)
    report = service.ingest([KNOWLEDGE / "framework" / "trends.md", KNOWLEDGE / "framework" / "core-loop.md"])
    assert report.failed == [] and len(report.added) == 2
    return values


@pytest.fixture(scope="module")
def saved(settings, embedder) -> tuple[str, list]:
    """A conversation of two turns, saved by one service object that is then closed."""
    service = Yunying(settings, embedder=embedder)
    conversation = service.conversations.create()
    first = service.ask(QUESTION, conversation_id=conversation.id)
    second = service.ask(FOLLOW_UP, conversation_id=conversation.id)
    service.database.close()
    return conversation.id, [first, second]


def test_a_restarted_service_lists_and_shows_the_turns_with_their_citations(settings, embedder, saved):
    conversation_id, answers = saved
    assert all(not a.refused and a.citations for a in answers)
    assert (settings.data_dir / DATABASE_FILE).is_file()

    restarted = Yunying(settings, embedder=embedder)
    (summary,) = [s for s in restarted.conversations.list() if s.id == conversation_id]
    assert summary.turn_count == 2 and summary.title == QUESTION  # named after its first question
    conversation = restarted.conversations.get(conversation_id)
    assert [t.question for t in conversation.turns] == [QUESTION, FOLLOW_UP]
    for turn, answer in zip(conversation.turns, answers, strict=True):
        assert turn.answer.answer == answer.answer
        assert turn.answer.citations == answer.citations
        # every [n] of the reopened answer points at a chunk the store really holds
        assert {int(n) for n in MARKER.findall(turn.answer.answer)} == {c.n for c in turn.answer.citations}
        for citation in turn.answer.citations:
            stored = {c.chunk_id: c.text for c in restarted.index.document_chunks(citation.doc_id)}
            assert stored[citation.chunk_id] == citation.text
    # the saved turns are the history of the next question
    assert conversation.history()[0] == {"role": "user", "content": QUESTION}
    assert conversation.history()[1]["content"] == answers[0].answer


def test_export_to_markdown_and_docx_numbers_the_references(settings, embedder, saved, tmp_path):
    conversation_id, answers = saved
    service = Yunying(settings, embedder=embedder)
    markdown = service.export_conversation(conversation_id, tmp_path / "chat.md").read_text("utf-8")
    chunk_ids = list(dict.fromkeys(c.chunk_id for a in answers for c in a.citations))
    references = re.findall(r"^- \[(\d+)\] (.+) \((.+)\)$", markdown, re.M)
    assert [int(n) for n, _, _ in references] == list(range(1, len(chunk_ids) + 1))  # one per chunk
    assert QUESTION in markdown and FOLLOW_UP in markdown
    answers_part, references_part = markdown.split("\n## 参考资料\n")  # the references come last
    assert "- [1] " in references_part
    cited = {int(n) for n in MARKER.findall(answers_part)}
    assert cited and cited <= {int(n) for n, _, _ in references}  # every marker has its reference

    docx_path = service.export_conversation(conversation_id, tmp_path / "chat.docx")
    paragraphs = [p.text for p in Document(str(docx_path)).paragraphs]
    assert any(p.startswith("[1] ") for p in paragraphs)
    assert sum(bool(re.match(r"^\[\d+\] ", p)) for p in paragraphs) == len(chunk_ids)
    assert any(QUESTION in p for p in paragraphs)
    with pytest.raises(ValueError, match=".md or .docx"):
        service.export_conversation(conversation_id, tmp_path / "chat.pdf")


def test_rename_delete_and_other_users_conversations(settings, embedder):
    service = Yunying(settings, embedder=embedder)
    mine = service.conversations.create(user="alice")
    service.ask(QUESTION, conversation_id=mine.id, user="alice")
    assert service.conversations.rename(mine.id, "  私域  笔记 ", user="alice").title == "私域 笔记"
    with pytest.raises(KeyError):
        service.conversations.get(mine.id)  # the local user does not see alice's conversation
    with pytest.raises(KeyError):
        service.ask(QUESTION, conversation_id=mine.id, user="bob")
    assert mine.id not in {s.id for s in service.conversations.list("bob")}
    deleted = service.conversations.delete(mine.id, user="alice")
    assert deleted.turn_count == 1
    with pytest.raises(KeyError):
        service.conversations.get(mine.id, user="alice")


def test_the_history_commands(settings, saved, tmp_path):
    conversation_id, answers = saved
    data_dir = settings.data_dir
    listed = run_cli("history", "list", "--json", data_dir=data_dir)
    assert listed.returncode == 0, listed.stderr
    assert conversation_id in {c["id"] for c in json.loads(listed.stdout)}

    shown = run_cli("history", "show", conversation_id, "--json", data_dir=data_dir)
    assert shown.returncode == 0, shown.stderr
    turns = json.loads(shown.stdout)["turns"]
    assert [t["answer"]["answer"] for t in turns] == [a.answer for a in answers]
    assert turns[0]["answer"]["citations"][0]["chunk_id"] == answers[0].citations[0].chunk_id

    out = tmp_path / "exported.docx"
    exported = run_cli("history", "export", conversation_id, str(out), data_dir=data_dir)
    assert exported.returncode == 0, exported.stderr
    assert out.is_file() and any(p.text.startswith("[1] ") for p in Document(str(out)).paragraphs)

    missing = run_cli("history", "show", "no-such-id", data_dir=data_dir)
    assert missing.returncode == 1 and "no saved conversation 'no-such-id'" in missing.stderr
    assert "Traceback" not in missing.stderr and len(missing.stderr.strip().splitlines()) == 1


def test_the_api_saves_turns_of_a_named_conversation(settings, embedder, tmp_path):
    service = Yunying(settings, embedder=embedder)
    from assistant.frontends.api import create_api

    with running(create_api(service)) as url:
        client = openai.OpenAI(base_url=f"{url}/v1", api_key="unused", max_retries=0, timeout=120)
        raw = client.chat.completions.with_raw_response.create(
            model="yunying",
            messages=[{"role": "user", "content": QUESTION}],
            extra_headers={"X-Yunying-Conversation": "new"},
        )
        first = raw.parse()
        conversation_id = raw.headers["x-yunying-conversation"]
        assert first.model_extra["conversation_id"] == conversation_id
        # the follow-up names the conversation in `metadata` and sends only the question: the saved
        # turn is its history
        chunks = list(
            client.chat.completions.create(
                model="yunying",
                messages=[{"role": "user", "content": FOLLOW_UP}],
                metadata={"conversation_id": conversation_id},
                stream=True,
            )
        )
        assert chunks[-1].model_extra["conversation_id"] == conversation_id
        with pytest.raises(openai.NotFoundError) as missing:
            client.chat.completions.create(
                model="yunying",
                messages=[{"role": "user", "content": QUESTION}],
                extra_headers={"X-Yunying-Conversation": "no-such-conversation"},
            )
        assert missing.value.code == "conversation_not_found"
        unsaved = client.chat.completions.create(
            model="yunying", messages=[{"role": "user", "content": QUESTION}]
        )
        assert "conversation_id" not in (unsaved.model_extra or {})

    conversation = service.conversations.get(conversation_id)
    assert [t.question for t in conversation.turns] == [QUESTION, FOLLOW_UP]
    assert conversation.turns[0].answer.answer == first.choices[0].message.content
    assert conversation.turns[1].answer.answer == chunks[-1].model_extra["answer"]
    # the follow-up was condensed with the saved question, as a follow-up sent with its history is
    direct = service.ask(
        FOLLOW_UP,
        [
            {"role": "user", "content": QUESTION},
            {"role": "assistant", "content": first.choices[0].message.content},
        ],
    )
    assert conversation.turns[1].answer.answer == direct.answer


def test_a_fresh_data_dir_needs_no_migration(make_settings):
    service = Yunying(make_settings())
    assert service.conversations.list() == []
    assert isinstance(Path(service.database.path), Path) and service.database.path.exists()


def test_ask_saves_its_turn_to_a_conversation(settings):
    asked = run_cli(
        "ask", QUESTION, "--llm", "none", "--conversation", "new", "--json", data_dir=settings.data_dir
    )
    assert asked.returncode == 0, asked.stderr
    answer = json.loads(asked.stdout)
    conversation_id = answer["conversation_id"]
    assert f"conversation: {conversation_id}" in asked.stderr
    shown = run_cli("history", "show", conversation_id, "--json", data_dir=settings.data_dir)
    (turn,) = json.loads(shown.stdout)["turns"]
    assert turn["question"] == QUESTION and turn["answer"]["answer"] == answer["answer"]
    unknown = run_cli("ask", QUESTION, "--llm", "none", "--conversation", "nope", data_dir=settings.data_dir)
    assert unknown.returncode == 1 and "no saved conversation 'nope'" in unknown.stderr
