"""Step 5: the grounded prompt. The system prompt is fixed (llama.cpp reuses its cached prefix); the
sources, the earlier questions of a follow-up and the question make up the new tokens."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from langchain_core.messages import HumanMessage, SystemMessage

from assistant.answer.patterns import text
from assistant.answer.state import Citation
from assistant.core.text import join_sentences, split_sentences
from assistant.resources import load_yaml

NOT_COVERED = "NOT_COVERED"


def system_prompt() -> str:
    return load_yaml("answer/prompts.yaml")["system"]


def source_header(source: Citation) -> str:
    about = f"{source.company}: " if source.company and source.company not in source.title else ""
    return about + source.title + (f" › {source.heading}" if source.heading else "")


def build_messages(
    question: str,
    sources: Sequence[Citation],
    lang: str,
    earlier: Sequence[str] = (),
    asks_figure: bool = False,
    advice: bool = False,
) -> list[Any]:
    blocks = "\n\n".join(f"[{s.n}] {source_header(s)}\n{s.quote}" for s in sources)
    parts = [f"<sources>\n{blocks}\n</sources>"]
    if earlier:
        parts.append(f"{text('earlier_questions', lang)}: " + " / ".join(earlier))
    parts.append(f"Question: {question}")
    hints = [text("answer_in", lang)]
    if asks_figure:
        hints.append(text("figure_hint", lang))
    guidance = [s.n for s in sources if s.kind == "framework"]
    if advice and guidance and len(guidance) < len(sources):
        # rule 4 of the system prompt alone left a 1.5B model quoting the case: it is told which source
        # holds the framework's guidance (the others are the cases)
        hints.append(text("advice_hint", lang).format(n=guidance[0]))
    parts.append(("" if lang == "zh" else " ").join(hints))
    return [SystemMessage(system_prompt()), HumanMessage("\n\n".join(parts))]


def prompt_phrases() -> list[str]:
    """Five-word sequences of the rules: an answer sentence that repeats one is a prompt leak (a model
    talked into "revealing its instructions"), never knowledge."""
    phrases = []
    for line in system_prompt().splitlines()[2:]:
        words = line.split()[1:]  # without the rule's number
        phrases += [" ".join(words[i : i + 5]).lower() for i in range(0, max(1, len(words) - 4), 2)]
    return phrases


def scrub_prompt_leak(answer: str) -> str:
    phrases = prompt_phrases()

    def leaks(sentence: str) -> bool:
        return any(p in " ".join(sentence.lower().split()) for p in phrases)

    lines = []
    for line in answer.splitlines():
        sentences = split_sentences(line)
        if any(leaks(s) for s in sentences):
            line = join_sentences(s for s in sentences if not leaks(s))
        lines.append(line)
    return "\n".join(lines)
