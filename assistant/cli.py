"""`yunying`: the command-line front end. Its JSON output is a contract scripts and the eval suite use:
fields are only ever added, never renamed or dropped. Errors: non-zero exit, one line on stderr."""

from __future__ import annotations

import contextlib
import json
import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from pydantic import ValidationError

from assistant.config import Settings
from assistant.frontends.cli import docs as docs_commands
from assistant.frontends.cli import gaps as gaps_commands
from assistant.frontends.cli import history as history_commands
from assistant.frontends.cli import progress as progress_cli

app = typer.Typer(
    name="yunying",
    help="Yunying (运营): a grounded knowledge assistant for internet operations.",
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)


class KindOpt(StrEnum):
    framework = "framework"
    case = "case"
    user = "user"


class ModelOpt(StrEnum):
    product = "product"
    content = "content"
    community = "community"
    transaction = "transaction"
    service = "service"


class UserError(Exception):
    """Bad input from the user: reported as one line, exit code 1."""


def _service(settings: Settings | None = None) -> Any:
    from assistant.service import Yunying

    return Yunying(settings or Settings())


@contextlib.contextmanager
def _embedding_progress(enabled: bool) -> Any:
    """A rich progress bar over the chunks an ingest embeds, on stderr (so `--json` output on stdout
    stays clean), or None when not wanted; the store calls it with (done, total)."""
    if not enabled:
        yield None
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    bar = Progress(
        TextColumn("embedding chunks"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        transient=True,
        console=Console(stderr=True),
    )
    task = bar.add_task("embed", total=None)

    def advance(done: int, total: int) -> None:
        if not bar.live.is_started:
            bar.start()
        bar.update(task, completed=done, total=total)

    try:
        yield advance
    finally:
        bar.stop()


def _print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, ensure_ascii=False) + "\n")
    sys.stdout.flush()


def _hit_json(hit: Any) -> dict[str, Any]:
    return hit.model_dump()


@app.command()
def ingest(
    paths: Annotated[
        list[Path] | None,
        typer.Argument(help="Files or folders (md, txt, pdf, docx); default KNOWLEDGE_DIR."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
    watch: Annotated[
        Path | None,
        typer.Option(
            "--watch", help="Keep this folder in step (added, changed, removed files) until Ctrl-C."
        ),
    ] = None,
) -> None:
    """Add, update or remove documents in the store, embedding only what changed."""
    from assistant.corpus import CorpusError

    if watch is not None:
        if paths:
            raise UserError("--watch DIR takes the folder itself; do not also pass PATHS")
        docs_commands.watch(watch, as_json)
        return
    for path in paths or []:
        if not path.exists():
            raise UserError(f"{path}: no such file or folder")
    service = _service()
    try:
        with _embedding_progress(not as_json and sys.stderr.isatty()) as progress:
            report = service.ingest(paths or None, progress=progress)
    except CorpusError as exc:
        raise UserError(str(exc)) from exc
    if as_json:
        _print_json(report.model_dump())
    else:
        from rich.console import Console
        from rich.markup import escape

        console = Console()
        console.print(
            f"[bold]added[/] {len(report.added)}  [bold]updated[/] {len(report.updated)}  "
            f"[bold]unchanged[/] {len(report.unchanged)}  [bold]removed[/] {len(report.removed)}  "
            f"[bold]failed[/] {len(report.failed)}   "
            f"({report.total_documents} documents, {report.total_chunks} chunks, {report.seconds:.1f} s)"
        )
        for failed in report.failed:
            console.print(f"[red]failed[/] {escape(failed.error)}", soft_wrap=True)
        for warning in report.warnings:
            console.print(f"note: {warning.error}", soft_wrap=True, markup=False, highlight=False)
    if report.failed:
        raise typer.Exit(1)


def _filters(
    kind: KindOpt | None, model: list[ModelOpt] | None, company: str | None, topic: str | None
) -> Any:
    from assistant.retrieval import SearchFilters

    try:
        return SearchFilters(
            kind=kind.value if kind else None,
            models=[m.value for m in model or []],
            company=company,
            topic=topic,
        )
    except ValidationError as exc:
        first = exc.errors()[0]
        raise UserError(f"invalid filter '{first['loc'][0]}': {first['msg']}") from exc


@app.command()
def search(
    query: Annotated[
        str | None, typer.Argument(help="The question or keywords (Chinese or English).")
    ] = None,
    k: Annotated[int | None, typer.Option("-k", "--top-k", min=1, max=100, help="Number of hits.")] = None,
    kind: Annotated[KindOpt | None, typer.Option(help="Only this kind of document.")] = None,
    model: Annotated[
        list[ModelOpt] | None, typer.Option(help="Only documents about this model (repeatable).")
    ] = None,
    company: Annotated[str | None, typer.Option(help="Only this company (English or Chinese name).")] = None,
    topic: Annotated[str | None, typer.Option(help="Only this framework topic (e.g. core-loop).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print hits as JSON.")] = False,
    jsonl: Annotated[
        bool, typer.Option("--jsonl", help="Read one query per stdin line; print one JSON object per line.")
    ] = False,
) -> None:
    """Hybrid (dense + BM25) search of the knowledge base."""
    filters = _filters(kind, model, company, topic)
    if jsonl:
        if query:
            raise UserError("--jsonl reads queries from stdin; do not also pass QUERY")
        service = _service()
        for line in sys.stdin:
            text = line.strip()
            if not text:
                continue
            hits = service.search(text, k=k, filters=filters)
            _print_json({"query": text, "hits": [_hit_json(h) for h in hits]})
        return
    if query is None or not query.strip():
        raise UserError('the query is empty; pass a question, e.g. yunying search "什么是私域流量？"')
    hits = _service().search(query, k=k, filters=filters)
    if as_json:
        _print_json([_hit_json(h) for h in hits])
        return
    from rich.console import Console
    from rich.table import Table

    if not hits:
        Console().print("No matching passages. Is the knowledge base ingested? Run `yunying ingest`.")
        return
    table = Table(show_lines=True)
    for column in ("#", "score", "document", "passage"):
        table.add_column(column)
    for hit in hits:
        where = hit.title + (f"\n[dim]{hit.heading}[/]" if hit.heading else "")
        snippet = hit.text if len(hit.text) <= 220 else hit.text[:220] + "…"
        table.add_row(str(hit.rank), f"{hit.score:.4f}", where, snippet)
    Console().print(table)


class LLMOpt(StrEnum):
    local = "local"
    openai = "openai"
    none = "none"


def _parse_turns(line: str) -> tuple[str, list[dict[str, str]]]:
    """A --jsonl line: plain text, a JSON string, or a JSON list of turns whose last user turn is the
    question and whose earlier turns are the history."""
    text = line.strip()
    if not text.startswith(("[", '"', "{")):
        return text, []
    try:
        data = json.loads(text)
    except json.JSONDecodeError:
        return text, []
    if isinstance(data, str):
        return data, []
    if isinstance(data, dict):
        data = [data]
    if not isinstance(data, list) or not all(isinstance(t, dict) and "content" in t for t in data):
        raise UserError("a --jsonl line must be a question or a JSON list of {role, content} turns")
    turns = [{"role": str(t.get("role", "user")), "content": str(t["content"])} for t in data]
    if turns[-1]["role"] != "user":
        raise UserError("the last turn of a --jsonl conversation must be the user's question")
    return turns[-1]["content"], turns[:-1]


@app.command()
def ask(
    question: Annotated[str | None, typer.Argument(help="The question (Chinese or English).")] = None,
    llm: Annotated[LLMOpt | None, typer.Option(help="Answer backend (default: YUNYING_LLM).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the answer as JSON.")] = False,
    jsonl: Annotated[
        bool,
        typer.Option(
            "--jsonl", help="Read one question (or JSON list of turns) per stdin line; JSON per line."
        ),
    ] = False,
    conversation: Annotated[
        str | None,
        typer.Option(help="Save the turn to this saved conversation (`new` starts one; see `history`)."),
    ] = None,
) -> None:
    """Answer from the knowledge base with numbered citations, or say it is not covered."""
    service = _service()
    backend = llm.value if llm else None
    if jsonl:
        if question or conversation:
            raise UserError("--jsonl reads questions from stdin; do not also pass QUESTION or --conversation")
        chain = service.answer_chain(backend)
        for line in sys.stdin:
            if not line.strip():
                continue
            text, history = _parse_turns(line)
            _print_json(chain.invoke(text, history).model_dump(exclude={"citations": {"__all__": {"text"}}}))
        return
    if question is None or not question.strip():
        raise UserError('the question is empty; e.g. yunying ask "什么是私域流量？"')
    saved = history_commands.conversation_for(service, conversation)
    if as_json:
        answer = service.ask(question, backend=backend, conversation_id=saved)
        extra = {"conversation_id": saved} if saved else {}
        _print_json({**answer.model_dump(exclude={"citations": {"__all__": {"text"}}}), **extra})
        return
    from rich.console import Console

    from assistant.frontends.cli.answer_view import show_answer

    show_answer(service.stream_answer(question, backend=backend, conversation_id=saved), Console())


@app.command("eval")
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
) -> None:
    """Measure retrieval (ours vs BM25-only, dense-only, plain LangChain) and, with --llm, answers."""
    from assistant import evaluation as ev
    from assistant.service import Yunying

    if split not in ("dev", "test", "all"):
        raise UserError(f"--split must be dev, test or all, not {split!r}")
    settings = Settings()
    items = ev.load_items(split=split)  # type: ignore[arg-type]
    items = items[:limit] if limit else items
    try:
        with _embedding_progress(not as_json and sys.stderr.isatty()) as progress:
            service = ev.prepare_eval_service(settings, progress=progress, service_class=Yunying)
    except ValueError as exc:
        raise UserError(str(exc)) from exc
    sources = ev.eval_sources(settings)
    compare: dict[str, Any] = {}
    if baselines:
        from assistant.store.embedder import E5_MODEL_NAME

        plain = ev.LangChainDefaultBaseline(service.settings, settings.models_dir / E5_MODEL_NAME, sources)
        compare = {
            "bm25": lambda q: ev.ranked_docs(service.search(q, k=10, mode="bm25")),
            "dense": lambda q: ev.ranked_docs(service.search(q, k=10, mode="dense")),
            "langchain_default": lambda q: ev.ranked_docs(plain.search(q, k=10)),
        }
    answer = None
    if llm is not None:
        chain = service.answer_chain(llm.value)
        answer = lambda item: chain.invoke(item.question, [t.model_dump() for t in item.history])  # noqa: E731
    fit_cases = ev.load_fit_cases(split=split)  # type: ignore[arg-type]

    def fit_accuracy() -> dict[str, Any]:
        return ev.fit_accuracy(lambda text: service.fit(text, "none"), fit_cases)

    backend = llm.value if llm else "retrieval-only"
    grounded = None
    if llm is not None:
        checker = service.answer_chain("none").checker
        grounded = lambda sentence, cited: bool(  # noqa: E731
            checker.verdicts([sentence], cited, "")[0].supported_by
        )
    run = ev.run_eval(
        service, items, answer=answer, baselines=compare, fit=fit_accuracy, backend=backend, grounded=grounded
    )
    if report is not None:
        path = ev.write_report(run, report)
        if not as_json:
            sys.stderr.write(f"report: {path}\n")
    if as_json:
        _print_json(json.loads(run.model_dump_json()))
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"Retrieval on {run.n_questions} golden items, split {split} ({run.seconds:.0f} s)")
    for column in ("system", "hit@1", "hit@5", "MRR", "nDCG@5", "recall@5"):
        table.add_column(column)
    for name, values in {"ours": run.retrieval, **run.baselines}.items():
        table.add_row(
            name, *(f"{values.get(k, 0):.3f}" for k in ("hit@1", "hit@5", "mrr", "ndcg@5", "recall@5"))
        )
    console = Console()
    console.print(table)
    if run.answers:
        console.print_json(data={"answers": run.answers, "refusal": run.refusal})


@app.command()
def fit(
    text: Annotated[str | None, typer.Option("--text", help="The business description.")] = None,
    file: Annotated[Path | None, typer.Option("--file", help="Read the description from this file.")] = None,
    llm: Annotated[LLMOpt | None, typer.Option(help="Backend (default YUNYING_LLM).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the analysis as JSON.")] = False,
    memo: Annotated[Path | None, typer.Option("--memo", help="Write the memo to out.md or out.docx.")] = None,
    business_type: Annotated[
        str, typer.Option("--business-type", help="Selection factor: what kind of business it is.")
    ] = "",
    resources: Annotated[str, typer.Option(help="Selection factor: the team's resources, strengths.")] = "",
    target_users: Annotated[
        str, typer.Option("--target-users", help="Selection factor: who it serves.")
    ] = "",
    stage: Annotated[str, typer.Option(help="Selection factor: stage (start-up, growth, mature).")] = "",
) -> None:
    """Rank the five operating models for a business, with cited evidence, and draft a memo."""
    from pydantic import ValidationError

    from assistant.fit import FitInputError, SelectionFactors

    try:
        factors = SelectionFactors(
            business_type=business_type, resources=resources, target_users=target_users, stage=stage
        )
    except ValidationError as exc:
        field = ".".join(str(p) for p in exc.errors()[0]["loc"])
        raise UserError(f"--{field.replace('_', '-')}: {exc.errors()[0]['msg']}") from exc

    if text is not None and file is not None:
        raise UserError("give the business description with one of --text or --file, not both")
    if text is None and file is None and not factors.given():
        raise UserError("give the business description with --text or --file")
    if file is not None:
        from assistant.corpus import decode_text

        try:
            text, _ = decode_text(file.read_bytes())
        except (OSError, UnicodeError) as exc:
            raise UserError(f"{file}: cannot read the description ({exc.__class__.__name__})") from exc
    if memo is not None and memo.suffix.lower() not in (".md", ".docx"):
        raise UserError(f"{memo}: the memo can be written as .md or .docx")
    try:
        analysis = _service().fit(text or "", llm.value if llm else None, factors)
    except FitInputError as exc:
        raise UserError(str(exc)) from exc
    if memo is not None:
        from assistant.memo import export

        export(analysis, memo)
    if as_json:
        _print_json(json.loads(analysis.model_dump_json(exclude={"references": {"__all__": {"text"}}})))
        return
    from rich.console import Console
    from rich.markdown import Markdown

    Console().print(Markdown(analysis.memo_markdown))
    if memo is not None:
        sys.stderr.write(f"memo: {memo}\n")


class LangOpt(StrEnum):
    zh = "zh"
    en = "en"


class QuizTypeOpt(StrEnum):
    recall = "recall"
    scenario = "scenario"
    practice = "practice"


@app.command()
def learn(
    lang: Annotated[LangOpt, typer.Option(help="Language of titles, summaries and objectives.")] = LangOpt.zh,
    as_json: Annotated[bool, typer.Option("--json", help="Print the modules as JSON.")] = False,
) -> None:
    """Print the onboarding learning path: modules in order, each with a cited summary and readings."""
    modules = _service().learning_path(lang.value)
    if as_json:
        _print_json([m.model_dump(exclude={"readings": {"__all__": {"text"}}}) for m in modules])
        return
    from rich.console import Console

    console = Console()
    for module in modules:
        console.print(f"\n[bold]{module.order}. {module.title}[/]  [dim]({module.key})[/]")
        console.print(module.summary, markup=False, highlight=False)
        for objective in module.objectives:
            console.print(f"  • {objective}", markup=False, highlight=False)
        for c in module.readings:
            console.print(
                f"  [{c.n}] {c.title}" + (f" › {c.heading}" if c.heading else "") + f"  ({c.doc_id})",
                markup=False,
                highlight=False,
            )


@app.command()
def quiz(
    lang: Annotated[LangOpt, typer.Option(help="Language of the questions.")] = LangOpt.zh,
    module: Annotated[
        str | None, typer.Option(help="Only questions of this module (e.g. core-loop, community).")
    ] = None,
    n: Annotated[
        int | None,
        typer.Option("-n", "--number", min=1, max=500, help="At most this many questions (10; practice: 1)."),
    ] = None,
    seed: Annotated[int, typer.Option(help="Same seed, same questions and option order.")] = 0,
    as_json: Annotated[bool, typer.Option("--json", help="Print the questions as JSON.")] = False,
    kind: Annotated[
        QuizTypeOpt,
        typer.Option(
            "--type",
            help="recall: what the documents state; scenario: a situation to diagnose; practice: a case "
            "with its name hidden, answered in your own words.",
        ),
    ] = QuizTypeOpt.recall,
    answer: Annotated[
        str | None,
        typer.Option(
            help="Answer without a prompt and record it: practice, your text (which model and why); "
            "recall/scenario, one letter per question (A,C,B).",
        ),
    ] = None,
    case: Annotated[str | None, typer.Option(help="practice: this case (e.g. case-keep).")] = None,
) -> None:
    """Print a quiz generated from the knowledge base (deterministic, no LLM), answers at the end."""
    if kind == QuizTypeOpt.practice:
        return progress_cli.run_practice(lang.value, n or 1, seed, as_json, answer, case)
    try:
        questions = _service().quiz(lang.value, module=module, n=n or 10, seed=seed, kind=kind.value)
    except ValueError as exc:
        raise UserError(str(exc)) from exc
    if answer is not None:
        return progress_cli.run_quiz_answers(questions, kind.value, answer, as_json)
    if as_json:
        _print_json([q.model_dump(exclude={"citation": {"text"}}) for q in questions])
        return
    from rich.console import Console

    console = Console()
    if not questions:
        console.print("No questions. Is the knowledge base ingested? Run `yunying ingest`.")
        return
    for number, q in enumerate(questions, start=1):
        # a scenario's module is the model it is about, i.e. its answer: not shown with the question
        tag = "" if kind == QuizTypeOpt.scenario else f"  [dim]({q.module})[/]"
        console.print(f"\n[bold]{number}. {q.question}[/]{tag}", highlight=False)
        for i, option in enumerate(q.options):
            console.print(f"   {chr(65 + i)}. {option}", markup=False, highlight=False)
    console.print("\n[bold]Answers[/]")
    for number, q in enumerate(questions, start=1):
        console.print(
            f"{number}. {chr(65 + q.answer_index)}  {q.explanation}  [1] {q.citation.doc_id}",
            markup=False,
            highlight=False,
        )


progress_cli.register(app)


@app.command()
def bench(
    as_json: Annotated[bool, typer.Option("--json", help="Print the figures as JSON.")] = False,
    llm: Annotated[LLMOpt | None, typer.Option(help="Answer backend to time (default YUNYING_LLM).")] = None,
    max_scale: Annotated[int, typer.Option(min=1000, help="Largest store of the scale curve.")] = 100_000,
    queries: Annotated[int, typer.Option(min=5, max=200, help="Queries per latency figure.")] = 40,
) -> None:
    """Print speed and memory figures: retrieval vs a plain dense retriever, ingest, scale, LLM."""
    from assistant import bench as b
    from assistant.evaluation import load_items

    settings = Settings()
    service = _service(settings)
    if service.index.count() == 0:
        service.ingest()
    items = [i for i in load_items() if i.type == "in_scope"]
    questions = [i.question for i in items][:queries]
    figures: dict[str, Any] = {}
    ours, baseline = b.bench_retrieval(service, questions)
    figures["retrieval"] = ours
    figures["baseline_dense"] = baseline
    figures["retrieval"]["vs_baseline"] = round(ours["p50_ms"] / baseline["p50_ms"], 2)
    figures["ingest"] = b.bench_ingest(settings, [settings.knowledge_dir])
    sizes = tuple(s for s in (1_000, 10_000, 100_000) if s <= max_scale)
    figures["scale"] = b.bench_scale(service, questions[:20], sizes)
    backend = llm.value if llm else settings.llm
    if backend != "none":
        figures["answer"] = b.bench_answer(service, [i.question for i in items[:6]], backend)
    figures["peak_memory_mb"] = b.peak_memory_mb()
    if as_json:
        _print_json(figures)
        return
    from rich.console import Console

    Console().print_json(data=figures)


@app.command()
def serve(
    host: Annotated[
        str | None,
        typer.Option(help="Interface to listen on (default 127.0.0.1; any other needs YUNYING_AUTH)."),
    ] = None,
    port: Annotated[int | None, typer.Option(min=1, max=65535, help="Port to listen on.")] = None,
    insecure: Annotated[
        bool,
        typer.Option("--insecure", help="Allow a non-loopback address without a login (not recommended)."),
    ] = False,
    no_api: Annotated[
        bool, typer.Option("--no-api", help="Serve the app alone, without the OpenAI-compatible API.")
    ] = False,
) -> None:
    """Serve the Gradio app (chat with source cards) and the OpenAI-compatible API (/v1) on one port."""
    from assistant.security import serve_api_keys, serve_logins

    settings = Settings()
    host = host or settings.host
    logins = serve_logins(settings, host, insecure)  # refuses before anything slow is loaded
    if no_api:
        from assistant.ui import launch

        launch(_service(settings), host=host, port=port or settings.port, auth=logins)
        return
    api_keys = serve_api_keys(settings, host, insecure)
    from assistant.frontends.api import serve as serve_app_and_api

    serve_app_and_api(
        _service(settings), host=host, port=port or settings.port, logins=logins, api_keys=api_keys
    )


@app.command()
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
    from assistant import doctor as d

    service = _service()
    report = d.check(service.index)
    if repair and not report.healthy:
        report = d.repair(service.index, report)
    if as_json:
        _print_json(report.model_dump())
    else:
        sys.stdout.write(d.render(report) + "\n")
    if not report.healthy:
        raise typer.Exit(1)


history_commands.register(app)
docs_commands.register(app)
gaps_commands.register(app)


@app.command("config")
def show_config(
    as_json: Annotated[bool, typer.Option("--json", help="Print settings as JSON.")] = False,
) -> None:
    """Print the effective settings (env vars YUNYING_*, .env, defaults)."""
    settings = Settings()
    if as_json:
        _print_json(json.loads(settings.model_dump_json()))
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(title="Yunying settings")
    for column in ("variable", "value", "meaning"):
        table.add_column(column)
    for name, value, description in settings.described():
        table.add_row(name, value, description)
    Console().print(table)


def _redact(message: str) -> str:
    """Mask every secret in effect (API key, login passwords): a server may echo a key in its error."""
    try:
        return Settings().redact(message)
    except Exception:  # invalid settings: mask what the environment holds
        import os

        for name in ("YUNYING_OPENAI_API_KEY", "OPENAI_API_KEY"):
            secret = os.environ.get(name, "")
            if len(secret) >= 4:
                message = message.replace(secret, "**********")
        return message


def _fail(message: str, code: int = 1) -> None:
    sys.stderr.write(f"yunying: error: {' '.join(_redact(message).split())}\n")
    sys.exit(code)


def _llm_error(exc: Exception) -> str | None:
    """One line for a failure of the answer backend, or None when `exc` is not one."""
    from assistant.llm import LLMRequestError, LLMUnavailable

    if isinstance(exc, (LLMUnavailable, LLMRequestError)):
        return str(exc)
    try:
        import openai
    except ImportError:  # pragma: no cover - langchain-openai is a dependency
        return None
    settings_url = ""
    with contextlib.suppress(Exception):
        settings_url = Settings().openai_base_url
    where = f" at {settings_url}" if settings_url else ""
    if isinstance(exc, openai.APIConnectionError):
        return f"cannot reach the OpenAI-compatible server{where} ({exc.__class__.__name__}); is it running?"
    if isinstance(exc, openai.APIStatusError):
        return (
            f"the OpenAI-compatible server{where} refused the request (HTTP {exc.status_code}: {exc.message})"
        )
    if isinstance(exc, openai.OpenAIError):
        return f"the OpenAI-compatible server{where} failed: {exc}"
    return None


def main(argv: list[str] | None = None) -> None:
    """Entry point: every error becomes one clear line on stderr and a non-zero exit, no traceback. The
    offline environment is applied by the service every command builds (services.yunying)."""
    try:
        result = app(args=argv, prog_name="yunying", standalone_mode=False)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except typer.Abort:
        _fail("aborted", 130)
    except typer.TyperException as exc:  # usage errors: typer >= 0.29 vendors click's exceptions
        if type(exc).__name__ == "NoArgsIsHelpError":
            sys.stdout.write(exc.ctx.get_help() + "\n")  # type: ignore[attr-defined]
            sys.exit(0)
        _fail(exc.format_message().replace("Value error, ", ""), exc.exit_code)
    except ValidationError as exc:  # a ValueError too, so it must come first
        first = exc.errors()[0]
        field = ".".join(map(str, first["loc"])) or "settings"
        _fail(f"invalid setting YUNYING_{field.upper()}: {first['msg'].removeprefix('Value error, ')}")
    except (UserError, ValueError, ConnectionError, OSError) as exc:
        _fail(str(exc) or exc.__class__.__name__)
    except KeyboardInterrupt:
        _fail("interrupted; the store stays consistent and the next ingest completes it", 130)
    except Exception as exc:  # the contract: one line, never a traceback (details go to the log)
        message = _llm_error(exc)
        if message is None:
            import logging

            logging.getLogger("yunying").debug("unexpected error", exc_info=True)
            message = f"unexpected {exc.__class__.__name__}: {exc}"
        _fail(message)
    sys.exit(result if isinstance(result, int) else 0)


if __name__ == "__main__":
    main()
