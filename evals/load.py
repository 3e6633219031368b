"""Load test of a running Yunying app: N concurrent chat sessions, each a conversation of up to 3 turns.

    python -m assistant.cli serve --port 7860 &          # e.g. with YUNYING_LLM=none
    python evals/load.py http://127.0.0.1:7860/ --sessions 20            # the Gradio app (gradio_client)
    python evals/load.py http://127.0.0.1:7860/ --api --sessions 20      # the API (/v1/chat/completions)
    python evals/load.py http://127.0.0.1:7860/ --api --sessions 4 --turns 1   # e.g. with the local model

It starts nothing itself and talks to localhost only. Each session asks about a different company: turn 1
and 2 name it, turn 3 is a follow-up that does not ("它的核心用户是谁？"), so only the session's own history
can tell the app which company is meant.

* App mode: each session is its own `gradio_client.Client` (its own Gradio session, so the history lives
  server-side per session).
* API mode (`--api`): each session is its own official `openai` client, streaming; the history is the
  `messages` it sends. Every request must show its place in the API's queue: its first chunk carries
  `queue_position` (0 = answered at once), then each new place, falling to 0. Time to the first answer
  token is measured beside the whole answer's.

Checks: every turn answered (non-empty, within the timeout); with 3 turns, turn 3 cites the session's own
company case, first (another session's company leading the sources would mean its history leaked into
this one). Prints one latency line and a JSON summary (p50/p95 in ms, errors); exit code 0 when all passed.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import re
import statistics
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlparse

for _key, _value in {
    "GRADIO_ANALYTICS_ENABLED": "False",
    "HF_HUB_OFFLINE": "1",
    "HF_HUB_DISABLE_TELEMETRY": "1",
    "NO_PROXY": "127.0.0.1,localhost",
    "no_proxy": "127.0.0.1,localhost",
}.items():
    os.environ[_key] = _value

# (Chinese name, case document id): one company per session, distinct enough that retrieval never
# confuses two of them.
COMPANIES = [
    ("京东", "case-jd"),
    ("知乎", "case-zhihu"),
    ("小红书", "case-xiaohongshu"),
    ("哔哩哔哩", "case-bilibili"),
    ("钉钉", "case-dingtalk"),
    ("豆瓣", "case-douban"),
    ("拼多多", "case-pinduoduo"),
    ("小米", "case-xiaomi"),
    ("美团", "case-meituan"),
    ("得到", "case-dedao"),
    ("虎扑", "case-hupu"),
    ("瑞幸咖啡", "case-luckin-coffee"),
    ("完美日记", "case-perfect-diary"),
    ("网易云音乐", "case-netease-cloud-music"),
    ("多邻国", "case-duolingo"),
    ("麦肯锡", "case-mckinsey"),
    ("金蝶", "case-kingdee"),
    ("闲鱼", "case-xianyu"),
    ("希音", "case-shein"),
    ("今日头条", "case-toutiao"),
    ("印象笔记", "case-evernote"),
    ("快手", "case-kuaishou"),
]
TURNS = ["{name}的主导运营模式是什么？", "{name}是怎么变现的？", "它的核心用户是谁？"]
CASE_ID = re.compile(r"case-[a-z0-9-]+")


@dataclass
class Session:
    name: str
    doc_id: str
    latencies_ms: list[float] = field(default_factory=list)
    answers: list[str] = field(default_factory=list)
    cited: list[set[str]] = field(default_factory=list)
    first_cited: list[str] = field(default_factory=list)
    error: str = ""
    first_token_ms: list[float] = field(default_factory=list)  # API mode: to the first answer text
    positions: list[list[int]] = field(default_factory=list)  # API mode: queue positions seen, per turn


def _texts(result: Any) -> list[str]:
    items = result if isinstance(result, (list, tuple)) else [result]
    return [item if isinstance(item, str) else json.dumps(item, ensure_ascii=False) for item in items]


def run_session(
    url: str, session: Session, timeout: float, auth: tuple[str, str] | None, turns: int = len(TURNS)
) -> Session:
    from gradio_client import Client

    try:
        client = Client(url, verbose=False, auth=auth, httpx_kwargs={"timeout": timeout})
        endpoint = client.view_api(print_info=False, return_format="dict")["named_endpoints"]["/chat"]
        extra = [p.get("parameter_default") or "" for p in endpoint["parameters"][1:]]
        for template in TURNS[:turns]:
            started = time.perf_counter()
            job = client.submit(template.format(name=session.name), *extra, api_name="/chat")
            texts = _texts(job.result(timeout=timeout))
            session.latencies_ms.append((time.perf_counter() - started) * 1000)
            session.answers.append(texts[0])
            found = CASE_ID.findall(" ".join(texts[1:]) or texts[0])  # the source cards, in citation order
            session.cited.append(set(found))
            session.first_cited.append(found[0] if found else "")
    except Exception as exc:  # reported per session; the run goes on
        session.error = f"{exc.__class__.__name__}: {exc}"[:300]
    return session


def ask_streamed(client: Any, messages: list[dict[str, str]]) -> tuple[dict[str, Any], list[int], float]:
    """One streamed request: the final chunk's extra fields (answer, citations...), the queue positions
    it was told, and the milliseconds to its first answer text."""
    started = time.perf_counter()
    first_text, final, positions = 0.0, None, []
    stream = client.chat.completions.create(model="yunying", messages=messages, stream=True)
    for chunk in stream:
        extra = chunk.model_extra or {}
        if "queue_position" in extra:
            positions.append(int(extra["queue_position"]))
        if not first_text and chunk.choices and chunk.choices[0].delta.content:
            first_text = (time.perf_counter() - started) * 1000
        if "citations" in extra:
            final = extra
    if final is None:
        raise RuntimeError("the stream ended without its final chunk (answer, citations)")
    return final, positions, first_text


def run_api_session(url: str, session: Session, timeout: float, api_key: str, turns: int) -> Session:
    from openai import OpenAI

    try:
        base = url.rstrip("/")
        client = OpenAI(base_url=f"{base}/v1", api_key=api_key or "unused", max_retries=0, timeout=timeout)
        messages: list[dict[str, str]] = []
        for template in TURNS[:turns]:
            messages.append({"role": "user", "content": template.format(name=session.name)})
            started = time.perf_counter()
            final, positions, first_text = ask_streamed(client, messages)
            session.latencies_ms.append((time.perf_counter() - started) * 1000)
            session.first_token_ms.append(first_text)
            session.positions.append(positions)
            session.answers.append(final["answer"])
            cited = [c["doc_id"] for c in final["citations"]]
            session.cited.append(set(cited))
            session.first_cited.append(cited[0] if cited else "")
            messages.append({"role": "assistant", "content": final["answer"]})
    except Exception as exc:  # reported per session; the run goes on
        session.error = f"{exc.__class__.__name__}: {exc}"[:300]
    return session


def queue_failures(s: Session) -> list[str]:
    """API mode: each request was told its place in line, then each new place, down to its turn (0).
    A place can be skipped: when two requests ahead end before the waiting one is woken, it moves up two
    at once, and the position it is told is where it now stands. It must never stay or move back."""
    failures = []
    for turn, seen in enumerate(s.positions, start=1):
        falling = all(later < earlier for earlier, later in itertools.pairwise(seen))
        if not seen or seen[-1] != 0 or not falling:
            failures.append(
                f"{s.name}: turn {turn} was told the queue positions {seen}, not falling to 0 (n, ..., 0)"
            )
    return failures


def percentiles(samples: list[float]) -> dict[str, float]:
    if not samples:
        return {"p50_ms": 0.0, "p95_ms": 0.0, "n": 0}
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return {"p50_ms": round(statistics.median(ordered), 1), "p95_ms": round(p95, 1), "n": len(ordered)}


def judge(done: list[Session], others: set[str], turns: int = len(TURNS)) -> list[str]:
    """What went wrong in the finished sessions ([] when all is well)."""
    failures: list[str] = []
    for s in done:
        if s.error:
            failures.append(f"{s.name}: {s.error}")
            continue
        if len(s.answers) != turns or not all(a.strip() for a in s.answers):
            failures.append(f"{s.name}: {len(s.answers)} answers, some empty")
            continue
        failures.extend(queue_failures(s))
        if turns < len(TURNS):
            continue  # no follow-up was asked
        # Another session's history would make turn 3 about that session's company: its case would lead
        # the sources. (A case that merely mentions this company, cited after it, is no crossing.)
        if s.first_cited[-1] in others - {s.doc_id}:
            failures.append(f"{s.name}: turn 3 is about another session's company ({s.first_cited[-1]})")
        if s.doc_id not in s.cited[-1]:
            failures.append(f"{s.name}: turn 3 does not cite {s.doc_id} (cited {sorted(s.cited[-1])})")
    return failures


def run(
    url: str,
    sessions: int,
    timeout: float = 120.0,
    auth: tuple[str, str] | None = None,
    *,
    api: bool = False,
    api_key: str = "",
    turns: int = len(TURNS),
) -> dict[str, Any]:
    host = urlparse(url).hostname or ""
    if host not in ("127.0.0.1", "localhost", "::1"):
        raise SystemExit(f"load.py only talks to localhost, not {host!r}")
    if not 1 <= sessions <= len(COMPANIES):
        raise SystemExit(f"--sessions must be 1..{len(COMPANIES)} (one company per session)")
    if not 1 <= turns <= len(TURNS):
        raise SystemExit(f"--turns must be 1..{len(TURNS)}")
    chosen = [Session(name, doc_id) for name, doc_id in COMPANIES[:sessions]]
    others = {s.doc_id for s in chosen}
    started = time.perf_counter()
    barrier = threading.Barrier(sessions)

    def start(session: Session) -> Session:
        barrier.wait(timeout=timeout)  # all sessions begin together
        if api:
            return run_api_session(url, session, timeout, api_key, turns)
        return run_session(url, session, timeout, auth, turns)

    with ThreadPoolExecutor(max_workers=sessions) as pool:
        done = list(pool.map(start, chosen))
    wall = time.perf_counter() - started

    failures = judge(done, others, turns)
    all_ms = [ms for s in done for ms in s.latencies_ms]
    summary = {
        "url": url,
        "mode": "api" if api else "app",
        "sessions": sessions,
        "turns_per_session": turns,
        "answered": sum(len(s.answers) for s in done),
        "expected": sessions * turns,
        "errors": sum(1 for s in done if s.error),
        "no_crossing": not any("another session" in f for f in failures),
        "turn3_first_source": {
            s.name: s.first_cited[-1] if len(s.first_cited) == len(TURNS) else "" for s in done
        },
        "ok": not failures,
        "failures": failures,
        "latency": percentiles(all_ms),
        "latency_by_turn": {
            str(t + 1): percentiles([s.latencies_ms[t] for s in done if len(s.latencies_ms) > t])
            for t in range(turns)
        },
        "wall_seconds": round(wall, 2),
    }
    if api:
        firsts = [line[0] for s in done for line in s.positions if line]
        summary["first_token"] = percentiles([ms for s in done for ms in s.first_token_ms if ms])
        summary["queue"] = {
            "requests_queued": sum(1 for p in firsts if p > 0),
            "max_position": max(firsts, default=0),
            "first_positions": sorted(firsts),
        }
    return summary


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Concurrent 3-turn chat sessions against a local Yunying app."
    )
    parser.add_argument("url", nargs="?", default="http://127.0.0.1:7860/")
    parser.add_argument("--sessions", type=int, default=20)
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds per turn")
    parser.add_argument("--auth", default="", help="user:password when the app asks for a login")
    parser.add_argument("--api", action="store_true", help="drive /v1/chat/completions (openai client)")
    parser.add_argument("--api-key", default=os.environ.get("YUNYING_LOAD_API_KEY", ""),
                        help="the API's key, when it asks for one (or YUNYING_LOAD_API_KEY)")  # fmt: skip
    parser.add_argument("--turns", type=int, default=len(TURNS), help="turns per session (1..3)")
    args = parser.parse_args(argv)
    auth = tuple(args.auth.split(":", 1)) if args.auth else None
    summary = run(
        args.url, args.sessions, args.timeout, auth,  # type: ignore[arg-type]
        api=args.api, api_key=args.api_key, turns=args.turns,
    )  # fmt: skip
    lat = summary["latency"]
    line = (
        f"{summary['mode']}: {summary['answered']}/{summary['expected']} turns answered by "
        f"{summary['sessions']} sessions in {summary['wall_seconds']} s; p50 {lat['p50_ms']} ms, "
        f"p95 {lat['p95_ms']} ms; {summary['errors']} errors"
    )
    if args.api:
        first, queue = summary["first_token"], summary["queue"]
        line += (
            f"; first token p50 {first['p50_ms']} ms, p95 {first['p95_ms']} ms; {queue['requests_queued']} "
            f"requests queued (positions up to {queue['max_position']})"
        )
    if args.turns == len(TURNS):
        line += "; no history crossed" if summary["no_crossing"] else "; HISTORY CROSSED"
    sys.stderr.write(line + "\n")
    print(json.dumps(summary, ensure_ascii=False))
    return 0 if summary["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
