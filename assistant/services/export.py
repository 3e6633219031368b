"""A saved conversation as Markdown or Word: every question and answer in order, then one list of numbered
references. Each answer numbers its own sources from [1]; the export renumbers them across the whole
conversation (one number per cited chunk), so every [n] in the document points at one reference."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from assistant.answer import Citation
from assistant.resources import load_yaml
from assistant.services.conversations import Conversation, now

MARKER = re.compile(r"\[(\d{1,3})\]")
BlockKind = Literal["title", "meta", "question", "answer", "heading", "reference", "quote"]


@dataclass
class Block:
    kind: BlockKind
    text: str


def _words(lang: str) -> dict[str, str]:
    entries = load_yaml("services/wording.yaml")["conversation"]
    return {key: str(value.get(lang, value["en"])) for key, value in entries.items()}


def renumbered(conversation: Conversation) -> tuple[list[str], list[Citation]]:
    """Each answer's text with its [n] markers renumbered across the conversation, and the references in
    their new order (a chunk cited by several answers keeps one number)."""
    numbers: dict[str, int] = {}
    references: list[Citation] = []
    texts: list[str] = []
    for turn in conversation.turns:
        local: dict[int, int] = {}
        for citation in turn.answer.citations:
            if citation.chunk_id not in numbers:
                numbers[citation.chunk_id] = len(references) + 1
                references.append(citation.model_copy(update={"n": numbers[citation.chunk_id]}))
            local[citation.n] = numbers[citation.chunk_id]

        def swap(match: re.Match[str], local: dict[int, int] = local) -> str:
            n = int(match.group(1))
            return f"[{local[n]}]" if n in local else match.group(0)

        texts.append(MARKER.sub(swap, turn.answer.answer))
    return texts, references


def reference_line(citation: Citation, deleted: str = "source deleted") -> str:
    """`[n] title › heading (doc_id)`, and `deleted` after it when the document has been deleted since."""
    where = citation.title + (f" › {citation.heading}" if citation.heading else "")
    return f"[{citation.n}] {where} ({citation.doc_id})" + (f" · {deleted}" if citation.deleted else "")


def blocks(conversation: Conversation) -> list[Block]:
    words = _words(conversation.lang)
    texts, references = renumbered(conversation)
    out = [
        Block("title", conversation.title or words["untitled"]),
        Block("meta", f"{words['exported']}: {now()[:19].replace('T', ' ')} UTC"),
    ]
    for number, (turn, text) in enumerate(zip(conversation.turns, texts, strict=True), start=1):
        out.append(Block("question", f"{number}. {words['question']}: {turn.question}"))
        out.append(Block("answer", text))
    out.append(Block("heading", words["references"]))
    if not references:
        out.append(Block("meta", words["no_references"]))
    for citation in references:
        out.append(Block("reference", reference_line(citation, words["source_deleted"])))
        if citation.quote.strip():
            out.append(Block("quote", " ".join(citation.quote.split())))
    return out


def to_markdown(conversation: Conversation) -> str:
    lines: list[str] = []
    for block in blocks(conversation):
        if block.kind == "title":
            lines.append(f"# {block.text}\n")
        elif block.kind in ("question", "heading"):
            lines.append(f"## {block.text}\n")
        elif block.kind == "reference":
            lines.append(f"- {block.text}")
        elif block.kind == "quote":
            lines.append(f"  > {block.text}")
        else:
            lines.append(f"{block.text}\n")
    return "\n".join(lines).rstrip() + "\n"


def write_docx(conversation: Conversation, path: Path) -> Path:
    from docx import Document

    doc = Document()
    for block in blocks(conversation):
        if block.kind == "title":
            doc.add_heading(block.text, level=0)
        elif block.kind in ("question", "heading"):
            doc.add_heading(block.text, level=1)
        elif block.kind == "quote":
            doc.add_paragraph(block.text, style="Intense Quote")
        else:
            for paragraph in block.text.split("\n"):
                if paragraph.strip():
                    doc.add_paragraph(paragraph)
    path.parent.mkdir(parents=True, exist_ok=True)
    doc.save(str(path))
    return path


def write_conversation(conversation: Conversation, path: Path) -> Path:
    suffix = path.suffix.lower()
    if suffix == ".md":
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(to_markdown(conversation), encoding="utf-8")
        return path
    if suffix == ".docx":
        return write_docx(conversation, path)
    raise ValueError(f"{path}: a conversation can be exported as .md or .docx, not '{suffix or 'no suffix'}'")
