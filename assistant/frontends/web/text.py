"""The web UI's static parts: example questions, choice lists, the zh/en strings (resources/ui/strings.yaml),
the CSS and the citation-link script (resources/ui/*.css, *.js), and the theme."""

from __future__ import annotations

from functools import cache
from importlib import resources
from typing import Any, get_args

from assistant.core.schema import Topic
from assistant.core.vocabulary import MODEL_KEYS, MODEL_LABELS
from assistant.resources import load_yaml

# (label, question): a few example questions per model / framework topic
EXAMPLES: list[tuple[str, str]] = [
    ("价值循环 Value loop", "运营的价值循环包括哪些环节？"),
    ("产品驱动 Product", "产品驱动模式的核心指标是什么？"),
    ("产品驱动 Product", "How does Notion grow through its product?"),
    ("内容驱动 Content", "How does a content platform make money?"),
    ("内容驱动 Content", "抖音的内容分发机制是怎样的？"),
    ("社区驱动 Community", "小红书为什么属于社区驱动模式？"),
    ("交易驱动 Transaction", "拼多多是如何获客的？"),
    ("服务驱动 Service", "SaaS 公司如何做客户续约与增购？"),
    ("趋势 Trends", "什么是私域流量？"),
    ("模式选择 Selection", "How should a new business choose its operating model?"),
]
MODEL_NAMES_ZH = MODEL_LABELS["zh"]  # the models' Chinese labels, from the core vocabulary
KIND_CHOICES = [
    ("全部 All", ""),
    ("框架 Framework", "framework"),
    ("案例 Cases", "case"),
    ("我的文档 Mine", "user"),
]
MODEL_CHOICES = [("全部 All", "")] + [(f"{MODEL_NAMES_ZH[key]} {key}", key) for key in MODEL_KEYS]
TOPICS = list(get_args(Topic))  # the front-matter vocabulary, in its order
KIND_ZH = {"framework": "框架", "case": "案例", "user": "我的文档"}

FIT_EXAMPLES = [
    "我们是一款面向大学生的笔记 App，免费增值，靠高级会员订阅赚钱，"
    "团队以工程师为主，主要通过应用商店和自发传播获客。",
    "A podcast network with 12 shows; we earn from sponsorships and a paid membership, and grow through "
    "creators' audiences on social media.",
]

# Events other than /chat and /fit are the page's own plumbing: callable, but not listed as the app's API.
HIDDEN = "undocumented"

# UI strings: key -> (中文, English)
TEXT: dict[str, tuple[str, str]] = {key: (zh, en) for key, (zh, en) in load_yaml("ui/strings.yaml").items()}


def tr(key: str, lang: str) -> str:
    zh, en = TEXT[key]
    return en if lang == "en" else zh


def msg(lang: str, zh: str, en: str) -> str:
    return en if lang == "en" else zh


# status lines the pages say back: key -> (中文, English) with {placeholders} (resources/ui/messages.yaml)
MESSAGES: dict[str, tuple[str, str]] = {
    key: (zh, en) for key, (zh, en) in load_yaml("ui/messages.yaml").items()
}


def say(key: str, lang: str, **values: object) -> str:
    """A status line of messages.yaml in `lang`, its placeholders filled in."""
    zh, en = MESSAGES[key]
    return (en if lang == "en" else zh).format(**values)


@cache
def asset(name: str) -> str:
    """A file of resources/ui/ (CSS, JS) as text, read once."""
    return resources.files("assistant.resources").joinpath("ui", name).read_text(encoding="utf-8")


CSS = asset("app.css")
# [n] links in an answer scroll to their source card (and flash it) instead of navigating.
HEAD = "<script>\n" + asset("citations.js") + "</script>\n"

FONT_STACK = [
    "Noto Sans SC",
    "Noto Sans CJK SC",
    "WenQuanYi Micro Hei",
    "Microsoft YaHei",
    "PingFang SC",
    "ui-sans-serif",
    "system-ui",
    "sans-serif",
]


def theme() -> Any:
    """Soft, with local fonts only (the default theme fetches Google fonts, which an offline app must not)."""
    import gradio as gr

    return gr.themes.Soft(font=FONT_STACK, font_mono=["ui-monospace", "Consolas", "monospace"])


def launch_options() -> dict[str, Any]:
    """What `Blocks.launch` needs besides host and port (css/theme/head live on launch in Gradio 6)."""
    return {"css": CSS, "theme": theme(), "head": HEAD}
