"""Cutting a document into Chinese-aware chunks: whole sentences under one heading path, packed to a size
with an overlap; English text gets more room so twins chunk into passages of similar substance."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator

from assistant.core.schema import Chunk, Document
from assistant.core.text import split_sentences

# English text takes about this many times the characters of the same content in Chinese: an English
# chunk gets that much more room, so twins chunk into passages of similar substance.
ENGLISH_CHUNK_FACTOR = 2.5
# Bump when chunking changes in a way that must re-chunk stored documents.
CHUNKER_VERSION = "5"


_HEADING = re.compile(r"^(#{1,6})\s+(.+?)\s*#*\s*$")


def sections(body: str) -> Iterator[tuple[list[str], str]]:
    """(heading path, text) for each run of text between Markdown headings."""
    path: list[tuple[int, str]] = []
    buffer: list[str] = []
    in_fence = False

    def flush() -> Iterator[tuple[list[str], str]]:
        text = "\n".join(buffer).strip()
        if text:
            yield [title for _, title in path], text
        buffer.clear()

    for line in body.splitlines():
        if line.lstrip().startswith("```"):
            in_fence = not in_fence
        match = None if in_fence else _HEADING.match(line)
        if match:
            yield from flush()
            level = len(match.group(1))
            path = [(lvl, title) for lvl, title in path if lvl < level]
            path.append((level, match.group(2).strip()))
        else:
            buffer.append(line)
    yield from flush()


def _pack(sentences: list[str], size: int, overlap: int) -> list[str]:
    """Greedy packing of whole sentences up to `size` characters, carrying whole sentences of at most
    `overlap` characters into the next chunk so context that straddles a border is findable."""
    chunks: list[str] = []
    current: list[str] = []
    length = 0
    fresh = 0  # sentences in `current` that are not overlap carried from the previous chunk
    for sentence in sentences:
        if current and fresh and length + len(sentence) > size:
            chunks.append(_join(current))
            carried: list[str] = []
            carried_len = 0
            for prev in reversed(current):
                if carried_len + len(prev) > overlap or len(carried) + 1 >= len(current):
                    break
                carried.insert(0, prev)
                carried_len += len(prev)
            current, length, fresh = carried, carried_len, 0
        current.append(sentence)
        length += len(sentence)
        fresh += 1
    if current and fresh:
        chunks.append(_join(current))
    return chunks


def _join(sentences: list[str]) -> str:
    """Join sentences: no space between CJK sentences, one space after Latin ones; list items keep
    their own line."""
    out = ""
    for sentence in sentences:
        if not out:
            out = sentence
        elif sentence.startswith(("- ", "* ", "+ ", "|")) or re.match(r"\d+[.)] ", sentence):
            out += "\n" + sentence
        elif out[-1] in "。！？；”’」』）":
            out += sentence
        else:
            out += " " + sentence
    return out


def chunk_document(doc: Document, size: int = 360, overlap: int = 60) -> list[Chunk]:
    """Split on headings first, then pack whole sentences up to `size` characters with overlap."""
    chunks: list[Chunk] = []
    if doc.lang == "en":
        size, overlap = int(size * ENGLISH_CHUNK_FACTOR), int(overlap * ENGLISH_CHUNK_FACTOR)
    for section, (heading_path, text) in enumerate(sections(doc.body)):
        for piece in _pack(split_sentences(text), size, overlap):
            position = len(chunks)
            digest = hashlib.sha1(f"{'/'.join(heading_path)}\n{piece}".encode()).hexdigest()[:10]
            chunks.append(
                Chunk(
                    chunk_id=f"{doc.id}#{position:04d}-{digest}",
                    doc_id=doc.id,
                    position=position,
                    heading_path=heading_path,
                    text=piece,
                    title=doc.title,
                    kind=doc.kind,
                    topic=doc.topic,
                    models=doc.models,
                    company=doc.company,
                    company_zh=doc.company_zh,
                    aliases=doc.aliases,
                    lang=doc.lang,
                    source=doc.source,
                    section=section,
                    translation_of=doc.translation_of,
                )
            )
    return chunks


def chunking_signature(size: int, overlap: int) -> str:
    """Identifies how a document was chunked; a change re-chunks every document on the next ingest."""
    return f"v{CHUNKER_VERSION}-{size}-{overlap}"
