"""Concurrency (issue 9): concurrent gradio_client sessions against the served app (`--llm none`), each a
3-turn conversation, through the load script in evals/: all answered, no history crossing sessions."""

from __future__ import annotations

import json
import subprocess
import sys

from tests.conftest import REPO
from tests.stubs import served_app

SESSIONS = 8  # the full 20 is run by hand (figures in docs/deployment.md); 8 keeps CI quick


def test_concurrent_sessions_are_all_answered_and_never_cross(knowledge_store):
    with served_app(knowledge_store) as (url, _):
        result = subprocess.run(
            [sys.executable, "evals/load.py", url, "--sessions", str(SESSIONS), "--timeout", "180"],
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=900,
        )
    summary = json.loads(result.stdout)
    assert result.returncode == 0, summary["failures"]
    assert summary["answered"] == summary["expected"] == SESSIONS * 3
    assert summary["no_crossing"] and summary["ok"]
    assert summary["latency"]["n"] == SESSIONS * 3 and summary["latency"]["p95_ms"] > 0
    print(result.stderr.strip())


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
