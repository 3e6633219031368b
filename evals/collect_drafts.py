"""Collect the chat model's real drafts over golden items, with every source the grounding check saw:
the material for labelling (sentence, source) pairs from real answers (evals/grounding/llm_pairs.yaml)
rather than only hand-written ones. Dev items only by default: the test split is never tuned on.

    python evals/collect_drafts.py --llm local --out drafts.jsonl [--limit N] [--types in_scope,follow_up]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

from langchain_core.callbacks import BaseCallbackHandler

from assistant.answer.state import Answer
from assistant.core.settings import Settings
from assistant.services.yunying import Yunying
from assistant.tools.evaluation import load_items


class DraftRecorder(BaseCallbackHandler):
    """Keeps the text of every chat-model call; the last one of an answer is its draft (a follow-up's
    first call is the question rewrite)."""

    def __init__(self) -> None:
        self.texts: list[str] = []

    def on_llm_end(self, response: Any, **kwargs: Any) -> None:
        generation = response.generations[0][0]
        message = getattr(generation, "message", None)
        self.texts.append(str(message.content) if message is not None else generation.text)


def collect(backend: str, split: str, types: set[str], limit: int | None, out: Path) -> None:
    service = Yunying(Settings())
    chain = service.answer_chain(backend)
    items = [i for i in load_items(split=split) if i.type in types][:limit]
    done = set()
    if out.exists():
        done = {json.loads(line)["id"] for line in out.read_text(encoding="utf-8").splitlines() if line}
    with out.open("a", encoding="utf-8") as sink:
        for number, item in enumerate(items, 1):
            if item.id in done:
                continue
            started = time.perf_counter()
            state = chain.prepare.invoke(
                {
                    "question": item.question,
                    "history": [t.model_dump() for t in item.history],
                    "filters": None,
                    "started": started,
                }
            )
            recorder = DraftRecorder()
            final: Answer | None = None
            for chunk in chain.respond.stream(state, config={"callbacks": [recorder]}):
                if "answer" in chunk:
                    final = chunk["answer"]
            row = {
                "id": item.id,
                "type": item.type,
                "lang": item.lang,
                "question": item.question,
                "history": [t.model_dump() for t in item.history],
                "expected_docs": item.expected_docs,
                "draft": recorder.texts[-1] if recorder.texts else "",
                "answer": final.model_dump() if final else None,
                "sources": [
                    {**s.model_dump(exclude={"twin_text"}), "twin_text": s.twin_text}
                    for s in state.get("sources", [])
                ],
                "seconds": round(time.perf_counter() - started, 1),
            }
            sink.write(json.dumps(row, ensure_ascii=False) + "\n")
            sink.flush()
            refused = final.refused if final else None
            print(f"{number}/{len(items)} {item.id} {row['seconds']}s refused={refused}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--llm", default="local")
    parser.add_argument("--split", default="dev", choices=["dev"])
    parser.add_argument("--types", default="in_scope,follow_up")
    parser.add_argument("--limit", type=int)
    parser.add_argument("--out", type=Path, default=Path("drafts.jsonl"))
    args = parser.parse_args()
    collect(args.llm, args.split, set(args.types.split(",")), args.limit, args.out)


if __name__ == "__main__":
    main()
