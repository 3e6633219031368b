"""docs/api.md cannot drift from the API: every curl command of its ```bash blocks is run as written (real
curl, in bash) against the API over the whole knowledge base (real e5 and Chroma, the `none` backend, one
answer at a time as the queue example says), and what the docs show must hold of what comes back:

- the output the docs print as `# ...` comments under a command matches its real output line by line
  (`…` stands for any text, `3f0c…` for an id, a number for any number: ids and queue places differ
  from run to run);
- every field the docs' example responses name is in the real response (non-streamed JSON, and each
  streamed `data:` line), and the citations carry the fields the docs promise.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from assistant.frontends.api import create_api
from tests.conftest import REPO
from tests.test_api import KEY, make_service, running

API_DOC = REPO / "docs" / "api.md"
DOC_URL = "http://127.0.0.1:7860"
FENCE = re.compile(r"```(\w*)\n(.*?)```", re.S)
KEY_NAME = re.compile(r'"([A-Za-z_]+)":')
CITATION_FIELDS = {"n", "chunk_id", "doc_id", "title", "quote"}  # "always there" (docs/api.md)


def blocks(kind: str) -> list[str]:
    return [body for lang, body in FENCE.findall(API_DOC.read_text("utf-8")) if lang == kind]


def curl_blocks() -> list[str]:
    return [body for body in blocks("bash") if "curl " in body]


def block_after(marker: str, kind: str) -> str:
    """The first ```kind block after the line `marker` in the docs."""
    text = API_DOC.read_text("utf-8")
    return next(m.group(2) for m in FENCE.finditer(text, text.index(marker)) if m.group(1) == kind)


def expected_lines(block: str) -> list[tuple[str, list[str]]]:
    """(commands, the output lines the docs show for them) for each run of commands in a block."""
    steps: list[tuple[str, list[str]]] = []
    command: list[str] = []
    shown: list[str] = []
    for line in block.splitlines():
        if line.startswith("# "):
            shown.append(line[2:])
            continue
        if shown:
            steps.append(("\n".join(command), shown))
            command, shown = [], []
        command.append(line)
    steps.append(("\n".join(command), shown))
    return steps


def as_pattern(shown: str) -> re.Pattern[str]:
    """A line the docs show as a pattern: '…' (with the start of an id before it: '3f0c…') any text, a
    number any number."""
    parts = re.split(r"(\w*…|\d+)", shown)
    regex = "".join(".+" if p.endswith("…") else r"\d+" if p.isdigit() else re.escape(p) for p in parts)
    return re.compile(regex, re.I)


def all_keys(value: Any) -> set[str]:
    if isinstance(value, dict):
        return set(value) | {k for v in value.values() for k in all_keys(v)}
    if isinstance(value, list):
        return {k for v in value for k in all_keys(v)}
    return set()


@pytest.fixture(scope="module")
def servers(knowledge_store, embedder, models_dir) -> Iterator[dict[bool, str]]:
    """{True: the API with a key configured, False: the open API (loopback, no key)}, over one service that
    answers one request at a time (YUNYING_CONCURRENCY=1, as the queue example says)."""
    service = make_service(knowledge_store, embedder, models_dir, concurrency=1)
    with running(create_api(service, api_keys=[KEY])) as keyed, running(create_api(service)) as open_:
        yield {True: keyed, False: open_}


def run(command: str, base_url: str, cwd: Path) -> str:
    """A command of the docs, as written but for the server's address, in bash; its stdout."""
    env = {
        **os.environ,
        "YUNYING_API_KEYS": KEY,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",  # `python`: this one
    }
    done = subprocess.run(
        ["bash", "-c", f"set -o pipefail\n{command.replace(DOC_URL, base_url)}"],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, f"{command}\n{done.stderr}"
    return done.stdout


def test_the_docs_show_curl_commands_for_each_kind_of_request():
    commands = curl_blocks()
    assert len(commands) >= 4, "docs/api.md lost curl examples"
    assert all(DOC_URL in c for c in commands)  # what the test swaps for the test server's address
    assert any('"stream": true' in c for c in commands) and any(
        "X-Yunying-Conversation" in c for c in commands
    )


@pytest.mark.parametrize("number", range(len(curl_blocks())))
def test_each_curl_block_runs_and_prints_what_the_docs_show(servers, number, tmp_path):
    block = curl_blocks()[number]
    base_url = servers["$YUNYING_API_KEYS" in block]
    for command, shown in expected_lines(block):
        output = run(command, base_url, tmp_path)
        assert output.strip(), f"no output from:\n{command}"
        if shown:
            lines = [line for line in output.splitlines() if line.strip()]
            assert len(lines) == len(shown), (shown, lines)
            for real, doc in zip(lines, shown, strict=True):
                assert as_pattern(doc).fullmatch(real.strip()), (doc, real)


def test_the_non_streamed_example_names_only_real_fields(servers, tmp_path):
    command = block_after("## Asking: not streamed", "bash")
    response = json.loads(run(command, servers[True], tmp_path))
    documented = json.loads(block_after("## Asking: not streamed", "json"))
    assert set(documented) <= set(response), set(documented) - set(response)
    assert set(documented["choices"][0]) <= set(response["choices"][0])
    assert set(documented["choices"][0]["message"]) <= set(response["choices"][0]["message"])
    named = {k for c in documented["citations"] for k in c if k != "..."}
    assert response["citations"], response
    for citation in response["citations"]:
        assert CITATION_FIELDS | named <= set(citation), citation
    markers = {int(n) for n in re.findall(r"\[(\d{1,2})\]", response["choices"][0]["message"]["content"])}
    assert markers == {c["n"] for c in response["citations"]}  # one citation for each [n] in the text


def test_the_streamed_example_names_only_real_fields(servers, tmp_path):
    command = block_after("## Asking: streamed", "bash")
    events = [line.removeprefix("data: ") for line in run(command, servers[True], tmp_path).splitlines()]
    events = [e for e in events if e.strip()]
    assert events[-1] == "[DONE]"
    chunks = [json.loads(e) for e in events[:-1]]
    documented = [
        line.removeprefix("data: ")
        for line in block_after("## Asking: streamed", "text").splitlines()
        if line.startswith("data: ")
    ]
    assert documented[-1] == "[DONE]" and len(documented) - 1 <= len(chunks)
    first, *middle, last = documented[:-1]
    real_middle = {k for c in chunks[1:-1] for k in all_keys(c)}
    assert set(KEY_NAME.findall(first)) <= all_keys(chunks[0])
    assert {k for line in middle for k in KEY_NAME.findall(line)} <= real_middle
    assert set(KEY_NAME.findall(last)) <= all_keys(chunks[-1]), set(KEY_NAME.findall(last)) - all_keys(
        chunks[-1]
    )
    assert chunks[-1]["choices"][0]["finish_reason"] == "stop"
    assert all(set(c) >= CITATION_FIELDS for c in chunks[-1]["citations"]) and chunks[-1]["citations"]
