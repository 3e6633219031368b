"""Onboarding: a learning path through the framework and quizzes generated from the knowledge base.

Nothing here is written by a language model: summaries are sentences extracted from the stored framework
chunks, quiz questions are built from front matter and from passages whose structure states the answer
(the case's "主导模式：…（community）" line, the value loop's ordered steps, glossary entries, the
overview's model list, the selection guide). So a quiz is deterministic for a seed, runs offline in
milliseconds, and every answer can be traced to the chunk it cites.

The first argument of the public functions is the `KnowledgeIndex` (or the list of its stored chunks):
onboarding reads the store as a whole and needs no search.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Literal

from pydantic import BaseModel, Field

from assistant.answer.state import Citation
from assistant.corpus import MODEL_KEYS, split_sentences
from assistant.store.chroma import KnowledgeIndex
from assistant.store.records import StoredChunk

Lang = Literal["zh", "en"]

# The path order the onboarding issue asks for: the big picture, the value loop, the five models,
# what supports them, how to choose and mix them, where they are heading.
MODULE_KEYS: tuple[str, ...] = (
    "overview",
    "core-loop",
    "product",
    "content",
    "community",
    "transaction",
    "service",
    "support-systems",
    "selection",
    "trends",
)

MODULE_TITLES: dict[str, dict[str, str]] = {
    "overview": {"zh": "运营全景", "en": "The big picture of operating models"},
    "core-loop": {
        "zh": "价值循环 目标→用户→价值→渠道→数据→优化",
        "en": "The value loop: goal → users → value → channels → data → optimisation",
    },
    "product": {"zh": "产品驱动模式", "en": "The product-driven model"},
    "content": {"zh": "内容驱动模式", "en": "The content-driven model"},
    "community": {"zh": "社区驱动模式", "en": "The community-driven model"},
    "transaction": {"zh": "交易/电商驱动模式", "en": "The transaction (e-commerce) driven model"},
    "service": {"zh": "服务/解决方案驱动模式", "en": "The service (solution) driven model"},
    "support-systems": {
        "zh": "支撑体系 组织·数据·技术·激励",
        "en": "Support systems: organisation, data, technology, incentives",
    },
    "selection": {"zh": "模式选择与混合", "en": "Choosing and mixing models"},
    "trends": {"zh": "未来趋势", "en": "Future trends"},
}

# Option labels of the five models, as the framework documents name them.
MODEL_LABELS: dict[str, dict[str, str]] = {
    "zh": {
        "product": "产品驱动",
        "content": "内容驱动",
        "community": "社区驱动",
        "transaction": "交易/电商驱动",
        "service": "服务/解决方案驱动",
    },
    "en": {
        "product": "product-driven",
        "content": "content-driven",
        "community": "community-driven",
        "transaction": "transaction (e-commerce) driven",
        "service": "service (solution) driven",
    },
}
_MODEL_BY_ZH = {
    "产品": "product",
    "内容": "content",
    "社区": "community",
    "交易": "transaction",
    "服务": "service",
}

ENGLISH_HEADING = "English summary"


class LearningModule(BaseModel):
    """One step of the onboarding path: what to read, what it says, what the learner should then do."""

    key: str = Field(description="Topic key, e.g. overview, core-loop, product, ..., selection, trends.")
    order: int = Field(description="1-based position in the path.")
    title: str
    summary: str = Field(description="2-4 sentences extracted from the knowledge base, with [n] markers.")
    objectives: list[str]
    readings: list[Citation] = Field(description="Framework document first, then example cases; n = 1..k.")
    doc_id: str = Field(description="The framework document of the module.")
    lang: str = "zh"


class QuizQuestion(BaseModel):
    """A multiple-choice question whose answer is stated by the chunk it cites."""

    id: str
    module: str
    question: str
    options: list[str]
    answer_index: int
    explanation: str
    citation: Citation
    kind: str = Field(default="", description="Which generator made it: company-model, value-loop, ...")
    lang: str = "zh"


class QuizResult(BaseModel):
    question_id: str
    chosen: int
    correct: bool
    answer_index: int
    explanation: str
    citation: Citation


# ---------------------------------------------------------------- reading the store


@dataclass
class _Doc:
    doc_id: str
    meta: dict
    chunks: list[StoredChunk] = field(default_factory=list)

    @property
    def models(self) -> list[str]:
        return [m for m in str(self.meta.get("models", "")).split(",") if m]

    @property
    def kind(self) -> str:
        return str(self.meta.get("kind", ""))

    @property
    def text(self) -> str:
        return "\n".join(c.text for c in self.chunks)

    def headings(self) -> list[str]:
        """Heading paths in document order, each once."""
        return list(dict.fromkeys(str(c.metadata.get("heading", "")) for c in self.chunks))

    def under(self, parent: str) -> list[str]:
        """The sub-headings directly under a top-level heading, in order."""
        found = []
        for path in self.headings():
            parts = path.split(" > ")
            if len(parts) >= 2 and parts[0] == parent:
                found.append(parts[1])
        return list(dict.fromkeys(found))

    def top_headings(self) -> list[str]:
        return list(dict.fromkeys(h.split(" > ")[0] for h in self.headings() if h))

    def section(self, heading: str) -> list[StoredChunk]:
        """The chunks of one heading path, e.g. "六个环节 > 目标"."""
        return [c for c in self.chunks if str(c.metadata.get("heading", "")) == heading]

    def english(self) -> list[StoredChunk]:
        return [c for c in self.chunks if str(c.metadata.get("heading", "")).startswith(ENGLISH_HEADING)]


class _KB:
    """The stored chunks grouped by document, in position order."""

    def __init__(self, chunks: Sequence[StoredChunk]) -> None:
        docs: dict[str, _Doc] = {}
        for chunk in chunks:
            doc_id = str(chunk.metadata.get("doc_id", ""))
            if chunk.metadata.get("pair", doc_id) != doc_id:
                continue  # a translated twin: the path and quizzes read the original's own sections
            docs.setdefault(doc_id, _Doc(doc_id, chunk.metadata)).chunks.append(chunk)
        for doc in docs.values():
            doc.chunks.sort(key=lambda c: (int(c.metadata.get("position", 0)), c.chunk_id))
        self.docs = dict(sorted(docs.items()))

    def framework(self, topic: str) -> _Doc | None:
        for doc in self.docs.values():
            if doc.kind == "framework" and doc.meta.get("topic") == topic:
                return doc
        return None

    def cases(self) -> list[_Doc]:
        return [d for d in self.docs.values() if d.kind == "case" and d.models]


def _chunks_of(source: KnowledgeIndex | Sequence[StoredChunk]) -> list[StoredChunk]:
    if isinstance(source, KnowledgeIndex):
        return source.all_chunks()
    return list(source)


def _citation(n: int, chunk: StoredChunk, quote: str | None = None) -> Citation:
    meta = chunk.metadata
    return Citation(
        n=n,
        chunk_id=chunk.chunk_id,
        doc_id=str(meta.get("doc_id", "")),
        title=str(meta.get("title", "")),
        kind=str(meta.get("kind", "")),
        topic=meta.get("topic") or None,
        models=[m for m in str(meta.get("models", "")).split(",") if m],
        company=meta.get("company") or None,
        heading=str(meta.get("heading", "")),
        quote=(quote or chunk.text)[:200],
        text=chunk.text,
    )


def _prose(text: str) -> list[str]:
    """Sentences of running text: list items, table rows and headings are left out."""
    return [
        s
        for s in split_sentences(text)
        if not s.startswith(("- ", "* ", "+ ", "|", "#")) and not re.match(r"\d+[.)] ", s) and len(s) > 8
    ]


def _english_sentences(text: str) -> list[str]:
    """English sentences: the corpus splitter also ends a sentence at ';', which suits Chinese lists but
    cuts English prose mid-sentence, so those pieces are joined again."""
    out: list[str] = []
    for piece in split_sentences(text):
        if out and out[-1].endswith(";"):
            out[-1] = f"{out[-1]} {piece}"
        else:
            out.append(piece)
    return [s for s in out if len(s) > 8]


def _with_marker(sentence: str, n: int, lang: str) -> str:
    """Put the [n] marker before the closing punctuation of a Chinese sentence, after an English one."""
    sentence = sentence.strip()
    if lang == "zh" and sentence and sentence[-1] in "。！？；":
        return f"{sentence[:-1]}[{n}]{sentence[-1]}"
    return f"{sentence} [{n}]"


# ---------------------------------------------------------------- the learning path

# Example cases per non-model module (the model modules take cases whose primary model they are), and
# the case section that shows the module's idea at work.
_EXAMPLES: dict[str, tuple[list[str], str]] = {
    "overview": (["WeChat", "Zhihu", "Xiaomi"], "主导模式与辅助模式"),
    "core-loop": (["Xiaohongshu", "JD", "DingTalk"], "价值循环"),
    "support-systems": (["Douyin", "Meituan", "Salesforce"], "支撑体系"),
    "selection": (["Taobao", "Xiaomi", "WeChat"], "主导模式与辅助模式"),
    "trends": (["Luckin Coffee", "Perfect Diary", "WeChat"], "私域"),
}


def _example_cases(kb: _KB, key: str, framework: _Doc) -> list[_Doc]:
    cases = kb.cases()
    if key in MODEL_KEYS:
        primary = [c for c in cases if c.models[0] == key]
        text = framework.text

        def first_mention(case: _Doc) -> tuple[int, str]:
            names = [str(case.meta.get("company_zh") or ""), str(case.meta.get("company") or "")]
            spots = [text.find(n) for n in names if n and text.find(n) >= 0]
            return (min(spots) if spots else len(text) + 1, case.doc_id)

        return sorted(primary, key=first_mention)[:3]
    wanted, _ = _EXAMPLES.get(key, ([], ""))
    by_company = {str(c.meta.get("company", "")): c for c in cases}
    found = [by_company[name] for name in wanted if name in by_company][:3]
    return found or cases[:1]  # a store without those cases still gets one example


def _case_chunk(case: _Doc, key: str, lang: str) -> StoredChunk:
    """The chunk of a case to read for a module: its English summary in English, else the section that
    shows the module's idea (the primary-model statement, its value loop, its support systems)."""
    if lang == "en" and case.english():
        return case.english()[0]
    _, section = _EXAMPLES.get(key, ([], "主导模式与辅助模式"))
    for chunk in case.chunks:
        heading = str(chunk.metadata.get("heading", ""))
        if heading.startswith(section) or (section == "私域" and section in chunk.text):
            return chunk
    for chunk in case.chunks:
        if "主导模式" in chunk.text:
            return chunk
    return case.chunks[0]


def _summary_parts(framework: _Doc, lang: str) -> tuple[list[tuple[StoredChunk, list[str]]], bool]:
    """The framework chunks the summary is taken from with their sentences (2-3 in all), and whether they
    are English. An English summary is often cut into several chunks: each sentence then cites its own."""
    if lang == "en" and framework.english():
        sourced: dict[str, StoredChunk] = {}  # sentence -> the first chunk holding it (chunks overlap)
        for chunk in framework.english():
            for sentence in _english_sentences(chunk.text):
                if sentence[0].isupper() and not sentence.endswith(";"):  # not cut at a chunk border
                    sourced.setdefault(sentence, chunk)
        parts: list[tuple[StoredChunk, list[str]]] = []
        for sentence in _take(list(sourced), 3, 420):
            if parts and parts[-1][0] is sourced[sentence]:
                parts[-1][1].append(sentence)
            else:
                parts.append((sourced[sentence], [sentence]))
        if parts:
            return parts, True
    for chunk in framework.chunks:
        if str(chunk.metadata.get("heading", "")).startswith(ENGLISH_HEADING):
            continue
        sentences = _prose(chunk.text)
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


def _objectives(key: str, framework: _Doc, cases: list[_Doc], lang: str) -> list[str]:
    """What the learner should be able to do afterwards; the lists in them are the framework's own
    section headings (Chinese) or the cases' company names."""
    zh = lang == "zh"
    names = [str(c.meta.get("company_zh" if zh else "company") or c.doc_id) for c in cases]
    sep = "、" if zh else ", "
    if key == "overview":
        return (
            [
                "说清什么是运营服务模式：价值的创造、交付与获取",
                "说出五种主流模式各自的核心对象",
                "用三个问题判断一项业务的主模式",
            ]
            if zh
            else [
                "Explain what an operating model is: creating, delivering and capturing value",
                "Name the five mainstream models and the core object of each",
                "Use three questions to tell a business's primary model",
            ]
        )
    if key == "core-loop":
        steps = framework.under("六个环节")
        return (
            [
                f"按顺序说出价值循环的六个环节：{'→'.join(steps)}",
                "解释为什么它是闭环，以及为什么先找最弱的一环",
                "用价值循环逐环诊断一项业务",
            ]
            if zh
            else [
                "Name the six links of the value loop in order: goal, users, value, channels, data, "
                "optimisation",
                "Explain why it is a closed loop and why to start with the weakest link",
                "Diagnose a business link by link with the value loop",
            ]
        )
    if key in MODEL_KEYS:
        focus = framework.under("运营重点")
        focus = [f for f in focus if len(f) <= 8]
        label = MODEL_LABELS[lang][key]
        if zh:
            items = [
                f"说清{label}模式的核心思想",
                f"说出它的运营重点：{sep.join(focus)}",
                "列举它关注的指标和常见失败模式",
            ]
            if names:
                items.append(f"用案例说明这种模式：{sep.join(names)}")
            return items
        items = [
            f"Explain the core idea of the {label} model",
            "Name its operating priorities, the metrics it watches and its common failure modes",
        ]
        if names:
            items.append(f"Illustrate it with cases: {sep.join(names)}")
        return items
    if key == "support-systems":
        systems = [h for h in framework.top_headings() if h.endswith(("架构", "体系", "平台", "机制"))]
        systems = [h for h in systems if h != "为什么需要支撑体系"]
        return (
            [f"说出四类支撑：{sep.join(systems)}", "说明每种模式最需要哪些支撑"]
            if zh
            else [
                "Name the four support systems: organisation, data system, technology platforms, incentives",
                "Say which support each model needs most",
            ]
        )
    if key == "selection":
        factors = framework.under("四个判断因素")
        return (
            [
                f"用四个判断因素选择主模式：{sep.join(factors)}",
                "按“一个主模式，若干辅助模式”设计混合模式",
                "识别选择模式的常见误区",
            ]
            if zh
            else [
                "Pick a primary model with four factors: business type, resources, target users, stage",
                "Design a hybrid: one primary model plus supporting ones",
                "Recognise the common mistakes in choosing a model",
            ]
        )
    if key == "trends":
        trends = [
            h
            for h in framework.top_headings()
            if h not in ("阅读说明", ENGLISH_HEADING) and not h.startswith(("对运营人员", "各趋势"))
        ]
        return (
            [
                f"说出五个趋势：{sep.join(trends)}",
                "说明每个趋势下运营者应当怎么做",
                "区分趋势判断与确定的事实",
            ]
            if zh
            else [
                "Name the five trends: refinement and intelligence, private domain traffic, omnichannel "
                "operations, user co-creation, value-driven operations",
                "Say what an operator should do about each",
                "Tell judgements about trends from established facts",
            ]
        )
    return []


def learning_path(source: KnowledgeIndex | Sequence[StoredChunk], lang: Lang = "zh") -> list[LearningModule]:
    """The onboarding path in the order of MODULE_KEYS, built from the stored framework documents and
    cases. A module whose framework document is not in the store is left out (a user's own store)."""
    if lang not in ("zh", "en"):
        raise ValueError(f"unknown language '{lang}': use zh or en")
    kb = _KB(_chunks_of(source))
    modules: list[LearningModule] = []
    for key in MODULE_KEYS:
        framework = kb.framework(key)
        if framework is None or not framework.chunks:
            continue
        parts, english = _summary_parts(framework, lang)
        join = " " if english else ""
        readings = [_citation(n, chunk, join.join(ss)) for n, (chunk, ss) in enumerate(parts, start=1)]
        cases = _example_cases(kb, key, framework)
        for case in cases:
            readings.append(_citation(len(readings) + 1, _case_chunk(case, key, lang)))
        if lang == "en" and not english:
            title = framework.meta.get("title", "")
            summary = (
                f"The reading for this module is in Chinese: {title} [1]. "
                "The knowledge base has no English summary of it yet [1]."
            )
        else:
            summary = join.join(
                _with_marker(s, n, "en" if english else "zh")
                for n, (_, ss) in enumerate(parts, start=1)
                for s in ss
            )
        modules.append(
            LearningModule(
                key=key,
                order=len(modules) + 1,
                title=MODULE_TITLES[key][lang],
                summary=summary,
                objectives=_objectives(key, framework, cases, lang),
                readings=readings,
                doc_id=framework.doc_id,
                lang=lang,
            )
        )
    if not modules:
        raise ValueError("the knowledge base has no framework documents; run `yunying ingest` first")
    return modules


# ---------------------------------------------------------------- quiz generators


@dataclass
class _Draft:
    """A question before its options are shuffled: the answer and the distractor pool."""

    id: str
    module: str
    kind: str
    question: str
    answer: str
    pool: list[str]
    explanation: str
    citation: StoredChunk
    quote: str = ""


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def _short(text: str, limit: int = 90) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


_EN_MODEL = re.compile(
    r"\b(product|content|community|transaction|e-commerce|service|solution)"
    r"(?:[ /-](?:or |and )?(?:e-commerce|solution))?-driven\b",
    re.I,
)


def _company_model_questions(kb: _KB, lang: str) -> list[_Draft]:
    """Questions "which operating model is <company>'s primary one?" — only when the case's first model (the
    primary one: front matter validation puts primary_model first) is also the model its
    "主导模式：…（key）" sentence names, so the answer is stated, not inferred."""
    drafts = []
    for case in kb.cases():
        primary = case.models[0]
        found = None
        for chunk in case.chunks:
            match = re.search(r"主导模式：[^。]*?（(\w+)）[^。]*。?", chunk.text)
            if match:
                found = (chunk, match)
                break
        if found is None or found[1].group(1) != primary:
            continue
        chunk, match = found
        company = str(case.meta.get("company") or case.doc_id)
        company_zh = str(case.meta.get("company_zh") or company)
        slug = _slug(case.doc_id.removeprefix("case-")) or _slug(company)
        labels = MODEL_LABELS[lang]
        if lang == "en":
            sentence = None
            for en_chunk in case.english():
                for s in split_sentences(en_chunk.text):
                    m = _EN_MODEL.search(s)
                    if (
                        "primary" in s.lower()
                        and m
                        and m.group(1).lower() in (primary, _EN_ALIAS.get(primary))
                    ):
                        sentence = (en_chunk, s)
                        break
                if sentence:
                    break
            name = company if company == company_zh else f"{company} ({company_zh})"
            question = f"What is the primary operating model of {name}?"
            if sentence:
                cite, quote = sentence
                explanation = f"The case says: “{_short(quote, 160)}” [1]"
            else:
                cite, quote = chunk, match.group(0)
                explanation = (
                    f"The case (in Chinese) names its primary model as {labels[primary]}: "
                    f"“{_short(quote, 60)}” [1]"
                )
        else:
            question = f"{company_zh}的主导运营模式是哪一种？"
            cite = chunk
            sentences = split_sentences(chunk.text)
            at = next((i for i, s in enumerate(sentences) if "主导模式：" in s), 0)
            quote = "".join(sentences[at : at + 2])
            explanation = f"案例写明：“{_short(quote, 110)}”[1]"
        drafts.append(
            _Draft(
                id=f"q-{primary}-{slug}-model",
                module=primary,
                kind="company-model",
                question=question,
                answer=labels[primary],
                pool=[labels[m] for m in MODEL_KEYS if m != primary],
                explanation=explanation,
                citation=cite,
                quote=quote,
            )
        )
    return drafts


_EN_ALIAS = {"transaction": "e-commerce", "service": "solution"}

_STEP_EN = {
    "目标": "goal",
    "用户": "users",
    "价值": "value",
    "渠道": "channels",
    "数据": "data",
    "优化": "optimisation",
}


def _in_order(text: str, items: list[str]) -> bool:
    """The items occur in the text one after another, in the given order."""
    position = 0
    for item in items:
        position = text.find(item, position)
        if position < 0:
            return False
        position += len(item)
    return True


def _value_loop_questions(kb: _KB, lang: str) -> list[_Draft]:
    """Questions "which link of the value loop comes after X?" from the core-loop document's six step
    headings, cited to a passage that lists the steps in that order (and says the loop closes)."""
    doc = kb.framework("core-loop")
    if doc is None:
        return []
    steps = doc.under("六个环节")
    if len(steps) < 4:
        return []
    english = lang == "en" and all(s in _STEP_EN for s in steps)
    names = [_STEP_EN[s] for s in steps] if english else steps
    pool_chunks = doc.english() if english else [c for c in doc.chunks if c not in doc.english()]
    cite = next((c for c in pool_chunks if _in_order(c.text, names)), None)
    if cite is None:
        return []
    drafts = []
    for i, step in enumerate(names):
        after = names[(i + 1) % len(names)]
        key = _STEP_EN.get(steps[i], str(i + 1))
        if english:
            question = f"In the value loop, which link comes right after “{step}”?"
            explanation = (
                f"The loop runs {' → '.join(names)} and back to {names[0]}, so “{after}” follows “{step}” [1]"
            )
        else:
            question = f"价值循环中，紧接在“{step}”之后的环节是哪一个？"
            explanation = f"价值循环依次是{'→'.join(names)}，再回到{names[0]}，所以“{step}”之后是“{after}”[1]"
        drafts.append(
            _Draft(
                id=f"q-core-loop-after-{key}",
                module="core-loop",
                kind="value-loop",
                question=question,
                answer=after,
                pool=[n for n in names if n not in (after, step)],
                explanation=explanation,
                citation=cite,
                quote=cite.text[:200],
            )
        )
    return drafts


# Glossary groups -> the module whose reading uses the terms; a few terms belong elsewhere.
_GLOSSARY_MODULE = {
    "流量与渠道": "core-loop",
    "用户与留存": "product",
    "内容与社区": "content",
    "交易与履约": "transaction",
    "企业服务": "service",
    "数据与增长": "support-systems",
}
_GLOSSARY_OVERRIDE = {
    "KOL": "community",
    "KOC": "community",
    "种草": "community",
    "拔草": "community",
    "用户共创": "community",
    "私域": "trends",
    "全域": "trends",
}
# Terms whose definitions overlap (the glossary itself says so), never offered against each other.
_CONFUSABLE = [
    {"私域", "流量池"},
    {"PGC", "OGC", "PUGV"},
    {"SEO", "SEM"},
    {"公域", "全域"},
    {"激活", "顿悟时刻"},
    {"网络效应", "飞轮"},
]
_ENTRY = re.compile(r"^- \*\*(.+?) \((.+?)\)\*\*[：:]\s*(.+)$")


@dataclass
class _Term:
    term: str
    english: str
    clue: str
    group: str
    chunk: StoredChunk
    line: str


def _glossary_terms(kb: _KB) -> list[_Term]:
    doc = kb.framework("glossary")
    if doc is None:
        return []
    terms: dict[str, _Term] = {}
    for chunk in doc.chunks:
        group = str(chunk.metadata.get("heading", "")).split(" > ")[0]
        for line in chunk.text.splitlines():
            match = _ENTRY.match(line.strip())
            if not match or match.group(1) in terms:
                continue
            term, english, definition = match.groups()
            english = re.split(r"[，,]\s*(?=[\u4e00-\u9fff])", english)[0].strip()
            clue = _clue(term, definition)
            if clue is None:
                continue  # every clause would give the answer away
            terms[term] = _Term(term, english, clue, group, chunk, line.strip())
    return list(terms.values())


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


def _confusable(a: str, b: str) -> bool:
    return any(a in group and b in group for group in _CONFUSABLE)


def _glossary_questions(kb: _KB, lang: str) -> list[_Draft]:
    """Glossary entries: in Chinese, "which term means <definition>?"; in English, "which Chinese term
    is <English name>?" (the definitions are Chinese). Distractors: other terms of the same group."""
    terms = _glossary_terms(kb)
    drafts = []
    for entry in terms:
        module = _GLOSSARY_OVERRIDE.get(entry.term) or _GLOSSARY_MODULE.get(entry.group)
        if module is None:
            continue
        cjk = bool(re.search(r"[\u4e00-\u9fff]", entry.term))
        if lang == "en" and not cjk:
            continue  # "which term is 'App Store Optimization'?" would answer itself (ASO)
        pool = [
            t.term
            for t in terms
            if t.group == entry.group
            and t.term != entry.term
            and not _confusable(t.term, entry.term)
            and (lang == "zh" or re.search(r"[\u4e00-\u9fff]", t.term))
        ]
        if len(pool) < 2:
            continue
        if lang == "en":
            question = f"Which Chinese term means “{entry.english}”?"
            explanation = (
                f"The glossary lists {entry.term} as “{entry.english}”; its definition (in Chinese): "
                f"{_short(entry.clue, 60)} [1]"
            )
        else:
            question = f"哪个术语的释义是：“{entry.clue}”？"
            definition = entry.line.split("：", 1)[-1]
            explanation = f"术语表：“{entry.term}（{entry.english}）：{_short(definition, 90)}”[1]"
        drafts.append(
            _Draft(
                id=f"q-{module}-term-{_slug(entry.english) or _slug(entry.term)}",
                module=module,
                kind="glossary",
                question=question,
                answer=entry.term,
                pool=pool,
                explanation=explanation,
                citation=entry.chunk,
                quote=entry.line,
            )
        )
    return drafts


_OVERVIEW_ITEM = re.compile(
    r"^- (\S+?)（(product|content|community|transaction|service)）：(.+?)(?:，典型如.*)?。?$"
)
_OVERVIEW_EN = re.compile(r"([a-z][a-z -]*?)-driven \(([^)]+)\)")


def _mask_models(text: str) -> str:
    text = re.sub(r"(产品|内容|社区|交易|电商|服务|解决方案)(?:/(?:电商|解决方案))?驱动", "____", text)
    return _EN_MODEL.sub("____", text)


def _overview_questions(kb: _KB, lang: str) -> list[_Draft]:
    """Questions "which model is centred on <core object>?" from the overview's list of the five models."""
    doc = kb.framework("overview")
    if doc is None:
        return []
    drafts = []
    labels = MODEL_LABELS[lang]
    if lang == "en":
        for chunk in doc.english():
            for m in _OVERVIEW_EN.finditer(chunk.text):
                prefix, obj = m.group(1).lower(), m.group(2)
                keys = [k for k in MODEL_KEYS if k in prefix.split() or k in prefix]
                if len(keys) != 1:
                    continue
                key = keys[0]
                drafts.append(
                    _Draft(
                        id=f"q-overview-core-object-{key}",
                        module="overview",
                        kind="core-object",
                        question=f"Which operating model is centred on this core object: {obj}?",
                        answer=labels[key],
                        pool=[labels[k] for k in MODEL_KEYS if k != key],
                        explanation=(
                            f"The overview pairs each model with its core object: "
                            f"“{m.group(0).removeprefix('and ')}” [1]"
                        ),
                        citation=chunk,
                        quote=m.group(0).removeprefix("and "),
                    )
                )
        return _unique(drafts)
    for chunk in doc.chunks:
        for line in chunk.text.splitlines():
            m = _OVERVIEW_ITEM.match(line.strip())
            if not m:
                continue
            key, description = m.group(2), _mask_models(m.group(3))
            drafts.append(
                _Draft(
                    id=f"q-overview-core-object-{key}",
                    module="overview",
                    kind="core-object",
                    question=f"按本知识库的五种模式速览，哪种模式“{description}”？",
                    answer=labels[key],
                    pool=[labels[k] for k in MODEL_KEYS if k != key],
                    explanation=f"总览写明：“{_short(line.strip().removeprefix('- '), 80)}”[1]",
                    citation=chunk,
                    quote=line.strip(),
                )
            )
    return _unique(drafts)


def _unique(drafts: list[_Draft]) -> list[_Draft]:
    return list({d.id: d for d in reversed(drafts)}.values())[::-1]


def _model_from_zh(text: str) -> str | None:
    match = re.search(r"(产品|内容|社区|交易|服务)驱动", text)
    return _MODEL_BY_ZH[match.group(1)] if match else None


def _model_idea_questions(kb: _KB, lang: str) -> list[_Draft]:
    """Questions "which model does this framework passage describe?": the opening of each model
    document's core idea (or its English summary), with the model's own name masked."""
    drafts = []
    labels = MODEL_LABELS[lang]
    for key in MODEL_KEYS:
        doc = kb.framework(key)
        if doc is None:
            continue
        if lang == "en":
            chunks = doc.english()
            sentences = [s for c in chunks[:1] for s in split_sentences(c.text)][:1]
        else:
            chunks = doc.section("核心思想")
            sentences = [s for c in chunks[:1] for s in _prose(c.text)][:2]
        if not chunks or not sentences:
            continue
        passage = _short(_mask_models(" ".join(sentences) if lang == "en" else "".join(sentences)), 160)
        if lang == "en":
            question = f"Which operating model does this framework passage describe? “{passage}”"
            explanation = f"The passage opens the summary of the {labels[key]} model document [1]"
        else:
            question = f"下面这段框架文字描述的是哪种运营模式？“{passage}”"
            explanation = f"这段文字出自《{doc.meta.get('title', '')}》的“核心思想”[1]"
        drafts.append(
            _Draft(
                id=f"q-{key}-core-idea",
                module=key,
                kind="model-passage",
                question=question,
                answer=labels[key],
                pool=[labels[k] for k in MODEL_KEYS if k != key],
                explanation=explanation,
                citation=chunks[0],
                quote=" ".join(sentences) if lang == "en" else "".join(sentences),
            )
        )
    return drafts


_SUPPORT_EN = re.compile(
    r"(?:,\s*|:\s*)(?:and\s+)?([^,:]+?) for (product|content|community|transaction|service)-driven"
)


def _support_questions(kb: _KB, lang: str) -> list[_Draft]:
    """Questions "which model needs this support most?" from the support systems' per-model sections."""
    doc = kb.framework("support-systems")
    if doc is None:
        return []
    labels = MODEL_LABELS[lang]
    drafts = []
    if lang == "en":
        for chunk in doc.english():
            for m in _SUPPORT_EN.finditer(chunk.text):
                need, key = m.group(1).strip(), m.group(2)
                drafts.append(
                    _Draft(
                        id=f"q-support-systems-needs-{key}",
                        module="support-systems",
                        kind="support",
                        question=f"Which operating model needs this support most: {need}?",
                        answer=labels[key],
                        pool=[labels[k] for k in MODEL_KEYS if k != key],
                        explanation=(
                            f"The support-systems summary pairs “{need}” with the {labels[key]} model [1]"
                        ),
                        citation=chunk,
                        quote=m.group(0).lstrip(",: "),
                    )
                )
        return _unique(drafts)
    for heading in doc.under("各模式最需要的支撑"):
        key = _model_from_zh(heading)
        chunks = doc.section(f"各模式最需要的支撑 > {heading}")
        if key is None or not chunks:
            continue
        sentence = _prose(chunks[0].text)[:1]
        if not sentence:
            continue
        passage = _mask_models(sentence[0])
        drafts.append(
            _Draft(
                id=f"q-support-systems-needs-{key}",
                module="support-systems",
                kind="support",
                question=f"支撑体系一文中，哪种模式最需要这样的支撑：“{passage}”",
                answer=labels[key],
                pool=[labels[k] for k in MODEL_KEYS if k != key],
                explanation=f"这句话出自“{heading}”一节[1]",
                citation=chunks[0],
                quote=sentence[0],
            )
        )
    return drafts


_PRIMARY_IN_ITEM = re.compile(r"(?:以|适合)(产品|内容|社区|交易|服务)驱动(?:为主)?")


def _selection_questions(kb: _KB, lang: str) -> list[_Draft]:
    """Questions "which model is usually primary for <kind of business>?" from the selection guide's business
    types and reference combinations; only items that name exactly one primary model."""
    doc = kb.framework("selection")
    if doc is None:
        return []
    labels = MODEL_LABELS[lang]
    drafts = []
    for heading, tag in (
        ("四个判断因素 > 业务类型", "business-type"),
        ("混合模式 > 常见业务的参考组合", "mix"),
    ):
        number = 0
        for chunk in doc.section(heading):
            for line in chunk.text.splitlines():
                m = re.match(r"^- ([^：]+)：(.+?。)", line.strip())
                if not m:
                    continue
                business, item = m.group(1), m.group(0).removeprefix("- ")
                keys = {_MODEL_BY_ZH[x] for x in re.findall(r"以(产品|内容|社区|交易|服务)驱动为主", item)}
                keys = keys or {
                    _MODEL_BY_ZH[x] for x in re.findall(r"适合(产品|内容|社区|交易|服务)驱动", item)
                }
                if len(keys) != 1:
                    continue  # no single primary model stated: the question would be ambiguous
                key = keys.pop()
                number += 1
                if lang == "en":
                    question = (
                        f"In the model-selection guide (in Chinese), which model is usually primary for "
                        f"“{business}”?"
                    )
                    explanation = f"The guide says (in Chinese): “{_short(item, 80)}” [1]"
                else:
                    question = f"按模式选择一文的建议，“{business}”通常以哪种模式为主？"
                    explanation = f"模式选择一文写道：“{_short(item, 90)}”[1]"
                drafts.append(
                    _Draft(
                        id=f"q-selection-{tag}-{number}",
                        module="selection",
                        kind="selection",
                        question=question,
                        answer=labels[key],
                        pool=[labels[k] for k in MODEL_KEYS if k != key],
                        explanation=explanation,
                        citation=chunk,
                        quote=item,
                    )
                )
    return _unique(drafts)


# The five trends: the Chinese heading and how the English summary starts its sentence about it.
_TRENDS_EN = {
    "精细化与智能化": ("Refinement and intelligence", "Refinement and intelligence"),
    "私域流量运营": ("Private domain traffic", "Private domain traffic"),
    "全域运营": ("Omnichannel (full-domain) operations", "Omnichannel or full-domain operations"),
    "用户共创": ("User co-creation", "User co-creation"),
    "价值驱动": ("Value-driven operations", "Value-driven operations"),
}


def _trend_questions(kb: _KB, lang: str) -> list[_Draft]:
    """Questions "which trend is this?" from each trend's "趋势是什么" passage (or its English summary
    sentence), the trend's own name masked."""
    doc = kb.framework("trends")
    if doc is None:
        return []
    names = [h for h in doc.top_headings() if doc.section(f"{h} > {h}：趋势是什么")]
    drafts = []
    for name in names:
        if lang == "en":
            if name not in _TRENDS_EN or not all(n in _TRENDS_EN for n in names):
                continue
            label, start = _TRENDS_EN[name]
            found = None
            for chunk in doc.english():
                for sentence in split_sentences(chunk.text):
                    if sentence.startswith(start):
                        found = (chunk, sentence)
            if found is None:
                continue
            chunk, sentence = found
            passage = "____" + sentence[len(start) :]
            question = f"Which trend does the trends document describe here? “{_short(passage, 170)}”"
            answer, pool = label, [_TRENDS_EN[n][0] for n in names if n != name]
            explanation = f"The trends summary says: “{_short(sentence, 150)}” [1]"
        else:
            chunks = doc.section(f"{name} > {name}：趋势是什么")
            sentences = _prose(chunks[0].text)
            with_name = [
                s for s in sentences if _trend_variants(name)[0] in s or _trend_variants(name)[-1] in s
            ]
            picked = (with_name or sentences)[:1]
            if not picked:
                continue
            chunk, sentence = chunks[0], picked[0]
            passage = sentence
            for variant in _trend_variants(name):
                passage = passage.replace(variant, "____")
            question = f"下面这段话描述的是哪个趋势？“{_short(passage, 150)}”"
            answer, pool = name, [n for n in names if n != name]
            explanation = f"这段话出自趋势一文的“{name}：趋势是什么”[1]"
        drafts.append(
            _Draft(
                id=f"q-trends-{_slug(_TRENDS_EN.get(name, (name,))[0]) or len(drafts) + 1}",
                module="trends",
                kind="trend",
                question=question,
                answer=answer,
                pool=pool,
                explanation=explanation,
                citation=chunk,
                quote=sentence,
            )
        )
    return drafts


def _trend_variants(name: str) -> list[str]:
    """A trend's name and the shorter forms the text uses for it, longest first."""
    variants = {name, name.removesuffix("运营"), name.removesuffix("流量运营"), *name.split("与")}
    return sorted((v for v in variants if len(v) >= 2), key=len, reverse=True)


_GENERATORS: list[Callable[[_KB, str], list[_Draft]]] = [
    _overview_questions,
    _value_loop_questions,
    _model_idea_questions,
    _company_model_questions,
    _support_questions,
    _selection_questions,
    _trend_questions,
    _glossary_questions,
]


def _drafts(source: KnowledgeIndex | Sequence[StoredChunk], lang: str) -> list[_Draft]:
    kb = _KB(_chunks_of(source))
    drafts: list[_Draft] = []
    for generator in _GENERATORS:
        drafts.extend(generator(kb, lang))
    return _unique(drafts)


def question_bank(
    source: KnowledgeIndex | Sequence[StoredChunk], lang: Lang = "zh", seed: int = 0
) -> list[QuizQuestion]:
    """Every question the knowledge base supports, in generator order (for review and for tests; a quiz
    is a seeded draw from these)."""
    return [_finish(d, seed, lang) for d in _drafts(source, lang)]


def _finish(draft: _Draft, seed: int, lang: str) -> QuizQuestion:
    """Pick up to three distractors and shuffle the options, seeded by the seed and the question id so
    a question looks the same whichever other questions are drawn with it."""
    rng = random.Random(f"{seed}:{draft.id}")
    pool = sorted(set(draft.pool) - {draft.answer})
    options = [draft.answer, *rng.sample(pool, min(3, len(pool)))]
    rng.shuffle(options)
    return QuizQuestion(
        id=draft.id,
        module=draft.module,
        question=draft.question,
        options=options,
        answer_index=options.index(draft.answer),
        explanation=draft.explanation,
        citation=_citation(1, draft.citation, draft.quote or None),
        kind=draft.kind,
        lang=lang,
    )


def build_quiz(
    source: KnowledgeIndex | Sequence[StoredChunk],
    lang: Lang = "zh",
    module: str | None = None,
    n: int = 10,
    seed: int = 0,
) -> list[QuizQuestion]:
    """Up to n questions, deterministic for a seed. Without a module the questions are dealt round-robin
    across the modules in path order, so a short quiz covers the path rather than one big module."""
    if lang not in ("zh", "en"):
        raise ValueError(f"unknown language '{lang}': use zh or en")
    if module is not None and module not in MODULE_KEYS:
        raise ValueError(f"unknown module '{module}': use one of {', '.join(MODULE_KEYS)}")
    if n < 1:
        raise ValueError("n must be at least 1")
    drafts = _drafts(source, lang)
    if module is not None:
        drafts = [d for d in drafts if d.module == module]
    rng = random.Random(seed)
    groups: dict[str, list[_Draft]] = {}
    for draft in drafts:
        groups.setdefault(draft.module, []).append(draft)
    for group in groups.values():
        rng.shuffle(group)
    order = [m for m in MODULE_KEYS if m in groups]
    chosen: list[_Draft] = []
    while len(chosen) < n and any(groups[m] for m in order):
        for m in order:
            if groups[m] and len(chosen) < n:
                chosen.append(groups[m].pop())
    return [_finish(d, seed, lang) for d in chosen]


def grade(question: QuizQuestion, chosen: int) -> QuizResult:
    """Mark one answer; the explanation and citation come back either way so the learner can read why."""
    if not 0 <= chosen < len(question.options):
        raise ValueError(f"choice {chosen} is out of range: pick 0..{len(question.options) - 1}")
    return QuizResult(
        question_id=question.id,
        chosen=chosen,
        correct=chosen == question.answer_index,
        answer_index=question.answer_index,
        explanation=question.explanation,
        citation=question.citation,
    )


__all__ = [
    "MODULE_KEYS",
    "LearningModule",
    "QuizQuestion",
    "QuizResult",
    "build_quiz",
    "grade",
    "learning_path",
    "question_bank",
]
