"""The companies the store has cases for, and finding them in a question or a passage by any name:
English, Chinese, front-matter aliases, homophone typos and 某 + last character."""

from __future__ import annotations

import re

from assistant.core.text import detect_lang
from assistant.store.records import StoredChunk
from assistant.store.tokenizer import word_spans


class CompanyNames:
    """The companies the store knows, by every name it records (English, Chinese, aliases).

    A question that names a company ("Which metrics should Pinduoduo's operators watch?") is about that
    company's case even when another case shares more of its words (metrics, operators); the retriever
    uses this to add the named company's own best chunks to the fusion.
    """

    def __init__(self, chunks: list[StoredChunk]) -> None:
        names: dict[str, str] = {}
        self._labels: dict[str, str] = {}
        for chunk in chunks:
            meta = chunk.metadata
            key = str(meta.get("company_key") or "")
            if not key:
                continue
            self._labels.setdefault(
                key, f"{meta.get('company') or key} {meta.get('company_zh') or ''}".strip()
            )
            surface = [meta.get("company"), meta.get("company_zh"), *str(meta.get("aliases", "")).split("|")]
            for name in surface:
                name = str(name or "").strip().lower()
                if len(name) >= 2:
                    names.setdefault(name, key)
        # longest first, so "jd.com" wins over "jd" and "网易云音乐" over a shorter name inside it
        self._names = sorted(names.items(), key=lambda item: -len(item[0]))
        from pypinyin import lazy_pinyin

        self._chinese = [
            (name, key, lazy_pinyin(name))
            for name, key in self._names
            if all("\u4e00" <= char <= "\u9fff" for char in name)
        ]
        self._by_first_sound: dict[str, list[tuple[str, str, list[str]]]] = {}
        for entry in self._chinese:
            self._by_first_sound.setdefault(entry[2][0], []).append(entry)
        self._patterns = {
            name: re.compile(rf"(?<![a-z0-9]){re.escape(name)}(?![a-z0-9])") if name.isascii() else None
            for name, _ in self._names
        }
        # names that are also ordinary English words (Keep, Notion, Slack): the knowledge base itself
        # writes them in lower case as words, so in a question only a capitalised one is the company
        words = " ".join(chunk.text for chunk in chunks if chunk.metadata.get("lang") == "en")
        self._also_words = {
            name
            for name, _ in self._names
            if name.isalpha()
            and name.isascii()
            and len(re.findall(rf"(?<![A-Za-z]){name}(?![A-Za-z])", words)) >= 5
        }

    def label(self, key: str) -> str:
        return self._labels.get(key, key)

    def surface_names(self) -> list[str]:
        """Every name the store records for a company, lower-cased."""
        return [name for name, _ in self._names]

    def names_of(self, keys: set[str]) -> list[str]:
        """Every name recorded for these companies (keys are lower-case English names)."""
        return [name for name, key in self._names if key in keys]

    def in_text(self, text: str, limit: int = 3) -> list[str]:
        """Company keys named in the text, in order of first mention (at most `limit`)."""
        lowered = text.lower()
        english = detect_lang(text) == "en"
        found: dict[str, int] = {}
        taken: list[tuple[int, int]] = []
        for name, key in self._names:
            pattern = self._patterns[name]
            spans = (
                [m.span() for m in pattern.finditer(lowered)]
                if pattern
                else [(m.start(), m.start() + len(name)) for m in re.finditer(re.escape(name), lowered)]
            )
            if name in self._also_words and english:
                spans = [(a, b) for a, b in spans if not text[a:b].islower()]
            for start, end in spans:
                if any(s < end and start < e for s, e in taken):
                    continue  # inside a longer name already matched
                taken.append((start, end))
                found[key] = min(found.get(key, start), start)
        for start, key in self._sound_alikes(text, taken):
            found[key] = min(found.get(key, start), start)
        return sorted(found, key=found.__getitem__)[:limit]

    def _sound_alikes(self, text: str, taken: list[tuple[int, int]]) -> list[tuple[int, str]]:
        """Chinese names written the way people type and talk: a homophone typo that keeps one
        character (京冬 for 京东, 淘包 for 淘宝) and the coy 某 + last character (某东, 某音), when exactly
        one company fits. Spans inside a name already matched are skipped."""
        from pypinyin import lazy_pinyin

        if not self._chinese:
            return []
        sounds = lazy_pinyin(text)  # one syllable per Chinese character, other runs kept whole
        if len(sounds) != len(text):
            sounds = [lazy_pinyin(char)[0] if char.strip() else char for char in text]
        # a homophone inside a longer word is that word, not a typo (之乎 in 之乎者也)
        inside_word = {
            position
            for _, begin, end in word_spans(text)
            if end - begin > 2
            for position in range(begin, end)
        }
        out = []
        for start in range(len(text)):
            if any(s <= start < e for s, e in taken) or not "\u4e00" <= text[start] <= "\u9fff":
                continue
            for name, key, syllables in self._by_first_sound.get(sounds[start], []):
                window = text[start : start + len(name)]
                if len(window) < len(name) or window == name:
                    continue
                homophone = (
                    sounds[start : start + len(name)] == syllables
                    and bool(set(window) & set(name))
                    and start not in inside_word
                )
                if homophone:
                    out.append((start, key))
                    break
            if text[start] == "某" and start + 1 < len(text):
                fitting = {key for name, key, _ in self._chinese if name[-1] == text[start + 1]}
                if len(fitting) == 1:
                    out.append((start, fitting.pop()))
        return out
