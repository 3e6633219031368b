"""What onboarding reads of the store: the stored chunks grouped by document in position order, with
the heading lookups the path and the quizzes need, and the sentence helpers they share."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from assistant.answer.state import Citation
from assistant.core.schema import models_of
from assistant.core.text import split_sentences
from assistant.onboarding.contract import contract
from assistant.store.chroma import KnowledgeIndex
from assistant.store.records import StoredChunk

HEADING_SEPARATOR = " > "  # how the chunker joins a heading path


@dataclass
class KnowledgeDoc:
    """One stored document: its metadata and its chunks in position order."""

    doc_id: str
    meta: dict
    chunks: list[StoredChunk] = field(default_factory=list)

    @property
    def models(self) -> list[str]:
        return models_of(self.meta)

    @property
    def kind(self) -> str:
        return str(self.meta.get("kind", ""))

    @property
    def text(self) -> str:
        return "\n".join(c.text for c in self.chunks)

    def headings(self) -> list[str]:
        """Heading paths in document order, each once."""
        return list(dict.fromkeys(str(c.metadata.get("heading", "")) for c in self.chunks))

    def under(self, parent: str) -> list[str]:
        """The sub-headings directly under a top-level heading, in order."""
        found = []
        for path in self.headings():
            parts = path.split(HEADING_SEPARATOR)
            if len(parts) >= 2 and parts[0] == parent:
                found.append(parts[1])
        return list(dict.fromkeys(found))

    def top_headings(self) -> list[str]:
        return list(dict.fromkeys(h.split(HEADING_SEPARATOR)[0] for h in self.headings() if h))

    def section(self, heading: str) -> list[StoredChunk]:
        """The chunks of one heading path, e.g. "六个环节 > 目标"."""
        return [c for c in self.chunks if str(c.metadata.get("heading", "")) == heading]

    def english(self) -> list[StoredChunk]:
        """The chunks of the document's English summary."""
        english = contract().english_heading
        return [c for c in self.chunks if str(c.metadata.get("heading", "")).startswith(english)]


class KnowledgeBase:
    """The stored chunks grouped by document, in position order (originals only, not their twins)."""

    def __init__(self, chunks: Sequence[StoredChunk]) -> None:
        docs: dict[str, KnowledgeDoc] = {}
        for chunk in chunks:
            doc_id = str(chunk.metadata.get("doc_id", ""))
            if chunk.metadata.get("pair", doc_id) != doc_id:
                continue  # a translated twin: the path and quizzes read the original's own sections
            docs.setdefault(doc_id, KnowledgeDoc(doc_id, chunk.metadata)).chunks.append(chunk)
        for doc in docs.values():
            doc.chunks.sort(key=lambda c: (int(c.metadata.get("position", 0)), c.chunk_id))
        self.docs = dict(sorted(docs.items()))

    @classmethod
    def of(cls, source: KnowledgeIndex | Sequence[StoredChunk]) -> KnowledgeBase:
        return cls(source.all_chunks() if isinstance(source, KnowledgeIndex) else list(source))

    def framework(self, topic: str) -> KnowledgeDoc | None:
        for doc in self.docs.values():
            if doc.kind == "framework" and doc.meta.get("topic") == topic:
                return doc
        return None

    def cases(self) -> list[KnowledgeDoc]:
        return [d for d in self.docs.values() if d.kind == "case" and d.models]


def citation(n: int, chunk: StoredChunk, quote: str | None = None) -> Citation:
    meta = chunk.metadata
    return Citation(
        n=n,
        chunk_id=chunk.chunk_id,
        doc_id=str(meta.get("doc_id", "")),
        title=str(meta.get("title", "")),
        kind=str(meta.get("kind", "")),
        topic=meta.get("topic") or None,
        models=models_of(meta),
        company=meta.get("company") or None,
        heading=str(meta.get("heading", "")),
        quote=(quote or chunk.text)[:200],
        text=chunk.text,
    )


def prose(text: str) -> list[str]:
    """Sentences of running text: list items, table rows and headings are left out."""
    return [
        s
        for s in split_sentences(text)
        if not s.startswith(("- ", "* ", "+ ", "|", "#")) and not re.match(r"\d+[.)] ", s) and len(s) > 8
    ]


def english_sentences(text: str) -> list[str]:
    """English sentences: the corpus splitter also ends a sentence at ';', which suits Chinese lists but
    cuts English prose mid-sentence, so those pieces are joined again."""
    out: list[str] = []
    for piece in split_sentences(text):
        if out and out[-1].endswith(";"):
            out[-1] = f"{out[-1]} {piece}"
        else:
            out.append(piece)
    return [s for s in out if len(s) > 8]


def short(text: str, limit: int = 90) -> str:
    """Whitespace collapsed, cut to `limit` characters with an ellipsis."""
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


__all__ = [
    "KnowledgeBase",
    "KnowledgeDoc",
    "citation",
    "english_sentences",
    "prose",
    "short",
    "slug",
]
