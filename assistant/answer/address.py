"""The answer speaks to the asker: when the question says "we", the model's "we" becomes "you"."""

from __future__ import annotations

import re
from functools import cache

from assistant.resources import load_yaml


@cache
def _words(lang: str) -> tuple[re.Pattern[str], dict[str, str]]:
    data = load_yaml("answer/patterns.yaml")
    mapping = data["asker_to_you"][lang]
    names = sorted(mapping, key=len, reverse=True)
    if lang == "en":
        return re.compile(r"\b(" + "|".join(names) + r")\b", re.I), mapping
    return re.compile("|".join(names)), mapping


def asks_as_we(question: str, lang: str) -> bool:
    """The question speaks in the first person plural ("我们是做…的", "should we…")."""
    return bool(_words(lang)[0].search(question))


def address_the_asker(draft: str, question: str, lang: str) -> str:
    """The draft with the asker's "we" turned into "you" (keeping a capital letter); unchanged when
    the question does not speak as "we" (then a "we" in the draft is not the asker's)."""
    if not asks_as_we(question, lang):
        return draft
    found, mapping = _words(lang)

    def swap(match: re.Match[str]) -> str:
        word = match.group(0)
        you = mapping[word.lower()] if lang == "en" else mapping[word]
        return you[:1].upper() + you[1:] if word[:1].isupper() else you

    return found.sub(swap, draft)
