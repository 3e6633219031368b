"""``make_chat_model``: the chat model the settings ask for."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from langchain_core.language_models.chat_models import BaseChatModel

from assistant.llm.errors import LLMUnavailable

LLM_BACKENDS = ("local", "openai", "none")


def make_chat_model(settings: Any) -> BaseChatModel | None:
    """The chat model the settings ask for: ``llm`` = ``"local"`` | ``"openai"`` | ``"none"``.

    Reads its fields with ``getattr`` and defaults, so any settings-like object works.
    ``"none"`` -> None (retrieval only). ``"openai"`` -> ``ChatOpenAI`` (streaming) against
    ``openai_base_url``; no request is made here. ``"local"`` -> joins/verifies (and, for another
    ``llm_weights`` than q4_k_m, converts once) the weights under ``models_dir`` (fast once done) and
    returns a :class:`~assistant.llm.local.LocalChatModel`, whose llama.cpp server loads on first use.
    Raises :class:`LLMUnavailable` with the reason when the backend cannot be used.
    """
    backend = str(getattr(settings, "llm", "local") or "local").strip().lower()
    max_tokens = int(getattr(settings, "llm_max_tokens", 400))
    temperature = float(getattr(settings, "llm_temperature", 0.2))
    if backend == "none":
        return None
    if backend == "openai":
        from assistant.llm.openai import make_openai_chat

        return make_openai_chat(settings, max_tokens, temperature)
    if backend == "local":
        from assistant.llm.local import LocalChatModel, _default_threads
        from assistant.llm.weights import local_model_file

        models_dir = getattr(settings, "models_dir", None)
        if models_dir is None:
            raise LLMUnavailable("llm=local needs a models_dir to assemble the model file in")
        path = local_model_file(Path(models_dir), str(getattr(settings, "llm_weights", "q4_k_m")))
        threads = int(getattr(settings, "llm_threads", 0) or 0) or _default_threads()
        threads_batch = int(getattr(settings, "llm_threads_batch", 0) or 0) or None
        return LocalChatModel(
            model_path=str(path),
            n_ctx=int(getattr(settings, "llm_ctx", 4096)),
            n_threads=threads,
            n_threads_batch=threads_batch,
            n_batch=getattr(settings, "llm_batch", None) or None,
            n_ubatch=getattr(settings, "llm_ubatch", None) or None,
            repack=bool(getattr(settings, "llm_repack", True)),
            flash_attn=str(getattr(settings, "llm_flash_attn", "auto")),
            max_tokens=max_tokens,
            temperature=temperature,
        )
    raise LLMUnavailable(f"unknown llm backend {backend!r}; choose one of {', '.join(LLM_BACKENDS)}")
