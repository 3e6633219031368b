"""Strategy memo: a FitAnalysis rendered with Jinja2 in the input's language, exported as Markdown or DOCX."""

from __future__ import annotations

import re
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from assistant.core.vocabulary import MODEL_LABELS
from assistant.fit import MODEL_NAMES_EN, FitAnalysis
from assistant.fit.memo import user_fact
from assistant.fit.scoring import effective_weights, scoring_config

TEMPLATES = Path(__file__).resolve().parents[1] / "templates"

CONFIDENCE_ZH = {"high": "高", "medium": "中", "low": "低"}


def _environment() -> Environment:
    # Markdown output, not HTML: escaping would mangle the text; StrictUndefined catches template typos.
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        undefined=StrictUndefined,
        autoescape=False,
        keep_trailing_newline=True,
    )
    env.filters["zhname"] = lambda m: MODEL_LABELS["zh"][m]
    env.filters["enname"] = lambda m: MODEL_NAMES_EN[m]
    env.filters["cell"] = lambda text: str(text).replace("|", "/").replace("\n", " ")
    return env


def _profile_rows(analysis: FitAnalysis) -> list[tuple[str, str]]:
    """Each profile field: the values read (labels) and the user's words they were read from."""
    p = analysis.profile
    lang = p.lang
    labels = scoring_config()["reading"]["field_labels"][lang]
    origin = {"field": "（表单填写）", "llm": "（模型从描述中摘出）"} if lang == "zh" else {
        "field": " (stated in the form)", "llm": " (picked out of the description by the model)"}  # fmt: skip
    rows = []
    for field, label in labels.items():
        values = p.readings.get(field) or []
        if not values:
            rows.append((label[0].upper() + label[1:], ""))
            continue
        names = ("、" if lang == "zh" else ", ").join(v.label for v in values)
        words = user_fact(values[0].evidence, lang) + origin.get(values[0].source, "")
        rows.append((label[0].upper() + label[1:], f"{names} ← {words}"))
    return rows


def render_markdown(analysis: FitAnalysis) -> str:
    zh = analysis.profile.lang == "zh"
    template = _environment().get_template("memo.zh.md.j2" if zh else "memo.en.md.j2")
    weights = {k: f"{v:.2f}" for k, v in effective_weights(analysis.profile).items()}
    text = template.render(
        a=analysis, zh=MODEL_LABELS["zh"], en=MODEL_NAMES_EN, profile_rows=_profile_rows(analysis),
        conf=CONFIDENCE_ZH[analysis.confidence], w=weights,
    )  # fmt: skip
    return re.sub(r"\n{3,}", "\n\n", text).strip() + "\n"


def write_docx(markdown: str, path: Path) -> Path:
    """The memo as a Word document with real headings, bullet lists and a table for the scores."""
    from docx import Document

    doc = Document()
    table_rows: list[list[str]] = []

    def flush_table() -> None:
        if not table_rows:
            return
        header, *body = table_rows
        table = doc.add_table(rows=1, cols=len(header))
        table.style = "Table Grid"
        for cell, text in zip(table.rows[0].cells, header, strict=True):
            cell.text = text
        for row in body:
            cells = table.add_row().cells
            for cell, text in zip(cells, row, strict=False):
                cell.text = text
        table_rows.clear()

    for line in markdown.splitlines():
        if line.startswith("|"):
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            if not all(set(c) <= set("-: ") for c in cells):
                table_rows.append(cells)
            continue
        flush_table()
        if not line.strip():
            continue
        heading = re.match(r"^(#{1,3})\s+(.*)$", line)
        if heading:
            doc.add_heading(heading.group(2), level=len(heading.group(1)) - 1 or 0)
        elif line.startswith("- "):
            _add_runs(doc.add_paragraph(style="List Bullet"), line[2:])
        elif re.match(r"^\d+\. ", line):
            _add_runs(doc.add_paragraph(style="List Number"), re.sub(r"^\d+\. ", "", line))
        else:
            _add_runs(doc.add_paragraph(), line)
    flush_table()
    path.parent.mkdir(parents=True, exist_ok=True)
    doc.save(str(path))
    return path


def _add_runs(paragraph: object, text: str) -> None:
    """**bold** spans become bold runs; the rest is plain text."""
    for i, part in enumerate(re.split(r"\*\*(.+?)\*\*", text)):
        if part:
            paragraph.add_run(part).bold = i % 2 == 1  # type: ignore[attr-defined]


def export(analysis: FitAnalysis, path: Path) -> Path:
    suffix = path.suffix.lower()
    markdown = analysis.memo_markdown or render_markdown(analysis)
    if suffix == ".md":
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(markdown, encoding="utf-8")
        return path
    if suffix == ".docx":
        return write_docx(markdown, path)
    raise ValueError(f"{path}: the memo can be written as .md or .docx, not '{suffix}'")
