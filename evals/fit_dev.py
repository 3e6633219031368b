"""Model-fit accuracy alone, through the same scoring `yunying eval` uses (evaluation.fit_accuracy), without
the retrieval and answer runs: `python -m evals.fit_dev [dev|test] [--llm none|local]`.

The test split is for the final measurement only: never tune on it."""

from __future__ import annotations

import json
import sys

from assistant.evaluation import fit_accuracy, load_fit_cases
from assistant.service import Yunying


def main(argv: list[str]) -> None:
    split = next((a for a in argv if a in ("dev", "test")), "dev")
    backend = argv[argv.index("--llm") + 1] if "--llm" in argv else "none"
    service = Yunying()
    result = fit_accuracy(lambda text: service.fit(text, backend), load_fit_cases(split=split))  # type: ignore[arg-type]
    rows = [{k: v for k, v in miss.items()} for miss in result["misses"]]
    print(
        json.dumps(
            {"split": split, "backend": backend, **result, "misses": rows}, ensure_ascii=False, indent=1
        )
    )


if __name__ == "__main__":
    main(sys.argv[1:])
