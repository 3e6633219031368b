"""The knowledge-gap queue (issue 17, item 4): refused questions, answers with unsupported sentences and
thumbs-down are recorded with their nearest topics through the service's own paths (ask, the API's
stream, record_feedback), listed grouped by topic with the most frequent first, and resolved; `yunying
gaps` as a real subprocess. Real e5, Chroma and SQLite; a stub OpenAI-compatible server only where a model
must write a sentence its sources do not support."""

from __future__ import annotations

import json

import openai
import pytest

from assistant.frontends.api import create_api
from assistant.services.database import Database
from assistant.services.gaps import Gaps
from assistant.services.yunying import Yunying
from tests.conftest import KNOWLEDGE, run_cli, settings_for
from tests.stubs import StubOpenAI, first_source_sentence
from tests.test_api import running

OUT_OF_SCOPE = "怎样烤出松软的戚风蛋糕？"
QUESTION = "什么是私域流量？"
MADE_UP = "该公司总部位于火星并雇佣三千名宇航员[1]。"


@pytest.fixture
def service(tmp_path_factory, embedder, models_dir) -> Yunying:
    svc = Yunying(settings_for(tmp_path_factory.mktemp("gaps"), models_dir), embedder=embedder)
    assert svc.ingest([KNOWLEDGE / "framework" / "trends.md"]).failed == []
    return svc


def test_a_refused_question_is_queued_with_its_nearest_topics(service):
    answer = service.ask(OUT_OF_SCOPE)
    assert answer.refused and answer.nearest_topics
    (entry,) = service.gaps.entries()
    assert entry.reason == "refused" and entry.question == OUT_OF_SCOPE
    assert entry.topics == answer.nearest_topics and entry.topic == answer.nearest_topics[0]
    assert service.ask(QUESTION).citations  # a good answer adds nothing
    assert len(service.gaps.entries()) == 1


def test_a_streamed_api_refusal_is_queued_too(service):
    with running(create_api(service)) as url:
        client = openai.OpenAI(base_url=f"{url}/v1", api_key="unused", max_retries=0, timeout=120)
        chunks = list(
            client.chat.completions.create(
                model="yunying", messages=[{"role": "user", "content": OUT_OF_SCOPE}], stream=True
            )
        )
    assert chunks[-1].model_extra["refused"] is True
    assert [e.question for e in service.gaps.entries()] == [OUT_OF_SCOPE]


def test_an_answer_with_unsupported_sentences_is_queued(tmp_path, embedder, models_dir):
    with StubOpenAI(reply=lambda messages: first_source_sentence(messages) + MADE_UP) as stub:
        settings = settings_for(
            tmp_path, models_dir, llm="openai", openai_base_url=stub.url, openai_model="stub"
        )
        service = Yunying(settings, embedder=embedder)
        service.ingest([KNOWLEDGE / "framework" / "trends.md"])
        answer = service.ask(QUESTION)
    assert not answer.refused and any("宇航员" in s for s in answer.unsupported_sentences)
    (entry,) = service.gaps.entries()
    assert entry.reason == "unsupported" and "宇航员" in entry.detail
    assert entry.topics == list(dict.fromkeys(c.title for c in answer.citations))


def test_a_thumbs_down_is_queued_once_and_its_comment_fills_it_in(service):
    answer = service.ask(QUESTION)
    title = answer.citations[0].title
    liked = service.record_feedback(QUESTION, answer.answer, liked=True, citations=["framework-trends"])
    assert liked.liked and service.gaps.entries() == []
    thumb = service.record_feedback(QUESTION, answer.answer, liked=False, citations=["framework-trends"])
    service.record_feedback(
        QUESTION, answer.answer, liked=False, comment="没讲怎么搭建私域", feedback_id=thumb.id
    )
    (entry,) = service.gaps.entries()
    assert entry.reason == "thumbs_down" and entry.topic == title and entry.source_id == thumb.id
    assert entry.detail == "没讲怎么搭建私域"
    # without citations the nearest topics are what retrieval finds for the question
    service.record_feedback("私域流量怎么运营？", "……", liked=False)
    newest = service.gaps.entries()[0]
    assert newest.topics and newest.topics[0] == title


def test_groups_come_most_frequent_first_and_resolved_entries_leave_the_queue(tmp_path):
    gaps = Gaps(Database(tmp_path))
    for question, topic in [("a1", "A"), ("b1", "B"), ("a2", "A"), ("c1", "C"), ("c2", "C"), ("a3", "A")]:
        gaps.record(question, "refused", [topic, "Z"])
    groups = gaps.grouped()
    assert [(g.topic, g.count) for g in groups] == [("A", 3), ("C", 2), ("B", 1)]
    assert [e.question for e in groups[0].entries] == ["a3", "a2", "a1"]  # newest first
    resolved = gaps.resolve(groups[0].entries[0].id)
    assert resolved.resolved and resolved.resolved_at
    assert [(g.topic, g.count) for g in gaps.grouped()] == [("C", 2), ("A", 2), ("B", 1)]  # tie: recent first
    assert sum(g.count for g in gaps.grouped(include_resolved=True)) == 6
    assert not gaps.resolve(resolved.id, resolved=False).resolved
    with pytest.raises(KeyError):
        gaps.resolve(9999)


def test_the_gaps_command_lists_and_resolves(tmp_path):
    data_dir = tmp_path / "data"
    gaps = Gaps(Database(data_dir))
    first = gaps.record("怎样烤蛋糕？", "refused", ["未来趋势：运营模式的演进方向"])
    gaps.record("怎样做面包？", "refused", ["未来趋势：运营模式的演进方向"])
    gaps.record("为什么答错了？", "thumbs_down", [])

    listed = run_cli("gaps", "--json", data_dir=data_dir)
    assert listed.returncode == 0, listed.stderr
    groups = json.loads(listed.stdout)
    assert [(g["topic"], g["count"]) for g in groups] == [("未来趋势：运营模式的演进方向", 2), ("", 1)]
    assert groups[0]["reasons"] == {"refused": 2}
    text = run_cli("gaps", data_dir=data_dir)
    assert "未来趋势：运营模式的演进方向  (2)" in text.stdout and "(no nearest topic)  (1)" in text.stdout

    done = run_cli("gaps", "resolve", str(first.id), "--json", data_dir=data_dir)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["resolved"] is True
    after = json.loads(run_cli("gaps", "--json", data_dir=data_dir).stdout)
    assert [g["count"] for g in after] == [1, 1]
    missing = run_cli("gaps", "resolve", "9999", data_dir=data_dir)
    assert missing.returncode == 1 and "no knowledge-gap entry #9999" in missing.stderr
