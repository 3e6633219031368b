"""How far each golden fit case is from flipping: the score of the best acceptable primary model minus the
score of the best unacceptable one (points, 0-100 scale, from the score components before rounding). A
negative margin is a miss; a small positive one is a case a slight change of wording could flip, so the
worst-case and median margins say more about generalisation than dev accuracy once dev is nearly solved.

    python -m evals.fit_dev dev --margins [--llm none|local] [--ids ID,...] [--limit N]
        [--save FILE] [--compare FILE] [--fragile POINTS]

`--save` writes the per-case rows (scores, margin, the profile's top readings) as JSON; `--compare` prints
the margins beside an earlier saved run. Never run on the test split to tune: the lead measures it."""

from __future__ import annotations

import json
import statistics
from pathlib import Path
from typing import Any

from assistant.tools.evaluation.golden import FitCase

FRAGILE = 5.0  # points: a case with a margin below this is fragile
READ_FIELDS = ("sells", "earns", "customers", "growth")


def model_totals(analysis: Any) -> dict[str, float]:
    """Per model, the score in points before rounding: the weighted sum of its components."""
    return {r.model: round(100 * sum(c.value * c.weight for c in r.components), 2) for r in analysis.ranking}


def case_row(case: FitCase, analysis: Any) -> dict[str, Any]:
    totals = model_totals(analysis)
    good = max(v for m, v in totals.items() if m in case.accepted)
    bad = max((v for m, v in totals.items() if m not in case.accepted), default=0.0)
    readings = {
        f: [f"{v.value}:{v.weight:.2f}" for v in analysis.profile.readings.get(f, [])] for f in READ_FIELDS
    }
    return {
        "id": case.id,
        "accepted": case.accepted,
        "primary": analysis.primary,
        "margin": round(good - bad, 2),
        "scores": totals,
        "readings": readings,
        "sources": dict(analysis.profile.sources),
        "named": [c.company or c.doc_id for c in analysis.similar_cases],
    }


def summary(rows: list[dict[str, Any]], fragile: float) -> dict[str, Any]:
    margins = [r["margin"] for r in rows]
    if not margins:
        return {"n": 0}
    return {
        "n": len(margins),
        "correct": sum(m > 0 for m in margins),
        "mean": round(statistics.fmean(margins), 2),
        "median": round(statistics.median(margins), 2),
        "min": round(min(margins), 2),
        "p10": round(sorted(margins)[len(margins) // 10], 2),
        f"below_{fragile:g}": sum(m < fragile for m in margins),
    }


def measure(analyze: Any, cases: list[FitCase]) -> list[dict[str, Any]]:
    rows = []
    for case in cases:
        try:
            rows.append(case_row(case, analyze(case.description)))
        except ValueError as exc:  # refused: counts as the worst margin
            rows.append({"id": case.id, "accepted": case.accepted, "primary": None, "margin": -100.0,
                         "error": str(exc)})  # fmt: skip
    return rows


def report(rows: list[dict[str, Any]], fragile: float, earlier: list[dict[str, Any]] | None) -> str:
    before = {r["id"]: r for r in earlier or []}
    lines = []
    for r in sorted(rows, key=lambda r: r["margin"]):
        old = before.get(r["id"])
        was = f"{old['margin']:7.2f} -> " if old else ""
        mark = "MISS" if r["margin"] <= 0 else ("frag" if r["margin"] < fragile else "")
        lines.append(f"{was}{r['margin']:7.2f} {mark:4} {r['id']:40} {r.get('primary')} {r['accepted']}")
    if earlier is not None:
        kept = [r for r in earlier if r["id"] in {x["id"] for x in rows}]
        lines.append("before: " + json.dumps(summary(kept, fragile)))
    lines.append("after:  " + json.dumps(summary(rows, fragile)))
    return "\n".join(lines)


def run(split: str, backend: str, cases: list[FitCase], argv: list[str], option: Any) -> None:
    """Margins of `cases` (selected by fit_dev: split, --ids, --limit) with `backend`."""
    if split == "test":
        raise SystemExit("margins are for tuning: dev only (the lead measures the test split)")
    fragile = float(option(argv, "--fragile") or FRAGILE)
    from assistant.services.yunying import Yunying

    service = Yunying()
    rows = measure(lambda text: service.fit(text, backend), cases)
    save = option(argv, "--save")
    if save:
        Path(save).write_text(json.dumps(rows, ensure_ascii=False, indent=1), encoding="utf-8")
    compare = option(argv, "--compare")
    earlier = json.loads(Path(compare).read_text(encoding="utf-8")) if compare else None
    print(report(rows, fragile, earlier))
