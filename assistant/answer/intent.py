"""What a question asks for, read by e5 from prototype phrasings (resources/answer/intents.yaml).

Two readings change the answer. A question asking for one specific figure (a price, a rate, a count)
is "not stated" unless the checked answer states a figure of that kind: "瑞幸的生椰拿铁一杯卖几块钱？"
answered with "首日销量超过500万杯" has a figure, but not a price. A question asking for a forecast
(a share price, a market, personal investment advice) is refused whatever company it names: the
knowledge base explains how businesses operate, it does not predict them. The answer step's regular
expression (patterns.yaml `asks_figure`) still catches the usual figure wordings; e5 catches the rest.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from functools import cached_property
from typing import Any

import numpy as np

from assistant.answer.gate import covered_share, word_weights
from assistant.answer.grounding import CITATION, figures_with_context
from assistant.answer.patterns import pattern
from assistant.answer.state import FIGURE_KINDS, FigureKind, Intent
from assistant.core.text import split_sentences
from assistant.resources import load_yaml

Embed = Callable[[Sequence[str]], Sequence[Any]]


def asked_years(text: str) -> set[str]:
    """The calendar years a text names ("2023", "2023年", "FY2023")."""
    return set(_YEAR_IN_TEXT.findall(text))


# a year stands alone, not inside a longer number (a 12023 or 2023.5 is no year)
_YEAR_IN_TEXT = re.compile(r"(?<![\d.])((?:19|20)\d\d)(?![\d.]\d)")


class QuestionIntents:
    """Reads a question's intent; the prototypes are embedded once, on first use."""

    def __init__(self, embed_query: Embed, table: dict[str, Any] | None = None) -> None:
        self.embed_query = embed_query
        self.table = table or load_yaml("answer/intents.yaml")
        self.top = int(self.table["top"])
        self.floor = float(self.table["floor"])
        self.margins = {str(k): float(v) for k, v in self.table["margin"].items()}
        self.units = {kind: re.compile(p, re.I) for kind, p in self.table["units"].items()}
        self.about_share = float(self.table["about_share"])

    @cached_property
    def _prototypes(self) -> dict[str, np.ndarray]:
        """Each intent's prototype vectors (one row per phrasing)."""
        return {
            intent: np.asarray(self.embed_query([str(p) for p in phrasings]), dtype=np.float32)
            for intent, phrasings in self.table["intents"].items()
        }

    def read(self, question: str) -> Intent:
        vector = np.asarray(self.embed_query([question])[0], dtype=np.float32)
        scores: dict[str, float] = {}
        for intent, vectors in self._prototypes.items():
            nearest = np.sort(vectors @ vector)[-self.top :]
            scores[intent] = round(float(nearest.mean()), 4)
        best = max((k for k in scores if k != "other"), key=scores.__getitem__)
        margin = self.margins["forecast" if best == "forecast" else "figure"]
        won = scores[best] >= self.floor and scores[best] - scores["other"] >= margin
        figure_kind = max(FIGURE_KINDS, key=scores.__getitem__)
        # the usual wordings count unless e5 puts the question nearer "other" than any figure by the
        # margin: "几个方面" and "只盯着GMV考核" match the pattern and ask for no figure
        worded = bool(pattern("asks_figure").search(question)) and (
            scores[figure_kind] - scores["other"] >= self.margins["worded"]
        )
        return Intent(
            kind=best if won else "other", figure_kind=figure_kind, worded_as_figure=worded, scores=scores
        )

    def states_figure(
        self, answer: str, question: str, kind: FigureKind, about: dict[str, float] | None = None
    ) -> bool:
        """Whether an answer states a figure of the kind asked (not a year, not one from the question):
        money needs a currency next to it, a rate a percent sign; a count is any other figure. With
        `about` (the question's own words and their weights), only a figure in a sentence holding at
        least `about_share` of them counts: a company's valuation is money, but it does not say what
        one seat of its plan costs. A question naming a year ("GMV in 2025") is answered only by a
        figure in a sentence naming that year: the same metric for another year is not what was asked."""
        money, rate = self.units["figure_money"], self.units["figure_rate"]
        years = asked_years(question)
        for sentence in split_sentences(CITATION.sub("", answer)):
            if about and covered_share(about, sentence.lower()) < self.about_share:
                continue
            if years and not years & asked_years(sentence):
                continue
            found = figures_with_context(sentence, question)
            if kind == "figure_count":
                if any(not money.search(near) and not rate.search(near) for _, near in found):
                    return True
            elif any(self.units[kind].search(near) for _, near in found):
                return True
        return False

    def figure_words(
        self, question: str, idf: dict[str, float], max_idf: float, names: str
    ) -> dict[str, float]:
        """What a figure question is about: its weighted words without the companies' names and the
        asking words themselves ("多少钱", "how many"), which an answer never repeats."""
        asking = pattern("asks_figure")
        return {
            t: w
            for t, w in word_weights(question, idf, max_idf, leave_out=names).items()
            if not asking.search(t)
        }
