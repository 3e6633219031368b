"""Corpus: load knowledge files, validate their front matter, and cut them into Chinese-aware chunks.

Knowledge documents are Markdown with YAML front matter. Users' own files (.md without front matter,
.txt, .pdf, .docx) become `kind: user` documents with metadata derived from the file itself.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from assistant.core.text import detect_lang
from assistant.core.vocabulary import MODEL_KEYS as MODEL_KEYS  # re-exported: the fit package reads it here
from assistant.core.vocabulary import MODEL_LABELS, ModelKey

Kind = Literal["framework", "case", "user"]
Topic = Literal[
    "overview",
    "core-loop",
    "product",
    "content",
    "community",
    "transaction",
    "service",
    "support-systems",
    "trends",
    "selection",
    "glossary",
]
MODEL_NAMES_ZH = MODEL_LABELS["zh"]  # the core vocabulary's labels; kept under this name for its users
SUPPORTED_SUFFIXES = (".md", ".markdown", ".txt", ".pdf", ".docx")

# English text takes about this many times the characters of the same content in Chinese: an English
# chunk gets that much more room, so twins chunk into passages of similar substance.
ENGLISH_CHUNK_FACTOR = 2.5
# Bump when chunking changes in a way that must re-chunk stored documents.
CHUNKER_VERSION = "4"


class CorpusError(ValueError):
    """A knowledge file that cannot be used; the message names the file and, where known, the field."""


class FrontMatter(BaseModel):
    """The YAML header of a knowledge document. Unknown keys are errors, so typos surface at once."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9._-]{1,120}$")
    title: str = Field(min_length=1)
    kind: Kind
    topic: Topic | None = None
    models: list[ModelKey] = Field(default_factory=list)
    company: str | None = None
    company_zh: str | None = None
    aliases: list[str] = Field(default_factory=list, description="Other names users search for.")
    lang: Literal["zh", "en"] = "zh"
    translation_of: str | None = Field(
        default=None, description="For a translated twin: the id of the document it translates."
    )
    industry: str | None = None
    region: Literal["china", "international"] | None = None
    primary_model: ModelKey | None = None
    facts_as_of: str | None = None

    @field_validator("models")
    @classmethod
    def _unique_models(cls, value: list[str]) -> list[str]:
        if len(set(value)) != len(value):
            raise ValueError("lists a model twice")
        return value

    @field_validator("facts_as_of", mode="before")
    @classmethod
    def _year_as_text(cls, value: object) -> object:
        return str(value) if isinstance(value, int) else value

    @model_validator(mode="after")
    def _kind_rules(self) -> FrontMatter:
        if self.kind == "framework" and self.topic is None:
            raise ValueError("topic: a framework document needs a topic")
        if self.kind == "case":
            if not self.company:
                raise ValueError("company: a case needs its canonical English company name")
            if not self.company_zh:
                raise ValueError("company_zh: a case needs the company's Chinese name")
            if not self.models:
                raise ValueError("models: a case needs at least its primary model")
            if self.primary_model and self.models[0] != self.primary_model:
                raise ValueError(
                    f"models: the primary model ({self.primary_model}) must come first, got {self.models}"
                )
        return self


class Document(BaseModel):
    """One knowledge document, validated and ready to chunk."""

    id: str
    title: str
    kind: Kind
    topic: str | None = None
    models: list[str] = Field(default_factory=list)
    company: str | None = None
    company_zh: str | None = None
    aliases: list[str] = Field(default_factory=list)
    lang: str = "zh"
    translation_of: str | None = None
    industry: str | None = None
    region: str | None = None
    primary_model: str | None = None
    facts_as_of: str | None = None
    source: str = Field(description="Path of the file the document came from.")
    content_hash: str = Field(description="sha256 of the file's bytes.")
    body: str
    encoding: str = Field(default="utf-8", description="How a text file was decoded (utf-8 or gb18030).")


class Chunk(BaseModel):
    """A retrievable piece of a document: whole sentences under one heading path."""

    chunk_id: str
    doc_id: str
    position: int
    heading_path: list[str] = Field(default_factory=list)
    text: str
    title: str
    kind: str
    topic: str | None = None
    models: list[str] = Field(default_factory=list)
    company: str | None = None
    company_zh: str | None = None
    aliases: list[str] = Field(default_factory=list)
    lang: str = "zh"
    source: str = ""
    section: int = Field(default=0, description="Ordinal of the heading section: twins share it.")
    translation_of: str | None = None

    @property
    def heading(self) -> str:
        return " > ".join(self.heading_path)

    @property
    def embed_text(self) -> str:
        """What gets embedded and BM25-indexed: the title, the company's other names and the heading
        give a chunk its context (a Chinese chunk about 钉钉 must also answer to "DingTalk")."""
        names = [n for n in [self.company, self.company_zh, *self.aliases] if n and n not in self.title]
        head = self.title + (f"（{' / '.join(names)}）" if names else "")
        if self.heading_path:
            head += f" > {self.heading}"
        return f"{head}\n{self.text}"


# ---------------------------------------------------------------- loading


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


_FRONT_MATTER = re.compile(r"\A---[ \t]*\r?\n(.*?)\r?\n---[ \t]*(?:\r?\n|\Z)", re.S)


def _format_validation(path: Path, error: ValidationError) -> str:
    parts = []
    for item in error.errors():
        field = ".".join(str(p) for p in item["loc"])
        message = item["msg"].removeprefix("Value error, ")
        if not field:  # a cross-field rule: its message starts with the field it is about
            field, _, message = message.partition(": ")
        if item["type"] == "extra_forbidden":
            message = "unknown field"
        parts.append(f"field '{field}': {message}")
    return f"{path}: " + "; ".join(parts)


def parse_markdown(path: Path, raw: str, content_hash: str, user_id: str) -> Document:
    """Markdown with front matter is validated strictly; without it, it is a user document."""
    match = _FRONT_MATTER.match(raw)
    if not match:
        return _user_document(path, raw, content_hash, user_id)
    try:
        meta = yaml.safe_load(match.group(1))
    except yaml.YAMLError as exc:
        raise CorpusError(f"{path}: front matter is not valid YAML ({exc.__class__.__name__})") from exc
    if not isinstance(meta, dict):
        raise CorpusError(f"{path}: front matter must be a mapping of fields")
    try:
        front = FrontMatter.model_validate(meta)
    except ValidationError as exc:
        raise CorpusError(_format_validation(path, exc)) from exc
    body = raw[match.end() :].strip()
    if not body:
        raise CorpusError(f"{path}: the document has front matter but no body")
    return Document(**front.model_dump(), source=str(path), content_hash=content_hash, body=body)


def _user_document(path: Path, body: str, content_hash: str, user_id: str) -> Document:
    body = body.strip()
    if not body:
        raise CorpusError(f"{path}: no text found in the file")
    heading = re.search(r"^#\s+(.+)$", body, re.M)
    title = heading.group(1).strip() if heading else path.stem
    return Document(
        id=user_id,
        title=title,
        kind="user",
        lang=detect_lang(body),
        source=str(path),
        content_hash=content_hash,
        body=body,
    )


def user_doc_id(path: Path) -> str:
    """Stable id for a file without front matter: its name plus a hash of its absolute path."""
    stem = unicodedata.normalize("NFKC", path.stem).lower()
    slug = re.sub(r"[^a-z0-9]+", "-", stem).strip("-")[:40] or "doc"
    digest = hashlib.sha1(str(path.resolve()).encode("utf-8")).hexdigest()[:10]
    return f"user-{slug}-{digest}"


def _pdf_text(path: Path) -> str:
    """The text layer of a PDF. Encrypted, scanned (image-only), truncated and corrupt files raise a
    CorpusError that says which of these it is; pypdf's own warnings stay off the console."""
    import logging

    from pypdf import PdfReader
    from pypdf.errors import FileNotDecryptedError

    logging.getLogger("pypdf").setLevel(logging.ERROR)
    try:
        reader = PdfReader(str(path))
        if reader.is_encrypted and not reader.decrypt(""):  # an owner-only password still opens
            raise FileNotDecryptedError("a password is needed")
        pages = [page.extract_text() or "" for page in reader.pages]
    except FileNotDecryptedError as exc:
        raise CorpusError(
            f"{path}: the PDF is encrypted with a password; save an unprotected copy and ingest that"
        ) from exc
    except CorpusError:
        raise
    except Exception as exc:  # pypdf raises many types for damaged files (PdfReadError, KeyError, ...)
        raise CorpusError(f"{path}: not a readable PDF (damaged or truncated: {exc})") from exc
    text = "\n\n".join(p.strip() for p in pages if p.strip())
    if not text:
        raise CorpusError(
            f"{path}: the PDF has no text layer (a scan or images only); run it through OCR first"
        )
    return text


def _docx_text(path: Path) -> str:
    """Paragraphs in order; Word headings become Markdown headings so chunks keep their section."""
    import zipfile

    from docx import Document as DocxDocument
    from docx.opc.exceptions import PackageNotFoundError

    try:
        doc = DocxDocument(str(path))
    except (PackageNotFoundError, zipfile.BadZipFile, KeyError, ValueError, OSError) as exc:
        raise CorpusError(f"{path}: not a readable DOCX file ({exc.__class__.__name__})") from exc
    except Exception as exc:  # a damaged package can fail deeper inside python-docx or lxml
        raise CorpusError(f"{path}: not a readable DOCX file ({exc.__class__.__name__})") from exc
    lines: list[str] = []
    for para in doc.paragraphs:
        text = para.text.strip()
        if not text:
            continue
        style = (para.style.name or "").lower() if para.style is not None else ""
        level = re.match(r"heading (\d)", style)
        if style == "title":
            lines.append(f"# {text}")
        elif level:
            lines.append(f"{'#' * min(int(level.group(1)) + 1, 6)} {text}")
        else:
            lines.append(text)
    for table in doc.tables:
        for row in table.rows:
            cells = [c.text.strip() for c in row.cells if c.text.strip()]
            if cells:
                lines.append(" | ".join(cells))
    return "\n\n".join(lines)


def decode_text(data: bytes) -> tuple[str, str]:
    """(text, encoding) of a text file: UTF-8 (with or without BOM), else GB18030, the superset of the
    GBK/GB2312 that Chinese Windows editors save by default. Binary data (NUL bytes) is refused."""
    if b"\x00" in data:
        raise UnicodeError("binary data")
    try:
        return data.decode("utf-8-sig"), "utf-8"
    except UnicodeDecodeError:
        pass
    return data.decode("gb18030"), "gb18030"


def load_document(path: Path, max_bytes: int | None = None) -> Document:
    """Read one file of any supported type into a validated Document; files over `max_bytes` are refused
    before they are read."""
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        raise CorpusError(f"{path}: unsupported file type '{suffix}' (use {', '.join(SUPPORTED_SUFFIXES)})")
    try:
        size = path.stat().st_size
        if max_bytes is not None and size > max_bytes:
            raise CorpusError(
                f"{path}: the file is {size / 1048576:.1f} MB, over the limit of "
                f"{max_bytes / 1048576:.3g} MB (setting YUNYING_MAX_FILE_MB)"
            )
        data = path.read_bytes()
    except OSError as exc:
        raise CorpusError(f"{path}: cannot read the file ({exc.strerror})") from exc
    if not data:
        raise CorpusError(f"{path}: the file is empty")
    content_hash = sha256_bytes(data)
    user_id = user_doc_id(path)
    if suffix == ".pdf":
        return _user_document(path, _pdf_text(path), content_hash, user_id)
    if suffix == ".docx":
        return _user_document(path, _docx_text(path), content_hash, user_id)
    try:
        raw, encoding = decode_text(data)
    except UnicodeError as exc:
        raise CorpusError(f"{path}: not UTF-8 or GB18030 text (binary data?)") from exc
    if suffix == ".txt":
        doc = _user_document(path, raw, content_hash, user_id)
    else:
        doc = parse_markdown(path, raw, content_hash, user_id)
    doc.encoding = encoding
    return doc


def _inside(path: Path, root: Path) -> bool:
    try:
        return path.resolve().is_relative_to(root)
    except (OSError, RuntimeError):  # a symlink loop
        return False


def discover(paths: Iterable[Path]) -> list[Path]:
    """Supported files under the given files/folders, sorted; README.md files are documentation."""
    found: list[Path] = []
    for root in paths:
        if not root.exists():
            raise CorpusError(f"{root}: no such file or folder")
        if root.is_file():
            found.append(root)
            continue
        real_root = root.resolve()
        for path in sorted(root.rglob("*")):
            if path.is_symlink() and not _inside(path, real_root):
                continue  # a link out of the folder (to ~/.ssh, /etc...) is not part of this corpus
            if (
                path.is_file()
                and path.suffix.lower() in SUPPORTED_SUFFIXES
                and path.name.lower() != "readme.md"
                and not any(part.startswith(".") for part in path.relative_to(root).parts)
            ):
                found.append(path)
    return sorted(dict.fromkeys(found))


# ---------------------------------------------------------------- chunking

_HEADING = re.compile(r"^(#{1,6})\s+(.+?)\s*#*\s*$")
# A sentence ends at Chinese end punctuation (with any closing quotes/brackets after it), or at an
# English . ! ? followed by whitespace; a decimal point ("3.5") or "e.g." mid-sentence does not end it.
_SENTENCE_END = re.compile(r"(?<=[。！？；!?])[”’」』）)\]]*|(?<=[.!?;])[\"')\]]*(?=\s)")


def split_sentences(text: str) -> list[str]:
    """Sentences and list items of a block of text; line breaks end list items and table rows."""
    sentences: list[str] = []
    for line in text.splitlines():
        line = line.strip()
        if not line:
            continue
        start = 0
        for match in _SENTENCE_END.finditer(line):
            end = match.end()
            piece = line[start:end].strip()
            if piece:
                sentences.append(piece)
            start = end
        tail = line[start:].strip()
        if tail:
            sentences.append(tail)
    return sentences


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
