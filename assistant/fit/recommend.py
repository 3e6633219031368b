"""profile -> criteria + analogous cases -> scores -> recommendation (primary, supporting, confidence,
questions) -> the memo's grounded sections. Deterministic with `none`; an LLM only reads the profile
(spans of the description) and adds checked prose (fit/llm.py)."""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from typing import Any

import numpy as np

from assistant.core.vocabulary import MODEL_KEYS
from assistant.fit import memo as m
from assistant.fit.analogies import Analogy, CaseRanking, nearest_cases
from assistant.fit.case_profiles import case_profiles
from assistant.fit.criteria import Criteria
from assistant.fit.knowledge import FitKnowledge
from assistant.fit.negation import whole
from assistant.fit.profile import Prototypes, clauses, read_profile
from assistant.fit.rationale import describe_scores, recommendation_lines, supporting_models
from assistant.fit.schema import BusinessProfile, Confidence, FitAnalysis, SelectionFactors, SimilarCase
from assistant.fit.scoring import Scored, combine, scoring_config


class CachedEmbed:
    """e5's query side with a memory of what it has embedded: the framework's sentences, the cases'
    passages and a description's clauses recur across analyses (one batch for the new ones)."""

    def __init__(self, embed: Any, limit: int = 50_000) -> None:
        self._embed = embed
        self._limit = limit
        self._vectors: dict[str, np.ndarray] = {}
        self._lock = threading.Lock()

    def __call__(self, texts: Sequence[str]) -> list[np.ndarray]:
        with self._lock:
            missing = list(dict.fromkeys(t for t in texts if t not in self._vectors))
            if missing:
                if len(self._vectors) + len(missing) > self._limit:
                    self._vectors.clear()
                for text, vector in zip(missing, self._embed(missing), strict=True):
                    self._vectors[text] = np.asarray(vector, dtype=np.float32)
            return [self._vectors[t] for t in texts]


class FitResources:
    """What every analysis reads: the store's framework and case chunks, the embedded prototypes and
    criteria. Built once per index (about ten seconds) and shared."""

    _lock = threading.Lock()
    _built: dict[int, FitResources] = {}

    def __init__(self, index: Any) -> None:
        embedder = index.embedder
        self.embed = CachedEmbed(embedder.embed_query)
        self.knowledge = FitKnowledge(index)
        self.prototypes = Prototypes(self.embed)
        self.criteria = Criteria(self.knowledge, self.embed)
        cache_path = index.settings.models_dir / "fit-case-profiles.json"
        self.case_profiles = case_profiles(self.knowledge, self.embed, self.prototypes, cache_path)

    @classmethod
    def of(cls, index: Any) -> FitResources:
        with cls._lock:
            key = id(index)
            if key not in cls._built:
                cls._built[key] = cls(index)
            return cls._built[key]


class FitAnalyzer:
    """Rank the five operating models for a business and compose the memo's grounded content."""

    def __init__(self, retriever: Any, backend: str = "none") -> None:
        self.retriever = retriever
        self.backend = backend
        self.resources = FitResources.of(retriever.index)

    def analyze(
        self,
        description: str,
        factors: SelectionFactors | None = None,
        spans: dict[str, str] | None = None,
    ) -> FitAnalysis:
        started = time.perf_counter()
        r = self.resources
        profile = read_profile(description, r.embed, r.prototypes, factors, spans)
        # criteria and cases read what the business does, not what the description says it does not do
        affirmative = profile.affirmative_text or profile.description
        units = [affirmative, *clauses(affirmative)]
        vectors = np.asarray(r.embed(units), dtype=np.float32)
        config = scoring_config()
        criteria = r.criteria.match(profile.lang, units, vectors, config["criteria"]["top_k"])
        cases = nearest_cases(
            r.knowledge,
            profile.lang,
            units,
            vectors,
            config["analogy"]["top_k"],
            config["analogy"]["temperature"],
            profile,
            r.case_profiles,
        )
        scored = combine(profile, criteria, cases.voters)
        analysis = self._recommend(profile, scored, cases, vectors[0])
        analysis.seconds = round(time.perf_counter() - started, 2)
        return analysis

    def _recommend(
        self, profile: BusinessProfile, scored: list[Scored], cases: CaseRanking, query: np.ndarray
    ) -> FitAnalysis:
        r = self.resources
        lang = profile.lang
        refs = m.Refs()
        primary = scored[0].model
        # the memo names cases of the same kind of business; the vote behind scores and supporting
        # models is the text-similarity ranking (fit/analogies.py says why)
        named = cases.named
        shown = named[: scoring_config()["analogy"]["shown"]]
        for a in shown:
            clause = np.asarray(r.embed([a.clause]), dtype=np.float32)[0]
            found = m.closest_sentences(r.embed, clause, [a.passage], 1)
            a.quote = refs.quote(found[0][0], a.passage) if found else ""
            a.clause = whole(a.clause, profile.whole_clauses)  # matched as read, quoted as written
        similar = [_similar_case(a, refs, lang) for a in shown]
        ranking = describe_scores(scored, profile, refs, shown)
        supporting = supporting_models(scored, profile, cases.voters, r.knowledge, refs)
        analog = next((a for a in named if a.case.primary == primary), None)
        facts = _loop_facts(profile, lang)
        value_loop = m.value_loop(r.knowledge, primary, lang, refs, analog, facts)
        support = m.support_systems(r.knowledge, primary, lang, refs, analog)
        same = [a for a in named if primary in a.case.models] or named
        risks = m.risks(r.knowledge, r.embed, query, primary, lang, refs, same)
        confidence = _confidence(profile, ranking)
        questions = _questions(profile, ranking, confidence)
        analysis = FitAnalysis(
            profile=profile,
            ranking=ranking,
            primary=primary,
            supporting=[s.model for s in supporting],
            supporting_detail=supporting,
            value_loop=value_loop,
            support_systems=support,
            similar_cases=similar,
            risks=risks,
            assumptions=_assumptions(profile),
            questions=questions,
            evidence_gaps=[m.say("gap", lang, field=g) for g in profile.gaps],
            confidence=confidence,
            references=refs.citations,
            backend=self.backend,
        )
        analysis.recommendation = recommendation_lines(analysis, scored[0], shown, refs, r.knowledge, r.embed)
        analysis.references = refs.citations
        analysis.quoted = list(refs.quoted)
        return analysis


def _similar_case(a: Analogy, refs: m.Refs, lang: str) -> SimilarCase:
    n = refs.cite(a.passage)
    why = m.analogy_because(a, lang)
    return SimilarCase(
        doc_id=a.case.doc_id,
        company=a.case.company or None,
        title=a.case.title,
        primary_model=a.case.primary,
        models=a.case.models,
        similarity=round(a.similarity, 4),
        why=why,
        citation=refs.citations[n - 1],
        profile_agreement=None if a.agreement is None else round(a.agreement, 3),
        shared=m.shared_items(a, lang),
    )


def _loop_facts(profile: BusinessProfile, lang: str) -> dict[str, str]:
    """What the description says about each link of the loop (the user's words)."""
    keys = list(m.sections_config()["loop_links"][lang])
    by_field = {"earns": keys[0], "customers": keys[1], "sells": keys[2], "growth": keys[3]}
    return {link: profile.top(f).evidence for f, link in by_field.items() if profile.top(f)}  # type: ignore[union-attr]


def _confidence(profile: BusinessProfile, ranking: list[Any]) -> Confidence:
    c = scoring_config()["confidence"]
    margin = ranking[0].score - ranking[1].score
    stated = sum(1 for f in ("sells", "earns", "customers", "resources", "growth") if profile.readings.get(f))
    core = sum(1 for f in ("sells", "earns") if profile.readings.get(f))
    short = len(profile.description) < c["one_line"][profile.lang]
    if short or margin < c["medium_margin"] or (core < 2 and stated < 3):
        return "low"
    if margin >= c["high_margin"] and stated >= c["min_fields_high"] and core == 2:
        return "high"
    return "medium"


def _questions(profile: BusinessProfile, ranking: list[Any], confidence: Confidence) -> list[str]:
    """The questions that would settle the ranking: the unstated fields first, then the top two."""
    if confidence == "high":
        return []
    lang = profile.lang
    asks = m.memo_text()["questions"][lang]
    out = [asks[f] for f in ("sells", "earns", "customers", "growth") if not profile.readings.get(f)]
    carriers = m.memo_text()["carriers"][lang]
    a, b = ranking[0].model, ranking[1].model
    out.append(asks["between"].format(a=carriers[a], b=carriers[b]))
    return out


def _assumptions(profile: BusinessProfile) -> list[str]:
    lang = profile.lang
    out = []
    for part in profile.negated:  # what the description denies, and what the reading left out for it
        labels = [v.label for v in profile.ruled_out if v.evidence == part]
        if labels:
            joined = ("、" if lang == "zh" else ", ").join(dict.fromkeys(labels))
            fact = m.user_fact(whole(part, profile.whole_clauses), lang)
            out.append(m.say("ruled_out", lang, fact=fact, labels=joined))
    for f in ("earns", "sells"):
        top = profile.top(f)
        if top:
            field_label = scoring_config()["reading"]["field_labels"][lang][f]
            out.append(m.say("assumption", lang, fact=m.user_fact(top.evidence, lang), field=field_label))
    return out


__all__ = ["MODEL_KEYS", "FitAnalyzer", "FitResources"]
