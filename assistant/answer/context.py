"""Step 4: the right part of each passage. From the top passages, the sentences most similar to the
question (e5), each with a neighbour kept for sense, inside a token budget, in reading order."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from assistant.answer.guard import defuse_sentence
from assistant.answer.state import Citation
from assistant.core.schema import Hit
from assistant.core.text import join_sentences, source_sentences

EmbedPassages = Callable[[Sequence[str]], Sequence[np.ndarray]]

MIN_SENTENCE_CHARS = 6
_TABLE_RULE = re.compile(r"[|\s:\-]+")  # a Markdown table's |---|---| line says nothing
# a list item's own marker ("- ", "1. "): a quoted sentence is shown without it
LIST_PREFIX = re.compile(r"^\s*(?:[-*•]|\d{1,2}[.)、])\s+")


def estimate_tokens(text: str) -> int:
    """Qwen's tokenizer: about 0.7 tokens per Chinese character and 1.3 per English word."""
    cjk = sum(1 for ch in text if "\u4e00" <= ch <= "\u9fff")
    words = len("".join(ch if ch.isascii() else " " for ch in text).split())
    return int(cjk * 0.7 + words * 1.3) + 1


def focus_hits(hits: Sequence[Hit], companies: Sequence[str], max_sources: int) -> list[Hit]:
    """The top passages, and when the question names companies whose passages were retrieved, none
    about *other* companies: a small model otherwise reports Douban's controversies as Xiaohongshu's.
    Two chunks of one long section are both kept (one per section lost the second half of "关键打法";
    dev: 0.80 -> 0.82 of the key points in the context); their overlap is dropped sentence by sentence
    in `select_sentences`."""
    named = {c.lower() for c in companies}
    if named and any((h.company or "").lower() in named for h in hits):
        hits = [h for h in hits if not h.company or h.company.lower() in named]
    if len(named) > 1:
        # a comparison needs each company's best passage, however the ranking favours one of them
        leaders = list({(h.company or "").lower(): h for h in reversed(hits) if h.company}.values())
        leaders.sort(key=hits.index)
        hits = leaders + [h for h in hits if h not in leaders]
    unique: dict[str, Hit] = {}
    for hit in hits:
        unique.setdefault(hit.chunk_id, hit)  # the first (best-ranked) time a chunk comes up
    return list(unique.values())[:max_sources]


# framework documents that define terms but advise nothing: an advice question's guidance is never one
NOT_GUIDANCE = frozenset({"glossary"})


def with_guidance(
    hits: Sequence[Hit], guidance: Sequence[Hit], leading: int, max_sources: int
) -> tuple[list[Hit], int]:
    """An advice question's passages ("我们…应该…", "should we…") with the framework's best guidance
    among the leading ones, and the new count of leading passages (`select_sentences`).

    The issue asks advice answers to join the framework's guidance with a case that did it, but a
    question naming a company retrieves that company's case alone: the framework passage found by a
    search of the framework documents (`guidance`) is put right after the leaders, so its best sentence
    reaches the prompt whatever the budget."""
    framework = next((h for h in [*hits, *guidance] if h.kind == "framework"), None)
    hits = list(hits)
    if framework is None:
        return hits, leading
    at = max(leading, 1)
    if framework in hits[: at + 1]:
        return hits, max(leading, hits.index(framework) + 1)
    rest = [h for h in hits if h.chunk_id != framework.chunk_id]
    return (rest[:at] + [framework] + rest[at:])[:max_sources], at + 1


@dataclass
class _Candidate:
    source: int  # index into the passages
    position: int  # sentence index inside its passage
    text: str
    score: float


def select_sentences(
    question_vector: np.ndarray,
    hits: Sequence[Hit],
    embed_passages: EmbedPassages,
    *,
    budget_tokens: int = 450,
    rank_weight: float = 0.02,
    leading: int = 0,
) -> list[Citation]:
    """The passages the answer may cite, each reduced to the sentences that answer the question.

    Every sentence of every passage is scored by cosine similarity to the question (plus a small prior
    for the passage's retrieval rank); the best are taken greedily until the budget is spent, and each
    passage's best sentence brings a neighbour, so a sentence starting "它…" / "This…" keeps its
    subject. Passages that contribute nothing are left out and the rest renumbered 1..n. The first
    `leading` passages (a comparison's one per company, see `focus_hits`) give their best sentence
    first, so each company of a comparison reaches the prompt."""
    passages = [[LIST_PREFIX.sub("", defuse_sentence(s)) for s in source_sentences(h.text)] for h in hits]
    first_seen: dict[str, int] = {}  # neighbouring chunks of a section overlap: a sentence counts once
    for i, sentences in enumerate(passages):
        for s in sentences:
            first_seen.setdefault(s, i)
    candidates = [
        _Candidate(i, j, s, 0.0)
        for i, sentences in enumerate(passages)
        for j, s in enumerate(sentences)
        if len(s) >= MIN_SENTENCE_CHARS and not _TABLE_RULE.fullmatch(s) and first_seen[s] == i
    ]
    if not candidates:
        return []
    vectors = np.asarray(embed_passages([c.text for c in candidates]), dtype=np.float32)
    similarity = vectors @ np.asarray(question_vector, dtype=np.float32)
    for candidate, sim in zip(candidates, similarity, strict=True):
        candidate.score = float(sim) - rank_weight * candidate.source
    chosen: dict[int, set[int]] = {}
    spent = 0
    ranked = sorted(candidates, key=lambda c: -c.score)
    firsts = [next((c for c in ranked if c.source == i), None) for i in range(leading)]
    for candidate in [c for c in firsts if c is not None] + ranked:
        picks = [candidate.position]
        if candidate.source not in chosen:  # its passage's best sentence: keep a neighbour for sense
            sentences = passages[candidate.source]
            neighbour = candidate.position - 1 if candidate.position > 0 else candidate.position + 1
            if 0 <= neighbour < len(sentences) and not _TABLE_RULE.fullmatch(sentences[neighbour]):
                picks.append(neighbour)
        taken = chosen.get(candidate.source, set())
        new = [p for p in picks if p not in taken]
        cost = sum(estimate_tokens(passages[candidate.source][p]) for p in new)
        if spent and spent + cost > budget_tokens and candidate not in firsts:
            continue
        chosen.setdefault(candidate.source, set()).update(new)
        spent += cost
    sources: list[Citation] = []
    for index in sorted(chosen):
        positions = sorted(chosen[index])
        pieces: list[str] = []
        for k, position in enumerate(positions):
            if k and position != positions[k - 1] + 1:
                pieces.append("…")
            pieces.append(passages[index][position])
        best = max(c.score + rank_weight * c.source for c in candidates if c.source == index)
        citation = Citation.from_hit(len(sources) + 1, hits[index], join_sentences(pieces))
        citation.relevance = round(best, 4)
        sources.append(citation)
    return sources
