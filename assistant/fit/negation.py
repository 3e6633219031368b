"""What a description says the business does not do ("公司自己不卖任何商品", "we take no commission").

e5 places "不卖货" next to "卖货", so read as it stands a negated clause would count as evidence for the
very value it denies. Here each clause is split into its scopes: a negation (a cue of
resources/fit/negation.yaml, a closed class of grammatical words) runs to the clause's end or to the word
that turns to what the business does instead (而是, but). The affirmative parts make up the text the
profile, the criteria and the analogies read; the negated parts are kept apart, and fit/profile.py asks
e5 which profile values they rule out."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from assistant.core.text import split_sentences
from assistant.resources import load_yaml

_CLAUSE_END = re.compile(r"([，,；;：:])")
_MASK = "\u25a1"


@cache
def negation_table() -> dict[str, Any]:
    return load_yaml("fit/negation.yaml")


@dataclass
class Scoped:
    """A description split by negation scope."""

    text: str  # the description without its negated parts (the whole description if nothing is left)
    negated: list[str] = field(default_factory=list)  # the negated parts, the user's words
    # a part cut from the middle of a clause ("The brand spends almost" | "nothing on ads") -> the clause
    # the user wrote: what is read is the part, what is quoted is the clause (see whole())
    wholes: dict[str, str] = field(default_factory=dict)


def _masked(text: str, lang: str) -> str:
    """The text with the cue-like words that do not negate (不仅, not only) blotted out, same length."""
    out = text
    for word in negation_table()[lang]["not_negating"]:
        out = re.sub(re.escape(word), _MASK * len(word), out, flags=re.IGNORECASE)
    return out


@cache
def _pattern(lang: str, key: str) -> re.Pattern[str]:
    words = sorted(negation_table()[lang][key], key=len, reverse=True)
    alternatives = "|".join(re.escape(w).replace("'", "['’]") for w in words)
    if lang == "en":  # whole words only ("no" not in "know"); "n't" ends a word ("don't")
        return re.compile(rf"(?<![a-z])(?:{alternatives})(?![a-z])|[a-z]*n['’]t(?![a-z])", re.IGNORECASE)
    return re.compile(alternatives)


def scopes(part: str, lang: str) -> list[tuple[str, bool]]:
    """A clause's parts in order, each with whether it is negated: a negation runs to the clause's end or
    to the first resume word after its cue ("我们不卖货而是收服务费" -> two parts). In Chinese it covers
    the clause from its start (the subject precedes the cue); in English it starts at the cue, and a
    leading part of a few words ("we take") is dropped rather than read as a statement."""
    settings = negation_table()[lang]
    masked = _masked(part, lang)
    out: list[tuple[str, bool]] = []
    start = 0
    while start < len(part):
        cue = _pattern(lang, "cues").search(masked, start)
        if not cue:
            out.append((part[start:], False))
            break
        if settings["scope"] == "from_cue":
            before = part[start : cue.start()]
            if len(before.split()) >= settings["min_words_before"]:
                out.append((before, False))
            begin = cue.start()
        else:
            begin = start
        turn = _pattern(lang, "resume").search(masked, cue.end())
        end = turn.start() if turn else len(part)
        out.append((part[begin:end], True))
        start = end
    return [(text.strip(), negated) for text, negated in out if text.strip(" ，,；;。.!?！？")]


def without_cues(part: str, lang: str) -> str:
    """A negated part with its cues taken out ("也没有编辑团队" -> "也编辑团队"): e5 reads what is denied
    more clearly without the negation, which it would otherwise take for "no revenue yet"."""
    masked = _masked(part, lang)
    kept, start = [], 0
    for cue in _pattern(lang, "cues").finditer(masked):
        kept.append(part[start : cue.start()])
        start = cue.end()
    kept.append(part[start:])
    return " ".join(" ".join(kept).split()) if lang == "en" else "".join(kept).strip()


def scope_negations(text: str, lang: str) -> Scoped:
    """The description's affirmative text and its negated parts. Sentences keep their punctuation, so
    the affirmative text splits into clauses as the original would."""
    kept: list[str] = []
    negated: list[str] = []
    wholes: dict[str, str] = {}
    for sentence in split_sentences(" ".join(text.split())):
        pieces = _CLAUSE_END.split(sentence)  # clause, delimiter, clause, ...
        rebuilt: list[str] = []
        for i in range(0, len(pieces), 2):
            delimiter = pieces[i + 1] if i + 1 < len(pieces) else ""
            parts = scopes(pieces[i], lang)
            clause = pieces[i].strip()
            for part, _ in parts:
                if part.strip(" 。.!?！？") != clause.strip(" 。.!?！？"):
                    wholes[part.strip(" 。.!?！？")] = clause.strip(" 。.!?！？")
            affirmative = [p for p, neg in parts if not neg]
            negated += [p.strip(" 。.!?！？") for p, neg in parts if neg]
            if affirmative:
                rebuilt.append(" ".join(affirmative) + delimiter)
        sentence_text = (" " if lang == "en" else "").join(rebuilt).strip().rstrip("，,；;：:")
        if sentence_text:
            end = sentence[-1] if sentence[-1] in "。.!?！？" else ""
            kept.append(sentence_text if sentence_text.endswith(tuple("。.!?！？")) else sentence_text + end)
    negated = [n for n in negated if n]
    affirmative_text = (" " if lang == "en" else "").join(kept).strip()
    if not negated or not affirmative_text:
        return Scoped(" ".join(text.split()), negated)
    return Scoped(affirmative_text, negated, {k: v for k, v in wholes.items() if k})


def whole(text: str, wholes: dict[str, str]) -> str:
    """The user's words as written: each part cut from the middle of a clause by a negation's scope is
    given back its clause, so a memo never quotes "The brand spends almost" for "The brand spends almost
    nothing on ads" (the reading keeps the parts; only what is shown to the user is made whole)."""
    out = text
    for part in sorted(wholes, key=len, reverse=True):
        clause = wholes[part]
        if part in out and clause not in out:
            out = out.replace(part, clause, 1)
    return out
