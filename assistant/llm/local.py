"""The local chat model: a GGUF file (see :mod:`assistant.llm.weights`) run in-process by llama.cpp
through ``xllamacpp``, behind LangChain's chat-model interface.

xllamacpp facts this module relies on (version 2026.10.11549, checked by hand):

* ``Server.handle_chat_completions(request)`` returns an OpenAI-style dict (with ``usage`` and llama.cpp
  ``timings``); a refused request (such as a prompt over ``n_ctx``) comes back as ``{"error": {...}}``
  instead of raising; a malformed one raises ``ValueError``.
* With ``"stream": True`` it needs a callback, calls it synchronously on the calling thread with each
  chunk dict (a first ``delta.role`` chunk with no content, one chunk per token, a ``finish_reason``
  chunk, then a ``usage``/``timings`` chunk) and returns None. Returning True from the callback stops
  generation; an exception raised in the callback is silently swallowed. The GIL is released while it
  computes, so other Python threads keep running.
* ``Server(params)`` also serves llama.cpp's HTTP API on a random 127.0.0.1 port, unauthenticated and
  with CORS ``*`` by default; we lock it with a random API key (in-process calls ignore the key).
* On 2 cores: load ~2.5 s (file in page cache), ~1.9 GB RSS, prompt ~73 tokens/s, decode ~23 tokens/s.
  The KV of the previous prompt is reused for the longest common prefix (``cache_prompt``), so only new
  tokens cost time. llama.cpp threads busy-wait: with ``n_threads`` = all cores and another process
  busy on one core, decoding falls from ~26 to ~8 tokens/s (0.5 to 4 under heavier load); with
  ``n_threads=1`` (``n_threads_batch=2``) it stays ~18 tokens/s whatever the neighbours do.
* ``no_extra_bufts`` turns llama.cpp's repacked weight layouts off (``repack=False`` here): that halves
  prompt speed, Q4_K_M included. ``flash_attn_type`` off is slower than ``auto``. Figures per weight
  type and option: docs/performance.md (``evals/prompt_speed.py``).
"""

from __future__ import annotations

import os
import queue
import threading
import time
import uuid
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, NamedTuple

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models.chat_models import BaseChatModel
from langchain_core.messages import (
    AIMessage,
    AIMessageChunk,
    BaseMessage,
    ChatMessage,
    HumanMessage,
    SystemMessage,
)
from langchain_core.messages.ai import UsageMetadata
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from pydantic import ConfigDict, Field

from assistant.llm.errors import LLMRequestError, LLMUnavailable

FLASH_ATTN = ("auto", "on", "off")


def flash_attn_value(mode: str) -> Any:
    """xllamacpp's enum for ``"auto"`` | ``"on"`` | ``"off"``."""
    import xllamacpp

    names = {"auto": "AUTO", "on": "ENABLED", "off": "DISABLED"}
    if mode not in names:
        raise ValueError(f"flash attention must be one of {', '.join(FLASH_ATTN)}, not {mode!r}")
    return getattr(xllamacpp.llama_flash_attn_type, f"LLAMA_FLASH_ATTN_TYPE_{names[mode]}")


class _LoadedServer:
    """One ``xllamacpp.Server`` plus the lock that serializes requests to it."""

    def __init__(self, server: Any, load_seconds: float) -> None:
        self.server = server
        self.load_seconds = load_seconds
        self.lock = threading.Lock()


class ServerOptions(NamedTuple):
    """Everything that makes one loaded llama.cpp server differ from another."""

    model_path: str
    n_ctx: int
    n_threads: int
    n_threads_batch: int
    cache_ram_mib: int
    n_batch: int | None = None  # None: llama.cpp's default (2048)
    n_ubatch: int | None = None  # None: llama.cpp's default (512)
    repack: bool = True  # llama.cpp's repacked CPU weight layouts ("extra buffer types")
    flash_attn: str = "auto"


# Loading takes seconds and ~1.2 GB of RAM, so each configuration is loaded once per process and shared
# by every LocalChatModel instance (they are cheap pydantic objects, copied by `bind`/`with_config`).
_SERVERS: dict[ServerOptions, _LoadedServer] = {}
_SERVERS_LOCK = threading.Lock()


def _load_server(options: ServerOptions) -> _LoadedServer:
    key = options._replace(model_path=str(Path(options.model_path).resolve()))
    with _SERVERS_LOCK:
        loaded = _SERVERS.get(key)
        if loaded is not None:
            return loaded
        if not Path(key.model_path).is_file():
            raise LLMUnavailable(f"local model file not found: {key.model_path}")
        try:
            import xllamacpp
        except ImportError as exc:  # pragma: no cover - it is a pinned dependency
            raise LLMUnavailable(
                "the local LLM needs xllamacpp: pip install 'xllamacpp==2026.10.11549'"
            ) from exc
        params = xllamacpp.CommonParams()
        params.model.path = key.model_path
        params.n_ctx = key.n_ctx
        params.n_parallel = 1  # one slot: the whole context for one request, its prefix kept cached
        params.cpuparams.n_threads = key.n_threads
        params.cpuparams_batch.n_threads = key.n_threads_batch
        if key.n_batch:
            params.n_batch = key.n_batch
        if key.n_ubatch:
            params.n_ubatch = key.n_ubatch
        params.no_extra_bufts = not key.repack
        params.flash_attn_type = flash_attn_value(key.flash_attn)
        params.cache_prompt = True
        params.cache_ram_mib = key.cache_ram_mib  # host-RAM cache of earlier prompts' KV (default 8 GiB)
        params.verbosity = 1  # errors only on stderr (the default, 3, logs every request)
        # Server() also serves llama.cpp's HTTP API on a random 127.0.0.1 port; we call it in-process
        # only, so lock that port with a random key nobody knows (its default is open, CORS "*").
        params.api_keys = [uuid.uuid4().hex]
        started = time.perf_counter()
        try:
            server = xllamacpp.Server(params)
        except Exception as exc:
            raise LLMUnavailable(f"llama.cpp could not load {key.model_path}: {exc}") from exc
        loaded = _LoadedServer(server, time.perf_counter() - started)
        _SERVERS[key] = loaded
        return loaded


def _default_threads() -> int:
    try:
        return len(os.sched_getaffinity(0)) or 1
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


# --------------------------------------------------------------------------------------------------
# LangChain chat model over the local server
# --------------------------------------------------------------------------------------------------

_ROLES = {"system": "system", "human": "user", "user": "user", "ai": "assistant", "assistant": "assistant"}
# Call-time keyword arguments that are ours or LangChain's, never llama.cpp request fields.
_NOT_REQUEST_FIELDS = {"stream", "messages", "callbacks", "tags", "metadata", "run_name"}
_DONE = object()


def _text_of(content: str | list[Any]) -> str:
    if isinstance(content, str):
        return content
    parts = []
    for block in content:
        if isinstance(block, str):
            parts.append(block)
        elif isinstance(block, dict) and block.get("type") == "text":
            parts.append(str(block.get("text", "")))
        else:
            raise ValueError(f"LocalChatModel accepts text only, got a content block {block!r:.80}")
    return "".join(parts)


def to_openai_messages(messages: Sequence[BaseMessage]) -> list[dict[str, str]]:
    """System/Human/AI (and ChatMessage with one of those roles) -> OpenAI-style ``{role, content}``."""
    converted = []
    for message in messages:
        if isinstance(message, SystemMessage):
            role = "system"
        elif isinstance(message, HumanMessage):
            role = "user"
        elif isinstance(message, AIMessage):
            role = "assistant"
        elif isinstance(message, ChatMessage) and message.role in _ROLES:
            role = _ROLES[message.role]
        else:
            raise ValueError(f"LocalChatModel cannot send a {type(message).__name__} ({message.type!r})")
        converted.append({"role": role, "content": _text_of(message.content)})
    return converted


def _usage_metadata(usage: dict[str, Any] | None) -> UsageMetadata | None:
    if not usage:
        return None
    prompt = int(usage.get("prompt_tokens") or 0)
    completion = int(usage.get("completion_tokens") or 0)
    metadata = UsageMetadata(
        input_tokens=prompt, output_tokens=completion, total_tokens=int(usage.get("total_tokens") or 0)
    )
    cached = (usage.get("prompt_tokens_details") or {}).get("cached_tokens")
    if cached is not None:
        metadata["input_token_details"] = {"cache_read": int(cached)}
    return metadata


def llama_timings(chunk: Any) -> dict[str, float]:
    """llama.cpp's own figures from the last chunk of the local model's stream (empty for others):
    new prompt tokens and their milliseconds (a cached prefix is not counted), tokens generated."""
    found = (getattr(chunk, "response_metadata", None) or {}).get("timings") or {}
    names = {"prompt_n": "prompt_tokens", "prompt_ms": "prompt_ms", "predicted_n": "completion_tokens"}
    return {ours: round(float(found[theirs]), 1) for theirs, ours in names.items() if theirs in found}


def _raise_if_error(response: Any) -> None:
    if isinstance(response, dict) and "error" in response:
        error = response["error"]
        if isinstance(error, dict):
            raise LLMRequestError(
                str(error.get("message", error)), str(error.get("type", "")), error.get("code")
            )
        raise LLMRequestError(str(error))


class LocalChatModel(BaseChatModel):
    """A GGUF chat model run in-process by llama.cpp (``xllamacpp``), with real token streaming.

    The llama.cpp server is loaded lazily on first use (or by :meth:`load`) and shared by every instance
    with the same model path, context size, threads and cache size; requests to it are serialized. The
    KV cache of the last prompt is reused for the longest common prefix of the next one, so keep the
    system prompt fixed and put per-question material after it.

    Call-time overrides (``bind(max_tokens=64)``, ``invoke(..., temperature=0)``): ``max_tokens``,
    ``temperature``, ``top_p``, ``repeat_penalty``, ``seed``, ``stop``; any other keyword is passed to
    llama.cpp's request as is (``top_k``, ``min_p``, ``json_schema``, ``response_format``...).
    """

    model_config = ConfigDict(protected_namespaces=())

    model_path: str
    n_ctx: int = Field(default=4096, ge=256)
    n_threads: int = Field(default_factory=_default_threads, ge=1, description="Threads for decoding.")
    n_threads_batch: int | None = Field(
        default=None,
        ge=1,
        description="Threads for prompt processing (None: n_threads). Decoding with fewer threads than "
        "cores resists a busy neighbour process much better (see the module notes).",
    )
    max_tokens: int = Field(default=512, ge=1)
    temperature: float = Field(default=0.2, ge=0.0)
    top_p: float = Field(default=0.9, gt=0.0, le=1.0)
    repeat_penalty: float = Field(default=1.1, gt=0.0)
    stop: list[str] | None = None
    seed: int | None = None
    cache_ram_mib: int = Field(
        default=1024, ge=0, description="Host-RAM cache of earlier prompts' KV (llama.cpp's default: 8 GiB)."
    )
    n_batch: int | None = Field(default=None, ge=1, description="Logical batch (None: llama.cpp's 2048).")
    n_ubatch: int | None = Field(default=None, ge=1, description="Physical batch (None: llama.cpp's 512).")
    repack: bool = Field(
        default=True, description="Let llama.cpp repack Q4_0/Q8_0/Q4_K weights for its fast CPU kernels."
    )
    flash_attn: str = Field(default="auto", pattern="^(auto|on|off)$", description="Flash attention.")

    @property
    def _llm_type(self) -> str:
        return "xllamacpp"

    @property
    def _identifying_params(self) -> dict[str, Any]:
        return {
            "model_path": self.model_path,
            "n_ctx": self.n_ctx,
            "max_tokens": self.max_tokens,
            "temperature": self.temperature,
            "top_p": self.top_p,
            "repeat_penalty": self.repeat_penalty,
        }

    def _get_ls_params(self, stop: list[str] | None = None, **kwargs: Any) -> Any:
        params = super()._get_ls_params(stop=stop, **kwargs)
        params["ls_provider"] = "llamacpp"
        params["ls_model_name"] = Path(self.model_path).name
        params["ls_max_tokens"] = kwargs.get("max_tokens", self.max_tokens)
        params["ls_temperature"] = kwargs.get("temperature", self.temperature)
        return params

    def load(self) -> float:
        """Load (or reuse) the llama.cpp server now; returns the seconds the first load took."""
        return self._server().load_seconds

    def _server(self) -> _LoadedServer:
        return _load_server(
            ServerOptions(
                model_path=self.model_path,
                n_ctx=self.n_ctx,
                n_threads=self.n_threads,
                n_threads_batch=self.n_threads_batch or self.n_threads,
                cache_ram_mib=self.cache_ram_mib,
                n_batch=self.n_batch,
                n_ubatch=self.n_ubatch,
                repack=self.repack,
                flash_attn=self.flash_attn,
            )
        )

    def _request(self, messages: list[BaseMessage], stop: list[str] | None, **kwargs: Any) -> dict[str, Any]:
        request: dict[str, Any] = {
            "messages": to_openai_messages(messages),
            "max_tokens": self.max_tokens,
            "temperature": self.temperature,
            "top_p": self.top_p,
            "repeat_penalty": self.repeat_penalty,
            "cache_prompt": True,
        }
        if self.seed is not None:
            request["seed"] = self.seed
        stops = stop if stop is not None else self.stop
        if stops:
            request["stop"] = list(stops)
        for name, value in kwargs.items():
            if name not in _NOT_REQUEST_FIELDS and value is not None:
                request[name] = value
        return request

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        request = self._request(messages, stop, **kwargs)
        loaded = self._server()
        with loaded.lock:
            response = loaded.server.handle_chat_completions(request)
        _raise_if_error(response)
        choice = (response.get("choices") or [{}])[0]
        metadata = {
            "finish_reason": choice.get("finish_reason"),
            "model_name": Path(self.model_path).name,
            "model_provider": "llamacpp",
            "timings": response.get("timings", {}),
        }
        if choice.get("logprobs"):  # asked for with invoke(..., logprobs=True, top_logprobs=N)
            metadata["logprobs"] = choice["logprobs"]
        message = AIMessage(
            content=(choice.get("message") or {}).get("content") or "",
            usage_metadata=_usage_metadata(response.get("usage")),
            response_metadata=metadata,
        )
        return ChatResult(generations=[ChatGeneration(message=message)])

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        # xllamacpp calls the callback synchronously on the calling thread (releasing the GIL while it
        # computes), so the request runs on a worker thread and hands each chunk over a queue. The worker,
        # not this generator, holds the server lock, so an abandoned generator cannot keep it: closing
        # the generator sets `cancel`, the callback then returns True and llama.cpp stops generating.
        # (run_manager.on_llm_new_token is called by BaseChatModel itself in langchain-core 1.x.)
        request = self._request(messages, stop, **kwargs)
        request["stream"] = True
        request["stream_options"] = {"include_usage": True}
        loaded = self._server()
        chunks: queue.Queue[Any] = queue.Queue()
        cancel = threading.Event()

        def on_chunk(chunk: Any) -> bool:
            chunks.put(chunk)
            return cancel.is_set()

        def work() -> None:
            try:
                with loaded.lock:
                    if not cancel.is_set():
                        loaded.server.handle_chat_completions(request, on_chunk)
            except BaseException as exc:  # handed to the consumer, raised there
                chunks.put(exc)
            finally:
                chunks.put(_DONE)

        worker = threading.Thread(target=work, name="llamacpp-stream", daemon=True)
        worker.start()
        finish_reason = None
        usage = None
        timings: dict[str, Any] = {}
        try:
            while (item := chunks.get()) is not _DONE:
                if isinstance(item, BaseException):
                    raise item
                _raise_if_error(item)
                if not isinstance(item, dict):
                    continue
                if item.get("usage"):
                    usage = item["usage"]
                if item.get("timings"):
                    timings = item["timings"]
                for choice in item.get("choices") or []:
                    finish_reason = choice.get("finish_reason") or finish_reason
                    text = (choice.get("delta") or {}).get("content")
                    if text:
                        yield ChatGenerationChunk(message=AIMessageChunk(content=text))
        finally:
            cancel.set()
        metadata = {
            "finish_reason": finish_reason,
            "model_name": Path(self.model_path).name,
            "model_provider": "llamacpp",
            "timings": timings,
        }
        yield ChatGenerationChunk(
            message=AIMessageChunk(
                content="",
                usage_metadata=_usage_metadata(usage),
                response_metadata=metadata,
                chunk_position="last",
            )
        )
