"""The lexical post-check the model-fit memo still applies to its LLM sentences.

Answers use `assistant.answer.grounding` (semantic and lexical, across languages); issue 15 moves the
memo onto that check too, and this module goes.
"""

from __future__ import annotations

import re

from assistant.answer.grounding import lexical_support as support_score
from assistant.answer.grounding import place_citations
from assistant.answer.state import Citation
from assistant.core.text import is_chinese
from assistant.corpus import split_sentences

CITATION = re.compile(r"\[(\d{1,2})\]")
_UNSUPPORTED_THRESHOLD = 0.34
_REATTRIBUTE_MARGIN = 0.3


_QUESTION_WORDS = {
    "what", "how", "why", "which", "who", "when", "where", "does", "did", "is", "are", "can", "could",
    "should", "would", "will", "the", "and", "tell", "compare", "explain", "describe", "give", "list",
}  # fmt: skip
_NAME = re.compile(r"\b[A-Z][A-Za-z0-9&'.-]{2,}")
_FIGURE = re.compile(r"\d+(?:[.,]\d+)+|\d{2,}")


def unverified_specifics(sentence: str, question: str, sources: list[Citation]) -> list[str]:
    """Figures, and names the question asks about, that a sentence states but no source contains.

    This is how a small model answers an out-of-scope question from memory while citing a loosely
    related passage ("Temu had about 1.5 million users in Brazil [3]"): word overlap with the passage is
    high, but the question's subject and the figure occur in no source at all."""
    pool = " ".join(f"{s.title} {s.company or ''} {s.text}" for s in sources).lower()
    asked = {w.lower() for w in _NAME.findall(question)} - _QUESTION_WORDS
    missing = [m for m in _FIGURE.findall(sentence) if m.lower() not in pool]
    missing += [w for w in _NAME.findall(sentence) if w.lower() in asked and w.lower() not in pool]
    return missing


def post_check(
    text: str, sources: list[Citation], question: str = ""
) -> tuple[str, list[Citation], list[str]]:
    """Keep only citations that map to a provided source; give an uncited sentence the source that
    supports it best (when one does), and move a citation to another source when that one supports the
    sentence far better; flag sentences their cited source does not support, and strip the citations of
    sentences stating figures or asked-about names that no source contains.
    Returns the repaired text, the citations actually used, and the flagged sentences."""
    by_n = {s.n: s for s in sources}
    out: list[str] = []
    flagged: list[str] = []
    used: dict[int, Citation] = {}
    for sentence in split_sentences(text) or [text]:
        numbers = [int(n) for n in CITATION.findall(sentence)]
        valid = [n for n in dict.fromkeys(numbers) if n in by_n]
        clean = CITATION.sub("", sentence).rstrip()
        content = clean.strip(" -*>#")
        if len(content) < 4:  # list markers, headings: nothing to cite
            out.append(clean)
            continue
        # best support first; among equal support, the better-ranked (lower-numbered) source
        scored = sorted(((support_score(clean, by_n[n].text), -n) for n in by_n), reverse=True)
        best_score, best_n = (scored[0][0], -scored[0][1]) if scored else (0.0, 0)
        if not valid:
            if best_score >= _UNSUPPORTED_THRESHOLD:
                valid = [best_n]
        elif best_n not in valid and best_score >= _UNSUPPORTED_THRESHOLD:
            cited_best = max(support_score(clean, by_n[n].text) for n in valid)
            # a small model often cites the wrong one of several sources: the one that holds the words of
            # the sentence (or, at equal support, the passage retrieval ranked first) is the source a
            # reader needs to check it against
            if best_score >= cited_best + _REATTRIBUTE_MARGIN or (
                best_score >= cited_best and best_n < min(valid)
            ):
                valid = [best_n]
        if valid and unverified_specifics(clean, question, sources):
            valid = []  # a citation must not lend its authority to a claim it does not contain
        if valid and max(support_score(clean, by_n[n].text) for n in valid) < _UNSUPPORTED_THRESHOLD:
            flagged.append(clean)
        if not valid:
            flagged.append(clean)
        for n in valid:
            used[n] = by_n[n]
        out.append(place_citations(clean, valid))
    joined = ""
    for piece in out:
        if joined and not is_chinese(piece[:3]) and not joined.endswith("\n"):
            joined += " "
        joined += piece
    return joined.strip(), [used[n] for n in sorted(used)], list(dict.fromkeys(flagged))




__all__ = ["CITATION", "post_check", "unverified_specifics"]
