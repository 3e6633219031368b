"""Each case's own profile (what it sells, how it earns, to whom), read the way a description is read, so
that analogy compares like with like: a case whose business is of another kind than the description's
does not vote as strongly, and the memo does not call it the closest.

A case's profile is, per field, a share over the field's values (resources/fit/profile.yaml), the mean of
two readings: its title and the clauses of its summary against the prototype phrasings (e5 query side,
as a description's clauses are read), and its stored summary and value-loop passages against the same
phrasings. Reading the clauses takes a minute or two on a small machine, so the readings are kept on disk
next to the model's vector cache, keyed by the text read and the prototypes (computed once per change)."""

from __future__ import annotations

import hashlib
import json
import os
import threading
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np

from assistant.fit.knowledge import CaseDoc, FitKnowledge, sections_config
from assistant.fit.profile import Embed, Prototypes, clauses, profile_table
from assistant.fit.schema import BusinessProfile
from assistant.resources import load_yaml

_FILE_LOCK = threading.Lock()


@cache
def profile_config() -> dict[str, Any]:
    return load_yaml("fit/scoring.yaml")["analogy"]["profile"]


@dataclass
class CaseProfile:
    doc_id: str
    shares: dict[str, dict[str, float]] = field(default_factory=dict)  # field -> value -> share

    def top(self, name: str) -> str | None:
        values = self.shares.get(name) or {}
        return max(values, key=values.__getitem__) if values else None


@dataclass
class Agreement:
    """How well a case's profile agrees with the description's: per stated field the share the case
    gives the description's values, weighted by the field's weight; `shared` are the (field, value)
    pairs both hold as a main reading."""

    value: float
    shared: list[tuple[str, str]] = field(default_factory=list)


def _values(name: str) -> list[str]:
    table = profile_table()[name]
    return [v for v in table if not table[v].get("absence")]


def _shares(sims: np.ndarray, protos: Prototypes, temperature: float) -> dict[str, dict[str, float]]:
    """Per field: a softmax over its values of each value's closest prototype to any of the rows."""
    out: dict[str, dict[str, float]] = {}
    for name in profile_config()["fields"]:
        values = _values(name)
        best = np.array([float(sims[:, protos.columns[(name, v)]].max()) for v in values])
        weights = np.exp((best - best.max()) / temperature)
        weights /= weights.sum()
        out[name] = {v: float(w) for v, w in zip(values, weights, strict=True)}
    return out


def _units(case: CaseDoc) -> list[str]:
    summary = case.section(sections_config()["case_profile"])
    return [case.title, *(u for c in summary for u in clauses(c.text))]


def _key(case: CaseDoc, units: list[str]) -> str:
    config = profile_config()
    payload = json.dumps(
        [units, profile_table(), config["fields"], config["temperature"]], ensure_ascii=False, sort_keys=True
    )
    return case.doc_id + ":" + hashlib.sha256(payload.encode("utf-8")).hexdigest()[:16]


def _load(path: Path | None) -> dict[str, Any]:
    if path is None or not path.exists():
        return {}
    try:
        return dict(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError):
        return {}


def _save(path: Path | None, stored: dict[str, Any]) -> None:
    if path is None:
        return
    with _FILE_LOCK:
        path.parent.mkdir(parents=True, exist_ok=True)
        merged = {**_load(path), **stored}
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps(merged, ensure_ascii=False), encoding="utf-8")
        tmp.replace(path)


def case_profiles(
    knowledge: FitKnowledge, embed: Embed, protos: Prototypes, cache_path: Path | None
) -> dict[str, CaseProfile]:
    """Every case's profile, read from the cache file where the text read is unchanged."""
    config = profile_config()
    stored = _load(cache_path)
    fresh: dict[str, Any] = {}
    out: dict[str, CaseProfile] = {}
    for lang in ("zh", "en"):
        for case in knowledge.cases.get(lang, []):
            units = _units(case)
            key = _key(case, units)
            if key not in stored:
                vectors = np.asarray(embed(units), dtype=np.float32)
                fresh[key] = _shares(vectors @ protos.vectors.T, protos, config["temperature"])
            clause_shares = stored.get(key) or fresh[key]
            passages = case.section(sections_config()["case_compare"]) or case.chunks
            passage_shares = _shares(
                np.stack([c.vector for c in passages]) @ protos.vectors.T, protos, config["temperature"]
            )
            out[case.doc_id] = CaseProfile(
                case.doc_id,
                {
                    name: {v: (clause_shares[name][v] + passage_shares[name][v]) / 2 for v in _values(name)}
                    for name in config["fields"]
                },
            )
    if fresh:
        _save(cache_path, fresh)
    return out


def agreement(profile: BusinessProfile, case: CaseProfile | None) -> Agreement | None:
    """None when the description states none of the compared fields (nothing to agree on) or the case
    has no profile."""
    if case is None:
        return None
    config = profile_config()
    total = 0.0
    score = 0.0
    shared: list[tuple[str, str]] = []
    for name, weight in config["fields"].items():
        readings = profile.readings.get(name) or []
        if not readings:
            continue
        shares = case.shares.get(name, {})
        total += weight
        score += weight * sum(v.weight * shares.get(v.value, 0.0) for v in readings)
        shared += [
            (name, v.value)
            for v in readings
            if v.weight >= config["shared_min"] and shares.get(v.value, 0.0) >= config["shared_min"]
        ]
    if not total:
        return None
    return Agreement(score / total, shared)
