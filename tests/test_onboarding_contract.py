"""The onboarding contract (resources/onboarding/contract.yaml) against the real knowledge base: every
heading and sentence shape the path and the quizzes read exists where the code looks for it, so an edit
to a document that would silently drop questions fails here. Every entry of the contract has a check
(a new entry without one fails too), and the question bank has the size those checks imply."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable

import pytest
from pydantic import BaseModel

from assistant.core.settings import Settings
from assistant.core.text import split_sentences
from assistant.core.vocabulary import MODEL_KEYS, MODEL_LABELS
from assistant.onboarding import question_bank
from assistant.onboarding.contract import Contract, contract, wording
from assistant.onboarding.framework_questions import in_order, trend_questions
from assistant.onboarding.kb import KnowledgeBase, KnowledgeDoc, prose
from assistant.services.yunying import Yunying
from assistant.store.records import StoredChunk

Check = Callable[[KnowledgeBase, Contract], None]
CHECKS: dict[str, tuple[tuple[str, ...], Check]] = {}


def check(*entries: str) -> Callable[[Check], Check]:
    """Register a check and the contract entries (dotted field names) it covers."""

    def register(function: Check) -> Check:
        CHECKS[function.__name__] = (entries, function)
        return function

    return register


class StoreView(KnowledgeBase):
    """The knowledge base as onboarding reads it (originals), plus each original's translated twin."""

    def __init__(self, chunks: list[StoredChunk]) -> None:
        super().__init__(chunks)
        self.twins: dict[str, list[StoredChunk]] = {}
        for chunk in sorted(chunks, key=lambda c: (int(c.metadata.get("position", 0)), c.chunk_id)):
            pair, doc_id = chunk.metadata.get("pair"), chunk.metadata.get("doc_id")
            if pair and pair != doc_id:
                self.twins.setdefault(str(pair), []).append(chunk)


@pytest.fixture(scope="module")
def kb(knowledge_store, models_dir) -> KnowledgeBase:
    service = Yunying(
        Settings(_env_file=None, data_dir=knowledge_store, models_dir_override=models_dir, llm="none")
    )
    return StoreView(service.index.all_chunks())


def _framework(kb: KnowledgeBase, topic: str) -> KnowledgeDoc:
    doc = kb.framework(topic)
    assert doc is not None and doc.chunks, f"no framework document with topic {topic}"
    return doc


def _case(kb: KnowledgeBase, company: str) -> KnowledgeDoc:
    found = [c for c in kb.cases() if c.meta.get("company") == company]
    assert len(found) == 1, f"no case of {company}"
    return found[0]


def _heads(doc: KnowledgeDoc) -> list[str]:
    return [str(c.metadata.get("heading", "")) for c in doc.chunks]


@check("english_heading")
def every_document_has_an_english_summary(kb: KnowledgeBase, c: Contract) -> None:
    docs = [d for d in kb.docs.values() if d.kind in ("framework", "case")]
    assert len(docs) >= 50
    missing = [d.doc_id for d in docs if not d.english()]
    assert missing == [], f"no '{c.english_heading}' section in {missing}"


@check("path.examples")
def the_named_example_cases_exist_with_their_sections(kb: KnowledgeBase, c: Contract) -> None:
    for module, example in c.path.examples.items():
        assert module in wording().modules and module not in MODEL_KEYS, module
        for company in example.companies:
            case = _case(kb, company)
            found = [
                h
                for h, chunk in zip(_heads(case), case.chunks, strict=True)
                if h.startswith(example.section)
                or (example.in_text is not None and example.in_text in chunk.text)
            ]
            assert found, f"{case.doc_id} has no '{example.section}' section for the {module} module"


@check("path.case_section", "path.case_fallback_text", "shapes.primary_model", "shapes.primary_model_marker")
def every_case_states_its_primary_model(kb: KnowledgeBase, c: Contract) -> None:
    cases = kb.cases()
    assert len(cases) >= 40
    for case in cases:
        assert any(h.startswith(c.path.case_section) for h in _heads(case)), case.doc_id
        assert c.path.case_fallback_text in case.text and c.shapes.primary_model_marker in case.text
        match = c.pattern("primary_model").search(case.text)
        assert match, f"{case.doc_id}: no '{c.shapes.primary_model_marker}…（model）' statement"
        assert match.group(1) == case.models[0], (
            f"{case.doc_id}: states {match.group(1)}, front matter says {case.models[0]}"
        )


@check("shapes.primary_model_en_word", "shapes.model_en", "shapes.model_en_alias")
def english_summaries_name_the_primary_model(kb: KnowledgeBase, c: Contract) -> None:
    """Optional per case (the question then quotes the Chinese statement), but the shape must still hold
    in most summaries, and each alias must be a word the summaries use."""
    stated = 0
    for case in kb.cases():
        accepted = (case.models[0], c.shapes.model_en_alias.get(case.models[0]))
        for sentence in (s for chunk in case.english() for s in split_sentences(chunk.text)):
            match = c.pattern("model_en").search(sentence)
            if (
                c.shapes.primary_model_en_word in sentence.lower()
                and match
                and match.group(1).lower() in accepted
            ):
                stated += 1
                break
    assert stated >= len(kb.cases()) // 2, stated
    english = " ".join(chunk.text for case in kb.cases() for chunk in case.english())
    assert all(f"{alias}-driven" in english or alias in english for alias in c.shapes.model_en_alias.values())
    assert set(c.shapes.model_en_alias) <= set(MODEL_KEYS)


@check("shapes.model_zh_any")
def model_names_are_found_for_masking(kb: KnowledgeBase, c: Contract) -> None:
    for key in MODEL_KEYS:
        doc = _framework(kb, key)
        title = str(doc.meta.get("title", ""))
        assert c.pattern("model_zh_any").search(title), f"the mask misses the model name in '{title}'"
        english = " ".join(chunk.text for chunk in doc.english())
        assert c.pattern("model_en").search(english), f"no English model name in {doc.doc_id}"
        core = "".join(prose(doc.section(c.headings.core_idea)[0].text)[:2])
        masked = c.pattern("model_en").sub("", c.pattern("model_zh_any").sub("", core))
        assert MODEL_LABELS["zh"][key] not in masked, f"a model name survives the mask in {doc.doc_id}"


@check("path.model_focus", "path.model_focus_max_chars", "headings.core_idea")
def every_model_document_has_its_core_idea_and_priorities(kb: KnowledgeBase, c: Contract) -> None:
    for key in MODEL_KEYS:
        doc = _framework(kb, key)
        core = doc.section(c.headings.core_idea)
        assert core and len(prose(core[0].text)) >= 2, f"{doc.doc_id}: no '{c.headings.core_idea}' section"
        focus = [f for f in doc.under(c.path.model_focus) if len(f) <= c.path.model_focus_max_chars]
        assert len(focus) >= 4, f"{doc.doc_id}: '{c.path.model_focus}' has sub-headings {focus}"


@check(
    "path.support_system_endings",
    "path.support_intro",
    "headings.support_per_model",
    "shapes.support_en",
    "shapes.model_zh",
)
def the_support_systems_document_has_four_systems_and_one_section_per_model(
    kb: KnowledgeBase, c: Contract
) -> None:
    doc = _framework(kb, "support-systems")
    tops = doc.top_headings()
    assert c.path.support_intro in tops
    systems = [
        h for h in tops if h.endswith(tuple(c.path.support_system_endings)) and h != c.path.support_intro
    ]
    assert len(systems) == 4, systems
    per_model = [c.pattern("model_zh").search(h) for h in doc.under(c.headings.support_per_model)]
    named = [c.model_by_zh_stem[m.group(1)] for m in per_model if m]
    assert sorted(named) == sorted(MODEL_KEYS), named
    english = " ".join(chunk.text for chunk in doc.english())
    assert {m.group(2) for m in c.pattern("support_en").finditer(english)} == set(MODEL_KEYS)


@check("headings.loop_steps", "loop_steps_en")
def the_value_loop_has_its_six_steps_in_order(kb: KnowledgeBase, c: Contract) -> None:
    doc = _framework(kb, "core-loop")
    steps = doc.under(c.headings.loop_steps)
    assert steps == list(c.loop_steps_en), steps
    chinese = [chunk.text for chunk in doc.chunks if chunk not in doc.english()]
    english = [chunk.text for chunk in doc.english()]
    assert any(in_order(text, steps) for text in chinese), "no passage lists the six links in order"
    assert any(in_order(text, list(c.loop_steps_en.values())) for text in english), c.loop_steps_en


@check("headings.selection_factors", "headings.selection_items")
def the_selection_guide_has_its_factors_and_item_sections(kb: KnowledgeBase, c: Contract) -> None:
    doc = _framework(kb, "selection")
    assert len(doc.under(c.headings.selection_factors)) == 4
    for heading in c.headings.selection_items.values():
        assert doc.section(heading), f"no section '{heading}' in {doc.doc_id}"


@check("shapes.selection_item", "shapes.selection_primary", "shapes.selection_suits")
def selection_items_state_a_primary_model(kb: KnowledgeBase, c: Contract) -> None:
    doc = _framework(kb, "selection")
    for heading in c.headings.selection_items.values():
        lines = [line.strip() for chunk in doc.section(heading) for line in chunk.text.splitlines()]
        items = [line for line in lines if c.pattern("selection_item").match(line)]
        single = [
            i
            for i in items
            if len(
                set(c.pattern("selection_primary").findall(i)) or set(c.pattern("selection_suits").findall(i))
            )
            == 1
        ]
        assert len(single) >= 3, f"'{heading}': {len(single)} items state one primary model"


@check("shapes.overview_item", "shapes.overview_item_en")
def the_overview_lists_the_five_models(kb: KnowledgeBase, c: Contract) -> None:
    doc = _framework(kb, "overview")
    lines = [line.strip() for chunk in doc.chunks for line in chunk.text.splitlines()]
    keys = [m.group(2) for m in map(c.pattern("overview_item").match, lines) if m]
    assert sorted(set(keys)) == sorted(MODEL_KEYS), keys
    english = " ".join(chunk.text for chunk in doc.english())
    prefixes = [m.group(1).lower() for m in c.pattern("overview_item_en").finditer(english)]
    assert {k for k in MODEL_KEYS for p in prefixes if k in p} == set(MODEL_KEYS), prefixes


@check(
    "headings.trend_what",
    "trends_en",
    "path.trends_not_trends",
    "path.trends_not_trend_prefixes",
    "trend_short_forms",
)
def the_trends_document_has_five_trends_the_english_summary_names(kb: KnowledgeBase, c: Contract) -> None:
    doc = _framework(kb, "trends")
    trends = [h for h in doc.top_headings() if doc.section(c.headings.trend_section(h))]
    others = [
        h
        for h in doc.top_headings()
        if h not in (*c.path.trends_not_trends, c.english_heading)
        and not h.startswith(tuple(c.path.trends_not_trend_prefixes))
    ]
    assert others == trends and len(trends) == 5, (others, trends)
    assert all(h in doc.top_headings() for h in c.path.trends_not_trends)
    assert all(any(h.startswith(p) for h in doc.top_headings()) for p in c.path.trends_not_trend_prefixes)
    assert list(c.trends_en) == trends
    english = [s for chunk in doc.english() for s in split_sentences(chunk.text)]
    for trend in c.trends_en.values():
        assert any(s.startswith(trend.starts) for s in english), (
            f"no English sentence starts '{trend.starts}'"
        )
    # the short forms blank the trend's name out of its question: where a section names the trend, no
    # form of the name is left in the question
    named = 0
    for draft in trend_questions(kb, "zh"):
        forms = {draft.answer, *(draft.answer.removesuffix(e) for e in c.trend_short_forms.drop_endings)}
        forms |= set(draft.answer.split(c.trend_short_forms.split_on))
        named += any(f in draft.quote for f in forms if len(f) >= 2)
        assert not any(f in draft.question for f in forms if len(f) >= 2), draft.question
    assert named >= 3, named


@check(
    "shapes.glossary_entry",
    "shapes.glossary_english_cut",
    "glossary.groups",
    "glossary.overrides",
    "glossary.confusable",
)
def glossary_entries_have_the_entry_shape(kb: KnowledgeBase, c: Contract) -> None:
    doc = _framework(kb, "glossary")
    lines = [line.strip() for chunk in doc.chunks for line in chunk.text.splitlines()]
    bullets = [line for line in lines if line.startswith("- **")]
    malformed = [line for line in bullets if not c.pattern("glossary_entry").match(line)]
    assert len(bullets) >= 60 and malformed == [], malformed[:3]
    terms = {m.group(1): m.group(2) for m in map(c.pattern("glossary_entry").match, bullets) if m}
    assert all(c.pattern("glossary_english_cut").split(e)[0].strip() for e in terms.values())
    assert set(c.glossary.groups) <= set(doc.top_headings()), set(c.glossary.groups) - set(doc.top_headings())
    assert set(c.glossary.groups.values()) | set(c.glossary.overrides.values()) <= set(wording().modules)
    named = set(c.glossary.overrides) | {t for group in c.glossary.confusable for t in group}
    assert named <= set(terms), named - set(terms)


@check("failure_modes")
def every_model_document_lists_its_failure_modes_in_both_languages(kb: KnowledgeBase, c: Contract) -> None:
    """The scenario questions read these lists in the original and in its English twin, line by line."""
    for key in MODEL_KEYS:
        counts = {}
        for lang in ("zh", "en"):
            heading = getattr(c.failure_modes.heading, lang)
            chunks = [
                chunk
                for chunk in kb_chunks(kb, key, lang)
                if str(chunk.metadata.get("heading", "")).startswith(heading)
            ]
            lines = {line.strip() for chunk in chunks for line in chunk.text.splitlines()}
            counts[lang] = len([line for line in lines if re.match(c.failure_modes.item, line)])
        assert counts["zh"] >= 4 and counts["zh"] == counts["en"], (key, counts)


@check("value_loop_pitfalls")
def every_value_loop_link_lists_its_common_mistakes_in_both_languages(kb: KnowledgeBase, c: Contract) -> None:
    """The value-loop scenarios read, under each of the six links, one line of common mistakes."""
    shape = c.value_loop_pitfalls
    for lang in ("zh", "en"):
        parent, counts = getattr(shape.links, lang), {}
        for chunk in kb_chunks(kb, "core-loop", lang):
            parts = str(chunk.metadata.get("heading", "")).split(" > ")
            if parts[0] != parent or len(parts) < 2:
                continue
            lines = [
                m for m in map(re.compile(getattr(shape.item, lang)).match, chunk.text.splitlines()) if m
            ]
            counts[parts[1]] = max(
                [counts.get(parts[1], 0)] + [len(re.split(shape.separator, m.group(1))) for m in lines]
            )
        assert len(counts) == len(c.loop_steps_en), (lang, counts)
        assert all(n >= 2 for n in counts.values()), (lang, counts)
        if lang == "zh":
            assert list(counts) == list(c.loop_steps_en), counts
        # the diagnosis's first step names the one link it always goes back to first (left out of
        # "which link do you check first?")
        steps = [
            line.strip()
            for chunk in kb_chunks(kb, "core-loop", lang)
            if str(chunk.metadata.get("heading", "")).split(" > ")[0] == getattr(shape.diagnosis, lang)
            for line in chunk.text.splitlines()
            if line.strip().startswith("- ")
        ]
        assert len(steps) >= len(c.loop_steps_en), (lang, steps)
        lead = re.split("[：:]", steps[0])[0].lower()
        assert len([link for link in counts if link.lower() in lead]) == 1, (lang, lead, list(counts))


@check("operating_focus")
def every_model_document_has_its_operating_focuses_in_both_languages(kb: KnowledgeBase, c: Contract) -> None:
    """The operating-focus scenarios read each model's focus sections, the English twin's at the same
    places: as many sub-headings in both, the short ones at least four, each section with prose."""

    def focuses(key: str, lang: str) -> list[str]:
        parent = getattr(c.operating_focus.heading, lang)
        paths = [str(ch.metadata.get("heading", "")) for ch in kb_chunks(kb, key, lang)]
        return list(dict.fromkeys(p.split(" > ")[1] for p in paths if p.startswith(f"{parent} > ")))

    def symptoms(key: str, lang: str) -> dict[str, list[str]]:
        """focus -> the symptoms its section's symptom line lists."""
        parent, shape = getattr(c.operating_focus.heading, lang), c.operating_focus
        found: dict[str, list[str]] = {}
        for chunk in kb_chunks(kb, key, lang):
            path = str(chunk.metadata.get("heading", ""))
            if path.startswith(f"{parent} > "):
                for line in chunk.text.splitlines():
                    match = re.match(getattr(shape.symptoms, lang), line.strip())
                    if match:
                        found[path.split(" > ")[1]] = re.split(shape.separator, match.group(1))
        return found

    every_focus = {lang: [f for key in MODEL_KEYS for f in focuses(key, lang)] for lang in ("zh", "en")}
    for key in MODEL_KEYS:
        original = focuses(key, "zh")
        assert len([h for h in original if len(h) <= c.path.model_focus_max_chars]) >= 4, (key, original)
        assert len(focuses(key, "en")) == len(original), (key, original, focuses(key, "en"))
        # every short focus's section lists its symptoms, as many in the English twin, and no symptom
        # names a focus (it would give the answer away)
        short = [i for i, h in enumerate(original) if len(h) <= c.path.model_focus_max_chars]
        listed = {lang: symptoms(key, lang) for lang in ("zh", "en")}
        for i in short:
            zh, en = original[i], focuses(key, "en")[i]
            assert len(listed["zh"].get(zh, [])) >= 2, (key, zh, listed["zh"])
            assert len(listed["en"].get(en, [])) == len(listed["zh"][zh]), (key, en, listed["en"])
        for lang, found in listed.items():
            for item in (item.lower() for items in found.values() for item in items):
                assert not any(f.lower() in item for f in every_focus[lang]), (key, lang, item)


def kb_chunks(kb: KnowledgeBase, topic: str, lang: str) -> list[StoredChunk]:
    """A framework document's chunks in one language: the original, or its English twin."""
    doc = _framework(kb, topic)
    if lang == "zh":
        return doc.chunks
    assert isinstance(kb, StoreView) and kb.twins.get(doc.doc_id), f"no English twin of {doc.doc_id}"
    return kb.twins[doc.doc_id]


# the contract's sections of several entries; any other top-level field is one entry
SECTIONS = ("path", "headings", "shapes", "glossary")


def _contract_entries() -> set[str]:
    """Dotted names of the contract's entries: a section's fields, or a top-level field itself."""
    out = set()
    for name, info in Contract.model_fields.items():
        if name in SECTIONS:
            section = info.annotation
            assert isinstance(section, type) and issubclass(section, BaseModel)
            out |= {f"{name}.{field}" for field in section.model_fields}
        else:
            out.add(name)
    return out


def test_every_contract_entry_has_a_check():
    covered = {entry for entries, _ in CHECKS.values() for entry in entries}
    assert _contract_entries() - covered == set(), "add a check for these contract entries"
    assert covered - _contract_entries() == set(), "these checks name entries the contract lacks"


@pytest.mark.parametrize("name", sorted(CHECKS))
def test_the_contract_holds_in_the_knowledge_base(kb, name):
    CHECKS[name][1](kb, contract())


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_the_question_bank_has_every_question_the_contract_promises(kb, lang):
    """One question per case, per value-loop link, per model (overview, core idea, support) and per
    trend: a document edit that breaks one of those shapes drops a question, and fails here."""
    kinds = Counter(q.kind for q in question_bank(list(c for d in kb.docs.values() for c in d.chunks), lang))
    expected = {
        "company-model": len(kb.cases()),
        "value-loop": len(contract().loop_steps_en),
        "core-object": len(MODEL_KEYS),
        "model-passage": len(MODEL_KEYS),
        "support": len(MODEL_KEYS),
        "trend": len(contract().trends_en),
    }
    assert {k: kinds[k] for k in expected} == expected
    assert kinds["selection"] >= 6 and kinds["glossary"] >= 40


def _edited(kb: KnowledgeBase, doc_id: str, old: str, new: str) -> KnowledgeBase:
    """The knowledge base with one document edited: `old` replaced by `new` in its headings and text.
    The twins are kept (a check that reads the English twin must fail on the edit, not on a missing
    twin)."""
    chunks = []
    twins = kb.twins if isinstance(kb, StoreView) else {}
    for doc in kb.docs.values():
        for chunk in [*doc.chunks, *twins.get(doc.doc_id, [])]:
            if chunk.metadata.get("doc_id") == doc_id:
                meta = {**chunk.metadata, "heading": str(chunk.metadata.get("heading", "")).replace(old, new)}
                chunk = StoredChunk(chunk.chunk_id, chunk.text.replace(old, new), meta)
            chunks.append(chunk)
    return StoreView(chunks)


@pytest.mark.parametrize(
    ("doc_id", "old", "new", "failing"),
    [
        ("framework-core-loop", "六个环节", "六个步骤", "the_value_loop_has_its_six_steps_in_order"),
        (
            "framework-product",
            "核心思想",
            "基本思路",
            "every_model_document_has_its_core_idea_and_priorities",
        ),
        ("case-notion", "主导模式：", "主导模式是", "every_case_states_its_primary_model"),
        (
            "framework-glossary",
            "- **留存 (retention)**：",
            "- **留存（retention）**：",
            "glossary_entries_have_the_entry_shape",
        ),
        (
            "framework-core-loop",
            "- 常见误区：",
            "- 误区：",
            "every_value_loop_link_lists_its_common_mistakes_in_both_languages",
        ),
        (
            "framework-service",
            "运营重点",
            "运营要点",
            "every_model_document_has_its_operating_focuses_in_both_languages",
        ),
        (
            "framework-community",
            "- 出问题的迹象：推销一多",
            "- 出问题的迹象有：推销一多",
            "every_model_document_has_its_operating_focuses_in_both_languages",
        ),
        (
            "framework-core-loop",
            "第一步，回到目标",
            "第一步，回到起点",
            "every_value_loop_link_lists_its_common_mistakes_in_both_languages",
        ),
        (
            "framework-trends",
            "User co-creation invites",
            "Co-creation invites",
            "the_trends_document_has_five_trends_the_english_summary_names",
        ),
    ],
)
def test_an_edit_that_breaks_a_quiz_fails_its_check(kb, doc_id, old, new, failing):
    assert any(old in c.text or old in str(c.metadata.get("heading")) for c in kb.docs[doc_id].chunks), old
    CHECKS[failing][1](kb, contract())  # holds on the real documents
    with pytest.raises(AssertionError):
        CHECKS[failing][1](_edited(kb, doc_id, old, new), contract())
