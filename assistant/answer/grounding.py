"""Step 7: every answer sentence is checked against the sources it cites, by meaning (e5, across
languages) and by words, with figures and company names held to what the source states.

A sentence no source supports is not part of the answer: it is listed in `unsupported`, and the
answer says how many were left out. Citations move to the source that supports a sentence best.
Thresholds were calibrated on evals/grounding/ (pairs.yaml, llm_labels.yaml; see docs/answers.md)."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
from pydantic import BaseModel

from assistant.answer.form import misattributed_view, misglossed, misquoted
from assistant.answer.patterns import raw_pattern
from assistant.answer.state import Citation
from assistant.core.text import detect_lang, is_chinese, join_sentences, source_sentences, split_sentences
from assistant.store.tokenizer import tokenize

CITATION = re.compile(r"\[(\d{1,2})\]")
_FIGURE = re.compile(r"\d+(?:[.,]\d+)*")
_LIST_PREFIX = re.compile(r"^\s*(?:[-*•]|\d{1,2}[.)、](?!\d)|[（(]?\d{1,2}[）)])\s*")
# a numbered list written inline ("容易踩以下坑：1. …；2. …"): each item goes on its own line
_INLINE_ITEM = re.compile(r"(?<=[：:；;。！？!?])\s*(?=(?:\d{1,2}[.、](?!\d)|[（(]\d{1,2}[）)])\s*\S)")
_NUMBERED = re.compile(r"^(\s*[（(]?)(\d{1,2})(?=[.)、）])")
_NAME = re.compile(r"\b[A-Z][A-Za-z0-9&'.-]{2,}")

Embed = Callable[[Sequence[str]], Sequence[np.ndarray]]


class GroundingThresholds(BaseModel):
    """A sentence is supported by a source when its meaning is close to one of the source's sentences
    (cosine of e5 vectors) or most of its words are in the source, and, either way, every figure and
    company name it states is in the source."""

    # chosen on the dev halves of evals/grounding/pairs.yaml and of the local model's labelled real
    # drafts, llm_labels.yaml (evals/calibrate_grounding.py; table in docs/answers.md)
    semantic: float = 0.935
    lexical: float = 0.8
    # a sentence sharing some exact words may still paraphrase a source closely
    semantic_with_some_words: float = 0.89
    some_words: float = 0.4
    duplicate: float = 0.96  # a sentence this close to one already kept repeats it


def lexical_support(sentence: str, source_text: str) -> float:
    """Share of the sentence's content words that occur in the source."""
    tokens = {t for t in tokenize(CITATION.sub("", sentence)) if len(t) > 1 or not t.isascii()}
    if not tokens:
        return 1.0
    lowered = source_text.lower()
    return sum(1 for t in tokens if t in lowered) / len(tokens)


_UNITS = r"%|％|万|亿|千|百|倍|元|美元|个|家|人|年|million|billion|thousand|percent"
_FIGURE_WITH_UNIT = re.compile(rf"(\d+(?:[.,]\d+)*)\s*(?:{_UNITS})", re.I)
_UNIT_AFTER = re.compile(rf"(?<![\d.,])(\d+(?:[.,]\d+)*)\s*({_UNITS})", re.I)  # the unit captured too


def unit_missing(sentence: str, pool: str) -> str:
    """A figure the sentence gives with a unit that the source gives that number only with another unit:
    "大会员一个月12元" over a source whose only 12 is "第12个月". The number alone is in the source, so
    the number check passes; the unit says what the number is."""
    stated: dict[str, set[str]] = {}
    for number, unit in _UNIT_AFTER.findall(pool):
        stated.setdefault(number.replace(",", ""), set()).add(_unit_kind(unit))
    for number, unit in _UNIT_AFTER.findall(sentence):
        units = stated.get(number.replace(",", ""))
        if units and _unit_kind(unit) not in units:
            return f"{number}{unit}"
    return ""


def year_missing(sentence: str, pool: str) -> str:
    """A figure the sentence ties to a year that the source gives only for another year: "快手2021年的
    全年总收入是约1,135亿元" over a source whose row reads "全年总收入 | 约1,135亿元 | 2023". The figure
    and the year are each somewhere in the source, so the number check passes; a line of the source
    (a paragraph or a table row) must hold both."""
    years = {y for y in numbers(sentence) if _YEAR.match(y)}
    stated = {f for f in figures(sentence) if not _YEAR.match(f)}
    if not years or not stated:
        return ""
    lines = [numbers(line) for line in pool.splitlines()]
    for figure in stated:
        if not any(figure in found and years & found for found in lines):
            return f"{figure} in {'/'.join(sorted(years))}"
    return ""


def _unit_kind(unit: str) -> str:
    """Units that name the same kind of figure: a count (个, 家, 人), a percentage (%, ％, percent)."""
    unit = unit.lower()
    return "count" if unit in ("个", "家", "人") else "%" if unit in ("％", "percent") else unit


def numbers(text: str) -> set[str]:
    """Every number a text contains, as a whole token, without thousands separators ("1,200" = "1200")."""
    return {m.replace(",", "") for m in _FIGURE.findall(text)}


def figures(text: str) -> set[str]:
    """The figures a text states: numbers of two or more digits, and any number with a unit ("4万亿",
    "3 million"). A lone single digit is left out because a Chinese source writes it as a word (三种)."""
    found = {m.replace(",", "") for m in _FIGURE.findall(text) if len(m.replace(",", "")) >= 2}
    return found | {m.replace(",", "") for m in _FIGURE_WITH_UNIT.findall(text)}


_YEAR = re.compile(r"^(19|20)\d\d$")


def stated_figures(text: str, question: str = "") -> set[str]:
    """The figures an answer states that are not years and not repeated from the question: what a
    question asking "how much / how many" is answered with."""
    asked = figures(question)
    return {f for f in figures(CITATION.sub("", text)) if not _YEAR.match(f) and f not in asked}


def figures_with_context(text: str, question: str = "", reach: int = 4) -> list[tuple[str, str]]:
    """Each figure `stated_figures` counts, with the few characters around it that carry its unit
    ("$10", "19元", "30%", "RMB 1,184.4 billion")."""
    stated = stated_figures(text, question)
    found = []
    for match in _FIGURE.finditer(text):
        figure = match.group().replace(",", "")
        if figure in stated:
            found.append((figure, text[max(0, match.start() - reach) : match.end() + reach]))
    return found


@dataclass
class Verdict:
    sentence: str
    supported_by: list[int] = field(default_factory=list)
    semantic: float = 0.0
    lexical: float = 0.0
    reason: str = ""


class GroundedText(BaseModel):
    text: str
    cited: list[int]
    unsupported: list[str]


class GroundingChecker:
    """Checks answer text against numbered sources. `embed_query` / `embed_passages` are e5's two
    sides; `companies_in` names the companies a text mentions (the store's own name list)."""

    def __init__(
        self,
        embed_query: Embed,
        embed_passages: Embed,
        companies_in: Callable[[str], list[str]],
        thresholds: GroundingThresholds | None = None,
    ) -> None:
        self.embed_query = embed_query
        self.embed_passages = embed_passages
        self.companies_in = companies_in
        self.thresholds = thresholds or GroundingThresholds()

    # -- scores

    def semantic_support(self, sentences: Sequence[str], source_texts: Sequence[str]) -> np.ndarray:
        """[sentence, source] = the best cosine between the sentence and any sentence of the source."""
        if not sentences or not source_texts:
            return np.zeros((len(sentences), len(source_texts)), dtype=np.float32)
        query = np.asarray(self.embed_query([CITATION.sub("", s) for s in sentences]), dtype=np.float32)
        result = np.zeros((len(sentences), len(source_texts)), dtype=np.float32)
        for j, text in enumerate(source_texts):
            pieces = [s for s in split_sentences(text) if len(s) >= 4] or [text]
            vectors = np.asarray(self.embed_passages(pieces), dtype=np.float32)
            result[:, j] = (query @ vectors.T).max(axis=1)
        return result

    def specifics_missing(self, sentence: str, source: Citation, question: str = "") -> str:
        """What the sentence states that the source does not: a figure, a company, a name asked about."""
        pool = f"{source.title} {source.company or ''} {readable_text(source)}".lower()
        stated = numbers(pool)
        for figure in figures(sentence):
            if figure not in stated:  # a whole number of the source: "4" is not in "2024"
                return f"figure {figure}"
        wrong_unit = unit_missing(sentence, pool)
        if wrong_unit:
            return f"figure {wrong_unit}"
        wrong_year = year_missing(sentence, readable_text(source).lower())
        if wrong_year:
            return f"figure {wrong_year}"
        allowed = {
            (source.company or "").lower(),
            *self.companies_in(f"{source.title} {readable_text(source)}"),
        }
        for company in self.companies_in(sentence):
            if company not in allowed:
                return f"company {company}"
        asked = {w.lower() for w in _NAME.findall(question)}
        for name in _NAME.findall(sentence):
            if name.lower() in asked and name.lower() not in pool:
                return f"name {name}"
        speaker = misattributed_view(sentence, pool)
        if speaker:
            return f"speaker {speaker}"
        gloss = misglossed(sentence, pool)
        if gloss:
            return f"gloss {gloss}"
        quoted = misquoted(sentence, f"{pool} {question.lower()}")
        return f"quoted {quoted}" if quoted else ""

    def supports(self, semantic: float, lexical: float) -> bool:
        t = self.thresholds
        return (
            semantic >= t.semantic
            or lexical >= t.lexical
            or (semantic >= t.semantic_with_some_words and lexical >= t.some_words)
        )

    def semantic_rows(self, sentences: Sequence[str], sources: Sequence[Citation]) -> np.ndarray:
        """Like `semantic_support`, reading a source's twin section only for a sentence in the other
        language (an English sentence over a Chinese passage), so same-language checks stay cheap."""
        result = np.zeros((len(sentences), len(sources)), dtype=np.float32)
        if not sentences or not sources:
            return result
        query = np.asarray(self.embed_query([CITATION.sub("", s) for s in sentences]), dtype=np.float32)
        langs = [detect_lang(s) for s in sentences]
        for j, source in enumerate(sources):
            own = [s for s in source_sentences(source.text) if len(s) >= 4] or [source.text]
            best = (query @ np.asarray(self.embed_passages(own), dtype=np.float32).T).max(axis=1)
            crossing = [i for i, lang in enumerate(langs) if lang != source.lang]
            if source.twin_text and crossing:
                twin = [s for s in source_sentences(source.twin_text) if len(s) >= 4]
                if twin:
                    vectors = np.asarray(self.embed_passages(twin), dtype=np.float32)
                    best[crossing] = np.maximum(best[crossing], (query[crossing] @ vectors.T).max(axis=1))
            result[:, j] = best
        return result

    def verdicts(self, sentences: Sequence[str], sources: Sequence[Citation], question: str) -> list[Verdict]:
        t = self.thresholds
        lexical = np.array(
            [[lexical_support(s, readable_text(src)) for src in sources] for s in sentences], dtype=np.float32
        ).reshape(len(sentences), len(sources))
        # meaning is only needed where the words alone do not settle it (an extractive answer's
        # sentences are the sources' own: their words settle it)
        unsettled = [i for i in range(len(sentences)) if not (lexical[i] >= t.lexical).any()]
        semantic = np.zeros_like(lexical)
        if unsettled:
            semantic[unsettled] = self.semantic_rows([sentences[i] for i in unsettled], sources)
        out = []
        for i, sentence in enumerate(sentences):
            verdict = Verdict(sentence)
            reasons = []
            for j, source in enumerate(sources):
                if not self.supports(float(semantic[i, j]), float(lexical[i, j])):
                    continue
                missing = self.specifics_missing(sentence, source, question)
                if missing:
                    reasons.append(missing)
                    continue
                verdict.supported_by.append(source.n)
            verdict.semantic = float(semantic[i].max()) if len(sources) else 0.0
            verdict.lexical = float(lexical[i].max()) if len(sources) else 0.0
            verdict.reason = "; ".join(dict.fromkeys(reasons)) or (
                "" if verdict.supported_by else "no support"
            )
            # best-supporting source first: by meaning, then retrieval rank
            column = {source.n: j for j, source in enumerate(sources)}
            strength = np.maximum(semantic[i], lexical[i])
            verdict.supported_by.sort(key=lambda n: (-float(strength[column[n]]), n))
            out.append(verdict)
        return out

    # -- the check

    def check(self, text: str, sources: Sequence[Citation], question: str = "") -> GroundedText:
        by_n = {s.n: s for s in sources}
        ordered = [by_n[n] for n in sorted(by_n)]
        units = draft_units(text, ordered)
        checkable = [u for u in units if not _is_connective(u[2])]
        verdicts = self.verdicts([u[2] for u in checkable], ordered, question) if checkable else []
        verdict_of = {id(u): v for u, v in zip(checkable, verdicts, strict=True)}
        supported_units = [u for u in checkable if verdict_of[id(u)].supported_by]
        batch = self.embed_query([u[2] for u in supported_units]) if supported_units else []
        vectors = {
            id(u): np.asarray(v, dtype=np.float32) for u, v in zip(supported_units, batch, strict=True)
        }
        kept_vectors: list[np.ndarray] = []
        rebuilt: dict[int, list[str]] = {}
        prefixes: dict[int, str] = {}
        unsupported: list[str] = []
        used: set[int] = set()
        per_line = Counter(u[0] for u in units if u[2])
        for unit in units:
            line, prefix, sentence, cited = unit
            if not sentence:
                continue
            prefixes.setdefault(line, prefix)
            verdict = verdict_of.get(id(unit))
            if verdict is None:  # a connective ("主要有三点：") carries no claim of its own
                rebuilt.setdefault(line, []).append(sentence)
                continue
            if not prefix and per_line[line] == 1 and _is_fragment(sentence):
                unsupported.append(sentence)  # "Taobao[2]" alone on a line: a name is not an answer
                continue
            if not verdict.supported_by:
                unsupported.append(sentence)
                continue
            if self._repeats(vectors[id(unit)], kept_vectors):
                continue
            # keep the model's citation when it supports the sentence, else the best-supporting source
            keep = [n for n in cited if n in verdict.supported_by] or verdict.supported_by[:1]
            used.update(keep)
            rebuilt.setdefault(line, []).append(place_citations(sentence, keep))
        out_lines = [prefixes.get(line, "") + join_sentences(rebuilt[line]) for line in sorted(rebuilt)]
        if not used:
            out_lines = []  # connectives alone are not an answer
        text_out = "\n".join(_renumbered(_drop_dangling_connectives(out_lines))).strip()
        return GroundedText(text=text_out, cited=sorted(used), unsupported=list(dict.fromkeys(unsupported)))

    def _repeats(self, vector: np.ndarray, kept: list[np.ndarray]) -> bool:
        repeat = any(float(vector @ v) >= self.thresholds.duplicate for v in kept)
        if not repeat:
            kept.append(vector)
        return repeat


Unit = tuple[int, str, str, list[int]]  # (line, list prefix, sentence without markers, cited numbers)


def draft_units(text: str, sources: Sequence[Citation]) -> list[Unit]:
    """A draft as the check reads it: echoed headers cleaned away, inline lists put on lines, each
    line's sentences with the line's list prefix and the source numbers each sentence cites."""
    known = {s.n for s in sources}
    lines = [_clean_line(line, sources) for line in _INLINE_ITEM.sub("\n", text).splitlines()]
    units: list[Unit] = []
    for index, line in enumerate(lines):
        prefix_match = _LIST_PREFIX.match(line)
        prefix = prefix_match.group(0) if prefix_match else ""
        for sentence in split_sentences(line[len(prefix) :]):
            cited = [int(n) for n in CITATION.findall(sentence) if int(n) in known]
            units.append((index, prefix, CITATION.sub("", sentence).strip(), cited))
            prefix = ""
    return units


def is_claim(sentence: str) -> bool:
    """A sentence the check judges: not empty and not a short lead-in to a list."""
    return bool(sentence) and not _is_connective(sentence)


def claims(body: str) -> list[str]:
    """The sentences of an answer that make a claim (not its headings or notes)."""
    return [s for line in body.splitlines() for s in split_sentences(line) if is_claim(s)]


def readable_text(source: Citation) -> str:
    """What a sentence may be checked against: the passage and, where the document has a translated
    twin, the same section in the other language (so an English sentence meets English text)."""
    return f"{source.text}\n{source.twin_text}" if source.twin_text else source.text


def _is_connective(sentence: str) -> bool:
    """Short lead-ins that announce a list ("主要有三点：", "Here are the key points:")."""
    content = sentence.strip()
    return len(content) < 4 or (content.endswith((":", "：")) and len(content) <= 40)


def _is_fragment(sentence: str) -> bool:
    """A bare name or phrase with no end punctuation ("Taobao", "小红书"): what a model leaves on a line
    of its own; a list item may be that short, a line of prose may not."""
    content = CITATION.sub("", sentence).strip()
    if content.endswith(("。", "！", "？", ".", "!", "?", "；", ";")):
        return False
    cjk = sum(1 for ch in content if "\u4e00" <= ch <= "\u9fff")
    return cjk < 6 if cjk else len(content.split()) < 3


def _drop_dangling_connectives(lines: list[str]) -> list[str]:
    """A lead-in whose list was removed entirely would announce nothing."""
    while lines and _is_connective(lines[-1]):
        lines.pop()
    return lines


def _renumbered(lines: list[str]) -> list[str]:
    """A numbered list that lost an item counts on without a gap (1, 2, 3, not 1, 2, 4)."""
    out, count = [], 0
    for line in lines:
        match = _NUMBERED.match(line)
        if match:
            count += 1
            line = f"{match.group(1)}{count}{line[match.end() :]}"
        else:
            count = 0
        out.append(line)
    return out


def _clean_line(line: str, sources: Sequence[Citation]) -> str:
    """Source headers echoed into the answer go, and phrases that point at a marker are rewritten so
    that moving the marker leaves a whole sentence."""
    for source in sources:
        if _LIST_PREFIX.sub("", CITATION.sub("", line)).strip(" *#：:") == source.title:
            return ""  # a title copied onto a line of its own says nothing ("WPS Office：…办公软件[2]")
        for header in _headers(source):
            line = line.replace(header, "")
    line = raw_pattern("citation_lead_in_zh").sub(lambda m: m.group(1) + "资料" + _marks(m.group(0)), line)
    line = raw_pattern("citation_lead_in_en").sub(lambda m: _marks(m.group(0)) + " ", line)
    line = re.sub(r"\s+([,.;:!?，。；：！？])", r"\1", line)
    return line.strip() if line.strip(" -*>#") else ""


def _marks(text: str) -> str:
    return "".join(f"[{n}]" for n in CITATION.findall(text))


def _headers(source: Citation) -> list[str]:
    """The ways a source's header (as the prompt shows it) gets copied into an answer."""
    title = source.title
    headers = []
    if source.heading:
        headers += [f"{title} › {source.heading}", f"{title} > {source.heading}"]
        # the heading path's tail alone, left where the model shortened or rephrased the title
        headers.append(f"› {source.heading}")
    if source.company:
        headers += [f"{source.company}: {h}" for h in [*headers, title]]
    return sorted(set(headers), key=len, reverse=True)


def cited_in(lines: Sequence[str]) -> list[int]:
    """The source numbers the lines cite, in order."""
    return [int(n) for line in lines for n in CITATION.findall(line)]


def place_citations(sentence: str, numbers: list[int]) -> str:
    if not numbers:
        return sentence
    marks = "".join(f"[{n}]" for n in numbers)
    match = re.search(r"[。！？；.!?;]+[”’」』）)]*$", sentence)
    if match:
        return sentence[: match.start()] + marks + sentence[match.start() :]
    return sentence + marks


def removed_notice(count: int, lang: str) -> str:
    from assistant.answer.patterns import text

    return text("removed", lang, n=str(count)) if count else ""


__all__ = ["CITATION", "GroundedText", "GroundingChecker", "GroundingThresholds", "is_chinese"]
