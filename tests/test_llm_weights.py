"""Converting the local model's weights (assistant.llm.weights): a tiny synthetic GGUF with the tensor
kinds of the real Q4_K_M file, converted per recipe, checksummed, cached, and rebuilt when corrupt."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import numpy as np
import pytest

gguf = pytest.importorskip("gguf")

from assistant.llm import LLMUnavailable, weights  # noqa: E402

Q = gguf.GGMLQuantizationType


def _k_blocks(rng: np.random.Generator, n_blocks: int, qtype) -> np.ndarray:
    """Random but valid K-quant blocks: random bits with small finite f16 scales."""
    size = gguf.GGML_QUANT_SIZES[qtype][1]
    raw = rng.integers(0, 256, (n_blocks, size), dtype=np.uint8)
    scale = np.array([0.01], dtype=np.float16).view(np.uint8)
    if qtype == Q.Q4_K:  # d, dmin (f16) first
        raw[:, 0:2] = scale
        raw[:, 2:4] = scale
    else:  # Q6_K: d (f16) last
        raw[:, -2:] = scale
    return raw


def _fake_source(path: Path) -> Path:
    rng = np.random.default_rng(0)
    writer = gguf.GGUFWriter(path, "qwen2")
    writer.add_block_count(1)
    writer.add_file_type(gguf.LlamaFileType.MOSTLY_Q4_K_M)
    writer.add_string("tokenizer.chat_template", "{{ messages }}")
    rows = 4
    writer.add_tensor("token_embd.weight", _k_blocks(rng, rows, Q.Q4_K), raw_dtype=Q.Q4_K)
    writer.add_tensor("blk.0.ffn_up.weight", _k_blocks(rng, rows, Q.Q4_K), raw_dtype=Q.Q4_K)
    writer.add_tensor("blk.0.ffn_down.weight", _k_blocks(rng, rows, Q.Q6_K), raw_dtype=Q.Q6_K)
    writer.add_tensor("blk.0.attn_norm.weight", rng.standard_normal(256).astype(np.float32))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path


@pytest.fixture
def source(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fake joined model in tmp_path/models, served by a monkeypatched assemble_local_model."""
    models = tmp_path / "models"
    models.mkdir()
    path = _fake_source(models / weights.MODEL_FILENAME)
    monkeypatch.setattr(weights, "assemble_local_model", lambda models_dir, shipped=None: path)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    fake = weights.DEFAULT_WEIGHTS.model_copy(update={"sha256": digest})
    monkeypatch.setattr(weights, "DEFAULT_WEIGHTS", fake)
    return path


def _tensors(path: Path) -> dict[str, tuple[object, np.ndarray]]:
    reader = gguf.GGUFReader(path)
    return {t.name: (t.tensor_type, gguf.dequantize(t.data, t.tensor_type)) for t in reader.tensors}


def test_q4_0_mix_converts_k_quants_and_keeps_the_rest(source: Path):
    target = weights.convert_local_model(source.parent, "q4_0_mix")

    assert target.name == "qwen2.5-coder-1.5b-instruct-q4_0_mix.gguf"
    before, after = _tensors(source), _tensors(target)
    assert {name: qtype for name, (qtype, _) in after.items()} == {
        "token_embd.weight": Q.Q4_K,  # looked up row by row: kept
        "blk.0.ffn_up.weight": Q.Q4_0,
        "blk.0.ffn_down.weight": Q.Q8_0,
        "blk.0.attn_norm.weight": Q.F32,
    }
    assert np.array_equal(after["token_embd.weight"][1], before["token_embd.weight"][1])
    assert np.array_equal(after["blk.0.attn_norm.weight"][1], before["blk.0.attn_norm.weight"][1])
    for name, tolerance in (("blk.0.ffn_up.weight", 0.15), ("blk.0.ffn_down.weight", 0.02)):
        old, new = before[name][1], after[name][1]
        assert new.shape == old.shape
        assert np.max(np.abs(new - old)) <= tolerance * np.max(np.abs(old))
    reader = gguf.GGUFReader(target)
    assert reader.fields["general.file_type"].contents() == gguf.LlamaFileType.MOSTLY_Q4_0
    assert reader.fields["tokenizer.chat_template"].contents() == "{{ messages }}"

    marker = json.loads(target.with_name(target.name + weights.VERIFIED_SUFFIX).read_text())
    assert marker["sha256"] == hashlib.sha256(target.read_bytes()).hexdigest()
    assert (marker["weight_type"], marker["source_sha256"]) == ("q4_0_mix", weights.DEFAULT_WEIGHTS.sha256)
    assert sorted(p.name for p in source.parent.iterdir() if p.name.endswith(".tmp")) == []


def test_q8_0_and_q4_k_m(source: Path):
    after = _tensors(weights.convert_local_model(source.parent, "q8_0"))
    assert after["blk.0.ffn_up.weight"][0] == after["blk.0.ffn_down.weight"][0] == Q.Q8_0
    assert weights.convert_local_model(source.parent, "q4_k_m") == source  # the shipped file itself
    with pytest.raises(LLMUnavailable, match="unknown weight type 'q2_k'"):
        weights.convert_local_model(source.parent, "q2_k")


def test_a_cached_conversion_is_reused_and_a_corrupt_one_rebuilt(
    source: Path, monkeypatch: pytest.MonkeyPatch
):
    target = weights.convert_local_model(source.parent, "q4_0_mix")
    good = target.read_bytes()
    real_convert = weights.convert_gguf
    calls = []

    def counting(*args):
        calls.append(args)
        return real_convert(*args)

    monkeypatch.setattr(weights, "convert_gguf", counting)

    assert weights.convert_local_model(source.parent, "q4_0_mix") == target  # marker matches
    os.utime(target, ns=(1, 1))  # touched, same bytes: re-hashed, kept
    assert weights.convert_local_model(source.parent, "q4_0_mix") == target
    assert calls == []

    corrupt = bytearray(good)
    corrupt[-100] ^= 0xFF  # same size, other bytes
    target.write_bytes(bytes(corrupt))
    assert weights.convert_local_model(source.parent, "q4_0_mix").read_bytes() == good
    assert len(calls) == 1

    target.write_bytes(b"truncated")
    assert weights.convert_local_model(source.parent, "q4_0_mix").read_bytes() == good
    target.with_name(target.name + weights.VERIFIED_SUFFIX).unlink()  # no marker: rebuilt
    assert weights.convert_local_model(source.parent, "q4_0_mix").read_bytes() == good
    assert len(calls) == 3


def test_a_conversion_from_another_source_is_rebuilt(source: Path, monkeypatch: pytest.MonkeyPatch):
    target = weights.convert_local_model(source.parent, "q4_0")
    stamp = target.stat().st_mtime_ns
    changed = weights.DEFAULT_WEIGHTS.model_copy(update={"sha256": "0" * 64})  # the shipped model changed
    monkeypatch.setattr(weights, "DEFAULT_WEIGHTS", changed)
    assert weights.convert_local_model(source.parent, "q4_0").stat().st_mtime_ns != stamp
