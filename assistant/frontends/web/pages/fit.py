"""模式匹配 Model fit: a business description (and optional selection factors) in, the five models ranked,
a chart, and the memo previewed and downloadable as Markdown and DOCX."""

from __future__ import annotations

import logging
from typing import Any

import gradio as gr
import pandas as pd

from assistant.fit import MODEL_NAMES_EN, FitAnalysis, FitInputError
from assistant.frontends.web.pages.base import Labels, Page
from assistant.frontends.web.text import FIT_EXAMPLES, MODEL_NAMES_ZH, say, tr

log = logging.getLogger("yunying.ui")

SCORE_COLUMNS = ["模式 Model", "得分 Score", "理由 Rationale"]


class FitPage(Page):
    def analyse(
        self,
        description: str,
        business_type: str,
        resources: str,
        target_users: str,
        stage: str,
        lang: str,
        progress: gr.Progress = gr.Progress(),  # noqa: B008 - Gradio's way to ask for a progress bar
    ) -> tuple[Any, ...]:
        """(status, headline, scores table, chart data, memo, Markdown download, DOCX download)."""
        empty = (gr.update(), gr.update(), gr.update(), gr.update(), gr.update(), gr.update())
        factors = {
            "business_type": business_type,
            "resources": resources,
            "target_users": target_users,
            "stage": stage,
        }
        if not (description or "").strip() and not any((v or "").strip() for v in factors.values()):
            return (say("fit_describe_first", lang), *empty)
        try:
            progress(0.1, desc=say("fit_gathering", lang))
            analysis = self.service.fit(description or "", factors=factors)
            progress(0.8, desc=say("fit_drafting", lang))
            md_path, docx_path = self.service.write_memo(analysis)
        except FitInputError as exc:
            return (say("fit_not_enough", lang, error=exc), *empty)
        except Exception as exc:
            log.exception("fit failed")
            error = self.short(exc)
            return (say("fit_failed", lang, error=error), *empty)
        progress(1.0)
        status = say("fit_done", lang, folder=md_path.parent)
        return (
            status,
            headline(analysis, lang),
            scores_table(analysis),
            pd.DataFrame(
                {
                    "model": [MODEL_NAMES_ZH[r.model] for r in analysis.ranking],
                    "score": [r.score for r in analysis.ranking],
                }
            ),  # fmt: skip
            analysis.memo_markdown,
            gr.update(value=str(md_path), interactive=True),
            gr.update(value=str(docx_path), interactive=True),
        )

    def render(self, lang: gr.Radio, labels: Labels) -> None:
        with gr.Row():
            with gr.Column(scale=2):
                description = labels(
                    gr.Textbox(
                        label=tr("fit_desc", "zh"),
                        placeholder=tr("fit_desc_ph", "zh"),
                        lines=6,
                        elem_id="fit-description",
                    ),
                    "fit_desc",
                )
                with gr.Accordion(tr("factors", "zh"), open=False) as factors_box:
                    f_type = labels(gr.Textbox(label=tr("f_business_type", "zh")), "f_business_type")
                    f_res = labels(gr.Textbox(label=tr("f_resources", "zh")), "f_resources")
                    f_users = labels(gr.Textbox(label=tr("f_target_users", "zh")), "f_target_users")
                    f_stage = labels(gr.Textbox(label=tr("f_stage", "zh")), "f_stage")
                labels(factors_box, "factors")
                analyse = labels(
                    gr.Button(tr("analyse", "zh"), variant="primary", elem_id="fit-analyse"),
                    "analyse",
                    "value",
                )
                gr.Examples([[e] for e in FIT_EXAMPLES], [description], label="示例 Examples")
                status = gr.Markdown(elem_id="fit-status")
                with gr.Row():
                    dl_md = labels(
                        gr.DownloadButton(tr("dl_md", "zh"), interactive=False, elem_id="dl-md"),
                        "dl_md",
                        "value",
                    )
                    dl_docx = labels(
                        gr.DownloadButton(tr("dl_docx", "zh"), interactive=False, elem_id="dl-docx"),
                        "dl_docx",
                        "value",
                    )
            with gr.Column(scale=3):
                headline_md = gr.Markdown(elem_id="fit-headline")
                chart = labels(
                    gr.BarPlot(
                        x="model",
                        y="score",
                        y_lim=[0, 100],
                        sort="-y",
                        label=tr("chart", "zh"),
                        height=280,
                        x_title="",
                        y_title="",
                        x_label_angle=-20,
                    ),
                    "chart",
                )
                scores = labels(
                    gr.Dataframe(
                        headers=SCORE_COLUMNS,
                        label=tr("scores", "zh"),
                        wrap=True,
                        interactive=False,
                        column_widths=["18%", "10%", "72%"],
                        elem_id="fit-scores",
                    ),
                    "scores",
                )
        labels(gr.Markdown(tr("memo", "zh")), "memo", "value")
        memo = gr.Markdown(elem_id="memo-preview", container=True)
        analyse.click(
            self.analyse,
            [description, f_type, f_res, f_users, f_stage, lang],
            [status, headline_md, scores, chart, memo, dl_md, dl_docx],
            api_name="fit",
        )


def model_name(model: str) -> str:
    return f"{MODEL_NAMES_ZH[model]} {model}"


def scores_table(analysis: FitAnalysis) -> pd.DataFrame:
    rows = [
        {"模式 Model": model_name(r.model), "得分 Score": r.score, "理由 Rationale": r.rationale}
        for r in analysis.ranking
    ]
    return pd.DataFrame(rows, columns=SCORE_COLUMNS)


def headline(analysis: FitAnalysis, lang: str) -> str:
    zh = analysis.profile.lang == "zh"
    supporting = (
        "、".join(MODEL_NAMES_ZH[m] for m in analysis.supporting)
        if zh
        else ", ".join(MODEL_NAMES_EN[m] for m in analysis.supporting)
    )
    return say(
        "fit_headline",
        lang,
        primary=analysis.primary,
        primary_zh=MODEL_NAMES_ZH[analysis.primary],
        primary_en=MODEL_NAMES_EN[analysis.primary],
        supporting=supporting or say("fit_no_supporting", lang),
        confidence=analysis.confidence,
        seconds=analysis.seconds,
    )
