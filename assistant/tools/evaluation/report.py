"""The HTML report (headline numbers, plots, the worst items) with its results.json, and reading it back
for the app's Eval tab."""

from __future__ import annotations

import base64
import html
import io
import json
import re
import time
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from assistant.tools.evaluation.results import EvalRun


class ReportView(BaseModel):
    """A written report as the app shows it."""

    directory: str
    summary: dict[str, Any]
    plots: list[tuple[str, str]] = Field(default_factory=list, description="(title, PNG path)")
    written: str = ""


def read_report(directory: Path) -> ReportView | None:
    """The report in `directory` (None when there is none yet, or it cannot be read)."""
    results = directory / "results.json"
    try:
        data = json.loads(results.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    plots = [
        (str(p.get("title", "")), str(directory / str(p.get("file", ""))))
        for p in data.get("plots", [])
        if (directory / str(p.get("file", ""))).is_file()
    ]
    summary = {k: v for k, v in data.items() if k not in ("items", "plots")}
    written = time.strftime("%Y-%m-%d %H:%M", time.localtime(results.stat().st_mtime))
    return ReportView(directory=str(directory), summary=summary, plots=plots, written=written)


def _figure_png(fig: Any) -> str:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def _plots(run: EvalRun) -> list[tuple[str, str]]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plots: list[tuple[str, str]] = []
    systems = {"ours (hybrid)": run.retrieval, **run.baselines}
    metrics = ["hit@1", "hit@5", "mrr", "ndcg@5", "recall@5"]
    fig, ax = plt.subplots(figsize=(8, 3.6))
    width = 0.8 / len(systems)
    for i, (name, values) in enumerate(systems.items()):
        ax.bar(
            [m + i * width for m in range(len(metrics))],
            [values.get(k, 0) for k in metrics],
            width,
            label=name,
        )
    ax.set_xticks([m + width * (len(systems) - 1) / 2 for m in range(len(metrics))], metrics)
    ax.set_ylim(0, 1.05)
    ax.legend(fontsize=8, loc="lower right")
    title = "Retrieval: ours vs baselines" if run.baselines else "Retrieval: ours (hybrid)"
    ax.set_title(title)
    plots.append((title, _figure_png(fig)))
    plt.close(fig)

    for title, groups in (
        ("hit@5 and MRR per topic", run.by_topic),
        ("hit@5 and MRR per language", run.by_lang),
    ):
        names = list(groups)
        fig, ax = plt.subplots(figsize=(max(5, 0.7 * len(names) + 2), 3.4))
        xs = range(len(names))
        ax.bar([x - 0.2 for x in xs], [groups[n]["hit@5"] for n in names], 0.4, label="hit@5")
        ax.bar([x + 0.2 for x in xs], [groups[n]["mrr"] for n in names], 0.4, label="MRR")
        ax.set_xticks(list(xs), [f"{n}\n(n={int(groups[n]['n'])})" for n in names], fontsize=7)
        ax.set_ylim(0, 1.05)
        ax.legend(fontsize=8, loc="lower right")
        ax.set_title(title)
        plots.append((title, _figure_png(fig)))
        plt.close(fig)
    return plots


REPORT_CSS = (
    "body{font-family:sans-serif;max-width:1100px;margin:2em auto}"
    "table{border-collapse:collapse;margin:1em 0}"
    "td,th{border:1px solid #ccc;padding:4px 8px;font-size:13px;vertical-align:top}img{max-width:100%}"
)


def write_report(run: EvalRun, directory: Path) -> Path:
    """An HTML page with the headline numbers, plots, and the worst items, so a person sees where it fails."""
    directory.mkdir(parents=True, exist_ok=True)
    esc = html.escape
    rows = []
    systems = {"ours (hybrid)": run.retrieval, **run.baselines}
    for name, values in systems.items():
        cells = "".join(
            f"<td>{values.get(k, 0):.3f}</td>" for k in ("hit@1", "hit@5", "mrr", "ndcg@5", "recall@5")
        )
        rows.append(f"<tr><th>{esc(name)}</th>{cells}</tr>")
    worst = sorted(
        (r for r in run.items if r.retrieval), key=lambda r: (r.retrieval["mrr"], r.retrieval["ndcg@5"])
    )
    worst_rows = "".join(
        f"<tr><td>{esc(r.id)}</td><td>{esc(r.question)}</td><td>{esc(', '.join(r.expected_docs))}</td>"
        f"<td>{esc(', '.join(r.retrieved_docs))}</td><td>{r.retrieval['mrr']:.2f}</td></tr>"
        for r in worst[:20]
    )
    answer_block = ""
    if run.answers:
        answer_block = (
            "<h2>Answers</h2><pre>" + esc(json.dumps(run.answers, ensure_ascii=False, indent=2)) + "</pre>"
            "<h2>Refusals</h2><pre>" + esc(json.dumps(run.refusal, ensure_ascii=False, indent=2)) + "</pre>"
        )
        bad = [r for r in run.items if r.answer_metrics and min(r.answer_metrics.values()) < 1.0]
        bad.sort(key=lambda r: min(r.answer_metrics.values()))
        answer_block += (
            "<h3>Weakest answers</h3><table>"
            "<tr><th>id</th><th>question</th><th>answer</th><th>metrics</th></tr>"
        )
        answer_block += "".join(
            f"<tr><td>{esc(r.id)}</td><td>{esc(r.question)}</td><td>{esc((r.answer or '')[:400])}</td>"
            f"<td>{esc(json.dumps(r.answer_metrics))}</td></tr>"
            for r in bad[:15]
        )
        answer_block += "</table>"
    if run.fit:
        answer_block += (
            "<h2>Model fit</h2><pre>" + esc(json.dumps(run.fit, ensure_ascii=False, indent=2)) + "</pre>"
        )
    figures = _plots(run)
    plots = "".join(
        f"<h3>{esc(t)}</h3><img alt='{esc(t)}' src='data:image/png;base64,{png}'/>" for t, png in figures
    )
    plot_files = []
    for title, png in figures:  # the same plots as files, for the app's Eval tab
        name = "plot-" + re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-") + ".png"
        (directory / name).write_bytes(base64.b64decode(png))
        plot_files.append({"title": title, "file": name})
    n_scored = sum(1 for r in run.items if r.retrieval)
    page = f"""<!doctype html><html><head><meta charset="utf-8"><title>Yunying eval report</title>
<style>{REPORT_CSS}</style></head><body>
<h1>Yunying eval report</h1>
<p>{run.n_questions} golden items, backend <b>{esc(run.backend)}</b>, {run.seconds:.1f} s.
Retrieval metrics are document-level over the {n_scored} items with expected sources.</p>
<table><tr><th>system</th><th>hit@1</th><th>hit@5</th><th>MRR</th><th>nDCG@5</th><th>recall@5</th></tr>{"".join(rows)}</table>
{plots}
<h2>Worst retrieval items</h2>
<table><tr><th>id</th><th>question</th><th>expected</th><th>retrieved (top 5 docs)</th><th>RR</th></tr>
{worst_rows}</table>
{answer_block}
</body></html>"""
    path = directory / "index.html"
    path.write_text(page, encoding="utf-8")
    (directory / "results.json").write_text(
        json.dumps(
            {**run.model_dump(), "items": [r.model_dump() for r in run.items], "plots": plot_files},
            ensure_ascii=False,
            indent=1,
        ),
        encoding="utf-8",
    )
    return path
