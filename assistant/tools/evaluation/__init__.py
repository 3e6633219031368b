"""Evaluation: the golden set, retrieval metrics against baselines, answer metrics, and an HTML report.

golden (loading the set) -> runner (the eval store, one pass over the items) -> metrics (retrieval, fit)
and answers (answer metrics) -> results (the run) -> report (HTML and results.json); baselines beside."""

from assistant.tools.evaluation.answers import (
    INJECTION_MARKERS,
    answer_summary,
    key_point_coverage,
    score_answer,
    split_answer_sentences,
    supported,
)
from assistant.tools.evaluation.baselines import LangChainDefaultBaseline
from assistant.tools.evaluation.golden import (
    GOLDEN_DIR,
    REPO_EVALS,
    EvalItem,
    FitCase,
    ItemType,
    Split,
    load_fit_cases,
    load_items,
)
from assistant.tools.evaluation.metrics import (
    K_DOCS,
    TWIN_SUFFIX,
    fit_accuracy,
    mean_scores,
    pair_of,
    ranked_docs,
    retrieval_scores,
)
from assistant.tools.evaluation.report import ReportView, read_report, write_report
from assistant.tools.evaluation.results import EvalRun, ItemLog, ItemResult
from assistant.tools.evaluation.runner import (
    catalog_kinds,
    eval_settings,
    eval_sources,
    prepare_eval_service,
    run_eval,
    run_retrieval_eval,
)

__all__ = [
    "GOLDEN_DIR",
    "INJECTION_MARKERS",
    "K_DOCS",
    "REPO_EVALS",
    "TWIN_SUFFIX",
    "EvalItem",
    "EvalRun",
    "FitCase",
    "ItemLog",
    "ItemResult",
    "ItemType",
    "LangChainDefaultBaseline",
    "ReportView",
    "Split",
    "answer_summary",
    "catalog_kinds",
    "eval_settings",
    "eval_sources",
    "fit_accuracy",
    "key_point_coverage",
    "load_fit_cases",
    "load_items",
    "mean_scores",
    "pair_of",
    "prepare_eval_service",
    "ranked_docs",
    "read_report",
    "retrieval_scores",
    "run_eval",
    "run_retrieval_eval",
    "score_answer",
    "split_answer_sentences",
    "supported",
    "write_report",
]
