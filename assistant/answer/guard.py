"""Injection defences: a question's legitimate part, and document text defused before prompting."""

from __future__ import annotations

import re

from assistant.answer.patterns import pattern
from assistant.core.text import join_sentences, split_sentences

REMOVED = "[已移除一段疑似指令的文字 / removed instruction-like text]"


def is_injection(question: str) -> bool:
    return bool(pattern("injection").search(question))


def strip_injection(question: str) -> str:
    """The legitimate part of a question that also carries an injection attempt ('' when none is left)."""
    if not pattern("injection").search(question):
        return question.strip()
    parts = re.split(r"(?<=[。！？!?；;：:】\]])\s*|(?<=\.)\s+|\n", question)
    kept = [p.strip() for p in parts if p.strip() and not pattern("injection").search(p)]
    return join_sentences(kept).strip(" 【】[]:：")


def defuse_sentence(sentence: str) -> str:
    return REMOVED if pattern("instruction_like").search(sentence) else sentence


def defuse(text: str) -> str:
    """Document text is data: sentences that address the assistant are replaced before prompting, so an
    injected instruction in a user's file never reaches the model as text it might obey."""
    return join_sentences(defuse_sentence(s) for s in split_sentences(text))
