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
