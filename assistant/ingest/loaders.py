"""Loading knowledge files: Markdown with YAML front matter (validated), and users' own files (.md without
front matter, .txt, .pdf, .docx) as `kind: user` documents with metadata derived from the file itself."""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Iterable
from pathlib import Path

import yaml
from pydantic import ValidationError

from assistant.core.schema import Document, FrontMatter, split_front_matter
from assistant.core.text import detect_lang

SUPPORTED_SUFFIXES = (".md", ".markdown", ".txt", ".pdf", ".docx")


class CorpusError(ValueError):
    """A knowledge file that cannot be used; the message names the file and, where known, the field."""


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


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
    header, rest = split_front_matter(raw)
    if header is None:
        return _user_document(path, raw, content_hash, user_id)
    try:
        meta = yaml.safe_load(header)
    except yaml.YAMLError as exc:
        raise CorpusError(f"{path}: front matter is not valid YAML ({exc.__class__.__name__})") from exc
    if not isinstance(meta, dict):
        raise CorpusError(f"{path}: front matter must be a mapping of fields")
    try:
        front = FrontMatter.model_validate(meta)
    except ValidationError as exc:
        raise CorpusError(_format_validation(path, exc)) from exc
    body = rest.strip()
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
