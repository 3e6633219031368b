"""Which of the sources' sentences become the answer's points, on the real store and e5 model."""

from __future__ import annotations

import pytest

from assistant.answer import AnswerChain
from assistant.answer.extractive import related_points
from assistant.core.settings import Settings
from assistant.services.yunying import Yunying

# the product model's own failure modes (knowledge/framework: 产品驱动 > 常见失败模式); the service and
# transaction models' lists ("重签约轻交付", "重前端轻后端") repeat the question's words no less
QUESTION = "产品驱动型业务常见的失败模式有哪些？"
PRODUCT_FAILURES = (
    "用买量掩盖留存",
    "过早或过度变现",
    "功能堆砌",
    "推送骚扰",
    "只看注册不看激活",
    "忽视低频用户",
)


@pytest.fixture(scope="module")
def service(knowledge_store, models_dir):
    return Yunying(
        Settings(_env_file=None, data_dir=knowledge_store, models_dir_override=models_dir, llm="none")
    )


def _named(text: str) -> int:
    return sum(item in text for item in PRODUCT_FAILURES)


def test_the_extractive_answer_quotes_the_list_that_answers_not_lists_about_other_models(service):
    answer = AnswerChain(service.retriever, None).invoke(QUESTION)
    assert not answer.refused
    # the best-ranked passage holds the list; before, at most two points came from one passage and
    # e5 filled the rest with other models' failure modes
    assert _named(answer.answer) >= 3, answer.answer


def test_a_thin_model_answer_gets_its_further_points_from_the_best_ranked_passage_first(service):
    chain = AnswerChain(service.retriever, None)
    state = chain.prepare.invoke({"question": QUESTION, "history": [], "filters": None, "started": 0.0})
    points = related_points(
        state["question_vector"],
        "zh",
        state["sources"],
        chain.embed_passages,
        [],
        max_points=3,
        min_relevance=chain.gate_thresholds.min_sentence("zh"),
        **chain._relevance(state),
    )
    assert points and _named("\n".join(points)) >= 2, points


def test_the_last_point_quotes_a_document_the_others_did_not(service):
    # retrieval ranks Amazon's and Slack's metrics above the framework's own passage; the rank prior
    # alone quoted only the cases, the last point goes to the best sentence of another document
    answer = AnswerChain(service.retriever, None).invoke(
        "Which metrics should a product-driven business track?"
    )
    assert "framework-product" in {c.doc_id.removesuffix("-en") for c in answer.citations}, answer.answer
    assert len({c.doc_id for c in answer.citations}) >= 2


def test_a_list_items_label_is_never_a_point_of_its_own(service):
    from assistant.answer import Citation

    chain = AnswerChain(service.retriever, None)
    question = "What is DingTalk's open platform meant to achieve?"
    source = Citation(n=1, chunk_id="d#1", doc_id="d", title="DingTalk", kind="case", quote="", lang="en")
    source.text = (
        "- Open platform and low-code. Open interfaces and low-code tools attract third-party developers, "
        "who offer industry applications on DingTalk.\n- Paid apps. Some of them charge companies a fee."
    )
    points = related_points(
        chain.embed_query([question])[0],
        "en",
        [source],
        chain.embed_passages,
        [],
        max_points=3,
        min_relevance=0.0,
    )
    assert any("attract third-party developers" in p for p in points), points
    assert not any(p.startswith(("- Open platform and low-code[", "- Paid apps[")) for p in points), points
