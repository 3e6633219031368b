"""Calibrate the grounding check on two labelled sets:
- evals/grounding/pairs.yaml: hand-written (answer sentence, source) pairs in zh-zh, en-zh and en-en,
  paraphrases, the wrong company, invented figures, outside knowledge, half-supported sentences;
- evals/grounding/llm_labels.yaml: sentences of the local model's real drafts over dev golden items
  (evals/grounding/llm_drafts.jsonl, collected by evals/collect_drafts.py, sheet by draft_sheet.py),
  each judged against all the sources the answer had (S supported; P partly and U count as not).
Each set has a dev and a test half. Thresholds are chosen on the dev halves, reported on both.

    python evals/calibrate_grounding.py [--json]
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
import zlib
from collections import defaultdict
from pathlib import Path

import yaml

from assistant.answer.grounding import GroundingChecker, GroundingThresholds, lexical_support, readable_text
from assistant.answer.state import Citation
from assistant.core.settings import Settings
from assistant.core.text import detect_lang
from assistant.ingest.chunking import sections
from assistant.ingest.loaders import discover, load_document
from assistant.services.yunying import Yunying

HERE = Path(__file__).resolve().parent / "grounding"
PAIRS = HERE / "pairs.yaml"
LLM_DRAFTS = HERE / "llm_drafts.jsonl"
LLM_LABELS = HERE / "llm_labels.yaml"


def twin_section(docs: dict, doc_id: str, snippet: str) -> str:
    """The section of the twin document that corresponds to the section holding `snippet` (what the
    answer chain gives the check as `twin_text`)."""
    doc = docs.get(doc_id)
    twin = docs.get(f"{doc_id}-en")
    if doc is None or twin is None:
        return ""
    head = snippet.split("。")[0][:40]
    for index, (_, text) in enumerate(sections(doc.body)):
        if head in text:
            twin_sections = list(sections(twin.body))
            return twin_sections[index][1] if index < len(twin_sections) else ""
    return ""


def scored_pairs(checker: GroundingChecker, use_twins: bool = True) -> list[dict]:
    docs = {d.id: d for d in (load_document(p) for p in discover([Settings().knowledge_dir]))}
    pairs = yaml.safe_load(PAIRS.read_text(encoding="utf-8"))
    rows = []
    for pair in pairs:
        doc = docs.get(pair["doc_id"])
        source = Citation(
            n=1, chunk_id=f"{pair['doc_id']}#pair", doc_id=pair["doc_id"], title=doc.title if doc else "",
            kind=doc.kind if doc else "case", company=doc.company if doc else None, quote=pair["source"],
            text=pair["source"],
            twin_text=twin_section(docs, pair["doc_id"], pair["source"]) if use_twins else "",
        )  # fmt: skip
        readable = f"{source.text}\n{source.twin_text}" if source.twin_text else source.text
        semantic = float(checker.semantic_support([pair["sentence"]], [readable])[0, 0])
        rows.append(
            {
                **{k: pair[k] for k in ("id", "split", "kind", "supported")},
                "semantic": round(semantic, 4),
                "lexical": round(lexical_support(pair["sentence"], readable), 4),
                "twin": bool(source.twin_text),
                "specifics": checker.specifics_missing(pair["sentence"], source),
            }
        )
    return rows


def llm_rows(checker: GroundingChecker) -> list[dict]:
    """One row per labelled draft sentence, with its scores against every source of its answer (the
    check accepts a sentence when any one source supports it)."""
    if not LLM_LABELS.exists():
        return []
    sys.path.insert(0, str(HERE))
    from draft_sheet import claims

    labels = {entry["id"]: entry for entry in yaml.safe_load(LLM_LABELS.read_text(encoding="utf-8"))}
    rows = []
    for line in LLM_DRAFTS.read_text(encoding="utf-8").splitlines():
        draft = json.loads(line)
        sources = [Citation(**s) for s in draft["sources"]]
        sentences = claims(draft)
        ids = [f"{draft['id']}/s{k}" for k in range(1, len(sentences) + 1)]
        chosen = [(i, s) for i, s in zip(ids, sentences, strict=True) if i in labels]
        if not chosen or not sources:
            continue
        semantic = checker.semantic_rows([s for _, s in chosen], sources)
        half = "dev" if zlib.crc32(draft["id"].encode()) % 2 == 0 else "test"
        for row_index, (sentence_id, sentence) in enumerate(chosen):
            rows.append(
                {
                    "id": sentence_id,
                    "split": half,
                    "kind": f"llm-{detect_lang(sentence)}",
                    "supported": labels[sentence_id]["label"] == "S",
                    "per_source": [
                        {
                            "semantic": round(float(semantic[row_index, j]), 4),
                            "lexical": round(lexical_support(sentence, readable_text(source)), 4),
                            "specifics": checker.specifics_missing(sentence, source, draft["question"]),
                        }
                        for j, source in enumerate(sources)
                    ],
                }
            )
    return rows


def _accepts(scores: dict, t: GroundingThresholds) -> bool:
    supported = (
        scores["semantic"] >= t.semantic
        or scores["lexical"] >= t.lexical
        or (scores["semantic"] >= t.semantic_with_some_words and scores["lexical"] >= t.some_words)
    )
    return supported and not scores["specifics"]


def accept(row: dict, t: GroundingThresholds) -> bool:
    return any(_accepts(scores, t) for scores in row.get("per_source", [row]))


def accuracy(rows: list[dict], t: GroundingThresholds) -> float:
    return sum(accept(r, t) == r["supported"] for r in rows) / len(rows) if rows else 0.0


def search(rows: list[dict]) -> GroundingThresholds:
    """The thresholds with the best dev accuracy; ties go to the stricter (higher) semantic bar."""
    best, best_key = GroundingThresholds(), (-1.0, 0.0)
    grid = itertools.product(
        [x / 200 for x in range(156, 191)],  # semantic 0.780 .. 0.950
        [0.4, 0.5, 0.6, 0.7, 0.8, 1.01],  # lexical alone
        [x / 200 for x in range(150, 186, 2)],  # semantic with some words
        [0.2, 0.3, 0.4, 0.5],
    )
    for semantic, lexical, with_words, some in grid:
        if with_words > semantic:
            continue
        t = GroundingThresholds(
            semantic=semantic, lexical=lexical, semantic_with_some_words=with_words, some_words=some
        )
        key = (round(accuracy(rows, t), 4), semantic)
        if key > best_key:
            best, best_key = t, key
    return best


def report(rows: list[dict], t: GroundingThresholds) -> dict:
    out: dict = {"thresholds": t.model_dump(), "splits": {}}
    for split in ("dev", "test"):
        part = [r for r in rows if r["split"] == split]
        kinds: dict[str, list[dict]] = defaultdict(list)
        for r in part:
            kinds[r["kind"]].append(r)
        supported = [r for r in part if r["supported"]]
        unsupported = [r for r in part if not r["supported"]]
        out["splits"][split] = {
            "n": len(part),
            "accuracy": round(accuracy(part, t), 4),
            "supported_accepted": round(sum(accept(r, t) for r in supported) / max(1, len(supported)), 4),
            "unsupported_rejected": round(
                sum(not accept(r, t) for r in unsupported) / max(1, len(unsupported)), 4
            ),
            "by_kind": {
                k: {"n": len(v), "accuracy": round(accuracy(v, t), 4)} for k, v in sorted(kinds.items())
            },
        }
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    service = Yunying(Settings())
    checker = service.answer_chain("none").checker
    rows = scored_pairs(checker) + llm_rows(checker)
    current = report(rows, GroundingThresholds())
    tuned = search([r for r in rows if r["split"] == "dev"])
    result = {"current": current, "tuned_on_dev": report(rows, tuned)}
    if args.json:
        print(json.dumps({**result, "pairs": rows}, ensure_ascii=False, indent=1))
        return
    for name, res in result.items():
        print(f"== {name}: {res['thresholds']}")
        for split, figures in res["splits"].items():
            kinds = ", ".join(f"{k} {v['accuracy']:.2f}" for k, v in figures["by_kind"].items())
            print(
                f"  {split:4s} n={figures['n']:3d} accuracy {figures['accuracy']:.3f} "
                f"supported accepted {figures['supported_accepted']:.3f} "
                f"unsupported rejected {figures['unsupported_rejected']:.3f}\n    {kinds}"
            )


if __name__ == "__main__":
    main()
