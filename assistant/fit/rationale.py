"""The readable side of the scores: each model's components with their evidence, the supporting models
with reasons and how they work with the primary, and the summary's lines (each a judgement of the
analysis, the user's words marked, or a cited passage)."""

from __future__ import annotations

from typing import Any

import numpy as np

from assistant.fit import memo as m
from assistant.fit.analogies import Analogy
from assistant.fit.knowledge import FitKnowledge
from assistant.fit.negation import whole
from assistant.fit.profile import Embed, affinity
from assistant.fit.schema import BusinessProfile, ModelScore, ScoreComponent, SupportingModel
from assistant.fit.scoring import Scored, effective_weights, scoring_config
from assistant.resources import load_yaml


def _join(items: list[str], lang: str) -> str:
    return ("、" if lang == "zh" else ", ").join(items)


def describe_scores(
    scored: list[Scored], profile: BusinessProfile, refs: m.Refs, shown: list[Analogy]
) -> list[ModelScore]:
    lang = profile.lang
    weights = effective_weights(profile)
    texts = m.memo_text()["rationale"][lang]
    out = []
    for s in scored:
        items = [
            texts["rule_item"].format(label=v.label, evidence=m.user_fact(v.evidence, lang))
            for v, _ in s.rule_evidence[:2]
        ]
        rule = (
            texts["rule"].format(value=f"{s.rule:.2f}", items=_join(items, lang))
            if items
            else texts["rule_none"].format(value=f"{s.rule:.2f}")
        )
        best = s.criteria_evidence[0] if s.criteria_evidence else None
        crit_n = [refs.cite(best.criterion.chunk)] if best else []
        label = (
            (best.criterion.text if best.criterion.kind == "selection" else best.criterion.chunk.heading)
            if best
            else ""
        )
        criteria = texts["criteria"].format(
            value=f"{s.criteria:.2f}", criterion=label.strip(), marks="".join(f"[{n}]" for n in crit_n)
        )
        backing = [a for a in s.analogy_evidence if a in shown] or s.analogy_evidence[:2]
        case_n = [refs.cite(a.passage) for a in backing[:2]]
        names = [f"{a.case.name()}[{n}]" for a, n in zip(backing[:2], case_n, strict=True)]
        analogy = (
            texts["analogy"].format(value=f"{s.analogy:.2f}", cases=_join(names, lang))
            if names
            else texts["analogy_none"].format(value=f"{s.analogy:.2f}")
        )
        end = "。" if lang == "zh" else "."
        parts = [rule, criteria, analogy]
        if s.disclaimed:
            share = load_yaml("fit/negation.yaml")["disclaimed_share"]
            parts.append(
                texts["denied"].format(
                    labels=_join(list(dict.fromkeys(v.label for v in s.disclaimed)), lang),
                    evidence=m.user_fact(whole(s.disclaimed[0].evidence, profile.whole_clauses), lang),
                    share=f"{share:.0%}",
                )
            )
        components = [
            ScoreComponent(
                name="rule", value=round(s.rule, 3), weight=round(weights["rule"], 3), evidence=items
            ),
            ScoreComponent(
                name="criteria",
                value=round(s.criteria, 3),
                weight=round(weights["criteria"], 3),
                evidence=[label] if label else [],
                citations=crit_n,
            ),
            ScoreComponent(
                name="analogy",
                value=round(s.analogy, 3),
                weight=round(weights["analogy"], 3),
                evidence=[a.case.doc_id for a in backing[:2]],
                citations=case_n,
            ),
        ]
        cited = [refs.citations[n - 1] for n in dict.fromkeys(crit_n + case_n)]
        out.append(
            ModelScore(
                model=s.model,
                score=max(0, min(100, round(100 * s.total))),
                rationale=("；" if lang == "zh" else "; ").join(parts) + end,
                citations=cited,
                components=components,
                signal_score=round(s.rule, 3),
                evidence_score=round((s.criteria + s.analogy) / 2, 3),
            )
        )
    return out


def supporting_models(
    scored: list[Scored],
    profile: BusinessProfile,
    analogies: list[Analogy],
    knowledge: FitKnowledge,
    refs: m.Refs,
) -> list[SupportingModel]:
    """Supporting models: those the description shows (its channels, resources, users) or the closest
    cases use beside the primary, scoring enough; each with its reasons and how it works with the primary."""
    config = scoring_config()["supporting"]
    lang = profile.lang
    primary = scored[0]
    picked: list[SupportingModel] = []
    for rank, s in enumerate(scored[1:], start=2):
        shown = [
            v
            for f in ("growth", "resources", "customers", "sells", "earns")
            for v in profile.readings.get(f, [])
            if affinity(f, v.value).get(s.model, 0.0) >= 0.5
            and (f in ("growth", "resources") or v.weight >= config["min_value_weight"])
        ]
        cases = [a for a in analogies[:3] if s.model in a.case.models[1:]]
        share = s.total / (primary.total or 1.0)
        if not (shown and share >= config["min_score"] / 2) and not (share >= config["min_score"] and cases):
            continue
        reasons = []
        if shown:
            facts = [m.labelled(v.label, v.evidence, lang) for v in shown[:2]]
            reasons.append(m.say("supporting_reason", lang, items=_join(facts, lang)))
        if cases:
            reasons.append(m.say("supporting_cases", lang, names=_join([a.case.name() for a in cases], lang)))
        reasons.append(m.say("supporting_score", lang, rank=rank, score=round(100 * s.total)))
        together = m.combining_sentence(knowledge, primary.model, s.model, lang, refs)
        reason = ("；" if lang == "zh" else "; ").join(reasons) + ("。" if lang == "zh" else ".")
        picked.append(SupportingModel(model=s.model, reason=reason, together=together))
        if len(picked) == config["max"]:
            break
    return picked


def quote_closest(knowledge: FitKnowledge, embed: Embed, key: str, lang: str, refs: m.Refs) -> str:
    """The knowledge base's own sentence for one of the memo's points (memo.yaml: quote_queries)."""
    spec = m.memo_text()["quote_queries"][key]
    chunks = [c for c in knowledge.framework(spec["topic"], lang) if c.under(spec["headings"])]
    query = np.asarray(embed([spec[lang]]), dtype=np.float32)[0]
    found = m.closest_sentences(embed, query, chunks, 1)  # embeddings are cached: the same each time
    return refs.quote(found[0][0], found[0][1]) if found else ""


def recommendation_lines(
    analysis: Any, primary: Scored, shown: list[Analogy], refs: m.Refs, knowledge: FitKnowledge, embed: Embed
) -> list[str]:
    profile: BusinessProfile = analysis.profile
    lang = profile.lang
    names = m.memo_text()["model_names"][lang]
    supporting = ""
    if analysis.supporting:
        plural = "s" if len(analysis.supporting) > 1 else ""
        joined = (" and " if lang == "en" else "、").join(names[s] for s in analysis.supporting)
        supporting = m.say("supporting_clause", lang, models=joined, plural=plural)
    confidence = m.memo_text()["confidence_names"][lang][analysis.confidence]
    lines = [m.say("recommendation", lang, primary=names[analysis.primary], supporting=supporting,
                   confidence=confidence)]  # fmt: skip
    unknown = m.say("unknown", lang)
    sells, earns = profile.top("sells"), profile.top("earns")
    guide = next((c for c in primary.criteria_evidence if c.criterion.kind == "selection"), None)
    lines.append(
        (
            refs.quote(guide.criterion.text, guide.criterion.chunk) + (" " if lang == "en" else "")
            if guide
            else ""
        )
        + m.say(
            "rule_line",
            lang,
            sells=m.labelled(sells.label, sells.evidence, lang) if sells else unknown,
            earns=m.labelled(earns.label, earns.evidence, lang) if earns else unknown,
        )
    )
    if shown:
        lines.append(m.say("analogy_line", lang, names=_join([a.case.name() for a in shown], lang)))
        for a in shown[:2]:
            lines.append(m.analogy_because(a, lang))
    if any(v for v in profile.readings.get("growth", [])):
        lines.append(quote_closest(knowledge, embed, "channels", lang, refs))
    if analysis.supporting:
        lines.append(quote_closest(knowledge, embed, "mix", lang, refs))
    return [line for line in lines if line]
