"""Recall questions on the framework's own structure: the value loop's order, the trends, the glossary's
terms. Each is built from the headings and entry shapes the contract declares."""

from __future__ import annotations

import re
from dataclasses import dataclass

from assistant.core.text import split_sentences
from assistant.onboarding.contract import contract, wording
from assistant.onboarding.kb import HEADING_SEPARATOR, KnowledgeBase, KnowledgeDoc, prose, short, slug
from assistant.onboarding.schema import Draft
from assistant.store.records import StoredChunk

_CJK = re.compile(r"[\u4e00-\u9fff]")


def in_order(text: str, items: list[str]) -> bool:
    """The items occur in the text one after another, in the given order."""
    position = 0
    for item in items:
        position = text.find(item, position)
        if position < 0:
            return False
        position += len(item)
    return True


def value_loop_questions(kb: KnowledgeBase, lang: str) -> list[Draft]:
    """ "Which link of the value loop comes after X?" from the core-loop document's six step headings,
    cited to a passage that lists the steps in that order (and says the loop closes)."""
    doc = kb.framework("core-loop")
    if doc is None:
        return []
    steps = doc.under(contract().headings.loop_steps)
    if len(steps) < 4:
        return []
    step_en = contract().loop_steps_en
    english = lang == "en" and all(s in step_en for s in steps)
    names = [step_en[s] for s in steps] if english else steps
    pool_chunks = doc.english() if english else [c for c in doc.chunks if c not in doc.english()]
    cite = next((c for c in pool_chunks if in_order(c.text, names)), None)
    if cite is None:
        return []
    texts = wording().questions["value-loop"]["en" if english else "zh"]
    drafts = []
    for i, step in enumerate(names):
        after = names[(i + 1) % len(names)]
        fields = {"step": step, "after": after, "first": names[0], "loop": texts["loop_arrow"].join(names)}
        drafts.append(
            Draft(
                id=f"q-core-loop-after-{step_en.get(steps[i], str(i + 1))}",
                module="core-loop",
                kind="value-loop",
                question=texts["question"].format(**fields),
                answer=after,
                pool=[n for n in names if n not in (after, step)],
                explanation=texts["explanation"].format(**fields),
                citation=cite,
                quote=cite.text[:200],
            )
        )
    return drafts


def _trend_variants(name: str) -> list[str]:
    """A trend's name and the shorter forms the text uses for it, longest first."""
    forms = contract().trend_short_forms
    variants = {name, *(name.removesuffix(e) for e in forms.drop_endings), *name.split(forms.split_on)}
    return sorted((v for v in variants if len(v) >= 2), key=len, reverse=True)


def _trend_draft_en(doc: KnowledgeDoc, name: str, names: list[str]) -> Draft | None:
    """From the English summary's sentence that starts with the trend's name (the name blanked)."""
    trends_en = contract().trends_en
    if name not in trends_en or not all(n in trends_en for n in names):
        return None
    label, start = trends_en[name].label, trends_en[name].starts
    found = None
    for chunk in doc.english():
        for sentence in split_sentences(chunk.text):
            if sentence.startswith(start):
                found = (chunk, sentence)
    if found is None:
        return None
    chunk, sentence = found
    texts = wording().questions["trend"]["en"]
    return Draft(
        id=f"q-trends-{slug(label)}",
        module="trends",
        kind="trend",
        question=texts["question"].format(passage=short("____" + sentence[len(start) :], 170)),
        answer=label,
        pool=[trends_en[n].label for n in names if n != name],
        explanation=texts["explanation"].format(quote=short(sentence, 150)),
        citation=chunk,
        quote=sentence,
    )


def _trend_draft_zh(doc: KnowledgeDoc, name: str, names: list[str], number: int) -> Draft | None:
    """From the first sentence of the trend's "what it is" section that names it (the name blanked)."""
    heading = contract().headings.trend_section(name)
    chunks = doc.section(heading)
    sentences = prose(chunks[0].text)
    variants = _trend_variants(name)
    with_name = [s for s in sentences if variants[0] in s or variants[-1] in s]
    picked = (with_name or sentences)[:1]
    if not picked:
        return None
    sentence = passage = picked[0]
    for variant in variants:
        passage = passage.replace(variant, "____")
    texts = wording().questions["trend"]["zh"]
    trend_en = contract().trends_en.get(name)
    return Draft(
        id=f"q-trends-{slug(trend_en.label if trend_en else name) or number}",
        module="trends",
        kind="trend",
        question=texts["question"].format(passage=short(passage, 150)),
        answer=name,
        pool=[n for n in names if n != name],
        explanation=texts["explanation"].format(heading=heading.split(HEADING_SEPARATOR)[-1]),
        citation=chunks[0],
        quote=sentence,
    )


def trend_questions(kb: KnowledgeBase, lang: str) -> list[Draft]:
    """ "Which trend is this?" from each trend's "what it is" passage (or its English summary sentence),
    the trend's own name masked."""
    doc = kb.framework("trends")
    if doc is None:
        return []
    names = [h for h in doc.top_headings() if doc.section(contract().headings.trend_section(h))]
    drafts: list[Draft] = []
    for name in names:
        if lang == "en":
            draft = _trend_draft_en(doc, name, names)
        else:
            draft = _trend_draft_zh(doc, name, names, len(drafts) + 1)
        if draft is not None:
            drafts.append(draft)
    return drafts


@dataclass
class GlossaryTerm:
    term: str
    english: str
    clue: str
    group: str
    chunk: StoredChunk
    line: str


def _clue(term: str, definition: str, limit: int = 70) -> str | None:
    """The definition's first sentence, cut before a clause that names the term and at most `limit`
    characters long (at a clause border); None when too little is left to be a fair clue."""
    sentence = re.split(r"[。；]", definition)[0]
    names = [term, *(p for p in re.split(r"\s*/\s*", term) if len(p) > 1)]
    clauses: list[str] = []
    for clause in re.split(r"(?<=，)", sentence):
        if any(n in clause for n in names) or (clauses and len("".join(clauses) + clause) > limit):
            break
        clauses.append(clause)
    clue = "".join(clauses).rstrip("，").strip()
    return clue if len(clue) >= 8 else None


def glossary_terms(kb: KnowledgeBase) -> list[GlossaryTerm]:
    """The glossary's entries that make a fair question, each term once."""
    doc = kb.framework("glossary")
    if doc is None:
        return []
    terms: dict[str, GlossaryTerm] = {}
    for chunk in doc.chunks:
        group = str(chunk.metadata.get("heading", "")).split(HEADING_SEPARATOR)[0]
        for line in chunk.text.splitlines():
            match = contract().pattern("glossary_entry").match(line.strip())
            if not match or match.group(1) in terms:
                continue
            term, english, definition = match.groups()
            english = contract().pattern("glossary_english_cut").split(english)[0].strip()
            clue = _clue(term, definition)
            if clue is None:
                continue  # every clause would give the answer away
            terms[term] = GlossaryTerm(term, english, clue, group, chunk, line.strip())
    return list(terms.values())


def _confusable(a: str, b: str) -> bool:
    return any(a in group and b in group for group in contract().glossary.confusable)


def _glossary_pool(entry: GlossaryTerm, terms: list[GlossaryTerm], lang: str) -> list[str]:
    """Distractors: other terms of the same group, never one the glossary says overlaps it."""
    return [
        t.term
        for t in terms
        if t.group == entry.group
        and t.term != entry.term
        and not _confusable(t.term, entry.term)
        and (lang == "zh" or _CJK.search(t.term))
    ]


def glossary_questions(kb: KnowledgeBase, lang: str) -> list[Draft]:
    """Glossary entries: in Chinese, "which term means <definition>?"; in English, "which Chinese term
    is <English name>?" (the definitions are Chinese)."""
    terms = glossary_terms(kb)
    glossary, texts = contract().glossary, wording().questions["glossary"][lang]
    drafts = []
    for entry in terms:
        module = glossary.overrides.get(entry.term) or glossary.groups.get(entry.group)
        if module is None:
            continue
        if lang == "en" and not _CJK.search(entry.term):
            continue  # "which term is 'App Store Optimization'?" would answer itself (ASO)
        pool = _glossary_pool(entry, terms, lang)
        if len(pool) < 2:
            continue
        fields = {"term": entry.term, "english": entry.english, "clue": entry.clue}
        if lang == "en":
            fields["clue"] = short(entry.clue, 60)
        else:
            fields["definition"] = short(entry.line.split("：", 1)[-1], 90)
        drafts.append(
            Draft(
                id=f"q-{module}-term-{slug(entry.english) or slug(entry.term)}",
                module=module,
                kind="glossary",
                question=texts["question"].format(**fields),
                answer=entry.term,
                pool=pool,
                explanation=texts["explanation"].format(**fields),
                citation=entry.chunk,
                quote=entry.line,
            )
        )
    return drafts


__all__ = ["glossary_questions", "glossary_terms", "in_order", "trend_questions", "value_loop_questions"]
