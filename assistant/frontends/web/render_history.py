"""Render helpers of the conversation and knowledge-admin parts of the web UI: a conversation's answers
and all its turns' source cards (so every [n] of every turn has its card), the conversation list, a
document's stored chunks, and the knowledge-gap queue. Pure functions of their arguments."""

from __future__ import annotations

import html
from typing import Any

from assistant.answer import Answer
from assistant.frontends.web.render import (
    link_citations,
    source_cards_html,
    timing_line,
    unsupported_html,
)
from assistant.frontends.web.text import say
from assistant.resources import load_yaml


def answer_markdown(answer: Answer, turn: int) -> str:
    """An answer as the chat shows it: [n] linked to the cards of its turn (not those of sources deleted
    since: their cards say so), left-out sentences greyed."""
    deleted = {c.n for c in answer.citations if c.deleted}
    return link_citations(answer.answer, turn, deleted) + unsupported_html(answer)


def chat_messages(answers: list[Answer]) -> list[dict[str, str]]:
    """A saved conversation as the chatbot's messages (turn n's links point at the cards of turn n)."""
    messages: list[dict[str, str]] = []
    for turn, answer in enumerate(answers, start=1):
        messages.append({"role": "user", "content": answer.question})
        messages.append({"role": "assistant", "content": answer_markdown(answer, turn)})
    return messages


def conversation_sources_html(answers: list[Answer], documents: dict[str, str] | None = None) -> str:
    """The cards of every turn, the latest first and open; earlier turns folded under their question
    (the citation script unfolds one when its [n] is clicked). `documents`: full texts for the latest
    turn's cards only, so a long conversation stays a light page."""
    if not answers:
        return ""
    latest = len(answers)
    parts = [
        source_cards_html(
            answers[-1].citations,
            answers[-1].nearest_topics,
            turn=latest,
            timing=timing_line(answers[-1]),
            documents=documents,
        )
    ]
    for turn in range(latest - 1, 0, -1):
        answer = answers[turn - 1]
        parts.append(
            f"<details class='src-turn' data-turn='{turn}'><summary>#{turn} · {html.escape(answer.question)}"
            f"</summary>{source_cards_html(answer.citations, answer.nearest_topics, turn=turn)}</details>"
        )
    return "\n".join(parts)


def conversation_choices(summaries: list[Any], lang: str) -> list[tuple[str, str]]:
    """The conversation list's entries: title, turns and last use; the value is the conversation's id."""
    turns = say("conv_turns", lang)
    return [
        (f"{s.title or '—'} · {s.turn_count} {turns} · {s.updated[:16].replace('T', ' ')}", s.id)
        for s in summaries
    ]


def chunks_table(chunks: list[Any]) -> Any:
    """A document's chunks as stored: position, heading, language, BM25 token count, text."""
    import pandas as pd

    columns = ["#", "标题 Heading", "语言 Lang", "BM25 词数 Tokens", "文本 Text", "chunk_id"]
    rows = [[c.position, c.heading, c.lang, c.bm25_tokens, c.text, c.chunk_id] for c in chunks]
    return pd.DataFrame(rows, columns=columns)


def _gap_words(lang: str) -> tuple[dict[str, str], str]:
    words = load_yaml("services/wording.yaml")["gaps"]
    reasons = {key: str(value.get(lang, value["en"])) for key, value in words["reasons"].items()}
    return reasons, str(words["no_topic"].get(lang, words["no_topic"]["en"]))


def gaps_html(groups: list[Any], lang: str) -> str:
    """The open knowledge gaps grouped by nearest topic, the most frequent first (as `Gaps.grouped`
    orders them), each entry with its id (what "mark resolved" picks), reason and date."""
    if not groups:
        return f"<div class='gap-empty hint'>{html.escape(say('gaps_none', lang))}</div>"
    reasons, no_topic = _gap_words(lang)
    parts = []
    for group in groups:
        counts = " · ".join(f"{html.escape(reasons.get(r, r))} {n}" for r, n in group.reasons.items())
        items = "".join(
            f"<li data-gap-id='{e.id}'><code>#{e.id}</code> {html.escape(e.question)}"
            f" <small>· {html.escape(reasons.get(e.reason, e.reason))}"
            f" · {html.escape(e.created[:10])}</small>"
            + (f"<div class='gap-detail'>{html.escape(e.detail)}</div>" if e.detail else "")
            + "</li>"
            for e in group.entries
        )
        parts.append(
            f"<div class='gap-group' data-topic='{html.escape(group.topic)}'>"
            f"<div class='gap-head'><b>{html.escape(group.topic or no_topic)}</b>"
            f" <span class='gap-count'>{group.count}</span> <small>{counts}</small></div>"
            f"<ul>{items}</ul></div>"
        )
    return "<div class='gaps'>" + "".join(parts) + "</div>"


def gap_choices(groups: list[Any]) -> list[tuple[str, int]]:
    """The open entries to pick from for "mark resolved", in the panel's order."""
    return [
        (f"#{e.id} · {(group.topic or '—')[:30]} · {e.question[:60]}", e.id)
        for group in groups
        for e in group.entries
    ]
