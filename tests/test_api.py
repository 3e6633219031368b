"""The OpenAI-compatible API (issue 17, item 3), driven with the official `openai` client: the app `yunying
serve` runs (the API routes and the Gradio app on one port) over the whole knowledge base in real Chroma
with the real e5 model, served by uvicorn in a thread. The `none` backend answers, except where a stub
OpenAI-compatible model server stands at the LLM boundary."""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import threading
import time
import urllib.request
from collections.abc import Iterator
from typing import Any

import httpx
import openai
import pytest
import uvicorn

from assistant.core.settings import Settings
from assistant.frontends.api import combined_app, create_api
from assistant.services.security import SecurityError, load_api_keys, serve_api_keys
from assistant.services.yunying import Yunying
from tests.conftest import KNOWLEDGE, run_cli
from tests.stubs import StubOpenAI, first_source_sentence, free_port

KEY = "sk-yunying-test-0123456789"
QUESTION = "什么是私域流量？"
MARKER = re.compile(r"\[(\d{1,2})\]")


@contextlib.contextmanager
def running(app: Any) -> Iterator[str]:
    """`app` served by uvicorn on a free localhost port in a thread; yields the base URL."""
    with serving(app) as (url, _):
        yield url


@contextlib.contextmanager
def serving(app: Any) -> Iterator[tuple[str, asyncio.AbstractEventLoop]]:
    """As `running`, and the server's event loop, on which the API's queue lives."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.time() + 60
    while not server.started:
        assert thread.is_alive() and time.time() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}", server.servers[0].get_loop()
    finally:
        server.should_exit = True
        thread.join(timeout=30)


def make_service(knowledge_store, embedder, models_dir, **overrides: Any) -> Yunying:
    values = {
        "data_dir": knowledge_store,
        "knowledge_dir": KNOWLEDGE,
        "models_dir_override": models_dir,
        "chroma_url": "",
        "llm": "none",
        **overrides,
    }
    return Yunying(Settings(_env_file=None, **values), embedder=embedder)


@pytest.fixture(scope="module")
def service(knowledge_store, embedder, models_dir) -> Yunying:
    return make_service(knowledge_store, embedder, models_dir)


@pytest.fixture(scope="module")
def base_url(service) -> Iterator[str]:
    """The combined app of `yunying serve`, with an API key configured."""
    with running(combined_app(service, api_keys=[KEY])) as url:
        yield url


@pytest.fixture(scope="module")
def client(base_url) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{base_url}/v1", api_key=KEY, max_retries=0, timeout=120)


def ask(client: openai.OpenAI, messages: list[dict[str, str]], model: str = "yunying", **extra: Any) -> Any:
    return client.chat.completions.create(model=model, messages=messages, **extra)  # type: ignore[arg-type]


def assert_cites_real_chunks(service: Yunying, text: str, citations: list[dict[str, Any]]) -> None:
    """Every [n] in the text has its citation, and every citation's quote is in the chunk it names."""
    assert citations, "an answer without citations"
    numbers = {c["n"] for c in citations}
    assert {int(n) for n in MARKER.findall(text)} == numbers
    for citation in citations:
        assert set(citation) >= {"n", "chunk_id", "doc_id", "title", "quote"}
        stored = {c.chunk_id: c for c in service.index.document_chunks(citation["doc_id"])}
        assert citation["chunk_id"] in stored, citation
        chunk = stored[citation["chunk_id"]]
        assert citation["title"] == chunk.metadata["title"]
        for sentence in re.split(r"(?<=[。！？])", citation["quote"]):
            assert sentence.strip() in chunk.text


def test_models_lists_yunying_and_the_app_shares_the_port(client, base_url):
    assert [m.id for m in client.models.list().data] == ["yunying"]
    with urllib.request.urlopen(f"{base_url}/", timeout=30) as page:  # the Gradio app, mounted at /
        assert page.status == 200 and "gradio" in page.read().decode().lower()
    with urllib.request.urlopen(f"{base_url}/config", timeout=30) as config:
        assert "问答" in config.read().decode()  # the chat tab of this app, not an empty Blocks


def test_non_streamed_answer_carries_markers_and_citations_of_real_chunks(client, service):
    completion = ask(client, [{"role": "user", "content": QUESTION}])
    assert completion.object == "chat.completion" and completion.model == "yunying"
    choice = completion.choices[0]
    assert choice.message.role == "assistant" and choice.finish_reason == "stop"
    extra = completion.model_extra
    assert extra["refused"] is False and extra["unsupported_sentences"] == []
    assert_cites_real_chunks(service, choice.message.content, extra["citations"])
    direct = service.ask(QUESTION)  # the API adds nothing and drops nothing
    assert choice.message.content == direct.answer
    assert [c["chunk_id"] for c in extra["citations"]] == [c.chunk_id for c in direct.citations]
    assert "framework-trends" in {c["doc_id"] for c in extra["citations"]}


def test_streamed_answer_ends_with_the_citations(client, service):
    chunks = list(ask(client, [{"role": "user", "content": QUESTION}], stream=True))
    assert chunks[0].choices[0].delta.role == "assistant"
    text = "".join(c.choices[0].delta.content or "" for c in chunks)
    last = chunks[-1]
    assert last.choices[0].finish_reason == "stop"
    assert all(c.choices[0].finish_reason is None for c in chunks[:-1])
    assert [c for c in chunks[:-1] if "citations" in (c.model_extra or {})] == []
    assert text == last.model_extra["answer"] == service.ask(QUESTION).answer
    assert last.model_extra["refused"] is False
    assert_cites_real_chunks(service, text, last.model_extra["citations"])


def test_the_stream_is_server_sent_events_ending_with_done(base_url):
    body = {"model": "yunying", "stream": True, "messages": [{"role": "user", "content": QUESTION}]}
    headers = {"Authorization": f"Bearer {KEY}"}
    with httpx.stream(
        "POST", f"{base_url}/v1/chat/completions", json=body, headers=headers, timeout=120
    ) as r:
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream")
        events = [line for line in r.iter_lines() if line]
    assert all(line.startswith("data: ") for line in events)
    assert events[-1] == "data: [DONE]"
    chunks = [json.loads(line.removeprefix("data: ")) for line in events[:-1]]
    assert {c["object"] for c in chunks} == {"chat.completion.chunk"} and len({c["id"] for c in chunks}) == 1
    assert chunks[-1]["citations"] and chunks[-1]["choices"][0]["finish_reason"] == "stop"


def test_a_follow_up_is_answered_from_the_messages_history(client, service):
    first_question, follow_up = "小红书的主导运营模式是什么？", "那它是怎么变现的？"
    first = ask(client, [{"role": "user", "content": first_question}]).choices[0].message.content
    messages = [
        {"role": "system", "content": "You are a helpful assistant."},  # ignored: Yunying's prompt is fixed
        {"role": "user", "content": first_question},
        {"role": "assistant", "content": first},
        {"role": "user", "content": follow_up},
    ]
    completion = ask(client, messages)
    cited = {c["doc_id"] for c in completion.model_extra["citations"]}
    assert "case-xiaohongshu" in cited
    history = [{"role": "user", "content": first_question}, {"role": "assistant", "content": first}]
    assert completion.choices[0].message.content == service.ask(follow_up, history).answer
    alone = ask(client, [{"role": "user", "content": follow_up}])  # the same words without the history
    assert "case-xiaohongshu" not in {c["doc_id"] for c in alone.model_extra["citations"]}


def test_a_missing_or_wrong_key_is_a_401_in_openai_form(base_url):
    for key in ("wrong-key-000000000", ""):
        anonymous = openai.OpenAI(base_url=f"{base_url}/v1", api_key=key or "x", max_retries=0)
        with pytest.raises(openai.AuthenticationError) as info:
            anonymous.models.list()
        assert info.value.status_code == 401 and info.value.code == "invalid_api_key"
    body = {"model": "yunying", "messages": [{"role": "user", "content": QUESTION}]}
    response = httpx.post(f"{base_url}/v1/chat/completions", json=body, timeout=30)  # no header at all
    assert response.status_code == 401 and response.headers["www-authenticate"] == "Bearer"
    error = response.json()["error"]
    assert error["code"] == "invalid_api_key" and error["type"] == "invalid_request_error"


def said(*turns: tuple[str, Any]) -> list[dict[str, Any]]:
    return [{"role": role, "content": content} for role, content in turns]


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"model": "gpt-4o", "messages": said(("user", QUESTION))}, "model_not_found"),
        ({"model": "yunying", "messages": said(("system", "be brief"))}, "no_user_message"),
        ({"model": "yunying", "messages": said(("user", "   "))}, "empty_content"),
        ({"model": "yunying", "messages": said(("user", None))}, "empty_content"),
        ({"model": "yunying", "messages": said(("user", "运营" * 1500))}, "context_length_exceeded"),
        ({"model": "yunying", "messages": said(("user", QUESTION), ("assistant", "x"))}, None),
        ({"model": "yunying", "messages": said(("wizard", QUESTION))}, None),
        ({"model": "yunying", "messages": []}, None),
        ({"model": "yunying", "messages": QUESTION}, None),
        ({"model": "yunying"}, None),
        ({"messages": said(("user", QUESTION))}, None),
    ],
)
@pytest.mark.parametrize("stream", [False, True])
def test_bad_requests_are_400s_in_openai_form(base_url, body, code, stream):
    headers = {"Authorization": f"Bearer {KEY}"}
    response = httpx.post(
        f"{base_url}/v1/chat/completions", json={**body, "stream": stream}, headers=headers, timeout=30
    )
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert set(error) >= {"message", "type", "code"} and error["type"] == "invalid_request_error"
    assert error["message"] and error["code"] == code


def test_a_body_that_is_not_json_is_a_400(base_url, client):
    headers = {"Authorization": f"Bearer {KEY}", "Content-Type": "application/json"}
    response = httpx.post(f"{base_url}/v1/chat/completions", content=b"{not json", headers=headers)
    assert response.status_code == 400 and response.json()["error"]["message"]
    with pytest.raises(openai.BadRequestError) as info:  # and the client sees its own error type
        ask(client, [{"role": "user", "content": QUESTION}], model="gpt-4o")
    assert info.value.code == "model_not_found"


def test_other_routes_under_v1_are_openai_errors_not_the_app(base_url):
    headers = {"Authorization": f"Bearer {KEY}"}
    for method, path in [("GET", "/v1/chat/completions"), ("POST", "/v1/embeddings"), ("GET", "/v1/x/y")]:
        response = httpx.request(method, f"{base_url}{path}", headers=headers, timeout=30)
        assert response.status_code == 404 and response.json()["error"]["code"] == "unknown_url", path
    assert httpx.post(f"{base_url}/v1/embeddings", timeout=30).status_code == 401  # keys first


def test_on_loopback_without_keys_the_api_is_open(service):
    with running(create_api(service)) as url:
        reader = openai.OpenAI(base_url=f"{url}/v1", api_key="unused", max_retries=0)
        assert [m.id for m in reader.models.list().data] == ["yunying"]
        response = httpx.get(f"{url}/v1/models", timeout=30)  # no Authorization header at all
        assert response.status_code == 200


# ---------------------------------------------------------------- the queue, with a model server


class SlowModel:
    """A stub model server's reply: a cited sentence of source [1], slowly, counting overlapping calls."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.running = 0
        self.most = 0

    def __call__(self, messages: list[dict[str, Any]]) -> str:
        with self.lock:
            self.running += 1
            self.most = max(self.most, self.running)
        time.sleep(0.5)
        with self.lock:
            self.running -= 1
        return first_source_sentence(messages)


def test_requests_wait_their_turn_for_a_one_at_a_time_model(knowledge_store, embedder, models_dir):
    """With concurrency 1 (what the local model gets) four clients at once are all answered, one model call
    at a time; the model server itself would take them all at once. Each streamed client sees its place
    in line in its first chunk, then every move, down to 0 when its answer starts."""
    model = SlowModel()
    with StubOpenAI(reply=model) as stub:
        service = make_service(
            knowledge_store, embedder, models_dir,
            llm="openai", openai_base_url=stub.url, openai_model="stub", concurrency=1,
        )  # fmt: skip
        with running(create_api(service)) as url:
            reader = openai.OpenAI(base_url=f"{url}/v1", api_key="unused", max_retries=0, timeout=120)
            results: list[Any] = []

            def one() -> None:
                chunks = list(ask(reader, [{"role": "user", "content": QUESTION}], stream=True))
                results.append(chunks)

            threads = [threading.Thread(target=one) for _ in range(4)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(timeout=180)
    assert len(results) == 4 and len(stub.requests) == 4
    assert model.most == 1
    lines = [[c.model_extra["queue_position"] for c in chunks if "queue_position" in c.model_extra]
             for chunks in results]  # fmt: skip
    assert sorted(line[0] for line in lines) == [0, 1, 2, 3]  # one answered at once, three in line
    for line in lines:
        assert line == list(range(line[0], -1, -1))  # every move shown, ending with its turn
    for chunks in results:
        text = "".join(c.choices[0].delta.content or "" for c in chunks)
        last = chunks[-1].model_extra
        assert last["refused"] is False and last["citations"] and text == last["answer"]
    assert all(r["stream"] is True for r in stub.requests)  # the model's draft streamed, checked at the end


def test_a_non_streamed_request_that_waited_tells_where_it_stood(knowledge_store, embedder, models_dir):
    """Concurrency 1 and the one slot held (as by a long answer): two non-streamed requests wait, in order.
    Once the slot is free both are answered, as chat.completion objects the official client parses, each
    with its place in line on arrival in `queue_position` and in the X-Yunying-Queue-Position header."""
    service = make_service(knowledge_store, embedder, models_dir, concurrency=1)
    api = create_api(service)
    queue = api.state.answer_queue

    def wait_for(waiting: int) -> None:
        deadline = time.time() + 60
        while queue.status()["waiting"] != waiting:
            assert time.time() < deadline, queue.status()
            time.sleep(0.02)

    with serving(api) as (url, loop):
        reader = openai.OpenAI(base_url=f"{url}/v1", api_key="unused", max_retries=0, timeout=120)

        def raw_ask() -> Any:
            return reader.chat.completions.with_raw_response.create(
                model="yunying", messages=[{"role": "user", "content": QUESTION}]
            )

        alone = raw_ask()  # nobody ahead
        assert alone.headers["x-yunying-queue-position"] == "0"
        assert alone.parse().model_extra["queue_position"] == 0

        async def take_the_slot() -> Any:
            return queue.join()

        held = asyncio.run_coroutine_threadsafe(take_the_slot(), loop).result(timeout=10)
        assert held.position == 0 and queue.status() == {"slots": 1, "running": 1, "waiting": 0}
        results: dict[str, Any] = {}
        threads = {name: threading.Thread(target=lambda n=name: results.update({n: raw_ask()}))
                   for name in ("first", "second")}  # fmt: skip
        threads["first"].start()
        wait_for(1)
        threads["second"].start()
        wait_for(2)
        time.sleep(0.3)
        assert results == {}  # both still wait: the slot is held
        loop.call_soon_threadsafe(held.done)
        for thread in threads.values():
            thread.join(timeout=120)
    assert queue.status() == {"slots": 1, "running": 0, "waiting": 0}
    direct = service.ask(QUESTION)
    for name, position in (("first", 1), ("second", 2)):
        raw = results[name]
        assert raw.headers["x-yunying-queue-position"] == str(position)
        completion = raw.parse()
        assert completion.object == "chat.completion" and completion.choices[0].finish_reason == "stop"
        assert completion.model_extra["queue_position"] == position
        assert completion.choices[0].message.content == direct.answer
        assert_cites_real_chunks(service, direct.answer, completion.model_extra["citations"])


def test_a_model_server_that_is_down_is_a_502_never_a_500_nor_a_leaked_key(
    knowledge_store, embedder, models_dir
):
    closed = f"http://127.0.0.1:{free_port()}/v1"
    secret = "sk-upstream-SECRET-4242"
    service = make_service(
        knowledge_store, embedder, models_dir,
        llm="openai", openai_base_url=closed, openai_model="stub", openai_api_key=secret,
    )  # fmt: skip
    with running(create_api(service)) as url:
        reader = openai.OpenAI(base_url=f"{url}/v1", api_key="unused", max_retries=0, timeout=120)
        with pytest.raises(openai.InternalServerError) as info:
            ask(reader, [{"role": "user", "content": QUESTION}])
        assert info.value.status_code == 502 and info.value.code == "answer_failed"
        assert secret not in str(info.value.body)
        with pytest.raises(openai.APIError) as streamed:  # the stream had begun: its last event is the error
            list(ask(reader, [{"role": "user", "content": QUESTION}], stream=True))
        assert "the answer failed" in streamed.value.message and secret not in streamed.value.message


# ---------------------------------------------------------------- the loopback policy


def settings(**values: Any) -> Settings:
    return Settings(_env_file=None, **values)


def test_api_keys_are_required_off_loopback(tmp_path):
    assert serve_api_keys(settings(), "127.0.0.1") is None
    with pytest.raises(SecurityError, match="refusing to serve the API on 0.0.0.0 without an API key"):
        serve_api_keys(settings(), "0.0.0.0")
    assert serve_api_keys(settings(), "0.0.0.0", insecure=True) is None
    two = settings(api_keys=f"{KEY}, other-key-123456")
    assert serve_api_keys(two, "0.0.0.0") == [KEY, "other-key-123456"]
    file = tmp_path / "keys"
    file.write_text(f"# team keys\n{KEY}\n\nfile-key-abcdefgh\n", encoding="utf-8")
    assert load_api_keys(settings(api_keys_file=file)) == [KEY, "file-key-abcdefgh"]
    with pytest.raises(SecurityError, match="shorter than 8"):
        load_api_keys(settings(api_keys="short"))
    with pytest.raises(SecurityError, match="cannot read it"):
        load_api_keys(settings(api_keys_file=tmp_path / "missing"))
    assert "**********" in settings(api_keys=KEY).redact(f"echoed {KEY}")


def test_serve_on_the_network_without_an_api_key_is_refused_at_once(tmp_path):
    started = time.time()
    result = run_cli(
        "serve", "--host", "0.0.0.0", "--port", str(free_port()),
        data_dir=tmp_path / "data", YUNYING_AUTH="alice:long-password-1",
    )  # fmt: skip
    assert time.time() - started < 30
    assert result.returncode != 0 and "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "without an API key" in lines[0] and "YUNYING_API_KEYS" in lines[0]
    assert "long-password-1" not in result.stderr
