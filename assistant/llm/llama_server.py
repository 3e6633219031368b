"""llama.cpp's own OpenAI-compatible HTTP server over a shipped GGUF, in a process of its own.

    python -m assistant.llm.llama_server --model qwen2.5-coder-0.5b --port 8081

serves ``POST /v1/chat/completions`` (streaming and not), ``GET /v1/models`` and ``GET /health`` until
SIGTERM or Ctrl-C. Yunying's ``openai`` backend then talks to it exactly as to vLLM or any hosted API:

    YUNYING_LLM=openai YUNYING_OPENAI_BASE_URL=http://127.0.0.1:8081/v1 \\
    YUNYING_OPENAI_MODEL=qwen2.5-coder-0.5b yunying ask "什么是私域流量？"

The HTTP server is llama.cpp's C++ one (cpp-httplib), which ``xllamacpp.Server`` starts beside its
in-process API when given a port: no binary to download or build. The weights are joined and checked
once under the models folder (:func:`assistant.llm.weights.assemble_local_model`). This is how CI tests the
``openai`` backend against a real model server (tests/test_model_server.py), and a way for a team to run
the model on another machine than the app. It listens on loopback unless told otherwise, and then only
with an API key (as ``yunying serve`` does).
"""

from __future__ import annotations

import argparse
import ipaddress
import signal
import sys
import time
from pathlib import Path

from pydantic import BaseModel, Field

from assistant.llm.errors import LLMUnavailable
from assistant.llm.weights import SHIPPED_WEIGHTS, assemble_local_model

LOOPBACK_NAMES = ("localhost",)


class LlamaServerOptions(BaseModel):
    """What one llama.cpp HTTP server serves, and how."""

    model: str = Field(default="qwen2.5-coder-0.5b", description="A shipped model, by name.")
    models_dir: Path
    host: str = "127.0.0.1"
    port: int = Field(default=8081, ge=1, le=65535)
    alias: str = Field(default="", description="The model id clients send; default: the model's name.")
    api_key: str = Field(default="", description="Required as `Authorization: Bearer` when set.")
    n_ctx: int = Field(default=4096, ge=512)
    threads: int = Field(default=1, ge=1, description="Decoding threads; 1 keeps its speed on a busy box.")
    threads_batch: int = Field(default=2, ge=1, description="Prompt-processing threads.")
    parallel: int = Field(default=1, ge=1, le=16, description="Requests decoded at once (slots).")
    # The 0.5B repeats itself without a penalty (../shared/STACK.md); requests may still set their own.
    repeat_penalty: float = Field(default=1.1, ge=1.0, le=2.0)
    metrics: bool = Field(default=False, description="Serve Prometheus counters at /metrics.")

    @property
    def model_id(self) -> str:
        return self.alias or self.model


def is_loopback(host: str) -> bool:
    if host in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def start(options: LlamaServerOptions):  # -> xllamacpp.Server
    """Join/verify the weights and start the server; returns the running ``xllamacpp.Server``."""
    weights = SHIPPED_WEIGHTS.get(options.model)
    if weights is None:
        raise LLMUnavailable(f"unknown model {options.model!r}; choose one of {', '.join(SHIPPED_WEIGHTS)}")
    if not is_loopback(options.host) and not options.api_key:
        raise LLMUnavailable(f"refusing to serve the model on {options.host} without an API key (--api-key)")
    path = assemble_local_model(options.models_dir, weights)
    import xllamacpp

    params = xllamacpp.CommonParams()
    params.model.path = str(path)
    params.model_alias = {options.model_id}
    params.hostnames = [options.host]
    params.port = options.port
    params.n_ctx = options.n_ctx * options.parallel  # llama.cpp splits the context between the slots
    params.n_parallel = options.parallel
    params.cpuparams.n_threads = options.threads
    params.cpuparams_batch.n_threads = options.threads_batch
    params.cache_prompt = True
    params.sampling.penalty_repeat = options.repeat_penalty
    params.api_keys = [options.api_key] if options.api_key else []
    params.endpoint_metrics = options.metrics
    params.verbosity = 1  # errors only (the default logs every request)
    try:
        return xllamacpp.Server(params)
    except Exception as exc:
        raise LLMUnavailable(f"llama.cpp could not serve {path}: {exc}") from exc


def parse_args(argv: list[str] | None = None) -> LlamaServerOptions:
    from assistant.core.settings import Settings

    parser = argparse.ArgumentParser(
        prog="python -m assistant.llm.llama_server",
        description="Serve a shipped model over llama.cpp's OpenAI-compatible HTTP API.",
    )
    field = LlamaServerOptions.model_fields
    parser.add_argument("--model", default=field["model"].default, choices=sorted(SHIPPED_WEIGHTS))
    parser.add_argument("--models-dir", type=Path, default=None, help="default: YUNYING_MODELS_DIR")
    parser.add_argument("--host", default=field["host"].default)
    parser.add_argument("--port", type=int, default=field["port"].default)
    parser.add_argument("--alias", default="", help="the model id clients send (default: --model)")
    parser.add_argument("--api-key", default="", help="require 'Authorization: Bearer KEY'")
    parser.add_argument("--ctx", type=int, default=field["n_ctx"].default, help="context tokens per request")
    parser.add_argument("--threads", type=int, default=field["threads"].default)
    parser.add_argument("--threads-batch", type=int, default=field["threads_batch"].default)
    parser.add_argument("--parallel", type=int, default=field["parallel"].default)
    parser.add_argument("--repeat-penalty", type=float, default=field["repeat_penalty"].default)
    parser.add_argument("--metrics", action="store_true", help="serve Prometheus counters at /metrics")
    args = parser.parse_args(argv)
    return LlamaServerOptions(
        model=args.model,
        models_dir=args.models_dir or Settings().models_dir,
        host=args.host,
        port=args.port,
        alias=args.alias,
        api_key=args.api_key,
        n_ctx=args.ctx,
        threads=args.threads,
        threads_batch=args.threads_batch,
        parallel=args.parallel,
        repeat_penalty=args.repeat_penalty,
        metrics=args.metrics,
    )


def main(argv: list[str] | None = None) -> int:
    try:
        options = parse_args(argv)
        started = time.perf_counter()
        server = start(options)
    except (LLMUnavailable, ValueError) as exc:  # ValueError: pydantic's, for a bad option
        message = " ".join(str(exc).split())
        sys.stderr.write(f"error: {message}\n")
        return 1
    print(
        f"llama.cpp server: {options.model} at {server.listening_address}/v1 (model id "
        f"{options.model_id!r}) ready in {time.perf_counter() - started:.1f} s",
        flush=True,
    )
    signal.sigwait({signal.SIGINT, signal.SIGTERM})
    return 0


if __name__ == "__main__":
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM})  # delivered to sigwait only
    sys.exit(main())
