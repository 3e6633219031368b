"""The vocabulary every layer shares, defined once: the five operating models' keys and their zh/en
labels. Data, code and JSON use the keys; people see the labels."""

from __future__ import annotations

from typing import Literal

ModelKey = Literal["product", "content", "community", "transaction", "service"]

# The five models in the framework's order (the overview, the path and every ranking use it).
MODEL_KEYS: tuple[str, ...] = ("product", "content", "community", "transaction", "service")

# One label per model and language. The Chinese ones are the short names the documents' prose uses
# ("交易驱动", "服务驱动"); the titles' longer forms ("交易/电商驱动") name the same models.
MODEL_LABELS: dict[str, dict[str, str]] = {
    "zh": {
        "product": "产品驱动",
        "content": "内容驱动",
        "community": "社区驱动",
        "transaction": "交易驱动",
        "service": "服务驱动",
    },
    "en": {
        "product": "product-driven",
        "content": "content-driven",
        "community": "community-driven",
        "transaction": "transaction (e-commerce) driven",
        "service": "service (solution) driven",
    },
}

__all__ = ["MODEL_KEYS", "MODEL_LABELS", "ModelKey"]
