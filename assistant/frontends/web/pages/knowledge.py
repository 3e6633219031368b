"""知识库 Knowledge: the catalogue with filters, a document's text and its chunks as stored, uploads, removing
a user document, re-indexing one, and the knowledge-gap queue (grouped by nearest topic, mark resolved)."""

from __future__ import annotations

import logging
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import gradio as gr

from assistant.frontends.web.pages.base import Labels, Page
from assistant.frontends.web.render import document_markdown, documents_table, upload_report_markdown
from assistant.frontends.web.render_history import chunks_table, gap_choices, gaps_html
from assistant.frontends.web.text import HIDDEN, KIND_CHOICES, MODEL_CHOICES, TOPICS, say, tr
from assistant.services.catalog import filter_documents

log = logging.getLogger("yunying.ui")

CHOICE_LISTS = ("open", "mine", "company")  # the catalogue's dropdowns whose choices `view` sets


class KnowledgePage(Page):
    # ---- the catalogue

    def view(
        self,
        kind: str,
        model: str,
        company: str,
        topic: str,
        text: str,
        lang: str,
        sent: dict[str, list] | None = None,
    ) -> tuple[Any, ...]:
        """(counts, documents table, "open" choices, "my documents" choices, company choices, what was
        sent). `sent`: the choice lists this session's dropdowns were last sent (its gr.State); a list that
        has not changed is not sent again, since a new list closes a dropdown the user is typing in (the
        tab's refresh on opening it used to close the reader's list under the user's fingers)."""
        try:
            docs = self.service.documents()
        except Exception as exc:
            log.exception("catalogue failed")
            gr.Warning(self.short(exc))
            return gr.skip(), gr.skip(), gr.skip(), gr.skip(), gr.skip(), sent
        shown = filter_documents(docs, kind=kind, model=model, company=company, topic=topic, text=text)
        users = [d for d in docs if d.kind == "user"]
        chunks = sum(d.chunks for d in docs)
        counts = say("kb_counts", lang, docs=len(docs), chunks=chunks, mine=len(users), shown=len(shown))
        companies = sorted({d.company for d in docs if d.company}, key=str.lower)
        lists = {
            "open": [(f"{d.title} · {d.doc_id}", d.doc_id) for d in shown],
            "mine": [("—", "")] + [(f"{d.title} · {d.doc_id}", d.doc_id) for d in users],
            "company": [(say("kb_all", lang), "")] + [(c, c) for c in companies],
        }
        before = sent or {}
        updates = [
            gr.skip() if before.get(key) == lists[key] else gr.update(choices=lists[key])
            for key in CHOICE_LISTS
        ]
        return (counts, documents_table(shown), *updates, lists)

    def open_document(self, doc_id: str, lang: str) -> tuple[str, Any]:
        """(the document as Markdown, its chunks as stored); a short line when it is gone."""
        if not doc_id:
            return "", gr.update(value=None)
        try:
            info, body = self.service.document(doc_id)
            chunks = self.service.document_chunks(doc_id)
        except KeyError:
            gone = say("kb_doc_gone", lang)
            return gone, gr.update(value=None)
        except Exception as exc:
            log.exception("read failed")
            error = self.short(exc)
            return say("kb_read_failed", lang, error=error), gr.update(value=None)
        return document_markdown(info, body), chunks_table(chunks)

    def pick_row(self, table: Any, evt: gr.SelectData) -> Any:
        try:
            row = evt.index[0] if isinstance(evt.index, list | tuple) else evt.index
            return gr.update(value=str(table.iloc[row]["id"]))
        except Exception:
            return gr.update()

    # ---- users' documents

    def upload(
        self,
        files: list[Any] | None,
        lang: str,
        progress: gr.Progress = gr.Progress(),  # noqa: B008 - Gradio's way to ask for a progress bar
    ) -> tuple[Any, Any]:
        paths = [Path(f if isinstance(f, str) else getattr(f, "name", f["path"])) for f in files or []]
        if not paths:
            return upload_report_markdown([], lang), gr.update()
        try:
            progress(0.0, desc=say("kb_checking", lang))
            results = self.service.add_user_files(paths, progress=lambda f, what: progress(f, desc=what))
        except Exception as exc:
            log.exception("upload failed")
            error = self.short(exc)
            return say("kb_upload_failed", lang, error=error), gr.update()
        return upload_report_markdown(results, lang), gr.update(value=None)

    def remove(self, doc_id: str, lang: str) -> str:
        if not doc_id:
            return say("kb_pick_mine", lang)
        try:
            result = self.service.remove_user_document(doc_id)
        except (KeyError, ValueError) as exc:
            return f"⚠ {self.short(exc)}"
        except Exception as exc:
            log.exception("remove failed")
            error = self.short(exc)
            return say("kb_remove_failed", lang, error=error)
        return say("kb_removed", lang, title=result.title, chunks=result.chunks_removed)

    def reindex(self, doc_id: str, lang: str) -> str:
        """Read the opened document's file again and replace its chunks."""
        if not doc_id:
            return say("kb_open_first", lang)
        try:
            report = self.service.reindex_document(doc_id)
        except KeyError:
            return say("kb_doc_gone", lang)
        except FileNotFoundError as exc:
            return f"⚠ {self.short(exc)}"
        except Exception as exc:
            log.exception("reindex failed")
            error = self.short(exc)
            return say("kb_reindex_failed", lang, error=error)
        if report.failed:
            error = self.short(RuntimeError(report.failed[0].error))
            return say("kb_reindex_failed", lang, error=error)
        return say("kb_reindexed", lang, doc_id=doc_id, chunks=report.chunks_added, seconds=report.seconds)

    # ---- the knowledge-gap queue

    def gaps_view(self, lang: str) -> tuple[str, Any]:
        """(the open gaps grouped by nearest topic, the entries to mark resolved)."""
        try:
            groups = self.service.gaps.grouped()
        except Exception as exc:
            log.exception("reading the gap queue failed")
            error = self.short(exc)
            return say("gaps_failed", lang, error=error), gr.update()
        return gaps_html(groups, lang), gr.update(choices=gap_choices(groups), value=None)

    def resolve_gap(self, entry_id: int | None, lang: str) -> str:
        if entry_id is None or entry_id == "":
            return say("gap_pick_first", lang)
        try:
            entry = self.service.gaps.resolve(int(entry_id))
        except (KeyError, ValueError):
            return say("gap_unknown", lang, id=entry_id)
        except Exception as exc:
            log.exception("resolving a gap failed")
            error = self.short(exc)
            return say("gap_failed", lang, error=error)
        return say("gap_resolved", lang, id=entry.id, question=entry.question)

    # ---- layout

    def render(self, lang: gr.Radio, labels: Labels, tab: gr.Tab) -> tuple[Any, list, list]:
        """The tab; returns (view, its inputs, its outputs), which the page load runs too."""
        w = self._render_catalogue(labels)
        with gr.Row():
            with gr.Column(scale=3):
                self._render_reader(w, labels)
            with gr.Column(scale=2):
                self._render_mine(w, labels)
        self._render_gaps(w, labels)

        sent = gr.State({})  # the choice lists this session's dropdowns were sent (view sends only changes)
        filters = [w.kind, w.model, w.company, w.topic, w.text, lang, sent]
        outputs = [w.counts, w.table, w.doc_pick, w.mine, w.company, sent]
        view = (self.view, filters, outputs)
        opened = (self.open_document, [w.doc_pick, lang], [w.reader, w.chunks])
        gaps = (self.gaps_view, [lang], [w.gaps, w.gap_pick])
        for control in (w.kind, w.model, w.company, w.topic):
            control.change(*view, queue=False, api_visibility=HIDDEN)
        w.text.submit(*view, queue=False, api_visibility=HIDDEN)
        tab.select(*view, api_visibility=HIDDEN).then(*gaps, api_visibility=HIDDEN)
        w.doc_pick.change(*opened, api_visibility=HIDDEN)
        w.table.select(self.pick_row, [w.table], w.doc_pick, api_visibility=HIDDEN)
        w.upload.click(self.upload, [w.files, lang], [w.upload_report, w.files], api_visibility=HIDDEN).then(
            *view, api_visibility=HIDDEN
        )
        w.remove.click(self.remove, [w.mine, lang], w.remove_report, api_visibility=HIDDEN).then(
            *view, api_visibility=HIDDEN
        )
        w.reindex.click(self.reindex, [w.doc_pick, lang], w.reindex_report, api_visibility=HIDDEN).then(
            *opened, api_visibility=HIDDEN
        ).then(*view, api_visibility=HIDDEN)
        w.resolve.click(self.resolve_gap, [w.gap_pick, lang], w.resolve_report, api_visibility=HIDDEN).then(
            *gaps, api_visibility=HIDDEN
        )
        return view

    def _render_catalogue(self, labels: Labels) -> SimpleNamespace:
        w = SimpleNamespace(counts=gr.Markdown(elem_id="kb-counts"))
        with gr.Row():
            w.kind = labels(
                gr.Dropdown(KIND_CHOICES, value="", label=tr("k_kind", "zh"), min_width=120), "k_kind"
            )
            w.model = labels(
                gr.Dropdown(MODEL_CHOICES, value="", label=tr("k_model", "zh"), min_width=120), "k_model"
            )
            w.company = labels(
                gr.Dropdown([("全部", "")], value="", label=tr("k_company", "zh"), min_width=120), "k_company"
            )
            topics = [("全部", "")] + [(t, t) for t in TOPICS]
            w.topic = labels(
                gr.Dropdown(topics, value="", label=tr("k_topic", "zh"), min_width=120), "k_topic"
            )
            w.text = labels(gr.Textbox(label=tr("k_search", "zh"), min_width=160), "k_search")
        w.table = labels(
            gr.Dataframe(
                label=tr("k_docs", "zh"),
                interactive=False,
                wrap=True,
                max_height=300,
                column_widths=["30%", "7%", "11%", "20%", "14%", "6%", "12%"],
                elem_id="kb-table",
            ),
            "k_docs",
        )
        return w

    def _render_reader(self, w: SimpleNamespace, labels: Labels) -> None:
        """The opened document, its chunks as stored, and re-indexing it."""
        w.doc_pick = labels(gr.Dropdown([], label=tr("k_open", "zh"), elem_id="kb-open"), "k_open")
        w.reader = gr.Markdown(elem_id="kb-reader", container=True, max_height=560)
        with gr.Accordion(tr("k_chunks", "zh"), open=False, elem_id="kb-chunks-box") as chunks_box:
            w.chunks = gr.Dataframe(interactive=False, wrap=True, max_height=400, elem_id="kb-chunks")
        labels(chunks_box, "k_chunks")
        w.reindex = labels(
            gr.Button(tr("k_reindex_btn", "zh"), elem_id="kb-reindex"), "k_reindex_btn", "value"
        )
        w.reindex_report = gr.Markdown(elem_id="kb-reindex-report")

    def _render_mine(self, w: SimpleNamespace, labels: Labels) -> None:
        """Uploading files, and removing one of the users' documents."""
        w.files = labels(
            gr.File(label=tr("k_upload", "zh"), file_count="multiple", type="filepath", elem_id="kb-files"),
            "k_upload",
        )
        w.upload = labels(
            gr.Button(tr("k_upload_btn", "zh"), variant="primary", elem_id="kb-upload"),
            "k_upload_btn",
            "value",
        )
        w.upload_report = gr.Markdown(elem_id="kb-upload-report")
        w.mine = labels(
            gr.Dropdown([("—", "")], value="", label=tr("k_remove", "zh"), elem_id="kb-mine"), "k_remove"
        )
        w.remove = labels(
            gr.Button(tr("k_remove_btn", "zh"), variant="stop", elem_id="kb-remove"), "k_remove_btn", "value"
        )
        w.remove_report = gr.Markdown(elem_id="kb-remove-report")

    def _render_gaps(self, w: SimpleNamespace, labels: Labels) -> None:
        labels(gr.Markdown(tr("k_gaps", "zh")), "k_gaps", "value")
        labels(gr.Markdown(tr("k_gaps_hint", "zh"), elem_classes="hint"), "k_gaps_hint", "value")
        w.gaps = gr.HTML(elem_id="kb-gaps")
        with gr.Row(equal_height=True):
            w.gap_pick = labels(
                gr.Dropdown([], label=tr("k_gap_pick", "zh"), elem_id="kb-gap-pick", scale=4), "k_gap_pick"
            )
            w.resolve = labels(
                gr.Button(tr("k_gap_resolve", "zh"), elem_id="kb-gap-resolve", scale=1),
                "k_gap_resolve",
                "value",
            )
        w.resolve_report = gr.Markdown(elem_id="kb-gap-report")
