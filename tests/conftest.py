"""Shared fixtures: the real e5 model (built once, cached under .yunying/models), real Chroma stores in
temporary folders, and one store holding the whole bundled knowledge base for CLI/UI tests."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from assistant.core.settings import Settings, apply_offline_env

REPO = Path(__file__).resolve().parents[1]
KNOWLEDGE = REPO / "knowledge"
MODELS_DIR = Path(os.environ.get("YUNYING_MODELS_DIR") or REPO / ".yunying" / "models")

apply_offline_env()


@pytest.fixture(scope="session")
def models_dir() -> Path:
    return MODELS_DIR


@pytest.fixture(scope="session")
def embedder(models_dir: Path):
    """The real multilingual-e5-small, loaded once per test session."""
    from assistant.store.chroma import E5EmbeddingFunction
    from assistant.store.embedder import E5_MODEL_NAME, build_e5_folder

    folder = build_e5_folder(models_dir / E5_MODEL_NAME)
    function = E5EmbeddingFunction(str(folder))
    function.embed_query(["warm up"])
    return function


@pytest.fixture
def make_settings(tmp_path: Path, models_dir: Path):
    def make(**overrides) -> Settings:
        values = {
            "data_dir": tmp_path / "data",
            "knowledge_dir": tmp_path / "knowledge",
            "models_dir_override": models_dir,
            "chroma_url": "",
        }
        values.update(overrides)
        return Settings(_env_file=None, **values)

    return make


@pytest.fixture(scope="session")
def module_settings(tmp_path_factory, models_dir: Path):
    """Settings over a fresh temporary data dir named after `name`, for module-scoped stores
    (local Chroma, the `none` backend unless overridden)."""

    def make(name: str, **overrides) -> Settings:
        return settings_for(tmp_path_factory.mktemp(name), models_dir, **overrides)

    return make


def settings_for(root: Path, models_dir: Path, **overrides) -> Settings:
    """Settings over `root`/data and `root`/knowledge: local Chroma, the `none` backend unless overridden."""
    values = {
        "data_dir": root / "data",
        "knowledge_dir": root / "knowledge",
        "models_dir_override": models_dir,
        "chroma_url": "",
        "llm": "none",
        **overrides,
    }
    return Settings(_env_file=None, **values)


def cli_env(data_dir: Path, **extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        {
            "YUNYING_DATA_DIR": str(data_dir),
            "YUNYING_KNOWLEDGE_DIR": str(KNOWLEDGE),
            "YUNYING_MODELS_DIR": str(MODELS_DIR),
            "YUNYING_CHROMA_URL": "",
        }
    )
    env.update(extra)
    return env


def run_cli(
    *args: str, data_dir: Path, stdin: str | None = None, timeout: float = 600, **extra: str
) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "assistant.cli", *args],
        cwd=REPO,
        env=cli_env(data_dir, **extra),
        input=stdin,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


@pytest.fixture(scope="session")
def knowledge_store(tmp_path_factory, embedder) -> Path:
    """A data dir holding the whole bundled knowledge base, ingested once through the real CLI."""
    data_dir = tmp_path_factory.mktemp("kb") / "data"
    result = run_cli("ingest", "--json", data_dir=data_dir)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["failed"] == [], report["failed"]
    assert len(report["added"]) >= 10
    return data_dir
