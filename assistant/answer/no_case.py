"""The reply to a question about a company the knowledge base has no case for."""

from __future__ import annotations

from collections.abc import Sequence

from assistant.answer.gate import GateThresholds, uncovered_mention, unknown_company
from assistant.answer.patterns import text
from assistant.core.schema import Hit
from assistant.retrieval import HybridRetriever


def company_without_case(
    question: str,
    retriever: HybridRetriever,
    named: Sequence[str],
    hits: Sequence[Hit],
    thresholds: GateThresholds,
    lang: str,
) -> str:
    """The company a question is about when the knowledge base has no case for it ('' otherwise): a
    name it never uses ("喜茶"), or one it only mentions in passing whose mentions do not hold what is
    asked ("Temu's shipping fees")."""
    names, bm25 = retriever.company_names(), retriever.bm25_index()
    return unknown_company(question, names, bm25.idf, named) or uncovered_mention(
        question,
        names,
        bm25.idf,
        bm25.max_idf,
        named,
        hits,
        thresholds.min_coverage(lang),
        thresholds.min_mention_idf,
    )


def no_case_reply(name: str, lang: str, hits: Sequence[Hit], limit: int = 3) -> tuple[str, list[str]]:
    """Say there is no case for `name`; then, where the knowledge base mentions it in passing (Temu in
    the Pinduoduo case), say where; otherwise offer the nearest cases, labelled as analogies only, never
    as facts about `name`. Returns the reply and the case titles it offers."""
    cases = [h for h in hits if h.kind == "case"]
    mentioned = list(dict.fromkeys(h.title for h in cases if name.lower() in h.text.lower()))[:limit]
    offered = mentioned or list(dict.fromkeys(h.title for h in cases))[:limit]
    body = text("no_case", lang, name=name)
    if offered:
        label = "mentioned_in" if mentioned else "analogies"
        body += "\n\n" + text(label, lang, name=name) + ("、" if lang == "zh" else "; ").join(offered)
    return body, offered
