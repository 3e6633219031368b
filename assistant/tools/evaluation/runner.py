"""Running the eval: the same public functions as the CLI (`Yunying.search`, the answer chain), on a store
of its own (`DATA_DIR/eval`) that holds the knowledge base plus the eval fixtures (e.g. a document carrying
a prompt injection), so the user's store never sees test documents."""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from assistant.core.settings import Settings
from assistant.store.records import IngestProgress
from assistant.tools.evaluation.answers import answer_summary, score_answer
from assistant.tools.evaluation.golden import REPO_EVALS, EvalItem, load_items
from assistant.tools.evaluation.metrics import K_DOCS, mean_scores, ranked_docs, retrieval_scores
from assistant.tools.evaluation.report import write_report
from assistant.tools.evaluation.results import EvalRun, ItemResult


def eval_settings(settings: Settings) -> Settings:
    """The eval store: beside the user's, so eval fixtures never show up in the user's searches."""
    return settings.model_copy(
        update={"data_dir": settings.data_dir / "eval", "models_dir_override": settings.models_dir}
    )


def eval_sources(settings: Settings) -> list[Path]:
    return [settings.knowledge_dir, REPO_EVALS / "fixtures"]


def prepare_eval_service(
    settings: Settings,
    main: Any | None = None,
    progress: IngestProgress | None = None,
    *,
    service_class: Callable[..., Any] | None = None,
) -> Any:
    """The service over the eval store, brought up to date with the knowledge folder and the eval fixtures.
    An empty eval store is first seeded with the main store's vectors (no re-embedding); users' uploads
    are never part of it. `main`, the app's service, lends its loaded embedding model. The service class
    is the caller's (`main`'s own class by default), so evaluation never imports the services."""
    if main is None and service_class is None:
        raise TypeError("prepare_eval_service needs the app's service or a service_class")
    make_service = service_class or type(main)
    embedder = main.index.embedder if main is not None else None
    service = make_service(eval_settings(settings), embedder=embedder)
    if not settings.chroma_url:
        source = main.index if main is not None else make_service(settings, embedder=embedder).index
        if service.index.seed_from(source):
            for doc_id, info in catalog_kinds(service.index).items():
                if info == "user":
                    service.index.remove_document(doc_id)
    report = service.ingest(eval_sources(settings), progress=progress)
    if report.failed:
        raise ValueError(f"eval store: {report.failed[0].error}")
    return service


def catalog_kinds(index: Any) -> dict[str, str]:
    return {str(m.get("doc_id", "")): str(m.get("kind", "")) for m in index.chunk_metadatas()}


def run_retrieval_eval(
    settings: Settings,
    main: Any | None = None,
    report_dir: Path | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> EvalRun:
    """Retrieval metrics of our hybrid system over the golden set (no baselines, no answers, no fit): what
    the app's re-run button does, in well under a minute. Writes the report when `report_dir` is given."""
    service = prepare_eval_service(settings, main)
    run = run_eval(service, load_items(), backend="retrieval-only", progress=progress)
    if report_dir is not None:
        write_report(run, report_dir)
    return run


def run_eval(
    service: Any,
    items: list[EvalItem],
    *,
    answer: Callable[[EvalItem], Any] | None = None,
    baselines: dict[str, Callable[[str], list[str]]] | None = None,
    fit: Callable[[], dict[str, Any]] | None = None,
    backend: str = "none",
    progress: Callable[[int, int], None] | None = None,
    grounded: Callable[[str, list[Any]], bool] | None = None,
    completed: Mapping[str, ItemResult] | None = None,
    on_result: Callable[[ItemResult], None] | None = None,
) -> EvalRun:
    """Measure retrieval for every item with expected documents (ours and each baseline on the same
    query), and answers/refusals when an answer function is given. Items in `completed` (by id; a resumed
    run's earlier results) are taken as they are, not run again; `on_result` sees each newly measured item
    as soon as it is done, so a long local-model run can be logged and resumed."""
    from assistant.answer.condense import condense_question

    started = time.perf_counter()
    baselines = baselines or {}
    results: list[ItemResult] = []
    completed = completed or {}
    for n, item in enumerate(items, start=1):
        if item.id in completed:
            results.append(completed[item.id])
            if progress:
                progress(n, len(items))
            continue
        t0 = time.perf_counter()
        names_in = getattr(getattr(service, "retriever", None), "company_labels", None)
        query = condense_question(item.question, [t.model_dump() for t in item.history], names_in)
        hits = service.search(query, k=10)
        docs = ranked_docs(hits)
        result = ItemResult(
            id=item.id,
            type=item.type,
            lang=item.lang,
            group=item.group,
            question=item.question,
            query=query,
            expected_docs=item.expected_docs,
            retrieved_docs=docs[:K_DOCS],
        )
        if item.expected_docs:
            result.retrieval = retrieval_scores(docs, item.expected_docs)
            for name, search in baselines.items():
                result.baselines[name] = retrieval_scores(ranked_docs(search(query)), item.expected_docs)
        if answer is not None:
            score_answer(result, item, answer(item), grounded)
        result.seconds = round(time.perf_counter() - t0, 3)
        results.append(result)
        if on_result:
            on_result(result)
        if progress:
            progress(n, len(items))

    scored = [r for r in results if r.retrieval]
    run = EvalRun(
        n_questions=len(items),
        retrieval=mean_scores([r.retrieval for r in scored]),
        baselines={name: mean_scores([r.baselines[name] for r in scored]) for name in baselines},
        by_lang=_grouped(scored, lambda r: r.lang),
        by_topic=_grouped(scored, lambda r: r.group),
        by_type=_grouped(scored, lambda r: r.type),
        backend=backend,
        items=results,
    )
    if answer is not None:
        run.answers, run.refusal = answer_summary(results, items)
    if fit is not None:
        run.fit = fit()
    run.seconds = round(time.perf_counter() - started, 2)
    return run


def _grouped(results: list[ItemResult], key: Callable[[ItemResult], str]) -> dict[str, dict[str, float]]:
    groups: dict[str, list[dict[str, float]]] = defaultdict(list)
    for r in results:
        groups[key(r)].append(r.retrieval)
    return {name: {**mean_scores(rows), "n": len(rows)} for name, rows in sorted(groups.items())}
