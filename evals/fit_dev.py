"""Model-fit accuracy alone, through the same scoring `yunying eval` uses (evaluation.fit_accuracy), without
the retrieval and answer runs:

    python -m evals.fit_dev [dev|test] [--llm none|local] [--ids ID,ID...] [--limit N]
    python -m evals.fit_dev dev --margins [...]   (per-case margins: evals/fit_margins.py)

`--ids` / `--limit` measure a subset (a local model takes about a minute per description on a small
machine); the printed `n` says how many were measured. The test split is for the final measurement only:
never tune on it."""

from __future__ import annotations

import json
import sys

from assistant.services.yunying import Yunying
from assistant.tools.evaluation import fit_accuracy, load_fit_cases


def _option(argv: list[str], name: str) -> str | None:
    return argv[argv.index(name) + 1] if name in argv and argv.index(name) + 1 < len(argv) else None


def _selection(argv: list[str]) -> tuple[str, str, list]:
    """The split, the backend and the cases `--ids` / `--limit` leave of it."""
    split = next((a for a in argv if a in ("dev", "test")), "dev")
    backend = _option(argv, "--llm") or "none"
    cases = load_fit_cases(split=split)
    ids = _option(argv, "--ids")
    if ids:
        wanted = set(ids.split(","))
        cases = [c for c in cases if c.id in wanted]
    limit = _option(argv, "--limit")
    if limit:
        cases = cases[: int(limit)]
    return split, backend, cases


def main(argv: list[str]) -> None:
    split, backend, cases = _selection(argv)
    if "--margins" in argv:
        from evals.fit_margins import run

        run(split, backend, cases, argv, _option)
        return
    service = Yunying()
    result = fit_accuracy(lambda text: service.fit(text, backend), cases)  # type: ignore[arg-type]
    rows = [{k: v for k, v in miss.items()} for miss in result["misses"]]
    print(
        json.dumps(
            {"split": split, "backend": backend, **result, "misses": rows}, ensure_ascii=False, indent=1
        )
    )


if __name__ == "__main__":
    main(sys.argv[1:])
