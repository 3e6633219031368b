"""Model fit: read a business into a profile, rank the five operating models by evidence (the essay's
rule, the framework's criteria, the analogous cases), propose supporting models and compose a memo whose
every knowledge sentence is a cited passage.

    profile -> criteria + analogies -> scoring -> rationale/recommend -> memo (rendered by fit/export.py)
"""

from __future__ import annotations

from assistant.fit.llm import enrich_with_llm, llm_profile_spans, llm_rationale, llm_summary, parse_spans
from assistant.fit.memo import memo_text
from assistant.fit.recommend import FitAnalyzer, FitResources
from assistant.fit.schema import (
    BusinessProfile,
    FieldValue,
    FitAnalysis,
    FitInputError,
    ModelScore,
    QuotedSentence,
    ScoreComponent,
    SelectionFactors,
    SimilarCase,
    SupportingModel,
)

MODEL_NAMES_EN: dict[str, str] = memo_text()["model_names"]["en"]

__all__ = [
    "MODEL_NAMES_EN",
    "BusinessProfile",
    "FieldValue",
    "FitAnalysis",
    "FitAnalyzer",
    "FitInputError",
    "FitResources",
    "ModelScore",
    "QuotedSentence",
    "ScoreComponent",
    "SelectionFactors",
    "SimilarCase",
    "SupportingModel",
    "enrich_with_llm",
    "llm_profile_spans",
    "llm_rationale",
    "llm_summary",
    "parse_spans",
]
