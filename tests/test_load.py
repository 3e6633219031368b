"""Concurrency (issues 9 and 17): concurrent sessions against the served app (`--llm none`), each a 3-turn
conversation, through the load script in evals/: as gradio_client sessions of the app, and as streaming
`openai` clients of the API (/v1/chat/completions). All answered, no history crossing sessions, and every
API request told its place in the queue."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator

import pytest

from tests.conftest import REPO
from tests.stubs import served_app

SESSIONS = 8  # the full 20 is run by hand (figures in docs/deployment.md); 8 keeps CI quick
CONCURRENCY = 4  # so that half of the API's first turns wait in line


@pytest.fixture(scope="module")
def served(knowledge_store) -> Iterator[str]:
    with served_app(knowledge_store, YUNYING_CONCURRENCY=str(CONCURRENCY)) as (url, _):
        yield url


def run_load(url: str, *args: str) -> tuple[dict, subprocess.CompletedProcess]:
    result = subprocess.run(
        [sys.executable, "evals/load.py", url, "--sessions", str(SESSIONS), "--timeout", "180", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=900,
    )
    print(result.stderr.strip())
    return json.loads(result.stdout), result


def test_concurrent_sessions_are_all_answered_and_never_cross(served):
    summary, result = run_load(served)
    assert result.returncode == 0, summary["failures"]
    assert summary["answered"] == summary["expected"] == SESSIONS * 3
    assert summary["no_crossing"] and summary["ok"]
    assert summary["latency"]["n"] == SESSIONS * 3 and summary["latency"]["p95_ms"] > 0


def test_concurrent_api_clients_are_all_answered_in_turn_and_never_cross(served):
    summary, result = run_load(served, "--api")
    assert result.returncode == 0, summary["failures"]
    assert summary["mode"] == "api" and summary["errors"] == 0
    assert summary["answered"] == summary["expected"] == SESSIONS * 3
    assert summary["no_crossing"] and summary["ok"]  # each client's own messages carry its follow-up
    assert summary["latency"]["n"] == SESSIONS * 3 and summary["first_token"]["p95_ms"] > 0
    first = summary["queue"]["first_positions"]
    assert len(first) == SESSIONS * 3 and first.count(0) >= CONCURRENCY  # every request was told
    assert "first token p50" in result.stderr and "requests queued" in result.stderr


def test_load_script_refuses_anything_but_localhost():
    result = subprocess.run(
        [sys.executable, "evals/load.py", "http://example.com:7860/", "--sessions", "2"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0 and "only talks to localhost" in result.stderr


def test_the_crossing_check_catches_a_leaked_history():
    """The judge itself: a session whose third turn is led by another session's company is a crossing; a
    case that only mentions the company, cited after its own case, is not."""
    sys.path.insert(0, str(REPO / "evals"))
    import load

    def session(name: str, doc_id: str, third: list[str]) -> load.Session:
        s = load.Session(name, doc_id, answers=["a", "b", "c"], latencies_ms=[1.0, 1.0, 1.0])
        s.cited = [{doc_id}, {doc_id}, set(third)]
        s.first_cited = [doc_id, doc_id, third[0]]
        return s

    others = {"case-jd", "case-xiaohongshu", "case-perfect-diary"}
    fine = [
        session("京东", "case-jd", ["case-jd"]),
        session("小红书", "case-xiaohongshu", ["case-xiaohongshu", "case-perfect-diary"]),
    ]
    assert load.judge(fine, others) == []
    leaked = [session("京东", "case-jd", ["case-xiaohongshu"])]
    failures = load.judge(leaked, others)
    assert any("another session's company (case-xiaohongshu)" in f for f in failures)
    assert any("does not cite case-jd" in f for f in failures)


def test_the_queue_check_wants_each_new_place_falling_to_the_turn():
    sys.path.insert(0, str(REPO / "evals"))
    import load

    # [3, 1, 0]: two requests ahead ended before this one was woken (seen in the 20-client run)
    told = load.Session("京东", "case-jd", positions=[[0], [2, 1, 0], [3, 1, 0]])
    assert load.queue_failures(told) == []
    for seen in ([], [1], [2, 2, 1, 0], [1, 2, 0]):  # never told; turn never announced; stayed; moved back
        assert load.queue_failures(load.Session("京东", "case-jd", positions=[seen]))
