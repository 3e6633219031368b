"""Hybrid retrieval on a small fixture of our own: it must beat dense-only and BM25-only, and filter."""

from __future__ import annotations

from pathlib import Path

import pytest

from assistant.ingest.pipeline import ingest_files
from assistant.retrieval import HybridRetriever, SearchFilters
from assistant.store.chroma import KnowledgeIndex
from assistant.store.tokenizer import tokenize

# Five identical experiment notes but for one record number made of the same four digits: in a long
# passage the number barely moves a dense embedding, while BM25 matches it exactly. Five topic notes
# English questions reach only through meaning (BM25 shares no token with them; dense can).
PROJECTS = {
    "proj-4471": "4471",
    "proj-4417": "4417",
    "proj-7441": "7441",
    "proj-1744": "1744",
    "proj-7144": "7144",
}
TOPICS = {
    "topic-private": (
        "私域流量",
        "企业把顾客沉淀到企业微信社群和会员小程序里，之后可以反复免费触达，降低每次营销的获客成本。",
    ),
    "topic-logistics": (
        "仓储物流",
        "自建仓库和配送网络让包裹次日送达，退换货也更快，消费者因此愿意为正品和时效多付一点钱。",
    ),
    "topic-creator": (
        "创作者激励",
        "平台给原创作者流量扶持和收入分成，作者越多作品越丰富，观众停留越久，广告收入随之增长。",
    ),
    "topic-saas": (
        "订阅续费",
        "企业软件按年收费，客户成功团队帮助客户用好产品，到期时客户续签合同并购买更多席位。",
    ),
    "topic-fans": (
        "粉丝共创",
        "品牌邀请忠实粉丝参与新品测试和功能投票，粉丝觉得自己是产品的一部分，于是主动向朋友推荐。",
    ),
}
QUERIES = [
    ("4471 由哪个团队负责？", "proj-4471"),
    ("4417 的预算怎么安排", "proj-4417"),
    ("7441 进展如何", "proj-7441"),
    ("1744 的目标", "proj-1744"),
    ("7144 什么时候复盘", "proj-7144"),
    ("How can a brand reach its own customers again and again without paying for ads?", "topic-private"),
    ("Why do shoppers pay more for next-day delivery of genuine goods?", "topic-logistics"),
    ("How does a video site grow by paying original makers?", "topic-creator"),
    ("How do business software vendors get clients to renew and expand?", "topic-saas"),
    ("Why do loyal fans recommend a brand after testing its new products?", "topic-fans"),
]


def fixture_doc(doc_id: str, title: str, body: str, topic: str, models: str) -> str:
    front = f"id: {doc_id}\ntitle: {title}\nkind: framework\ntopic: {topic}\nmodels: [{models}]\nlang: zh"
    return f"---\n{front}\n---\n## 说明\n{body}\n"


@pytest.fixture(scope="module")
def retriever(tmp_path_factory, embedder, models_dir):
    from assistant.core.settings import Settings

    root: Path = tmp_path_factory.mktemp("retrieval")
    kb = root / "knowledge"
    kb.mkdir()
    for doc_id, name in PROJECTS.items():
        body = (
            "这是一次面向新用户的留存实验，运营团队调整了新手引导和首周推送的节奏，观察次日留存和七日留存的变化。"
            "实验组和对照组的流量各占一半，数据看板每天更新，异常波动会在晨会上讨论。"
            "新手引导把核心功能的演示从第三步提前到第一步，推送则从每天两次改为每两天一次，并按用户活跃时段发送。"
            "为了避免节假日干扰，实验避开了大促周，样本量按最小可检测效应提前估算。"
            f"本轮记录的编号为{name}。"
            "如果七日留存提升显著且卸载率没有上升，就把新方案推广到全部新用户，结论在季度会上复盘。"
        )
        (kb / f"{doc_id}.md").write_text(
            fixture_doc(doc_id, "留存实验记录", body, "product", "product"), encoding="utf-8"
        )
    for (doc_id, (title, body)), model in zip(
        TOPICS.items(), ["community", "transaction", "content", "service", "community"], strict=True
    ):
        (kb / f"{doc_id}.md").write_text(fixture_doc(doc_id, title, body, model, model), encoding="utf-8")
    settings = Settings(
        _env_file=None, data_dir=root / "data", knowledge_dir=kb, models_dir_override=models_dir
    )
    index = KnowledgeIndex(settings, embedder)
    ingest_files(index)
    return HybridRetriever(index)


def mrr(retriever: HybridRetriever, mode: str) -> float:
    total = 0.0
    for query, expected in QUERIES:
        ranked = [h.doc_id for h in retriever.search(query, k=10, mode=mode)]
        total += 1.0 / (ranked.index(expected) + 1) if expected in ranked else 0.0
    return total / len(QUERIES)


def test_hybrid_beats_dense_only_and_bm25_only(retriever):
    hybrid, dense, bm25 = (mrr(retriever, mode) for mode in ("hybrid", "dense", "bm25"))
    print(f"MRR hybrid={hybrid:.3f} dense={dense:.3f} bm25={bm25:.3f}")
    assert hybrid > dense
    assert hybrid > bm25
    assert hybrid >= 0.9


def test_hits_carry_metadata_and_fused_scores_descend(retriever):
    hits = retriever.search("7441", k=5)
    assert hits[0].doc_id == "proj-7441"
    assert [h.rank for h in hits] == list(range(1, len(hits) + 1))
    assert all(a.score >= b.score for a, b in zip(hits, hits[1:], strict=False))
    assert hits[0].kind == "framework" and hits[0].topic == "product" and hits[0].models == ["product"]
    assert hits[0].heading == "说明" and hits[0].chunk_id.startswith("proj-7441#")
    assert hits[0].dense_score is not None and hits[0].bm25_score is not None


@pytest.mark.parametrize("mode", ["hybrid", "dense", "bm25"])
def test_filters_apply_in_every_mode(retriever, mode):
    hits = retriever.search(
        "用户 社群 品牌 粉丝 物流", k=10, filters=SearchFilters(models=["community"]), mode=mode
    )
    assert hits and {h.doc_id for h in hits} <= {"topic-private", "topic-fans"}
    hits = retriever.search("项目预算", k=10, filters=SearchFilters(topic="transaction"), mode=mode)
    assert {h.doc_id for h in hits} <= {"topic-logistics"}


def test_empty_query_is_refused(retriever):
    with pytest.raises(ValueError, match="empty"):
        retriever.search("   ")


def test_tokenizer_is_chinese_aware_and_lowercases_english():
    tokens = tokenize("运营的价值循环包括哪些环节？How does GMV grow?")
    assert "价值循环" in tokens and "环节" in tokens
    assert "gmv" in tokens and "grow" in tokens
    assert "的" not in tokens and "？" not in tokens and "how" not in tokens


def test_langchain_adapter_returns_documents(retriever):
    docs = retriever.as_langchain(k=3).invoke("1744")
    assert docs[0].metadata["doc_id"] == "proj-1744"
    assert "1744" in docs[0].page_content
