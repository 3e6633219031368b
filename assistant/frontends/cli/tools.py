"""`yunying eval` (retrieval against baselines, answers with --llm), `yunying bench` (speed and memory) and
`yunying doctor` (the store's health): the front end of assistant/tools/."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer

from assistant.core.settings import Settings
from assistant.frontends.cli.embedding_progress import embedding_progress
from assistant.frontends.cli.options import LLMOpt
from assistant.frontends.cli.service_access import CommandError, print_json, service

RETRIEVAL_COLUMNS = ("hit@1", "hit@5", "mrr", "ndcg@5", "recall@5")


def evaluate(
    llm: Annotated[
        LLMOpt | None, typer.Option(help="Also answer every item with this backend and score the answers.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
    report: Annotated[
        Path | None, typer.Option(help="Write an HTML report with plots to this folder.")
    ] = None,
    baselines: Annotated[bool, typer.Option(help="Measure the baselines in the same run.")] = True,
    limit: Annotated[
        int | None, typer.Option(min=1, help="Only the first N golden items (quick checks).")
    ] = None,
    split: Annotated[
        str,
        typer.Option(
            help="Golden split: dev (tuned on), test (written blind, never tuned on), all (both together)."
        ),
    ] = "dev",
    log: Annotated[
        Path | None,
        typer.Option(
            help="Append each item's result to this JSON-lines file as it is measured; items already in "
            "it are not run again (resume a long --llm local run with the same split and backend)."
        ),
    ] = None,
) -> None:
    """Measure retrieval (ours vs BM25-only, dense-only, plain LangChain) and, with --llm, answers."""
    from assistant.services.yunying import Yunying
    from assistant.tools import evaluation as ev

    if split not in ("dev", "test", "all"):
        raise CommandError(f"--split must be dev, test or all, not {split!r}")
    settings = Settings()
    items = ev.load_items(split=split)  # type: ignore[arg-type]
    items = items[:limit] if limit else items
    try:
        with embedding_progress(not as_json and sys.stderr.isatty()) as progress:
            eval_service = ev.prepare_eval_service(settings, progress=progress, service_class=Yunying)
    except ValueError as exc:
        raise CommandError(str(exc)) from exc
    compare = _baseline_searches(eval_service, settings) if baselines else {}
    answer, grounded = _answering(eval_service, llm)
    fit_cases = ev.load_fit_cases(split=split)  # type: ignore[arg-type]

    def fit_accuracy() -> dict[str, Any]:
        return ev.fit_accuracy(lambda text: eval_service.fit(text, "none"), fit_cases)

    item_log = ev.ItemLog(log) if log else None
    completed = item_log.read() if item_log else {}
    if completed:
        sys.stderr.write(f"{log}: {len(completed)} items already measured, not run again\n")
    run = ev.run_eval(
        eval_service,
        items,
        answer=answer,
        baselines=compare,
        fit=fit_accuracy,
        backend=llm.value if llm else "retrieval-only",
        grounded=grounded,
        completed=completed,
        on_result=item_log.append if item_log else None,
    )
    if report is not None:
        path = ev.write_report(run, report)
        if not as_json:
            sys.stderr.write(f"report: {path}\n")
    if as_json:
        print_json(json.loads(run.model_dump_json()))
        return
    _print_run(run, split)


def _baseline_searches(eval_service: Any, settings: Settings) -> dict[str, Callable[[str], list[str]]]:
    """The systems ours is compared with, each a query -> ranked document ids."""
    from assistant.store.embedder import E5_MODEL_NAME
    from assistant.tools import evaluation as ev

    plain = ev.LangChainDefaultBaseline(
        eval_service.settings, settings.models_dir / E5_MODEL_NAME, ev.eval_sources(settings)
    )
    return {
        "bm25": lambda q: ev.ranked_docs(eval_service.search(q, k=10, mode="bm25")),
        "dense": lambda q: ev.ranked_docs(eval_service.search(q, k=10, mode="dense")),
        "langchain_default": lambda q: ev.ranked_docs(plain.search(q, k=10)),
    }


def _answering(
    eval_service: Any, llm: LLMOpt | None
) -> tuple[Callable[[Any], Any] | None, Callable[[str, list[Any]], bool] | None]:
    """With --llm: the item -> answer function, and the answer package's semantic check of a sentence
    against its cited sources; (None, None) without."""
    if llm is None:
        return None, None
    chain = eval_service.answer_chain(llm.value)
    checker = eval_service.answer_chain("none").checker

    def answer(item: Any) -> Any:
        return chain.invoke(item.question, [t.model_dump() for t in item.history])

    def grounded(sentence: str, cited: list[Any]) -> bool:
        return bool(checker.verdicts([sentence], cited, "")[0].supported_by)

    return answer, grounded


def _print_run(run: Any, split: str) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"Retrieval on {run.n_questions} golden items, split {split} ({run.seconds:.0f} s)")
    for column in ("system", "hit@1", "hit@5", "MRR", "nDCG@5", "recall@5"):
        table.add_column(column)
    for name, values in {"ours": run.retrieval, **run.baselines}.items():
        table.add_row(name, *(f"{values.get(k, 0):.3f}" for k in RETRIEVAL_COLUMNS))
    console = Console()
    console.print(table)
    if run.answers:
        console.print_json(data={"answers": run.answers, "refusal": run.refusal})


def bench(
    as_json: Annotated[bool, typer.Option("--json", help="Print the figures as JSON.")] = False,
    llm: Annotated[LLMOpt | None, typer.Option(help="Answer backend to time (default YUNYING_LLM).")] = None,
    max_scale: Annotated[int, typer.Option(min=1000, help="Largest store of the scale curve.")] = 100_000,
    queries: Annotated[int, typer.Option(min=5, max=200, help="Queries per latency figure.")] = 40,
) -> None:
    """Print speed and memory figures: retrieval vs a plain dense retriever, ingest, scale, LLM."""
    from assistant.tools import bench as b
    from assistant.tools.evaluation import load_items

    settings = Settings()
    yunying = service(settings)
    if yunying.index.count() == 0:
        yunying.ingest()
    items = [i for i in load_items() if i.type == "in_scope"]
    questions = [i.question for i in items][:queries]
    figures: dict[str, Any] = {}
    ours, baseline = b.bench_retrieval(yunying, questions)
    figures["retrieval"] = ours
    figures["baseline_dense"] = baseline
    figures["retrieval"]["vs_baseline"] = round(ours["p50_ms"] / baseline["p50_ms"], 2)
    figures["ingest"] = b.bench_ingest(settings, [settings.knowledge_dir])
    sizes = tuple(s for s in (1_000, 10_000, 100_000) if s <= max_scale)
    figures["scale"] = b.bench_scale(yunying, questions[:20], sizes)
    backend = llm.value if llm else settings.llm
    if backend != "none":
        figures["answer"] = b.bench_answer(yunying, [i.question for i in items[:6]], backend)
    figures["peak_memory_mb"] = b.peak_memory_mb()
    if as_json:
        print_json(figures)
        return
    from rich.console import Console

    Console().print_json(data=figures)


def doctor(
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
    repair: Annotated[
        bool,
        typer.Option(
            "--repair", help="Delete orphaned and incomplete chunks, then ingest KNOWLEDGE_DIR again."
        ),
    ] = False,
) -> None:
    """Check the store: documents vs chunks vs BM25, the embedding model, the knowledge folder.
    Exit code 0 when healthy, 1 when not."""
    from assistant.tools import doctor as d

    yunying = service()
    report = d.check(yunying.index)
    if repair and not report.healthy:
        report = d.repair(yunying.index, report)
    if as_json:
        print_json(report.model_dump())
    else:
        sys.stdout.write(d.render(report) + "\n")
    if not report.healthy:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.command("eval")(evaluate)
    app.command()(bench)
    app.command()(doctor)
