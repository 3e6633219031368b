"""Text helpers shared by every stage: the one language detector, sentence splitting and joining."""

from __future__ import annotations

import re
from collections.abc import Iterable


def detect_lang(text: str) -> str:
    """'zh' when CJK characters make up a real share of the letters, else 'en'.

    One rule for documents and questions alike: a CJK character carries about as much as three Latin
    letters, so "What makes 小红书 different from a shopping app?" is English and "小红书的DAU是多少" is
    Chinese."""
    sample = text[:4000]
    cjk = sum(1 for ch in sample if "\u4e00" <= ch <= "\u9fff")
    latin = sum(1 for ch in sample if ch.isascii() and ch.isalpha())
    return "zh" if cjk > 0 and cjk * 3 >= latin else "en"


def is_chinese(text: str) -> bool:
    return detect_lang(text) == "zh"


# A sentence ends at Chinese end punctuation (with any closing quotes/brackets after it), or at an
# English . ! ? followed by whitespace; a decimal point ("3.5") or "e.g." mid-sentence does not end it.
_SENTENCE_END = re.compile(r"(?<=[。！？；!?])[”’」』）)\]]*|(?<=[.!?;])[\"')\]]*(?=\s)")


_OPENING = "(（[【"
_CLOSING = ")）]】"


def _bracketed(line: str) -> set[int]:
    """Positions inside a closed pair of brackets: "(premium membership, 大会员; tipping; and so on)" is
    one aside, and a semicolon in it ends no sentence. An opening bracket that never closes on the line
    protects nothing, so one stray "(" cannot glue the rest of a line together."""
    inside: set[int] = set()
    stack: list[int] = []
    for i, ch in enumerate(line):
        if ch in _OPENING:
            stack.append(i)
        elif ch in _CLOSING and stack:
            start = stack.pop()
            if not stack:
                inside.update(range(start + 1, i))
    return inside


def split_sentences(text: str) -> list[str]:
    """Sentences and list items of a block of text; line breaks end list items and table rows."""
    sentences: list[str] = []
    for line in text.splitlines():
        line = line.strip()
        if not line:
            continue
        start = 0
        inside = _bracketed(line)
        for match in _SENTENCE_END.finditer(line):
            # the end punctuation is the character just before the match (the match is closing quotes)
            if match.start() - 1 in inside:
                continue
            end = match.end()
            piece = line[start:end].strip()
            if piece:
                sentences.append(piece)
            start = end
        tail = line[start:].strip()
        if tail:
            sentences.append(tail)
    return sentences


def join_sentences(sentences: Iterable[str]) -> str:
    """Sentences back into text: Chinese ones run on, English ones get a space between them."""
    out = ""
    for sentence in sentences:
        sentence = sentence.strip()
        if not sentence:
            continue
        # English sentences end in ASCII punctuation and take a space; Chinese ones end in 。！？ and run on
        if out and not out.endswith("\n") and out[-1].isascii():
            out += " "
        out += sentence
    return out


def without_names(text: str, names: Iterable[str]) -> str:
    """The text with every given name taken out (case-insensitive, longest first), for comparing what
    two texts say rather than whom they name: e5 scores "小红书由毛文超和瞿芳领导" close to any question
    about 小红书 because both name it."""
    out = text
    for name in sorted({n for n in names if n}, key=len, reverse=True):
        out = re.sub(re.escape(name), "", out, flags=re.IGNORECASE)
    return re.sub(r"\s{2,}", " ", out).strip()


_TABLE_ROW = re.compile(r"^\s*\|(.+)\|\s*$")
_TABLE_RULE_ROW = re.compile(r"^\s*\|[\s:\-|]+\|\s*$")


def source_sentences(text: str) -> list[str]:
    """A passage's sentences, with each row of a Markdown table read as a sentence of its own
    ("| 月活用户 | 约6.75亿 | 2024 | 年报 |" -> "月活用户：约6.75亿（2024，年报）。") and the table's
    header and rule rows left out. The cases' key figures stand in such tables, and a row that is not
    prose was never quoted: "Spotify有多少月活用户？" was answered "not stated" beside its own figure."""
    lines = split_sentences(text)
    sentences: list[str] = []
    for i, line in enumerate(lines):
        row = _TABLE_ROW.match(line)
        if not row:
            sentences.append(line)
            continue
        header = i + 1 < len(lines) and bool(_TABLE_RULE_ROW.match(lines[i + 1]))
        if header or _TABLE_RULE_ROW.match(line):
            continue
        cells = [c.strip() for c in row.group(1).split("|") if c.strip()]
        if len(cells) < 2:
            continue
        zh = is_chinese(line)
        label, value, *rest = cells
        more = ("（" + "，".join(rest) + "）" if zh else " (" + "; ".join(rest) + ")") if rest else ""
        sentences.append(f"{label}：{value}{more}。" if zh else f"{label}: {value}{more}.")
    return sentences
