"""Servers the reliability tests start on 127.0.0.1: the app itself (`yunying serve`), a Chroma server
(`chroma run`) and a stub OpenAI-compatible model server (stdlib http.server, no model)."""

from __future__ import annotations

import contextlib
import json
import re
import shutil
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from tests.conftest import REPO, cli_env


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(url: str, proc: subprocess.Popen, log: Path, seconds: float = 180, ok=(200,)) -> None:
    deadline = time.time() + seconds
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited ({proc.returncode}): {log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status in ok:
                    return
        except urllib.error.HTTPError as exc:
            if exc.code in ok:
                return
        except OSError:
            pass
        time.sleep(0.5)
    raise RuntimeError(f"{url} did not answer in {seconds} s: {log.read_text()[-3000:]}")


def stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=20)


@contextlib.contextmanager
def served_app(data_dir: Path, *args: str, **env: str) -> Iterator[tuple[str, Path]]:
    """`yunying serve` on a free localhost port; yields (url, log file)."""
    port = free_port()
    log = data_dir.parent / f"serve-{port}.log"
    with log.open("w") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "assistant.cli", "serve", "--port", str(port), *args],
            cwd=REPO,
            env=cli_env(data_dir, **{"YUNYING_LLM": "none", **env}),
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        try:
            url = f"http://127.0.0.1:{port}/"
            wait_for(url, proc, log)
            yield url, log
        finally:
            stop(proc)


def chroma_executable() -> str:
    found = Path(sys.executable).parent / "chroma"
    return str(found) if found.exists() else (shutil.which("chroma") or "chroma")


@contextlib.contextmanager
def chroma_server(path: Path) -> Iterator[str]:
    """`chroma run` on a free localhost port, until its heartbeat answers; yields its URL."""
    port = free_port()
    log = path.parent / f"chroma-{port}.log"
    with log.open("w") as out:
        proc = subprocess.Popen(
            [chroma_executable(), "run", "--path", str(path), "--host", "127.0.0.1", "--port", str(port)],
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        try:
            url = f"http://127.0.0.1:{port}"
            wait_for(f"{url}/api/v2/heartbeat", proc, log, seconds=60)
            yield url
        finally:
            stop(proc)


# ---------------------------------------------------------------- stub OpenAI-compatible server

SOURCE = re.compile(r"^\[(\d+)\] .*\n(.+)$", re.M)


def first_source_sentence(messages: list[dict[str, Any]]) -> str:
    """A sentence copied from source [1] of a Yunying prompt, cited, so the citation post-check keeps it."""
    user = next(m["content"] for m in reversed(messages) if m["role"] == "user")
    match = SOURCE.search(user)
    if not match:
        return "NOT_COVERED"
    text = match.group(2).strip()
    sentence = re.split(r"(?<=[。！？.!?])", text)[0].strip()
    return f"{sentence.rstrip('。.')}[{match.group(1)}]。"


class StubOpenAI:
    """Speaks POST /v1/chat/completions, plain JSON or SSE streaming. `reply(messages) -> text`; with
    `fail_status` every request gets that HTTP error, its message echoing the Authorization header (as a
    careless server might), to prove the client never shows it."""

    def __init__(self, reply: Callable[[list[dict[str, Any]]], str] = first_source_sentence, fail_status=0):
        self.reply = reply
        self.fail_status = fail_status
        self.requests: list[dict[str, Any]] = []
        self.headers: list[dict[str, str]] = []
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _send(self, status: int, body: dict[str, Any]) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                length = int(self.headers.get("Content-Length") or 0)
                request = json.loads(self.rfile.read(length) or b"{}")
                stub.requests.append(request)
                stub.headers.append({k.lower(): v for k, v in self.headers.items()})
                if stub.fail_status:
                    message = f"invalid key in header: {self.headers.get('Authorization')}"
                    self._send(stub.fail_status, {"error": {"message": message, "type": "auth_error"}})
                    return
                if not self.path.rstrip("/").endswith("/chat/completions"):
                    self._send(404, {"error": {"message": "not found"}})
                    return
                text = stub.reply(request.get("messages", []))
                base = {"id": "chatcmpl-stub", "created": int(time.time()), "model": request.get("model")}
                if not request.get("stream"):
                    self._send(
                        200,
                        {
                            **base,
                            "object": "chat.completion",
                            "choices": [
                                {
                                    "index": 0,
                                    "message": {"role": "assistant", "content": text},
                                    "finish_reason": "stop",
                                }
                            ],
                            "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15},
                        },
                    )
                    return
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.end_headers()
                pieces = [text[i : i + 4] for i in range(0, len(text), 4)]
                deltas = [{"role": "assistant", "content": ""}] + [{"content": p} for p in pieces]
                for delta in deltas:
                    chunk = {
                        **base,
                        "object": "chat.completion.chunk",
                        "choices": [{"index": 0, "delta": delta, "finish_reason": None}],
                    }
                    self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
                end = {
                    **base,
                    "object": "chat.completion.chunk",
                    "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}],
                }
                self.wfile.write(f"data: {json.dumps(end)}\n\ndata: [DONE]\n\n".encode())
                self.wfile.flush()

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> StubOpenAI:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
