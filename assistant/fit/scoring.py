"""Scores by evidence: (a) criteria, (b) analogy, (c) the essay's rule that the primary model is where
value is created and captured (what is sold, how it earns: weighs most), while channels are supporting.
Each model's score keeps its components and what produced them."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from typing import Any

from assistant.core.vocabulary import MODEL_KEYS
from assistant.fit.analogies import Analogy, votes
from assistant.fit.criteria import CriterionMatch
from assistant.fit.profile import affinity, profile_table
from assistant.fit.schema import BusinessProfile, FieldValue
from assistant.resources import load_yaml


@cache
def scoring_config() -> dict[str, Any]:
    return load_yaml("fit/scoring.yaml")


@dataclass
class Scored:
    model: str
    total: float
    rule: float
    criteria: float
    analogy: float
    rule_evidence: list[tuple[FieldValue, float]] = field(default_factory=list)
    criteria_evidence: list[CriterionMatch] = field(default_factory=list)
    analogy_evidence: list[Analogy] = field(default_factory=list)
    disclaimed: list[FieldValue] = field(default_factory=list)  # the user's denial of its value carrier


def rule_affinity(profile: BusinessProfile, field: str, value: str) -> dict[str, float]:
    """A value's pull on each model in the rule. A way of charging that says nothing of where value is
    made (profile.yaml `captures_what_is_sold`: ads, a subscription, a membership) takes `captured_share`
    of its pull from what the description sells: a game's ads monetise the product, a show's ads the
    content, a forum's ads the community; a subscription to software is the product's, to a library the
    content's. Its own affinities keep the rest (and all of it when what is sold is unsaid)."""
    own = affinity(field, value)
    sold = profile.readings.get("sells") or []
    if field == "sells" or not sold or not profile_table()[field][value].get("captures_what_is_sold"):
        return own
    share = float(scoring_config()["rule"]["captured_share"])
    out = {m: (1 - share) * v for m, v in own.items()}
    for reading in sold:
        for model, strength in affinity("sells", reading.value).items():
            out[model] = out.get(model, 0.0) + share * reading.weight * strength
    return out


def rule_scores(
    profile: BusinessProfile,
) -> tuple[dict[str, float], dict[str, list[tuple[FieldValue, float]]]]:
    """Per model: the affinity of what is sold, how it earns, to whom and with what resources, weighted
    by field (resources/fit/scoring.yaml) over the fields the description states."""
    weights = scoring_config()["rule"]["fields"]
    present = {f: w for f, w in weights.items() if profile.readings.get(f)}
    total = sum(present.values())
    scores = dict.fromkeys(MODEL_KEYS, 0.0)
    evidence: dict[str, list[tuple[FieldValue, float]]] = {m: [] for m in MODEL_KEYS}
    if not total:
        return scores, evidence
    for f, w in present.items():
        for value in profile.readings[f]:
            for model, strength in rule_affinity(profile, f, value.value).items():
                part = w / total * value.weight * strength
                scores[model] += part
                if part > 0:
                    evidence[model].append((value, part))
    for model in MODEL_KEYS:
        evidence[model].sort(key=lambda e: -e[1])
    return scores, evidence


def disclaimed_models(profile: BusinessProfile) -> dict[str, list[FieldValue]]:
    """Models whose own value of what is sold or how it earns the description rules out ("我们自己不做
    内容") and which no other reading of that field supports: the user has said where value is not."""
    table = load_yaml("fit/negation.yaml")
    own = table["own_affinity"]
    out: dict[str, list[FieldValue]] = {}
    for denied in profile.ruled_out:
        if denied.field not in ("sells", "earns"):
            continue
        for model, strength in affinity(denied.field, denied.value).items():
            if strength < own:
                continue
            supported = any(
                affinity(denied.field, v.value).get(model, 0.0) >= own
                for v in profile.readings.get(denied.field, [])
            )
            if not supported:
                out.setdefault(model, []).append(denied)
    return out


def _spread(values: dict[str, float]) -> dict[str, float]:
    """Min-max over the five models (the top model 1, the last 0); all equal gives all 0.5."""
    lo, hi = min(values.values()), max(values.values())
    if hi - lo < 1e-6:
        return dict.fromkeys(values, 0.5)
    return {m: (v - lo) / (hi - lo) for m, v in values.items()}


def combine(
    profile: BusinessProfile,
    criteria: dict[str, tuple[float, list[CriterionMatch]]],
    analogies: list[Analogy],
) -> list[Scored]:
    config = scoring_config()
    weights = dict(config["weights"])
    rule, rule_evidence = rule_scores(profile)
    top_rule = max(rule.values())
    if top_rule <= 0:  # the description states neither what is sold nor how it earns
        weights["rule"] = 0.0
    rule = {m: v / top_rule for m, v in rule.items()} if top_rule > 0 else rule
    crit = _spread({m: criteria[m][0] for m in MODEL_KEYS})
    vote = votes(analogies, config["analogy"]["votes"])
    disclaimed = disclaimed_models(profile)
    share = load_yaml("fit/negation.yaml")["disclaimed_share"]
    for m in disclaimed:  # the cases and criteria may still sound like it; the user said otherwise
        crit[m] *= share
        vote[m] *= share
    norm = sum(weights.values()) or 1.0
    out = []
    for m in MODEL_KEYS:
        total = (
            weights["rule"] * rule[m] + weights["criteria"] * crit[m] + weights["analogy"] * vote[m]
        ) / norm
        backing = [a for a in analogies if m in a.case.models]
        out.append(
            Scored(
                m,
                total,
                rule[m],
                crit[m],
                vote[m],
                rule_evidence[m],
                criteria[m][1],
                backing,
                disclaimed.get(m, []),
            )
        )
    out.sort(key=lambda s: (-s.total, MODEL_KEYS.index(s.model)))
    return out


def effective_weights(profile: BusinessProfile) -> dict[str, float]:
    weights = dict(scoring_config()["weights"])
    if not any(profile.readings.get(f) for f in scoring_config()["rule"]["fields"]):
        weights["rule"] = 0.0
    norm = sum(weights.values()) or 1.0
    return {k: v / norm for k, v in weights.items()}
