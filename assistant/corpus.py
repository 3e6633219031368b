"""Kept for the old import path (answer/, fit/, onboarding/ and the web UI still use it): the types live in
core/schema.py, loading in ingest/loaders.py, chunking in ingest/chunking.py."""

from assistant.core.schema import Chunk, Document, FrontMatter, Kind, Topic  # noqa: F401
from assistant.core.vocabulary import MODEL_KEYS, MODEL_LABELS, ModelKey  # noqa: F401
from assistant.ingest.chunking import (  # noqa: F401
    CHUNKER_VERSION,
    ENGLISH_CHUNK_FACTOR,
    chunk_document,
    chunking_signature,
    sections,
    split_sentences,
)
from assistant.ingest.loaders import (  # noqa: F401
    SUPPORTED_SUFFIXES,
    CorpusError,
    decode_text,
    discover,
    load_document,
    parse_markdown,
    sha256_bytes,
    user_doc_id,
)

MODEL_NAMES_ZH = MODEL_LABELS["zh"]  # the core vocabulary's labels, under the name its users know
