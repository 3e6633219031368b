"""The `none` backend: a deterministic answer made of the selected source sentences, no LLM."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from assistant.answer.context import EmbedPassages
from assistant.answer.grounding import CITATION
from assistant.answer.patterns import text
from assistant.answer.state import Citation
from assistant.core.text import detect_lang, is_chinese
from assistant.corpus import split_sentences

LANGUAGE_BONUS = 0.03  # an English question prefers an English sentence of equal relevance


def extractive_answer(
    question_vector: np.ndarray,
    lang: str,
    sources: Sequence[Citation],
    embed_passages: EmbedPassages,
    max_points: int = 3,
) -> str:
    """One sentence that answers (the source sentence closest to the question), then up to
    `max_points - 1` further cited points, preferring sentences from other sources."""
    rows: list[tuple[float, int, int, str]] = []
    for source in sources:
        for position, sentence in enumerate(split_sentences(source.quote)):
            if len(sentence) >= 12 and sentence != "…":
                rows.append((0.0, source.n, position, sentence.strip("… ")))
    if not rows:
        return ""
    vectors = np.asarray(embed_passages([r[3] for r in rows]), dtype=np.float32)
    scores = vectors @ np.asarray(question_vector, dtype=np.float32)
    ranked = sorted(
        (
            (float(score) + (LANGUAGE_BONUS if detect_lang(row[3]) == lang else 0.0), *row[1:])
            for score, row in zip(scores, rows, strict=True)
        ),
        key=lambda r: (-r[0], r[1], r[2]),
    )
    chosen = [ranked[0]]
    for row in ranked[1:]:
        if len(chosen) == max_points:
            break
        if any(row[3] == c[3] for c in chosen):
            continue
        taken = {c[1] for c in chosen}
        # while another source still has a candidate, at most two points come from one passage
        crowded = sum(1 for c in chosen if c[1] == row[1]) >= 2
        if crowded and any(r[1] not in taken for r in ranked):
            continue
        chosen.append(row)
    lead, *points = chosen
    lines = [text("extractive_lead", lang) + _cite(lead[3], lead[1])]
    lines += [f"- {_cite(p[3], p[1])}" for p in sorted(points, key=lambda p: (p[1], p[2]))]
    return "\n".join(lines)


def _cite(sentence: str, n: int) -> str:
    sentence = CITATION.sub("", sentence).strip()
    end = len(sentence.rstrip("。！？.!?；;"))
    closing = sentence[end:] or ("。" if is_chinese(sentence) else ".")
    return f"{sentence[:end]}[{n}]{closing}"
