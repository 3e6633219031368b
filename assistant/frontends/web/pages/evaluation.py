"""评测 Eval: the latest retrieval eval report (summary, metrics table, plots), and a button to re-run it."""

from __future__ import annotations

import html
import logging
from typing import Any

import gradio as gr
import pandas as pd

from assistant.frontends.web.pages.base import Labels, Page
from assistant.frontends.web.text import HIDDEN, say, tr

log = logging.getLogger("yunying.ui")

METRIC_COLUMNS = ["group", "n", "hit@1", "hit@5", "mrr", "ndcg@5", "recall@5"]
PLOTS = 3


class EvaluationPage(Page):
    def show(self, lang: str) -> tuple[Any, ...]:
        """(summary, metrics table, plot 1..3) of the latest report, or how to make one."""
        try:
            report = self.service.latest_eval_report()
        except Exception as exc:
            log.exception("reading the eval report failed")
            report = None
            gr.Warning(self.short(exc))
        images = [gr.update(value=None, visible=False) for _ in range(PLOTS)]
        if report is None:
            text = say("eval_none_yet", lang, where=self.service.settings.eval_report_dir)
            return (text, gr.update(value=None, visible=False), *images)
        s = report.summary
        overall = s.get("retrieval", {})
        figures = (
            f"{s.get('seconds', 0):.1f} s · hit@5 **{overall.get('hit@5', 0):.3f}** · "
            f"MRR **{overall.get('mrr', 0):.3f}**\n\n<small>{html.escape(report.directory)}</small>"
        )
        text = say(
            "eval_latest",
            lang,
            written=report.written,
            n=s.get("n_questions", "?"),
            backend=s.get("backend"),
            figures=figures,
        )
        for i, (title, path) in enumerate(report.plots[:PLOTS]):
            images[i] = gr.update(value=path, label=title, visible=True)
        return (text, gr.update(value=metrics_table(s), visible=True), *images)

    def rerun(self, lang: str, progress: gr.Progress = gr.Progress()) -> tuple[Any, ...]:  # noqa: B008
        try:
            progress(0.0, desc=say("eval_preparing", lang))
            self.service.run_retrieval_eval(
                progress=lambda n, total: progress(n / total, desc=f"{n}/{total}")
            )
        except Exception as exc:
            log.exception("eval failed")
            error = self.short(exc)
            gr.Warning(say("eval_failed", lang, error=error))
        return self.show(lang)

    def render(self, lang: gr.Radio, labels: Labels, tab: gr.Tab) -> None:
        summary = gr.Markdown(elem_id="eval-summary")
        rerun = labels(gr.Button(tr("eval_rerun", "zh"), elem_id="eval-rerun"), "eval_rerun", "value")
        with gr.Row(elem_id="eval-plots"):
            plots = [
                gr.Image(visible=False, type="filepath", interactive=False, show_label=False, height=300)
                for _ in range(PLOTS)
            ]
        table = labels(
            gr.Dataframe(
                label=tr("eval_table", "zh"), interactive=False, visible=False, elem_id="eval-table"
            ),
            "eval_table",
        )
        outputs = [summary, table, *plots]
        tab.select(self.show, [lang], outputs, api_visibility=HIDDEN)
        rerun.click(self.rerun, [lang], outputs, concurrency_limit=1, api_visibility=HIDDEN)


def metrics_table(summary: dict[str, Any]) -> pd.DataFrame:
    """Ours overall, the baselines, then per language, question type and topic."""
    overall = summary.get("retrieval", {})
    n_scored = sum(int(v.get("n", 0)) for v in summary.get("by_type", {}).values()) or None
    rows = [{"group": "ours (hybrid)", "n": n_scored, **overall}]
    rows += [{"group": f"system: {k}", **v} for k, v in summary.get("baselines", {}).items()]
    for section in ("by_lang", "by_type", "by_topic"):
        rows += [{"group": f"{section[3:]}: {k}", **v} for k, v in summary.get(section, {}).items()]
    return pd.DataFrame(rows).reindex(columns=METRIC_COLUMNS).round(3)
