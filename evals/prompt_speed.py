"""Prompt-processing and decode speed of the local model, per weight type and llama.cpp option.

    python evals/prompt_speed.py                                 # the default set of configurations
    python evals/prompt_speed.py --config weights=q4_0_mix --config weights=q4_k_m,repack=0 --runs 5
    python evals/prompt_speed.py --json                          # one JSON object per configuration

Each configuration is measured in a fresh subprocess (one llama.cpp server at a time). Its prompt is a
realistic grounded (RAG) prompt: the fixed system prompt of the answer chain plus about 800 tokens of
Chinese case passages and a question. Every run draws other passages in another order, so llama.cpp cannot
reuse a cached prefix beyond the system prompt: each run processes about 800 new prompt tokens. One
warm-up request is not counted. Prompt tokens/s is llama.cpp's own prompt_n / prompt_ms; decode
tokens/s is predicted_n / predicted_ms over ``--decode`` tokens (end of text ignored); TTFT is the wall
time from sending the streamed request to its first text chunk. Figures are min, median and max over the
runs (the table prints the best and the median): the machine's cores may be shared with other work, so
read the median and mind the spread.

A configuration is ``key=value`` pairs joined by commas:
``weights`` (q4_k_m | q4_0 | q4_0_mix | q8_0: built from the shipped Q4_K_M on first use, see
assistant.llm.weights), ``threads`` (decode), ``threads_batch`` (prompt), ``batch`` (n_batch), ``ubatch``
(n_ubatch), ``repack`` (1: llama.cpp's repacked "extra buffer types" for the CPU, the default; 0: off),
``flash`` (auto | on | off).
"""

from __future__ import annotations

import argparse
import json
import random
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

DEFAULT_CONFIGS = [
    "weights=q4_k_m",
    "weights=q4_k_m,repack=0",
    "weights=q4_0",
    "weights=q4_0,repack=0",
    "weights=q4_0_mix",
    "weights=q8_0",
    "weights=q8_0,repack=0",
]
QUESTIONS = [
    "这些公司如何用数据驱动运营优化？",
    "会员体系在这些案例里起什么作用？",
    "What do these companies do to keep users coming back?",
    "平台如何平衡供给侧和需求侧的增长？",
    "How do these cases turn operations capabilities into revenue?",
    "内容和社区在这些公司的增长中各扮演什么角色？",
]


def _paragraphs() -> list[tuple[str, str]]:
    """(title, paragraph) pairs of the Chinese case studies: passages like the ones retrieval returns."""
    out = []
    for path in sorted((ROOT / "knowledge" / "cases").glob("*.md")):
        text = path.read_text(encoding="utf-8")
        title = re.search(r"^title:\s*(.+)$", text, re.M)
        body = text.split("\n---\n", 1)[-1]
        for para in body.split("\n\n"):
            para = para.strip()
            if (
                len(para) >= 80
                and not para.startswith(("#", "|", "-"))
                and re.search(r"[\u4e00-\u9fff]", para)
            ):
                out.append((title.group(1) if title else path.stem, para))
    return out


def rag_messages(rng: random.Random, chars: int = 1080) -> list[dict[str, str]]:
    """System prompt + numbered sources (~``chars`` characters, about 800 tokens) + a question."""
    from assistant.answer.prompt import system_prompt

    pool = _paragraphs()
    rng.shuffle(pool)
    blocks, total = [], 0
    for title, para in pool:
        if total >= chars:
            break
        blocks.append(f"[{len(blocks) + 1}] {title}\n{para}")
        total += len(para)
    user = f"<sources>\n{chr(10).join(blocks)}\n</sources>\n\nQuestion: {rng.choice(QUESTIONS)}"
    return [{"role": "system", "content": system_prompt()}, {"role": "user", "content": user}]


def parse_config(text: str) -> dict[str, str]:
    config = {"weights": "q4_k_m"}
    for item in filter(None, (p.strip() for p in text.split(","))):
        key, _, value = item.partition("=")
        config[key.strip()] = value.strip()
    return config


def measure(config: dict[str, str], runs: int, decode: int, seed: int) -> dict[str, Any]:
    """Load one server with ``config`` and time ``runs`` fresh RAG prompts (after one warm-up)."""
    import xllamacpp

    from assistant.core.settings import Settings
    from assistant.llm.local import flash_attn_value
    from assistant.llm.weights import local_model_file

    settings = Settings()
    path = local_model_file(settings.models_dir, config["weights"])
    params = xllamacpp.CommonParams()
    params.model.path = str(path)
    params.n_ctx = 4096
    params.n_parallel = 1
    params.cache_prompt = True
    params.verbosity = 1
    params.cpuparams.n_threads = int(config.get("threads", 1))
    params.cpuparams_batch.n_threads = int(config.get("threads_batch", 2))
    if "batch" in config:
        params.n_batch = int(config["batch"])
    if "ubatch" in config:
        params.n_ubatch = int(config["ubatch"])
    params.no_extra_bufts = config.get("repack", "1") == "0"
    if "flash" in config:
        params.flash_attn_type = flash_attn_value(config["flash"])
    started = time.perf_counter()
    server = xllamacpp.Server(params)
    load_s = time.perf_counter() - started
    rng = random.Random(seed)
    rows = []
    answers = []
    for i in range(runs + 1):
        request = {
            "messages": rag_messages(rng),
            "max_tokens": decode,
            "temperature": 0.0,
            "ignore_eos": True,
            "cache_prompt": True,
            "stream": True,
            "stream_options": {"include_usage": True},
        }
        first: list[float] = []
        timings: dict[str, Any] = {}
        text: list[str] = []

        def on_chunk(chunk: Any, first=first, timings=timings, text=text) -> bool:
            if isinstance(chunk, dict):
                if chunk.get("timings"):
                    timings.update(chunk["timings"])
                for choice in chunk.get("choices") or []:
                    piece = (choice.get("delta") or {}).get("content")
                    if piece:
                        text.append(piece)
                        if not first:
                            first.append(time.perf_counter())
            return False

        sent = time.perf_counter()
        server.handle_chat_completions(request, on_chunk)
        if i == 0:
            continue  # warm-up
        rows.append(
            {
                "prompt_n": timings.get("prompt_n"),
                "prompt_tps": timings["prompt_n"] / timings["prompt_ms"] * 1000,
                "decode_tps": timings["predicted_n"] / timings["predicted_ms"] * 1000,
                "ttft_s": (first[0] - sent) if first else None,
            }
        )
        answers.append("".join(text)[:120])

    def stats(key: str) -> dict[str, float]:
        values = [r[key] for r in rows if r[key] is not None]
        return {
            "min": round(min(values), 2),
            "median": round(statistics.median(values), 2),
            "max": round(max(values), 2),
        }

    return {
        "config": config,
        "file": path.name,
        "load_s": round(load_s, 2),
        "runs": len(rows),
        "prompt_tokens": stats("prompt_n"),
        "prompt_tokens_per_s": stats("prompt_tps"),
        "decode_tokens_per_s": stats("decode_tps"),
        "ttft_s": stats("ttft_s"),
        "sample": answers[0] if answers else "",
    }


def main(argv: list[str] | None = None) -> list[dict[str, Any]]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--config", action="append", help="key=value,... (repeatable; default: a set)")
    parser.add_argument("--runs", type=int, default=5, help="timed runs per configuration")
    parser.add_argument("--decode", type=int, default=32, help="tokens decoded per run")
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--json", action="store_true", help="print one JSON object per configuration")
    parser.add_argument("--one", help=argparse.SUPPRESS)  # internal: measure one config in this process
    args = parser.parse_args(argv)
    if args.one:
        print(
            json.dumps(measure(parse_config(args.one), args.runs, args.decode, args.seed), ensure_ascii=False)
        )
        return []
    results = []
    if not args.json:
        print(
            f"{'configuration':40} {'prompt tok':>10} {'prompt tok/s best/med':>21} {'decode tok/s med':>17} "
            f"{'TTFT s min/med':>15}"
        )
    for text in args.config or DEFAULT_CONFIGS:
        proc = subprocess.run(
            [
                sys.executable,
                __file__,
                "--one",
                text,
                "--runs",
                str(args.runs),
                "--decode",
                str(args.decode),
                "--seed",
                str(args.seed),
            ],
            capture_output=True,
            text=True,
        )
        if proc.returncode != 0:
            print(f"{text:40} failed: {proc.stderr.strip().splitlines()[-1:]}", file=sys.stderr)
            continue
        result = json.loads(proc.stdout.strip().splitlines()[-1])
        results.append(result)
        if args.json:
            print(json.dumps(result, ensure_ascii=False), flush=True)
        else:
            p, d, t = result["prompt_tokens_per_s"], result["decode_tokens_per_s"], result["ttft_s"]
            n = result["prompt_tokens"]["median"]
            print(
                f"{text:40} {n:>10.0f} {p['max']:>10.1f} / {p['median']:<8.1f} "
                f"{d['median']:>17.1f} {t['min']:>7.2f} / {t['median']:<6.2f}",
                flush=True,
            )
    return results


if __name__ == "__main__":
    main()
