"""Step 3: the relevance gate, and the two questions it answers before any text is streamed: is the
knowledge base about this at all, and is the question about a company it has no case for?"""

from __future__ import annotations

import difflib
import re
from collections.abc import Sequence

from pydantic import BaseModel

from assistant.answer.patterns import pattern
from assistant.core.schema import Hit
from assistant.core.text import split_sentences
from assistant.resources import load_yaml
from assistant.store.tokenizer import parts_of_speech, tokenize, word_frequency


class GateThresholds(BaseModel):
    """Refuse when both the best passage's word coverage and its dense similarity are below these.
    English questions over a mostly Chinese store score lower on both, so they get their own pair
    (calibration: docs/answers.md)."""

    min_coverage_zh: float = 0.35
    min_dense_zh: float = 0.87
    min_coverage_en: float = 0.35
    min_dense_en: float = 0.85
    # after sentence selection: the best chosen sentence's cosine similarity to the question (e5). On
    # the dev split every answerable Chinese question scored >= 0.876 and English >= 0.830
    min_sentence_zh: float = 0.87
    min_sentence_en: float = 0.83
    # a name the knowledge base uses this rarely (BM25 IDF; about ten passages or fewer) is mentioned in
    # passing, not a topic of its own: Temu 5.5, Alipay 5.7 against SaaS 3.5, WeChat 3.4, Notion 3.9
    min_mention_idf: float = 5.0

    def min_sentence(self, lang: str) -> float:
        return self.min_sentence_en if lang == "en" else self.min_sentence_zh

    def min_coverage(self, lang: str) -> float:
        return self.min_coverage_en if lang == "en" else self.min_coverage_zh


def query_coverage(query: str, hits: Sequence[Hit], idf: dict[str, float], max_idf: float) -> float:
    """IDF-weighted share of the query's words that occur in the passages: an out-of-scope question
    (weather, recipes, code) has rare words that the knowledge base simply does not contain."""
    weights = word_weights(query, idf, max_idf)
    text = " ".join(f"{h.title} {h.company or ''} {h.company_zh or ''} {h.text}" for h in hits).lower()
    return covered_share(weights, text)


def word_weights(query: str, idf: dict[str, float], max_idf: float, leave_out: str = "") -> dict[str, float]:
    """The query's content words with their IDF (a word the index never saw gets the highest), without
    the words of `leave_out` (e.g. the names of the company every passage is about)."""
    tokens = dict.fromkeys(t for t in tokenize(query) if len(t) > 1 or not t.isascii())
    return {t: idf.get(t, max_idf) for t in tokens if t not in leave_out}


def covered_share(weights: dict[str, float], text: str, whole_words: bool = False) -> float:
    """IDF-weighted share of the weighted words that occur in the (lower-cased) text. With
    `whole_words`, a Latin word counts only at a word start ("us" is not in "business"; "launch" is in
    "launched")."""

    def occurs(word: str) -> bool:
        if whole_words and word.isascii():
            return re.search(rf"\b{re.escape(word)}", text) is not None
        return word in text

    total = sum(weights.values())
    return sum(w for t, w in weights.items() if occurs(t)) / total if total else 0.0


def gate_scores(query: str, hits: Sequence[Hit], idf: dict[str, float], max_idf: float) -> dict[str, float]:
    top = list(hits[:5])
    if not top:
        return {"coverage": 0.0, "dense": 0.0}
    # per passage, not over their union: an answer lives in one passage, while an off-topic question's
    # words ("明天", "上海", "下雨") scatter over unrelated ones
    coverage = max(query_coverage(query, [hit], idf, max_idf) for hit in top)
    dense = max((h.dense_score or 0.0) for h in top)
    return {"coverage": round(coverage, 3), "dense": round(dense, 3)}


def should_refuse(scores: dict[str, float], lang: str, thresholds: GateThresholds) -> bool:
    min_coverage = thresholds.min_coverage(lang)
    min_dense = thresholds.min_dense_en if lang == "en" else thresholds.min_dense_zh
    return scores["coverage"] < min_coverage and scores["dense"] < min_dense


# a capitalised brand-like word (Temu, Canva) that does not open a sentence; acronyms (B2B, GMV) are not
_LATIN_NAME = re.compile(r"(?<![.?!。？！\s]\s)(?<!^)(?<![A-Za-z])([A-Z][a-z]{2,}[A-Za-z0-9]*)")
# a clause of Chinese text: from the start or after punctuation, up to the next punctuation
_CLAUSE = re.compile(r"(?:^|[，。？！；、,.?!;\s])([\u4e00-\u9fff][^，。？！；、,.?!;\s]*)")


def subject_candidates(question: str) -> list[str]:
    """Names the question may be about: in English a capitalised word that does not start a sentence
    and does not follow a preposition of place ("How does Temu …", not "… orders to Germany"); in
    Chinese a clause's opening words up to a subject particle that jieba's dictionary does not know
    (喜茶 in "喜茶的运营模式…"; not 应该 or 理想)."""
    place = pattern("place_preposition")
    candidates = [
        m.group(1) for m in _LATIN_NAME.finditer(question) if not place.search(question[: m.start()])
    ]
    particles = tuple(load_yaml("answer/patterns.yaml")["subject_particles"])
    for clause in _CLAUSE.finditer(question):
        # the clause's opening words up to the first subject particle: 蜜雪冰城 in 蜜雪冰城是怎么…
        head = re.match(
            rf"([\u4e00-\u9fff]{{2,8}}?)(?:{'|'.join(map(re.escape, particles))})", clause.group(1)
        )
        rare = head and not head.group(1).startswith(particles) and word_frequency(head.group(1)) < 100
        if rare and _could_be_name(head.group(1)):
            candidates.append(head.group(1))
    return candidates


def _could_be_name(words: str) -> bool:
    """Whether a clause's opening words can be a name: none of jieba's words in it is a pronoun, adverb,
    conjunction, preposition, particle or set phrase (patterns.yaml `not_a_name`). Unknown to the
    dictionary, "而不是变成…" gave 而不, "我们做的是…" 我们做 and "最怕的是…" 最怕, and each was answered as
    a company without a case ("知识库里没有而不的案例")."""
    flags = tuple(load_yaml("answer/patterns.yaml")["not_a_name"])
    return not any(flag.startswith(flags) for _, flag in parts_of_speech(words))


def _in_vocabulary(name: str, idf: dict[str, float]) -> bool:
    lowered = name.lower()
    return lowered in idf or any(t in idf for t in tokenize(lowered) if len(t) >= 2 and t != lowered)


def _misspelt_known(name: str, known_names: Sequence[str]) -> bool:
    known = [n for n in known_names if len(n) >= 2]
    return bool(difflib.get_close_matches(name.lower(), known, n=1, cutoff=0.75))


def unknown_company(
    question: str, known_names: Sequence[str], idf: dict[str, float], named: Sequence[str]
) -> str:
    """A name the question is about that the store has no case for ('' when there is none): a
    subject candidate that is a word the knowledge base never uses and is not a misspelling of a
    company the store knows ("Xiaohongsu")."""
    if named:  # the question names a company the store knows: it is about that one
        return ""
    for name in subject_candidates(question):
        if not _in_vocabulary(name, idf) and not _misspelt_known(name, known_names):
            return name
    return ""


def uncovered_mention(
    question: str,
    known_names: Sequence[str],
    idf: dict[str, float],
    max_idf: float,
    named: Sequence[str],
    hits: Sequence[Hit],
    min_coverage: float,
    min_idf: float,
) -> str:
    """A name the question is about that the knowledge base mentions only in passing (Temu, in the
    Pinduoduo case) when the passages' sentences about it do not hold what the question asks ('' when
    they do, or when there is no such name). The gate's coverage is over whole passages, which a
    question about Temu's shipping fees passes on Pinduoduo's fees; here only the sentences naming the
    company, with their neighbours, count, and the name's own words are left out."""
    if named:
        return ""
    for name in subject_candidates(question):
        if idf.get(name.lower(), 0.0) < min_idf or _misspelt_known(name, known_names):
            continue  # a name the knowledge base never uses, or one it uses as a topic of its own
        weights = word_weights(question, idf, max_idf, leave_out=name.lower())
        if not weights:  # "Temu是什么？": the question is about the name itself
            continue
        about = " ".join(mentioning_sentences(name, hits)).lower()
        # no passage names it: a phrase of the question ("私域流量运营应该"), not a name
        if about and covered_share(weights, about, whole_words=True) < min_coverage:
            return name
    return ""


def mentioning_sentences(name: str, hits: Sequence[Hit], neighbours: int = 1) -> list[str]:
    """The passages' sentences naming `name`, each with its neighbours (the next sentence often goes
    on with "it")."""
    lowered, kept = name.lower(), []
    for hit in hits:
        sentences = split_sentences(hit.text)
        for i, sentence in enumerate(sentences):
            if lowered in sentence.lower():
                kept += sentences[max(0, i - neighbours) : i + neighbours + 1]
    return list(dict.fromkeys(kept))
