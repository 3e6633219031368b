"""The bundled knowledge base: valid, complete against the seed essay, and findable per company."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest

from assistant.core.vocabulary import MODEL_KEYS
from assistant.ingest.chunking import ENGLISH_CHUNK_FACTOR, chunk_document
from assistant.ingest.loaders import discover, load_document
from tests.conftest import KNOWLEDGE, REPO

ESSAY = REPO.parent / "shared" / "seed" / "operating-models.zh.md"
# A copy of the seed essay, for machines (CI) without ../shared; a test keeps it in sync.
ESSAY_COPY = Path(__file__).parent / "data" / "operating-models.zh.md"
SEED_COMPANIES = {
    *("WeChat", "Zhihu", "Douyin", "Kuaishou", "Bilibili", "Xiaomi", "Xiaohongshu", "Douban", "Reddit"),
    *("Taobao", "JD", "Pinduoduo", "Salesforce", "DingTalk", "McKinsey", "Accenture", "Dedao", "Coursera"),
    *("Evernote", "WPS", "Live commerce"),
}
CASE_HEADINGS = [
    *("概况", "关键数据", "主导模式与辅助模式", "价值循环", "关键打法", "支撑体系"),
    *("关注的指标", "成效与争议", "对运营者的启示", "English summary"),
]
LOOP = ["目标", "用户", "价值", "渠道", "数据", "优化"]
SUPPORT = ["组织", "数据", "技术", "激励"]
TOPICS = [
    *("overview", "core-loop", "product", "content", "community", "transaction", "service"),
    *("support-systems", "trends", "selection", "glossary"),
]

DOCS = [load_document(path) for path in discover([KNOWLEDGE])]
ORIGINALS = [d for d in DOCS if d.translation_of is None]
TWINS = [d for d in DOCS if d.translation_of is not None]
CASES = [d for d in ORIGINALS if d.kind == "case"]
FRAMEWORK = [d for d in ORIGINALS if d.kind == "framework"]


def h2(body: str) -> list[str]:
    return re.findall(r"^## (.+?)\s*$", body, re.M)


def section(body: str, heading: str) -> str:
    match = re.search(rf"^## {re.escape(heading)}\s*$(.*?)(?=^## |\Z)", body, re.M | re.S)
    return match.group(1) if match else ""


def test_every_file_loads_with_unique_ids():
    assert len(DOCS) == len(list(KNOWLEDGE.rglob("*.md"))) - 1  # all but README.md
    ids = Counter(d.id for d in DOCS)
    assert [i for i, n in ids.items() if n > 1] == []


def test_one_framework_document_per_topic():
    assert sorted(d.topic for d in FRAMEWORK) == sorted(TOPICS)
    for doc in FRAMEWORK:
        assert doc.id == f"framework-{doc.topic}"
        assert "English summary" in h2(doc.body), doc.id
        assert len(doc.body) >= 1500, doc.id


def test_model_documents_cover_what_an_operator_needs():
    for key in MODEL_KEYS:
        doc = next(d for d in FRAMEWORK if d.topic == key)
        headings = h2(doc.body)
        for needed in ("核心思想", "运营重点", "关注的指标", "常见失败模式", "典型案例", "适用场景"):
            assert any(needed in h for h in headings), (key, needed)


def test_seed_companies_are_all_present():
    assert {d.company for d in CASES} >= SEED_COMPANIES


def test_at_least_forty_cases_and_six_per_primary_model_with_both_regions():
    assert len(CASES) >= 40
    for key in MODEL_KEYS:
        primary = [d for d in CASES if d.models[0] == key]
        assert len(primary) >= 6, key
        assert {d.region for d in primary} == {"china", "international"}, key


@pytest.mark.parametrize("doc", CASES, ids=[d.id for d in CASES])
def test_case_follows_the_template(doc):
    assert doc.id == f"case-{Path(doc.source).stem}"
    assert doc.company and doc.company_zh and doc.industry and doc.region and doc.facts_as_of
    assert doc.primary_model == doc.models[0]
    assert h2(doc.body) == CASE_HEADINGS
    assert re.findall(r"^### (.+?)\s*$", section(doc.body, "价值循环"), re.M) == LOOP
    assert re.findall(r"^### (.+?)\s*$", section(doc.body, "支撑体系"), re.M) == SUPPORT
    summary = section(doc.body, "English summary")
    assert doc.company.split()[0] in summary and len(summary.split()) >= 60
    assert len(doc.body) >= 1500
    assert sum(1 for ch in doc.body if "\u4e00" <= ch <= "\u9fff") >= 1200  # Chinese body, not padding


@pytest.mark.parametrize("doc", DOCS, ids=[d.id for d in DOCS])
def test_every_document_chunks_cleanly(doc):
    chunks = chunk_document(doc)
    assert chunks
    longest = 700 * (ENGLISH_CHUNK_FACTOR if doc.lang == "en" else 1)
    for chunk in chunks:
        assert chunk.heading_path, chunk.chunk_id  # every chunk sits under a heading
        assert 10 <= len(chunk.text) <= longest, chunk.chunk_id
        assert not chunk.text.startswith(("。", "，", "、")), chunk.chunk_id


def essay_headings(text: str) -> list[str]:
    """Heading lines of the essay (short lines without sentence punctuation) and its bullet labels."""
    found: list[str] = []
    for raw in text.splitlines():
        line = raw.strip()
        if not line:
            continue
        if line.startswith("- "):
            label = line[2:].split(":", 1)[0].strip() if ":" in line else line[2:].strip()
            if len(label) <= 12 and not re.search(r"[，。,]", label):
                found.append(label)
        elif len(line) <= 30 and not re.search(r"[，。,]", line):
            found.append(line.rstrip(":"))
    return list(dict.fromkeys(found))


def coverage_rows() -> list[tuple[str, str, str]]:
    readme = (KNOWLEDGE / "README.md").read_text(encoding="utf-8")
    rows = []
    for line in readme.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if line.startswith("|") and len(cells) == 3 and not set(cells[0]) <= set("-: "):
            rows.append((cells[0], cells[1], cells[2]))
    return rows[1:]  # without the header row


def test_the_essay_copy_matches_the_shared_seed():
    if not ESSAY.exists():
        pytest.skip("../shared is not on this machine; the committed copy is used")
    assert ESSAY_COPY.read_text(encoding="utf-8") == ESSAY.read_text(encoding="utf-8")


def test_every_essay_heading_is_in_the_coverage_table():
    text = ESSAY_COPY.read_text(encoding="utf-8")
    headings = essay_headings(text)
    assert len(headings) >= 40
    covered = {row[0] for row in coverage_rows()}
    assert [h for h in headings if h not in covered] == []


def test_coverage_table_points_at_real_documents_and_headings():
    by_id = {d.id: d for d in DOCS}
    for _, doc_ids, headings in coverage_rows():
        for doc_id in re.split(r"[；;,，]\s*", doc_ids):
            assert doc_id in by_id, doc_id
        body = "\n".join(by_id[i].body for i in re.split(r"[；;,，]\s*", doc_ids))
        for heading in re.split(r"[；;]", headings):
            heading = heading.strip()
            if heading and heading != "（全文）":
                assert re.search(rf"^{re.escape(heading)}\s*$", body, re.M), heading


@pytest.fixture(scope="module")
def kb_service(knowledge_store, models_dir):
    from assistant.core.settings import Settings
    from assistant.services.yunying import Yunying

    return Yunying(Settings(_env_file=None, data_dir=knowledge_store, models_dir_override=models_dir))


def test_each_case_is_found_by_its_company_in_both_languages(kb_service):
    misses = []
    for doc in CASES:
        for query in (
            f"{doc.company_zh} 的运营模式是什么？",
            f"What operating model does {doc.company} follow?",
        ):
            top = [h.pair_id for h in kb_service.search(query, k=3)]
            if doc.id not in top:
                misses.append((query, top))
    assert misses == []


# ---------------------------------------------------------------- English twins

YEAR_OR_PERCENT = re.compile(r"(?:19|20)\d\d|\d+(?:\.\d+)?\s?%")


def test_every_document_has_an_english_twin():
    by_id = {d.id: d for d in DOCS}
    assert {t.translation_of for t in TWINS} == {d.id for d in ORIGINALS if d.lang == "zh"}
    for twin in TWINS:
        original = by_id[twin.translation_of]
        assert twin.id == f"{original.id}-en" and twin.lang == "en"
        assert Path(twin.source).name == Path(original.source).name.replace(".md", ".en.md")
        same = ("kind", "topic", "models", "company", "company_zh", "aliases", "region", "primary_model")
        assert {k: getattr(twin, k) for k in same} == {k: getattr(original, k) for k in same}, twin.id


@pytest.mark.parametrize("twin", TWINS, ids=[d.id for d in TWINS])
def test_twins_keep_in_step(twin):
    """Same headings at the same levels, and every year and percentage of one stated in the other."""
    original = next(d for d in DOCS if d.id == twin.translation_of)
    levels = [re.findall(r"^(#+) ", d.body, re.M) for d in (original, twin)]
    assert levels[0] == levels[1]
    numbers = [{n.replace(" ", "") for n in YEAR_OR_PERCENT.findall(d.body)} for d in (original, twin)]
    assert numbers[0] == numbers[1], numbers[0] ^ numbers[1]
    assert sum(1 for ch in twin.body if "\u4e00" <= ch <= "\u9fff") < len(twin.body) * 0.1  # English text


def test_the_glossary_links_terms_both_ways():
    zh = next(d for d in ORIGINALS if d.id == "framework-glossary")
    en = next(d for d in TWINS if d.translation_of == "framework-glossary")
    for term, english in (("私域", "private-domain"), ("价值循环", "value loop"), ("公域", "public-domain")):
        assert term in zh.body and english in zh.body.lower()
        assert term in en.body and english in en.body.lower()
