"""Gate features of the golden items (dev by default): word coverage, dense similarity and the best
selected sentence's similarity, per language and per kind (answerable or must-refuse). Prints a table
and the refusal rates of candidate thresholds, for docs/answers.md.

    python evals/calibrate_gate.py [--split dev|test] [--json]
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

from assistant.core.settings import Settings
from assistant.services.yunying import Yunying
from assistant.tools.evaluation import load_items


def features(split: str) -> list[dict]:
    service = Yunying(Settings())
    chain = service.answer_chain("none")
    rows = []
    for item in load_items(split=split):
        state = chain.prepare.invoke(
            {
                "question": item.question,
                "history": [t.model_dump() for t in item.history],
                "filters": None,
                "started": time.perf_counter(),
            }
        )
        best = max((s.relevance for s in state["sources"]), default=0.0)
        rows.append(
            {
                "id": item.id,
                "lang": item.lang,
                "refuse": item.must_refuse,
                "type": item.type,
                "coverage": state["gate"].get("coverage", 0.0),
                "dense": state["gate"].get("dense", 0.0),
                "sentence": round(best, 4),
                "no_case": state.get("no_case_for", ""),
            }
        )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--split", default="dev")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    rows = features(args.split)
    if args.json:
        print(json.dumps(rows, ensure_ascii=False, indent=1))
        return
    for lang in ("zh", "en"):
        for refuse in (False, True):
            group = [r for r in rows if r["lang"] == lang and r["refuse"] == refuse]
            if not group:
                continue
            for key in ("coverage", "dense", "sentence"):
                values = sorted(r[key] for r in group)
                print(
                    f"{lang} {'refuse' if refuse else 'answer'} n={len(group):3d} {key:9s} "
                    f"min {values[0]:.3f} p10 {values[len(values) // 10]:.3f} "
                    f"median {statistics.median(values):.3f} max {values[-1]:.3f}"
                )
    print("\nmust-refuse items and their features:")
    for r in rows:
        if r["refuse"]:
            print(" ", r)
    print(
        "\nanswerable items flagged as no-case:", [r["id"] for r in rows if r["no_case"] and not r["refuse"]]
    )


if __name__ == "__main__":
    main()
