"""The memo's grounded content: every knowledge claim is a sentence (or clause) of a cited chunk, taken
from core-loop.md's and support-systems.md's per-model sections, the primary model's document and the
analogous cases; the user's own words are marked as theirs. Rendering is assistant/fit/export.py's."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import Any

import numpy as np

from assistant.answer.state import Citation
from assistant.core.text import split_sentences
from assistant.fit.analogies import Analogy
from assistant.fit.knowledge import FitKnowledge, KChunk, sections_config
from assistant.fit.profile import Embed
from assistant.fit.schema import QuotedSentence
from assistant.resources import load_yaml

_LIST = re.compile(r"^\s*(?:[-*•]|\d{1,2}[.)、])\s*")


@cache
def memo_text() -> dict[str, Any]:
    return load_yaml("fit/memo.yaml")


def say(key: str, lang: str, **values: Any) -> str:
    entry = memo_text()[key]
    text = entry[lang] if isinstance(entry, dict) else entry
    return text.format(**values) if values else text


def user_fact(text: str, lang: str) -> str:
    return say("user_fact", lang, text=text.strip(" 。.;；，,"))


def labelled(label: str, text: str, lang: str) -> str:
    """A profile value and the user's words it was read from."""
    return f"{label}{user_fact(text, lang)}" if lang == "zh" else f"{label} {user_fact(text, lang)}"


def shared_items(a: Analogy, lang: str) -> list[str]:
    """What a case shares with the description, readable: 业务类型（面向企业的软件（SaaS））..."""
    table = load_yaml("fit/profile.yaml")
    fields = load_yaml("fit/scoring.yaml")["reading"]["field_labels"][lang]
    return [say("analogy_shared_item", lang, field=fields[f], label=table[f][v][lang]) for f, v in a.shared]


def analogy_because(a: Analogy, lang: str) -> str:
    """Why a case is named: the profile values it shares, the user's clause and the case's passage."""
    items = shared_items(a, lang)
    shared = say("analogy_shared", lang, items=("、" if lang == "zh" else ", ").join(items)) if items else ""
    return say("analogy_because", lang, name=a.case.name(), shared=shared, user=user_fact(a.clause, lang),
               quote=a.quote)  # fmt: skip


def model_name(model: str, lang: str) -> str:
    return memo_text()["model_names"][lang][model]


@dataclass
class Refs:
    """The memo's numbered references: one per chunk, numbered in order of first use."""

    citations: list[Citation] = field(default_factory=list)
    quoted: list[QuotedSentence] = field(default_factory=list)
    _by_chunk: dict[str, int] = field(default_factory=dict)

    def cite(self, chunk: KChunk) -> int:
        if chunk.chunk_id not in self._by_chunk:
            self._by_chunk[chunk.chunk_id] = len(self.citations) + 1
            self.citations.append(chunk.citation(len(self.citations) + 1))
        return self._by_chunk[chunk.chunk_id]

    def quote(self, text: str, chunk: KChunk) -> str:
        """The sentence with its citation mark (before the final stop), recorded for the grounding check."""
        text = text.strip()
        if text.endswith(("；", ";", "，", ",", "：", ":")):
            text = text[:-1] + ("。" if chunk.lang == "zh" else ".")
        n = self.cite(chunk)
        self.quoted.append(QuotedSentence(text=text, n=n))
        match = re.search(r"[。！？.!?]+[”’」）)]*$", text)
        if match:
            return text[: match.start()] + f"[{n}]" + text[match.start() :]
        return f"{text}[{n}]"


def sentences_of(text: str) -> list[str]:
    """A chunk's sentences and list items, without list markers."""
    return [_LIST.sub("", s).strip() for s in split_sentences(text) if len(_LIST.sub("", s).strip()) >= 4]


def clauses_of(sentence: str, lang: str) -> list[str]:
    """A sentence's clauses, as the passage wrote them (without the separators and the final stop)."""
    parts = re.split(r"[，；]" if lang == "zh" else r"[;,]\s+", sentence.rstrip("。.!?！？；;，,：: "))
    return [p.strip() for p in parts if len(p.strip()) >= 2]


def as_sentence(clauses: list[str], lang: str) -> str:
    """Clauses of a passage joined back into one sentence of its own."""
    if lang == "zh":
        return "，".join(clauses) + "。"
    text = re.sub(r"^and\s+", "", ", ".join(clauses))
    return text[0].upper() + text[1:] + "."


def _early(piece: str, names: list[str], lang: str) -> bool:
    """The clause is about the link: it names it at its start (价值来自…, Data focuses on…)."""
    window = 4 if lang == "zh" else 16
    lowered = piece.lower()
    return any(0 <= lowered.find(n.lower()) <= window for n in names)


def linked_clauses(
    chunks: Sequence[KChunk], links: dict[str, list[str]], lang: str, refs: Refs
) -> dict[str, str]:
    """Per link (目标, 用户... or 组织, 数据...): the clauses of a per-model section from the one that
    opens with the link up to the next link's, as one cited sentence (the passage's own words)."""
    out: dict[str, str] = {}
    for chunk in chunks:
        for sentence in sentences_of(chunk.text):
            clauses = clauses_of(sentence, lang)
            opens = [next((k for k, names in links.items() if _early(c, names, lang)), None) for c in clauses]
            for i, key in enumerate(opens):
                if key is None or key in out:
                    continue
                end = next((j for j in range(i + 1, len(clauses)) if opens[j] is not None), len(clauses))
                out[key] = refs.quote(as_sentence(clauses[i:end], lang), chunk)
    return out


def case_link(case_chunks: list[KChunk], key: str, refs: Refs, lang: str, name: str) -> str:
    """The first sentence of a case's subsection (价值循环 > 用户 ...), cited, after the case's name."""
    for chunk in case_chunks:
        if chunk.heading.split(" > ")[-1].lower().startswith(key.lower()[:4]):
            first = sentences_of(chunk.text)
            if first:
                return say("case_prefix", lang, name=name) + refs.quote(first[0], chunk)
    return ""


def closest_sentences(
    embed: Embed, query: np.ndarray, chunks: Sequence[KChunk], k: int
) -> list[tuple[str, KChunk, float]]:  # noqa: D417
    """The k sentences of these chunks closest to the description (e5, query side on both)."""
    # a lead-in ("争议主要有：", "The controversies include the following:") announces, it does not say
    pool = [(s, c) for c in chunks for s in sentences_of(c.text) if not s.rstrip().endswith(("：", ":"))]
    if not pool:
        return []
    vectors = np.asarray(embed([s for s, _ in pool]), dtype=np.float32)
    sims = vectors @ query
    order = np.argsort(-sims)[:k]
    return [(pool[i][0], pool[i][1], float(sims[i])) for i in order]


def combining_sentence(knowledge: FitKnowledge, primary: str, supporting: str, lang: str, refs: Refs) -> str:
    """How primary and supporting work together: the primary document's combining bullet that names the
    supporting model, else the supporting document's bullet that names the primary, cited."""
    config = sections_config()
    for own, other in ((primary, supporting), (supporting, primary)):
        names = config["model_short"][other]
        for chunk in knowledge.framework(own, lang):
            if not chunk.under(config["model_combining"]):
                continue
            for item in sentences_of(chunk.text):
                lead = re.split(r"[：:]", item, maxsplit=1)[0].lower()
                if len(lead) < len(item) and any(n in lead for n in names):
                    return refs.quote(item, chunk)
    return ""


def value_loop(
    knowledge: FitKnowledge,
    primary: str,
    lang: str,
    refs: Refs,
    analog: Analogy | None,
    facts: dict[str, str],
) -> dict[str, str]:
    """The six links: core-loop.md's clause for the primary model, the closest case's own text, and what
    the description says about the link (marked as the user's)."""
    keys = ("loop_links", "loop_per_model", "case_value_loop")
    return _linked_sections(knowledge, "core-loop", keys, primary, lang, refs, analog, facts)


def support_systems(
    knowledge: FitKnowledge, primary: str, lang: str, refs: Refs, analog: Analogy | None
) -> dict[str, str]:
    keys = ("support_links", "support_per_model", "case_support")
    return _linked_sections(knowledge, "support-systems", keys, primary, lang, refs, analog, {})


def _linked_sections(
    knowledge: FitKnowledge,
    doc: str,
    keys: tuple[str, str, str],
    primary: str,
    lang: str,
    refs: Refs,
    analog: Analogy | None,
    facts: dict[str, str],
) -> dict[str, str]:
    """Per link of a framework document's section for the primary model: its clause, the closest case's
    text for the same link, and the user's own fact where there is one. `keys` name, in
    fit/knowledge.yaml, the links, the per-model section and the case section to read."""
    config = sections_config()
    links_key, per_model_key, case_key = keys
    links = config[links_key][lang]
    section = knowledge.model_section(doc, config[per_model_key], primary, lang)
    framework = linked_clauses(section, links, lang, refs)
    case_chunks = analog.case.section(config[case_key]) if analog else []
    out = {}
    for key in links:
        parts = [framework.get(key, "")]
        if analog:
            parts.append(case_link(case_chunks, key, refs, lang, analog.case.name()))
        if facts.get(key):
            parts.append(say("business_fact", lang, text=user_fact(facts[key], lang)))
        out[key] = (" " if lang == "en" else "").join(p for p in parts if p)
    return out


def risks(
    knowledge: FitKnowledge,
    embed: Embed,
    query: np.ndarray,
    primary: str,
    lang: str,
    refs: Refs,
    analogies: list[Analogy],
) -> list[str]:
    """What fails for businesses like this one: the closest results-and-controversies sentences of the
    analogous cases, and the primary model's failure modes closest to the description, cited."""
    config = sections_config()
    cue = np.asarray(embed([say("risk_query", lang)]), dtype=np.float32)[0]
    query = query + cue
    query = query / (np.linalg.norm(query) or 1.0)
    out = []
    for a in analogies[:2]:
        found = closest_sentences(embed, query, a.case.section(config["case_risks"]), 1)
        for text, chunk, _ in found:
            out.append(say("case_prefix", lang, name=a.case.name()) + refs.quote(text, chunk))
    failures = [c for c in knowledge.framework(primary, lang) if c.under(config["model_failures"])]
    for text, chunk, _ in closest_sentences(embed, query, failures, 2):
        out.append(refs.quote(text, chunk))
    return out
