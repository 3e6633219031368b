"""Settings: one pydantic-settings object, read from `YUNYING_*` env vars and an optional `.env` file.

The defaults run fully offline on one laptop: an embedded Chroma store and model folders under
`.yunying/` in the working directory.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

# Set before anything imports huggingface_hub, transformers or gradio: with network access closed, a hub
# lookup hangs for over a minute before failing, and gradio would try to send analytics.
OFFLINE_ENV = {
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "HF_HUB_DISABLE_TELEMETRY": "1",
    "GRADIO_ANALYTICS_ENABLED": "False",
    "ANONYMIZED_TELEMETRY": "False",
    "TOKENIZERS_PARALLELISM": "false",
    "HF_HUB_DISABLE_PROGRESS_BARS": "1",
    "TRANSFORMERS_VERBOSITY": "error",
    "TRANSFORMERS_NO_ADVISORY_WARNINGS": "1",
    "NO_PROXY": "127.0.0.1,localhost",
    "no_proxy": "127.0.0.1,localhost",
}


def apply_offline_env() -> None:
    """Force the offline flags (they must win over anything inherited, or a hub call may hang)."""
    for key, value in OFFLINE_ENV.items():
        os.environ[key] = value


class Settings(BaseSettings):
    """Effective configuration of Yunying. Every field maps to an env var `YUNYING_<FIELD>`."""

    model_config = SettingsConfigDict(
        env_prefix="YUNYING_",
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        populate_by_name=True,
    )

    data_dir: Path = Field(
        default=Path(".yunying"),
        description="Where the Chroma store, the model folders, the ingest manifest and logs live.",
    )
    knowledge_dir: Path = Field(
        default=Path("knowledge"), description="The bundled knowledge base that `yunying ingest` reads."
    )
    chroma_url: str = Field(
        default="",
        description="Empty: an embedded Chroma store under DATA_DIR. Set (http://host:port): a Chroma "
        "server started with `chroma run`.",
    )
    models_dir_override: Path | None = Field(
        default=None,
        alias="YUNYING_MODELS_DIR",
        description="Where model folders are built and cached (default DATA_DIR/models); lets several "
        "stores share one copy of the embedding model.",
    )
    collection_prefix: str = Field(
        default="yunying",
        description="Prefix of the Chroma collection name; the embedding model's name is appended, so "
        "vectors of two models never mix.",
    )
    chunk_size: int = Field(
        default=360, ge=80, le=2000, description="Target chunk length in characters (Chinese-aware)."
    )
    chunk_overlap: int = Field(
        default=60, ge=0, le=500, description="Characters of whole sentences carried over between chunks."
    )
    top_k: int = Field(default=5, ge=1, le=50, description="Hits returned by search by default.")
    candidate_k: int = Field(
        default=30, ge=5, le=500, description="Candidates each retriever contributes before fusion."
    )
    rrf_k: int = Field(default=60, ge=1, description="Reciprocal rank fusion constant.")
    embed_cache: bool = Field(
        default=True,
        description="Keep passage vectors on disk beside the model (by text), so re-ingesting text "
        "already embedded once, into any store, costs no embedding.",
    )
    embed_batch_size: int = Field(default=32, ge=1, le=512, description="Passages embedded per batch.")
    llm: Literal["local", "openai", "none"] = Field(
        default="local",
        description="Answer backend: local (Qwen2.5 1.5B in-process via llama.cpp), openai (any "
        "OpenAI-compatible server), none (extractive answers, no LLM).",
    )
    openai_base_url: str = Field(default="", description="Base URL of the OpenAI-compatible server.")
    openai_model: str = Field(default="", description="Model name on the OpenAI-compatible server.")
    openai_api_key: SecretStr = Field(
        default=SecretStr(""), description="API key for that server (never printed)."
    )
    llm_max_tokens: int = Field(default=400, ge=8, le=4096, description="Most tokens an answer may have.")
    llm_temperature: float = Field(default=0.2, ge=0.0, le=2.0, description="Sampling temperature.")
    llm_threads: int = Field(
        default=0, ge=0, le=256, description="CPU threads for the local model (0: all cores)."
    )
    llm_threads_batch: int = Field(
        default=0,
        ge=0,
        le=256,
        description="CPU threads the local model reads a prompt with (0: as LLM_THREADS).",
    )
    llm_weights: Literal["q4_k_m", "q4_0_mix", "q4_0", "q8_0"] = Field(
        default="q4_k_m",
        description="Weight type of the local model: q4_k_m (as shipped) or a copy converted from it once "
        "under MODELS_DIR (q4_0_mix: Q4_0 + Q8_0, fast prompt kernels; see docs/performance.md).",
    )
    llm_batch: int = Field(
        default=0, ge=0, le=8192, description="llama.cpp's logical batch n_batch (0: its default, 2048)."
    )
    llm_ubatch: int = Field(
        default=0, ge=0, le=8192, description="llama.cpp's physical batch n_ubatch (0: its default, 512)."
    )
    llm_repack: bool = Field(
        default=True, description="Let llama.cpp repack the weights for its fast CPU kernels."
    )
    llm_flash_attn: Literal["auto", "on", "off"] = Field(
        default="auto", description="Flash attention of the local model."
    )
    llm_ctx: int = Field(default=4096, ge=512, le=32768, description="Context window of the local model.")
    gate_min_coverage: float = Field(
        default=0.35,
        ge=0.0,
        le=1.0,
        description="Relevance gate: refuse without calling the LLM when the IDF-weighted share of the "
        "question's words found in the best-matching top passage is below this AND the best dense "
        "similarity is below GATE_MIN_DENSE (calibrated on the golden dev split; see docs/answers.md).",
    )
    gate_min_dense: float = Field(default=0.87, ge=0.0, le=1.0, description="See GATE_MIN_COVERAGE.")
    gate_min_coverage_en: float = Field(
        default=0.35, ge=0.0, le=1.0, description="GATE_MIN_COVERAGE for English questions."
    )
    gate_min_dense_en: float = Field(
        default=0.85,
        ge=0.0,
        le=1.0,
        description="GATE_MIN_DENSE for English questions (calibration: docs/answers.md).",
    )
    answer_max_sources: int = Field(
        default=6, ge=1, le=12, description="Most passages the answer step chooses sentences from."
    )
    answer_context_tokens: int = Field(
        default=450,
        ge=100,
        le=4000,
        description="Token budget of the sentences the prompt carries (prompt processing sets the time "
        "to first token on a CPU).",
    )
    answer_llm_condense: bool = Field(
        default=False,
        description="Also let the chat model rewrite a follow-up into a standalone question for retrieval "
        "(the rule-based merge always runs). Worth it with a capable model; the local 1.5B model turned 3 "
        "of 15 dev follow-ups into the wrong question, and the extra call costs it seconds.",
    )
    max_question_chars: int = Field(
        default=2000,
        ge=10,
        le=100_000,
        description="Longest question `ask` and the chat accept (characters).",
    )
    max_description_chars: int = Field(
        default=8000,
        ge=10,
        le=200_000,
        description="Longest business description `fit` accepts (characters).",
    )
    max_file_mb: float = Field(
        default=20.0,
        gt=0,
        le=2048,
        description="Largest file ingest reads (MB); a bigger file is reported as failed.",
    )
    host: str = Field(
        default="127.0.0.1",
        description="Where `yunying serve` listens. Any address other than loopback requires AUTH or "
        "AUTH_FILE (or `serve --insecure`).",
    )
    port: int = Field(default=7860, ge=1, le=65535, description="Port of `yunying serve`.")
    auth: SecretStr = Field(
        default=SecretStr(""),
        description='Logins for the app, "user:password,user2:password2" (never printed). When set, the '
        "app asks for a login.",
    )
    auth_file: Path | None = Field(
        default=None, description="A file of logins for the app, one user:password per line (# comments)."
    )
    managers: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description='Logins who may see the team\'s onboarding progress in the app, "alice,bob" (names from '
        "AUTH or AUTH_FILE; a name that is no login gives nobody access). Empty: nobody.",
    )
    api_keys: SecretStr = Field(
        default=SecretStr(""),
        description='Keys of the OpenAI-compatible API, "key1,key2" (never printed); clients send '
        '"Authorization: Bearer <key>". Required when `serve` listens off loopback.',
    )
    api_keys_file: Path | None = Field(
        default=None,
        description="A file of API keys, one a line (# comments), beside or instead of API_KEYS.",
    )
    concurrency: int = Field(
        default=8,
        ge=1,
        le=64,
        description="Chat requests the app runs at once with llm none/openai; more wait in Gradio's queue, "
        "which shows their position. The local model always runs one at a time.",
    )
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(
        default="WARNING", description="Log level of the yunying logger (written to DATA_DIR/logs)."
    )

    @field_validator("chroma_url")
    @classmethod
    def _check_url(cls, value: str) -> str:
        value = value.strip()
        if value and not value.startswith(("http://", "https://")):
            raise ValueError(f"CHROMA_URL must start with http:// or https://, got {value!r}")
        return value.rstrip("/")

    @field_validator("managers", mode="before")
    @classmethod
    def _split_names(cls, value: object) -> object:
        """ "a, b" -> ["a", "b"] (blanks dropped); a list is kept as it is."""
        if isinstance(value, str):
            return [name.strip() for name in value.split(",") if name.strip()]
        return value

    @model_validator(mode="after")
    def _check_overlap(self) -> Settings:
        if self.chunk_overlap >= self.chunk_size:
            raise ValueError(
                f"CHUNK_OVERLAP ({self.chunk_overlap}) must be smaller than CHUNK_SIZE ({self.chunk_size})"
            )
        return self

    @property
    def models_dir(self) -> Path:
        return self.models_dir_override or self.data_dir / "models"

    @property
    def chroma_dir(self) -> Path:
        return self.data_dir / "chroma"

    @property
    def logs_dir(self) -> Path:
        return self.data_dir / "logs"

    @property
    def uploads_dir(self) -> Path:
        return self.data_dir / "uploads"

    @property
    def feedback_path(self) -> Path:
        return self.data_dir / "feedback.jsonl"

    @property
    def memos_dir(self) -> Path:
        return self.data_dir / "memos"

    @property
    def eval_report_dir(self) -> Path:
        """The report the app's Eval tab shows (and its re-run button rewrites)."""
        return self.data_dir / "eval" / "latest"

    @property
    def manifest_path(self) -> Path:
        return self.data_dir / "manifest.json"

    @property
    def max_file_bytes(self) -> int:
        return int(self.max_file_mb * 1024 * 1024)

    def secrets(self) -> list[str]:
        """Secret values in effect (API key, passwords), for redaction of messages that might echo them."""
        values = [self.openai_api_key.get_secret_value()]
        for login in self.auth.get_secret_value().split(","):
            values.append(login.partition(":")[2])
        values += [key.strip() for key in self.api_keys.get_secret_value().split(",")]
        return [v for v in values if len(v) >= 4]

    def redact(self, text: str) -> str:
        """`text` with every secret of these settings (and the OpenAI key from the environment) masked."""
        for secret in [*self.secrets(), os.environ.get("OPENAI_API_KEY", "")]:
            if len(secret) >= 4:
                text = text.replace(secret, "**********")
        return text

    def described(self) -> list[tuple[str, str, str]]:
        """(env var, effective value, description) for every field, for `yunying config`."""
        rows = []
        for name, field in type(self).model_fields.items():
            env = field.alias or f"YUNYING_{name.upper()}"
            rows.append((env, str(getattr(self, name)), field.description or ""))
        return rows
