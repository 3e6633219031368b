"""Turn collected drafts (evals/collect_drafts.py) into a labelling sheet: each item's question, its
numbered sources and the draft's sentences exactly as the grounding check splits them, so a reader can
label every sentence S (supported), P (partly) or U (unsupported) without seeing the check's verdicts.

    python evals/grounding/draft_sheet.py drafts.jsonl sheet.md [--from N --to M]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from assistant.answer.grounding import draft_units, is_claim
from assistant.answer.state import Citation


def claims(row: dict) -> list[str]:
    """The sentences of a draft the check judges, in order (their ids are `<item>/s<k>`, k from 1)."""
    sources = [Citation(**{k: v for k, v in s.items() if k != "twin_text"}) for s in row["sources"]]
    return [unit[2] for unit in draft_units(row["draft"], sources) if is_claim(unit[2])]


def sheet(rows: list[dict]) -> str:
    out = []
    for row in rows:
        sentences = claims(row)
        if not sentences:
            continue
        out.append(f"## {row['id']}\n\nQuestion: {row['question']}\n\n### Sources\n")
        for s in row["sources"]:
            out.append(f"[{s['n']}] {s['title']} › {s['heading']}\n{s['text']}\n")
        out.append("### Sentences\n")
        out += [f"{row['id']}/s{k}: {sentence}" for k, sentence in enumerate(sentences, 1)]
        out.append("")
    return "\n".join(out)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("drafts", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("--from", dest="start", type=int, default=0)
    parser.add_argument("--to", dest="stop", type=int)
    args = parser.parse_args()
    rows = [json.loads(line) for line in args.drafts.read_text(encoding="utf-8").splitlines() if line]
    args.out.write_text(sheet([r for r in rows if r["draft"]][args.start : args.stop]), encoding="utf-8")


if __name__ == "__main__":
    main()
