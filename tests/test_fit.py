"""Model fit and memos on the real store: schema, deterministic ranking, citations, DOCX export."""

from __future__ import annotations

import json

import pytest

from assistant.config import Settings
from assistant.evaluation import load_fit_cases
from assistant.fit import FitInputError
from assistant.memo import export, render_markdown
from assistant.service import Yunying
from tests.conftest import run_cli

HR_SAAS = (
    "面向中小企业的人力资源SaaS，按年订阅，客户是HR负责人，目前处于成长期，"
    "团队以销售和客户成功为主，主要通过行业会议和内容营销获客。"
)
HOBBY = (
    "A community app for mechanical-keyboard hobbyists: members share builds, trade tips in forums and "
    "organise local meetups; volunteer moderators keep discussions friendly. Revenue is a small paid "
    "membership. The team is three people, one year after launch, growing by word of mouth."
)

PET_SHOP = "一家做宠物用品的线上商店，主要卖猫粮和猫砂，客户大多是城市里的年轻上班族。"


@pytest.fixture(scope="module")
def service(knowledge_store, models_dir):
    return Yunying(
        Settings(_env_file=None, data_dir=knowledge_store, models_dir_override=models_dir, llm="none")
    )


def test_ranking_schema_and_citations_resolve_to_chunks(service):
    analysis = service.fit(HR_SAAS)
    assert [r.model for r in analysis.ranking] == sorted(
        [r.model for r in analysis.ranking],
        key=lambda m: -next(r.score for r in analysis.ranking if r.model == m),
    )
    assert {r.model for r in analysis.ranking} == {
        "product",
        "content",
        "community",
        "transaction",
        "service",
    }
    assert analysis.primary == "service" and analysis.profile.lang == "zh"
    assert "按年订阅" in analysis.profile.revenue_model and "成长期" in analysis.profile.stage
    stored = {c.chunk_id for c in service.index.all_chunks()}
    for score in analysis.ranking:
        assert 0 <= score.score <= 100 and score.citations
        assert all(c.chunk_id in stored for c in score.citations)
    assert all(c.chunk_id in stored for c in analysis.references)
    assert [c.n for c in analysis.references] == list(range(1, len(analysis.references) + 1))
    assert list(analysis.value_loop) == ["目标", "用户", "价值", "渠道", "数据", "优化"]
    assert list(analysis.support_systems) == ["组织", "数据", "技术", "激励"]
    assert analysis.similar_cases and analysis.confidence in ("high", "medium", "low")


def test_ranking_is_deterministic_and_english_input_gives_an_english_memo(service):
    first, second = service.fit(HOBBY), service.fit(HOBBY)
    assert [(r.model, r.score) for r in first.ranking] == [(r.model, r.score) for r in second.ranking]
    assert first.primary == "community"
    memo = render_markdown(first)
    for heading in ("## Summary and recommendation", "## Model scores", "## The value loop in practice",
                    "## References"):  # fmt: skip
        assert heading in memo


def test_golden_fit_cases_mostly_agree(service):
    # the original 14 cases (evals/golden/fit.yaml); the blind dev/test cases measure issue 15's work
    cases = [c for c in load_fit_cases() if not c.tags]
    agree = sum(service.fit(c.description).primary == c.expected_primary for c in cases)
    assert agree / len(cases) >= 0.9


def test_memo_docx_has_headings_and_a_score_table(service, tmp_path):
    from docx import Document

    analysis = service.fit(HR_SAAS)
    path = export(analysis, tmp_path / "memo.docx")
    doc = Document(str(path))
    headings = [p.text for p in doc.paragraphs if p.style.name.startswith(("Heading", "Title"))]
    for heading in ("摘要与建议", "业务画像", "模式评分表", "主模式与组合", "价值循环落地", "支撑体系要求",
                    "对标案例", "风险与待验证假设", "参考来源"):  # fmt: skip
        assert heading in headings
    table = doc.tables[0]
    assert [c.text for c in table.rows[0].cells] == ["模式", "分数", "理由"]
    assert len(table.rows) == 6 and table.rows[1].cells[0].text.startswith("服务驱动")


@pytest.mark.parametrize("text", ["", "   ", "asdf qwer", "你好"])
def test_empty_or_meaningless_input_is_refused(service, text):
    with pytest.raises((FitInputError, ValueError)):
        service.fit(text)


def test_fit_cli_json_and_memo(knowledge_store, tmp_path):
    memo = tmp_path / "memo.md"
    result = run_cli(
        "fit", "--text", HR_SAAS, "--llm", "none", "--json", "--memo", str(memo), data_dir=knowledge_store
    )
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    fields = {"profile", "ranking", "primary", "supporting", "value_loop", "support_systems", "similar_cases",
              "risks", "evidence_gaps", "confidence", "memo_markdown"}  # fmt: skip
    assert set(data) >= fields and len(data["ranking"]) == 5
    assert set(data["ranking"][0]) >= {"model", "score", "rationale", "citations"}
    assert memo.read_text(encoding="utf-8") == data["memo_markdown"]
    bad = run_cli("fit", "--text", "  ", data_dir=knowledge_store)
    assert bad.returncode == 1 and bad.stderr.startswith("yunying: error:")
    neither = run_cli("fit", data_dir=knowledge_store)
    assert neither.returncode == 1 and "--text or --file" in neither.stderr
    too_long = run_cli("fit", "--text", HR_SAAS, "--stage", "成" * 400, data_dir=knowledge_store)
    assert too_long.returncode == 1 and too_long.stderr.startswith("yunying: error: --stage:")


def test_selection_factors_fill_the_profile_and_count_as_evidence(service, knowledge_store):
    from assistant.fit import SelectionFactors

    bare = service.fit(PET_SHOP)
    assert "发展阶段" in bare.profile.gaps
    factors = SelectionFactors(stage="初创期，刚上线三个月", resources="两个人的小团队，擅长短视频内容")
    stated = service.fit(PET_SHOP, factors=factors)
    assert stated.profile.stage == "初创期，刚上线三个月" and stated.profile.sources["stage"] == "field"
    assert "发展阶段" not in stated.profile.gaps and "资源禀赋" not in stated.profile.gaps
    assert "（表单填写）" in stated.memo_markdown
    # the stated resources (短视频内容) are signals like the description's own words
    assert stated.profile.signals["content"] != bare.profile.signals["content"]
    result = run_cli(
        "fit", "--text", PET_SHOP, "--stage", "初创期", "--llm", "none", "--json", data_dir=knowledge_store
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["profile"]["stage"] == "初创期"


def test_llm_enrichment_fills_gaps_only_with_grounded_values_and_keeps_the_ranking(service):
    from langchain_core.language_models.fake_chat_models import FakeListChatModel

    from assistant.fit import enrich_with_llm

    analysis = service.fit(PET_SHOP)
    reading = (
        '好的：```json\n{"business_type": "宠物用品线上商店", "revenue_model": "卖猫粮和猫砂", '
        '"stage": "已在纳斯达克上市", "channels": "", "resources": null}\n```'
    )
    first = analysis.ranking[0].citations[0]
    llm = FakeListChatModel(
        responses=[
            "这不是 JSON",
            reading,
            f"{first.quote[:30]}[1]。这家公司明年一定会在纳斯达克上市[1]。",
            "天气很好[9]。",
            "天气很好[9]。",
        ]
    )
    enriched = enrich_with_llm(llm, analysis)
    assert enriched.profile.revenue_model == "卖猫粮和猫砂"
    assert enriched.profile.sources["revenue_model"] == "llm"
    assert enriched.profile.stage == ""  # invented (not in the description): dropped
    assert "盈利方式" not in enriched.profile.gaps and "发展阶段" in enriched.profile.gaps
    assert [(r.model, r.score) for r in enriched.ranking] == [(r.model, r.score) for r in analysis.ranking]
    assert enriched.ranking[0].rationale.startswith(analysis.ranking[0].rationale)
    added = enriched.ranking[0].rationale.removeprefix(analysis.ranking[0].rationale)
    assert f"[{first.n}]" in added and "纳斯达克" not in added  # the unsupported sentence is dropped
    assert enriched.summary == ""  # an unsupported summary is never shown


def test_llm_summary_is_kept_only_when_its_citations_check_out(service):
    from langchain_core.language_models.fake_chat_models import FakeListChatModel

    from assistant.fit import llm_summary

    analysis = service.fit(HR_SAAS)
    first = next(c for c in analysis.references if c in analysis.ranking[0].citations)
    good = FakeListChatModel(responses=[f"{first.quote[:40]}[1]。"])
    summary = llm_summary(good, analysis)
    assert summary and f"[{first.n}]" in summary
    bad = FakeListChatModel(
        responses=["Ignore this: totally unrelated text about the weather on Mars [7].", "x"]
    )
    assert llm_summary(bad, analysis) == ""


def test_llm_text_cut_off_at_max_tokens_keeps_whole_sentences_only(service):
    from langchain_core.language_models.fake_chat_models import FakeListChatModel

    from assistant.fit import llm_rationale

    analysis = service.fit(HR_SAAS)
    first = analysis.ranking[0].citations[0]
    cut = FakeListChatModel(responses=[f"{first.quote[:30]}[1]。此外，它还可以通过提供易于上"])
    why = llm_rationale(cut, analysis)
    assert why and f"[{first.n}]" in why and "易于上" not in why
