"""The ``openai`` backend: any OpenAI-compatible server (vLLM, Ollama, llama.cpp server, a hosted API)
through ``langchain_openai.ChatOpenAI``. No request is made when the model is built."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from assistant.llm.errors import LLMUnavailable

if TYPE_CHECKING:
    from langchain_openai import ChatOpenAI


def _secret(value: Any) -> str:
    if value is None:
        return ""
    getter = getattr(value, "get_secret_value", None)
    return str(getter() if getter else value)


def make_openai_chat(settings: Any, max_tokens: int, temperature: float) -> ChatOpenAI:
    """``ChatOpenAI`` (streaming) against ``settings.openai_base_url`` / ``openai_model``."""
    base_url = str(getattr(settings, "openai_base_url", "") or "").strip()
    model = str(getattr(settings, "openai_model", "") or "").strip()
    missing = [
        env
        for env, value in (("YUNYING_OPENAI_BASE_URL", base_url), ("YUNYING_OPENAI_MODEL", model))
        if not value
    ]
    if missing:
        raise LLMUnavailable(f"llm=openai needs {' and '.join(missing)} (an OpenAI-compatible server)")
    from langchain_openai import ChatOpenAI

    # Local OpenAI-compatible servers ignore the key, but the client insists on one.
    api_key = _secret(getattr(settings, "openai_api_key", "")) or os.environ.get("OPENAI_API_KEY") or "EMPTY"
    chat: ChatOpenAI = ChatOpenAI(
        base_url=base_url,
        model=model,
        api_key=api_key,
        streaming=True,
        max_tokens=max_tokens,
        temperature=temperature,
    )
    return chat
