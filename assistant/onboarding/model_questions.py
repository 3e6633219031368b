"""Recall questions whose answer is one of the five models: a case's primary model, the model of an
overview item, of a framework passage, of a support need, of a kind of business. Each is asked only
where a passage states the answer in the shape the contract declares."""

from __future__ import annotations

import re

from assistant.core.text import split_sentences
from assistant.core.vocabulary import MODEL_KEYS, MODEL_LABELS
from assistant.onboarding.contract import contract, wording
from assistant.onboarding.kb import HEADING_SEPARATOR, KnowledgeBase, KnowledgeDoc, prose, short, slug
from assistant.onboarding.schema import Draft, unique_drafts
from assistant.store.records import StoredChunk


def _others(key: str, lang: str) -> list[str]:
    """The other four models' labels: the distractor pool of a model question."""
    return [MODEL_LABELS[lang][k] for k in MODEL_KEYS if k != key]


def mask_models(text: str) -> str:
    """The text with every model name (zh or en) blanked, so a passage does not give its answer away."""
    text = contract().pattern("model_zh_any").sub("____", text)
    return contract().pattern("model_en").sub("____", text)


def _primary_statement(case: KnowledgeDoc) -> tuple[StoredChunk, re.Match[str]] | None:
    """The first chunk stating the case's primary model ("主导模式：…（community）"), with the match."""
    for chunk in case.chunks:
        match = contract().pattern("primary_model").search(chunk.text)
        if match:
            return chunk, match
    return None


def _english_primary_sentence(case: KnowledgeDoc, primary: str) -> tuple[StoredChunk, str] | None:
    """The English summary's sentence naming the primary model, when it names the same one."""
    shapes = contract().shapes
    accepted = (primary, shapes.model_en_alias.get(primary))
    for chunk in case.english():
        for sentence in split_sentences(chunk.text):
            match = contract().pattern("model_en").search(sentence)
            if (
                shapes.primary_model_en_word in sentence.lower()
                and match
                and match.group(1).lower() in accepted
            ):
                return chunk, sentence
    return None


def _company_model_draft(case: KnowledgeDoc, chunk: StoredChunk, match: re.Match[str], lang: str) -> Draft:
    primary = case.models[0]
    company = str(case.meta.get("company") or case.doc_id)
    company_zh = str(case.meta.get("company_zh") or company)
    texts = wording().questions["company-model"][lang]
    if lang == "en":
        name = (
            company
            if company == company_zh
            else texts["name_with_zh"].format(company=company, company_zh=company_zh)
        )
        question = texts["question"].format(name=name)
        sentence = _english_primary_sentence(case, primary)
        if sentence:
            cite, quote = sentence
            explanation = texts["explanation"].format(quote=short(quote, 160))
        else:
            cite, quote = chunk, match.group(0)
            label = MODEL_LABELS[lang][primary]
            explanation = texts["explanation_zh_only"].format(label=label, quote=short(quote, 60))
    else:
        question = texts["question"].format(company_zh=company_zh)
        cite = chunk
        sentences = split_sentences(chunk.text)
        marker = contract().shapes.primary_model_marker
        at = next((i for i, s in enumerate(sentences) if marker in s), 0)
        quote = "".join(sentences[at : at + 2])
        explanation = texts["explanation"].format(quote=short(quote, 110))
    return Draft(
        id=f"q-{primary}-{slug(case.doc_id.removeprefix('case-')) or slug(company)}-model",
        module=primary,
        kind="company-model",
        question=question,
        answer=MODEL_LABELS[lang][primary],
        pool=_others(primary, lang),
        explanation=explanation,
        citation=cite,
        quote=quote,
    )


def company_model_questions(kb: KnowledgeBase, lang: str) -> list[Draft]:
    """ "Which operating model is <company>'s primary one?" — only when the case's first model (the primary
    one: front matter validation puts primary_model first) is also the model its primary-model
    statement names, so the answer is stated, not inferred."""
    drafts = []
    for case in kb.cases():
        found = _primary_statement(case)
        if found is None or found[1].group(1) != case.models[0]:
            continue
        drafts.append(_company_model_draft(case, *found, lang))
    return drafts


def _core_object_draft(
    key: str, description: str, shown: str, quote: str, chunk: StoredChunk, lang: str
) -> Draft:
    """A "which model is centred on ...?" question; `shown` is the part of the item the explanation quotes."""
    texts = wording().questions["core-object"][lang]
    return Draft(
        id=f"q-overview-core-object-{key}",
        module="overview",
        kind="core-object",
        question=texts["question"].format(description=description),
        answer=MODEL_LABELS[lang][key],
        pool=_others(key, lang),
        explanation=texts["explanation"].format(quote=shown),
        citation=chunk,
        quote=quote,
    )


def _overview_drafts_en(doc: KnowledgeDoc) -> list[Draft]:
    """From the English summary's "product-driven (the product itself)" pairs."""
    drafts = []
    for chunk in doc.english():
        for m in contract().pattern("overview_item_en").finditer(chunk.text):
            prefix, obj = m.group(1).lower(), m.group(2)
            keys = [k for k in MODEL_KEYS if k in prefix.split() or k in prefix]
            if len(keys) == 1:
                quote = m.group(0).removeprefix("and ")
                drafts.append(_core_object_draft(keys[0], obj, quote, quote, chunk, "en"))
    return drafts


def _overview_drafts_zh(doc: KnowledgeDoc) -> list[Draft]:
    """From the overview's list items, the model names masked out of the description."""
    drafts = []
    for chunk in doc.chunks:
        for line in chunk.text.splitlines():
            m = contract().pattern("overview_item").match(line.strip())
            if m:
                shown = short(line.strip().removeprefix("- "), 80)
                drafts.append(
                    _core_object_draft(m.group(2), mask_models(m.group(3)), shown, line.strip(), chunk, "zh")
                )
    return drafts


def overview_questions(kb: KnowledgeBase, lang: str) -> list[Draft]:
    """ "Which model is centred on <core object>?" from the overview's list of the five models."""
    doc = kb.framework("overview")
    if doc is None:
        return []
    return unique_drafts(_overview_drafts_en(doc) if lang == "en" else _overview_drafts_zh(doc))


def model_idea_questions(kb: KnowledgeBase, lang: str) -> list[Draft]:
    """ "Which model does this framework passage describe?": the opening of each model document's core
    idea (or its English summary), with the model's own name masked."""
    drafts = []
    texts = wording().questions["model-passage"][lang]
    core_idea = contract().headings.core_idea
    for key in MODEL_KEYS:
        doc = kb.framework(key)
        if doc is None:
            continue
        if lang == "en":
            chunks = doc.english()
            sentences = [s for c in chunks[:1] for s in split_sentences(c.text)][:1]
        else:
            chunks = doc.section(core_idea)
            sentences = [s for c in chunks[:1] for s in prose(c.text)][:2]
        if not chunks or not sentences:
            continue
        quote = " ".join(sentences) if lang == "en" else "".join(sentences)
        fields = {
            "passage": short(mask_models(quote), 160),
            "label": MODEL_LABELS[lang][key],
            "title": doc.meta.get("title", ""),
            "section": core_idea,
        }
        drafts.append(
            Draft(
                id=f"q-{key}-core-idea",
                module=key,
                kind="model-passage",
                question=texts["question"].format(**fields),
                answer=MODEL_LABELS[lang][key],
                pool=_others(key, lang),
                explanation=texts["explanation"].format(**fields),
                citation=chunks[0],
                quote=quote,
            )
        )
    return drafts


def _support_draft(
    key: str, passage: str, quote: str, chunk: StoredChunk, lang: str, heading: str = ""
) -> Draft:
    texts = wording().questions["support"][lang]
    fields = {"passage": passage, "label": MODEL_LABELS[lang][key], "heading": heading}
    return Draft(
        id=f"q-support-systems-needs-{key}",
        module="support-systems",
        kind="support",
        question=texts["question"].format(**fields),
        answer=MODEL_LABELS[lang][key],
        pool=_others(key, lang),
        explanation=texts["explanation"].format(**fields),
        citation=chunk,
        quote=quote,
    )


def _model_from_zh(text: str) -> str | None:
    match = contract().pattern("model_zh").search(text)
    return contract().model_by_zh_stem[match.group(1)] if match else None


def support_questions(kb: KnowledgeBase, lang: str) -> list[Draft]:
    """ "Which model needs this support most?" from the support systems' per-model sections."""
    doc = kb.framework("support-systems")
    if doc is None:
        return []
    if lang == "en":
        drafts = [
            _support_draft(m.group(2), m.group(1).strip(), m.group(0).lstrip(",: "), chunk, "en")
            for chunk in doc.english()
            for m in contract().pattern("support_en").finditer(chunk.text)
        ]
        return unique_drafts(drafts)
    drafts = []
    parent = contract().headings.support_per_model
    for heading in doc.under(parent):
        key = _model_from_zh(heading)
        chunks = doc.section(f"{parent}{HEADING_SEPARATOR}{heading}")
        if key is None or not chunks:
            continue
        sentence = prose(chunks[0].text)[:1]
        if sentence:
            drafts.append(
                _support_draft(key, mask_models(sentence[0]), sentence[0], chunks[0], "zh", heading)
            )
    return drafts


def _stated_primary(item: str) -> set[str]:
    """The models a selection item states as primary ("以…驱动为主", else "适合…驱动")."""
    stems = contract().model_by_zh_stem
    keys = {stems[x] for x in contract().pattern("selection_primary").findall(item)}
    return keys or {stems[x] for x in contract().pattern("selection_suits").findall(item)}


def selection_questions(kb: KnowledgeBase, lang: str) -> list[Draft]:
    """ "Which model is usually primary for <kind of business>?" from the selection guide's business types
    and reference combinations; only items that name exactly one primary model."""
    doc = kb.framework("selection")
    if doc is None:
        return []
    texts = wording().questions["selection"][lang]
    drafts = []
    for tag, heading in contract().headings.selection_items.items():
        number = 0
        for chunk in doc.section(heading):
            for line in chunk.text.splitlines():
                m = contract().pattern("selection_item").match(line.strip())
                keys = _stated_primary(m.group(0).removeprefix("- ")) if m else set()
                if len(keys) != 1:
                    continue  # no single primary model stated: the question would be ambiguous
                business, item, key = m.group(1), m.group(0).removeprefix("- "), keys.pop()
                number += 1
                limit = 80 if lang == "en" else 90
                drafts.append(
                    Draft(
                        id=f"q-selection-{tag}-{number}",
                        module="selection",
                        kind="selection",
                        question=texts["question"].format(business=business),
                        answer=MODEL_LABELS[lang][key],
                        pool=_others(key, lang),
                        explanation=texts["explanation"].format(quote=short(item, limit)),
                        citation=chunk,
                        quote=item,
                    )
                )
    return unique_drafts(drafts)


__all__ = [
    "company_model_questions",
    "mask_models",
    "model_idea_questions",
    "overview_questions",
    "selection_questions",
    "support_questions",
]
