"""The learning path: one module per framework topic, in the wording's order, each with a summary
extracted from its framework document, objectives, and readings (the document, then example cases)."""

from __future__ import annotations

from collections.abc import Sequence

from assistant.core.text import split_sentences
from assistant.core.vocabulary import MODEL_KEYS, MODEL_LABELS
from assistant.onboarding.contract import contract, wording
from assistant.onboarding.kb import KnowledgeBase, KnowledgeDoc, citation, english_sentences, prose
from assistant.onboarding.schema import Lang, LearningModule
from assistant.store.chroma import KnowledgeIndex
from assistant.store.records import StoredChunk


def module_keys() -> tuple[str, ...]:
    return tuple(wording().modules)


def _example_cases(kb: KnowledgeBase, key: str, framework: KnowledgeDoc) -> list[KnowledgeDoc]:
    """A model module's cases are those whose primary model it is, in the order the framework text first
    mentions them; the other modules take the contract's named examples."""
    cases = kb.cases()
    if key in MODEL_KEYS:
        primary = [c for c in cases if c.models[0] == key]
        text = framework.text

        def first_mention(case: KnowledgeDoc) -> tuple[int, str]:
            names = [str(case.meta.get("company_zh") or ""), str(case.meta.get("company") or "")]
            spots = [text.find(n) for n in names if n and text.find(n) >= 0]
            return (min(spots) if spots else len(text) + 1, case.doc_id)

        return sorted(primary, key=first_mention)[:3]
    example = contract().path.examples.get(key)
    wanted = example.companies if example else []
    by_company = {str(c.meta.get("company", "")): c for c in cases}
    found = [by_company[name] for name in wanted if name in by_company][:3]
    return found or cases[:1]  # a store without those cases still gets one example


def _case_chunk(case: KnowledgeDoc, key: str, lang: str) -> StoredChunk:
    """The chunk of a case to read for a module: its English summary in English, else the section that
    shows the module's idea (the primary-model statement, its value loop, its support systems)."""
    if lang == "en" and case.english():
        return case.english()[0]
    path = contract().path
    example = path.examples.get(key)
    section = example.section if example else path.case_section
    in_text = example.in_text if example else None
    for chunk in case.chunks:
        heading = str(chunk.metadata.get("heading", ""))
        if heading.startswith(section) or (in_text is not None and in_text in chunk.text):
            return chunk
    for chunk in case.chunks:
        if path.case_fallback_text in chunk.text:
            return chunk
    return case.chunks[0]


def _english_summary_parts(framework: KnowledgeDoc) -> list[tuple[StoredChunk, list[str]]]:
    """Up to three sentences of the English summary, grouped by the chunk holding each: an English summary
    is often cut into several chunks, and each sentence then cites its own."""
    sourced: dict[str, StoredChunk] = {}  # sentence -> the first chunk holding it (chunks overlap)
    for chunk in framework.english():
        for sentence in english_sentences(chunk.text):
            if sentence[0].isupper() and not sentence.endswith(";"):  # not cut at a chunk border
                sourced.setdefault(sentence, chunk)
    parts: list[tuple[StoredChunk, list[str]]] = []
    for sentence in _take(list(sourced), 3, 420):
        if parts and parts[-1][0] is sourced[sentence]:
            parts[-1][1].append(sentence)
        else:
            parts.append((sourced[sentence], [sentence]))
    return parts


def _summary_parts(framework: KnowledgeDoc, lang: str) -> tuple[list[tuple[StoredChunk, list[str]]], bool]:
    """The framework chunks the summary is taken from with their sentences (2-3 in all), and whether they
    are English."""
    if lang == "en" and framework.english():
        parts = _english_summary_parts(framework)
        if parts:
            return parts, True
    english = contract().english_heading
    for chunk in framework.chunks:
        if str(chunk.metadata.get("heading", "")).startswith(english):
            continue
        sentences = prose(chunk.text)
        if len(sentences) >= 2:
            return [(chunk, _take(sentences, 3, 230))], False
    chunk = framework.chunks[0]
    return [(chunk, _take(split_sentences(chunk.text), 3, 230) or [chunk.text[:200]])], False


def _take(sentences: list[str], most: int, budget: int) -> list[str]:
    """The first sentences within a character budget, at least two when there are two."""
    out: list[str] = []
    for sentence in sentences:
        if len(out) >= most or (len(out) >= 2 and sum(map(len, out)) + len(sentence) > budget):
            break
        out.append(sentence)
    return out


def _with_marker(sentence: str, n: int, lang: str) -> str:
    """Put the [n] marker before the closing punctuation of a Chinese sentence, after an English one."""
    sentence = sentence.strip()
    if lang == "zh" and sentence and sentence[-1] in "。！？；":
        return f"{sentence[:-1]}[{n}]{sentence[-1]}"
    return f"{sentence} [{n}]"


def _objective_fields(key: str, framework: KnowledgeDoc, cases: list[KnowledgeDoc], lang: str) -> dict:
    """The lists the objectives name: the framework's own section headings, or the cases' names."""
    path, sep = contract().path, getattr(wording().list_separator, lang)
    zh = lang == "zh"
    names = [str(c.meta.get("company_zh" if zh else "company") or c.doc_id) for c in cases]
    steps = framework.under(contract().headings.loop_steps)
    focus = [f for f in framework.under(path.model_focus) if len(f) <= path.model_focus_max_chars]
    systems = [
        h
        for h in framework.top_headings()
        if h.endswith(tuple(path.support_system_endings)) and h != path.support_intro
    ]
    trends = [
        h
        for h in framework.top_headings()
        if h not in (*path.trends_not_trends, contract().english_heading)
        and not h.startswith(tuple(path.trends_not_trend_prefixes))
    ]
    return {
        "steps": "→".join(steps),
        "focus": sep.join(focus),
        "systems": sep.join(systems),
        "factors": sep.join(framework.under(contract().headings.selection_factors)),
        "trends": sep.join(trends),
        "cases": sep.join(names),
        "label": MODEL_LABELS[lang].get(key, ""),
    }


def _objectives(key: str, framework: KnowledgeDoc, cases: list[KnowledgeDoc], lang: str) -> list[str]:
    """What the learner should be able to do afterwards (wording.yaml's lines, filled in)."""
    lines = wording().objectives.get("model" if key in MODEL_KEYS else key, {}).get(lang, [])
    fields = _objective_fields(key, framework, cases, lang)
    return [line.format(**fields) for line in lines if "{cases}" not in line or fields["cases"]]


def _module(kb: KnowledgeBase, key: str, framework: KnowledgeDoc, order: int, lang: str) -> LearningModule:
    parts, english = _summary_parts(framework, lang)
    join = " " if english else ""
    readings = [citation(n, chunk, join.join(ss)) for n, (chunk, ss) in enumerate(parts, start=1)]
    cases = _example_cases(kb, key, framework)
    for case in cases:
        readings.append(citation(len(readings) + 1, _case_chunk(case, key, lang)))
    if lang == "en" and not english:
        summary = wording().no_english_summary.format(title=framework.meta.get("title", ""))
    else:
        summary = join.join(
            _with_marker(s, n, "en" if english else "zh")
            for n, (_, ss) in enumerate(parts, start=1)
            for s in ss
        )
    return LearningModule(
        key=key,
        order=order,
        title=getattr(wording().titles[key], lang),
        summary=summary,
        objectives=_objectives(key, framework, cases, lang),
        readings=readings,
        doc_id=framework.doc_id,
        lang=lang,
    )


def learning_path(source: KnowledgeIndex | Sequence[StoredChunk], lang: Lang = "zh") -> list[LearningModule]:
    """The onboarding path in module order, built from the stored framework documents and cases. A
    module whose framework document is not in the store is left out (a user's own store)."""
    if lang not in ("zh", "en"):
        raise ValueError(f"unknown language '{lang}': use zh or en")
    kb = KnowledgeBase.of(source)
    modules: list[LearningModule] = []
    for key in module_keys():
        framework = kb.framework(key)
        if framework is None or not framework.chunks:
            continue
        modules.append(_module(kb, key, framework, len(modules) + 1, lang))
    if not modules:
        raise ValueError("the knowledge base has no framework documents; run `yunying ingest` first")
    return modules


__all__ = ["learning_path", "module_keys"]
