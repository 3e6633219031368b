"""Read a business description into a profile: what is sold, to whom, how it earns, what drives growth,
key resources, stage.

With the `none` backend the description's clauses are compared by e5 with prototype phrasings of each
field value (resources/fit/profile.yaml); no word list decides anything. A field counts as stated when its
best value stands out from the field's other values; the clause it was read from is kept as the user's
words. An LLM (fit/llm.py) may instead point at the span of the description that states a field."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

import numpy as np

from assistant.core.text import detect_lang, is_chinese, split_sentences
from assistant.core.vocabulary import MODEL_KEYS
from assistant.fit.negation import negation_table, scope_negations, whole, without_cues
from assistant.fit.schema import (
    READING_FIELDS,
    BusinessProfile,
    FieldValue,
    FitInputError,
    Lang,
    SelectionFactors,
)
from assistant.resources import load_yaml

Embed = Callable[[Sequence[str]], Sequence[np.ndarray]]
# a clause ends at a comma, semicolon or colon, but not at a thousands separator ("4,000 clinics")
_CLAUSE = re.compile(r"[，；;：:]|,(?!\d)")
# an English fragment of fewer words has no predicate ("reviews", "search and ranking", items of a
# list): read alone, e5 put "reviews" nearest content (0.90) in a clinic-booking marketplace
_MIN_CLAUSE_WORDS = 4
# the form's factors -> the reading field they state
FACTOR_FIELDS = {
    "business_type": "sells",
    "target_users": "customers",
    "resources": "resources",
    "stage": "stage",
}


@cache
def profile_table() -> dict[str, dict[str, dict[str, Any]]]:
    return load_yaml("fit/profile.yaml")


@cache
def reading_settings() -> dict[str, Any]:
    return load_yaml("fit/scoring.yaml")["reading"]


class Prototypes:
    """Every prototype phrasing, embedded once (e5 query side: the comparison is symmetric)."""

    def __init__(self, embed: Embed) -> None:
        table = profile_table()
        self.keys: list[tuple[str, str]] = []
        texts: list[str] = []
        for field, values in table.items():
            for value, entry in values.items():
                for phrase in entry["prototypes"]:
                    self.keys.append((field, value))
                    texts.append(str(phrase))
        self.vectors = np.asarray(embed(texts), dtype=np.float32)
        self.columns: dict[tuple[str, str], list[int]] = {}
        for j, key in enumerate(self.keys):
            self.columns.setdefault(key, []).append(j)


@dataclass
class Unit:
    text: str
    field: str | None = None  # a unit stated for one field (a form factor, an LLM span)
    source: str = "text"


def clauses(text: str) -> list[str]:
    """The description's sentences and, for a sentence of several clauses, each clause."""
    out: list[str] = []
    for sentence in split_sentences(" ".join(text.split())):
        out.append(sentence)
        parts = [p.strip(" 。.!?！？") for p in _CLAUSE.split(sentence)]
        parts = [p for p in parts if len(p) >= 4 and (is_chinese(p) or len(p.split()) >= _MIN_CLAUSE_WORDS)]
        if len(parts) > 1:
            out += parts
    return list(dict.fromkeys(out))


def check_meaningful(text: str) -> None:
    """Empty input, or input without a word, is refused here; whether it reads as a business is e5's call
    (read_profile)."""
    if not text.strip():
        raise FitInputError("the business description is empty")
    letters = sum(1 for ch in text if ch.isalpha())
    if letters < reading_settings()["min_chars"]:
        raise FitInputError("describe the business in a sentence: what it sells, to whom, and how it earns")


def _field_values(
    field: str,
    sims: np.ndarray,
    units: list[Unit],
    protos: Prototypes,
    lang: Lang,
    topics: list[set[str]],
    excluded: set[str] | frozenset[str] = frozenset(),
) -> list[FieldValue]:
    """The values of one field the units state, strongest first ([] when the field is not stated);
    `topics` are the fields each unit speaks to (clause_topics), `excluded` the values the description
    rules out."""
    table = {v: e for v, e in profile_table()[field].items() if v not in excluded}
    allowed = [i for i, u in enumerate(units) if u.field == field] or [
        i for i, u in enumerate(units) if u.field is None and field in topics[i]
    ]
    if not allowed:
        return []
    best: list[tuple[float, int, str]] = []
    for value in table:
        block = sims[np.ix_(allowed, protos.columns[(field, value)])]
        flat = int(block.argmax())
        best.append((float(block.max()), allowed[flat // block.shape[1]], value))
    best.sort(reverse=True)
    settings = reading_settings()
    scores = np.array([b[0] for b in best])
    stated_margin = settings["stated_margin"][lang]
    explicit = units[best[0][1]].field == field
    if not explicit and scores[0] - float(np.mean(scores[1:])) < stated_margin:
        return []
    weights = np.exp((scores - scores[0]) / settings["temperature"])
    weights /= weights.sum()
    out = []
    for i, ((similarity, unit, value), weight) in enumerate(zip(best, weights, strict=True)):
        # a value another clause states stands on its own ("按月订阅的套餐，以及…支付手续费")
        others = float(np.mean(np.delete(scores, i)))
        own_clause = i > 0 and unit != best[0][1] and similarity - others >= stated_margin
        if own_clause:
            weight = float(np.exp((similarity - scores[0]) / settings["other_clause_temperature"]))
        elif weight < settings["min_weight"] or similarity < scores[0] - settings["tie"]:
            continue
        entry = table[value]
        out.append(
            FieldValue(
                field=field,
                value=value,
                label=entry[lang],
                weight=round(float(weight), 3),
                similarity=round(similarity, 4),
                evidence=units[unit].text,
                source=units[unit].source,  # type: ignore[arg-type]
            )
        )
    total = sum(v.weight for v in out) or 1.0
    return [v.model_copy(update={"weight": round(v.weight / total, 3)}) for v in out]


def clause_topics(sims: np.ndarray, protos: Prototypes) -> list[set[str]]:
    """Per unit, the reading fields it speaks to: those whose closest prototype comes within
    `topic_gap` of the unit's closest prototype of any field. e5 finds every field's values somewhere
    in any sentence ("A meditation app." sits 0.84 from "no revenue yet"); a clause that reads as what
    is sold far more closely than as any way of earning says nothing about how the business earns."""
    gap = reading_settings()["topic_gap"]
    fields = list(READING_FIELDS)
    best = np.stack(
        [sims[:, [j for j, (f, _) in enumerate(protos.keys) if f == name]].max(axis=1) for name in fields],
        axis=1,
    )
    return [{fields[k] for k in np.flatnonzero(row >= row.max() - gap)} for row in best]


def _stands_out(row: np.ndarray, protos: Prototypes, field: str, lang: Lang) -> tuple[str, float] | None:
    """The field's value one embedded text states, if its reading stands out as a stated value must
    (absence values such as "no revenue yet" are left out: see _is_absence)."""
    table = profile_table()[field]
    best = sorted(
        ((float(row[protos.columns[(field, v)]].max()), v) for v in table if not table[v].get("absence")),
        reverse=True,
    )
    others = float(np.mean([b[0] for b in best[1:]])) if len(best) > 1 else 0.0
    if best[0][0] - others < reading_settings()["stated_margin"][lang]:
        return None
    return best[0][1], best[0][0]


def _runner_up_gap(row: np.ndarray, protos: Prototypes, field: str) -> float:
    table = profile_table()[field]
    ranked = sorted(
        (float(row[protos.columns[(field, v)]].max()) for v in table if not table[v].get("absence")),
        reverse=True,
    )
    return ranked[0] - ranked[1] if len(ranked) > 1 else 1.0


def _ruled_out(
    negated: list[str], neg_sims: np.ndarray, pos_sims: np.ndarray, protos: Prototypes, lang: Lang
) -> list[FieldValue]:
    """The values the negated parts deny: per part and field, the value its reading stands out on, unless
    an affirmative clause reads as that value at least as closely (then the denial is about something
    else: "公司不生产商品，只从工厂采购后卖给消费者" still sells goods)."""
    tolerance = negation_table()["rule_out_tolerance"]
    out: dict[tuple[str, str], FieldValue] = {}
    for i, part in enumerate(negated):
        for field in READING_FIELDS:
            if field == "stage":
                continue
            found = _stands_out(neg_sims[i], protos, field, lang)
            if not found:
                continue
            value, similarity = found
            if _runner_up_gap(neg_sims[i], protos, field) < negation_table()["denial_gap"]:
                continue  # the denial is about two values at once ("community or videos"): neither
            columns = protos.columns[(field, value)]
            affirmed = float(pos_sims[:, columns].max()) if len(pos_sims) else -1.0
            if affirmed > similarity + tolerance or (field, value) in out:
                continue
            entry = profile_table()[field][value]
            out[(field, value)] = FieldValue(
                field=field,
                value=value,
                label=entry[lang],
                weight=1.0,
                similarity=round(similarity, 4),
                evidence=part,
            )
    return list(out.values())


def _is_absence(row: np.ndarray, protos: Prototypes) -> bool:
    """A negated part that states an absence value ("目前没有收入"): a statement, not a denial."""
    gap = negation_table()["absence_gap"]
    for field, values in profile_table().items():
        ranked = sorted(((float(row[protos.columns[(field, v)]].max()), v) for v in values), reverse=True)
        if len(ranked) > 1 and values[ranked[0][1]].get("absence") and ranked[0][0] - ranked[1][0] >= gap:
            return True
    return False


def read_profile(
    description: str,
    embed: Embed,
    protos: Prototypes,
    factors: SelectionFactors | None = None,
    spans: dict[str, str] | None = None,
) -> BusinessProfile:
    """The profile of a description (and of the form's factors, which state their fields outright).
    What the description denies (fit/negation.py) is read apart and rules values out."""
    given = factors.given() if factors else {}
    text = " ".join((description or "").split())
    check_meaningful(text or " ".join(given.values()))
    lang: Lang = "zh" if detect_lang(text or " ".join(given.values())) == "zh" else "en"
    scoped = scope_negations(text, lang)
    units = [Unit(c) for c in clauses(scoped.text)]
    for key, value in given.items():
        units += [Unit(value, FACTOR_FIELDS[key], "field")]
    stated = {FACTOR_FIELDS[k] for k in given}
    for field, span in (spans or {}).items():
        if field not in stated:
            units += [Unit(c, field, "llm") for c in clauses(span)]
    denials = [without_cues(part, lang) or part for part in scoped.negated]
    vectors = np.asarray(embed([u.text for u in units] + scoped.negated + denials), dtype=np.float32)
    all_sims = vectors @ protos.vectors.T
    n, k = len(units), len(scoped.negated)
    said = all_sims[: n + k]  # the description as written (the denials read without cues are not)
    core = [j for j, (f, _) in enumerate(protos.keys) if f in ("sells", "earns")]
    noise = [j for j, (f, _) in enumerate(protos.keys) if f == "not_a_business"]
    business = float(said[:, core].max())
    if business < reading_settings()["business_floor"] or float(said[:, noise].max()) >= business:
        raise FitInputError(
            "this does not read as a business: say what it sells or offers, to whom, and how it earns"
        )
    sims, neg_sims, denial_sims = all_sims[:n], all_sims[n : n + k], all_sims[n + k :]
    negated: list[str] = []
    denied: list[int] = []
    for i, part in enumerate(scoped.negated):
        if _is_absence(neg_sims[i], protos):  # "目前没有收入" states the field: read it as said
            units.append(Unit(part))
            sims = np.vstack([sims, neg_sims[i]])
        else:
            negated.append(part)
            denied.append(i)
    ruled = _ruled_out(negated, denial_sims[denied], sims, protos, lang)
    profile = BusinessProfile(
        description=text or "；".join(given.values()),
        lang=lang,
        ruled_out=ruled,
        negated=negated,
        affirmative_text=scoped.text if negated else "",
        whole_clauses=scoped.wholes,
    )
    topics = clause_topics(sims, protos)
    for field in READING_FIELDS:
        excluded = {v.value for v in ruled if v.field == field}
        values = _field_values(field, sims, units, protos, lang, topics, excluded)
        if not values:
            continue
        # read from the parts, quoted as the user wrote them (a part cut by a negation gets its clause)
        values = [v.model_copy(update={"evidence": whole(v.evidence, scoped.wholes)}) for v in values]
        profile.readings[field] = values
        target = READING_FIELDS[field]
        setattr(profile, target, values[0].evidence[:160])
        profile.sources[target] = values[0].source
    profile.signals = signals_of(profile)
    labels = reading_settings()["field_labels"][lang]
    profile.gaps = [labels[f] for f in READING_FIELDS if f not in profile.readings]
    return profile


def affinity(field: str, value: str) -> dict[str, float]:
    return dict(profile_table()[field][value].get("models") or {})


def signals_of(profile: BusinessProfile) -> dict[str, list[str]]:
    """Per model: the profile values that point at it (affinity of one half or more)."""
    out: dict[str, list[str]] = {m: [] for m in MODEL_KEYS}
    for field, values in profile.readings.items():
        for v in values:
            for model, strength in affinity(field, v.value).items():
                if strength >= 0.5:
                    out[model].append(v.label)
    return out
