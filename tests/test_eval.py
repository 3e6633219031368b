"""The eval suite as CI runs it: golden set valid, retrieval above the committed floors, ours ahead of
every baseline, and a report a person can open."""

from __future__ import annotations

import json

import pytest

from assistant.ingest.loaders import discover, load_document
from assistant.tools.evaluation import (
    REPO_EVALS,
    key_point_coverage,
    load_fit_cases,
    load_items,
    ranked_docs,
    retrieval_scores,
)
from tests.conftest import KNOWLEDGE, run_cli

FLOORS = json.loads((REPO_EVALS / "floors.json").read_text(encoding="utf-8"))


def test_golden_set_is_valid_and_big_enough():
    items = load_items()
    known = {load_document(p).id for p in discover([KNOWLEDGE, REPO_EVALS / "fixtures"])}
    assert len(items) >= 80
    kinds = ("in_scope", "follow_up", "out_of_scope", "injection")
    by_type = {t: [i for i in items if i.type == t] for t in kinds}
    assert len(by_type["follow_up"]) >= 10 and all(i.history for i in by_type["follow_up"])
    assert len(by_type["out_of_scope"]) >= 10 and all(not i.expected_docs for i in by_type["out_of_scope"])
    assert len(by_type["injection"]) >= 3
    assert {i.lang for i in items} == {"zh", "en"}
    assert len({i.company for i in items if i.company}) >= 20
    topics = {i.topic for i in items}
    assert {"core-loop", "product", "content", "community", "transaction", "service"} <= topics
    for item in items:
        assert set(item.expected_docs) <= known, item.id
    assert len(load_fit_cases()) >= 10


def test_metrics_on_a_hand_computed_ranking():
    scores = retrieval_scores(["b", "a", "c"], ["a", "c"])
    assert scores["hit@1"] == 0.0 and scores["hit@5"] == 1.0 and scores["mrr"] == 0.5
    assert scores["recall@5"] == 1.0
    assert scores["ndcg@5"] == pytest.approx((1 / 1.585 + 1 / 2) / (1 + 1 / 1.585), rel=1e-3)
    assert ranked_docs(["a", "a", "b"]) == ["a", "b"]
    assert key_point_coverage("小红书主要靠广告与品牌合作变现。", ["品牌广告", "电商"]) == 0.5


def test_key_points_are_averaged_over_items_that_have_them():
    from assistant.answer import Answer
    from assistant.tools.evaluation import EvalItem, score_answer
    from assistant.tools.evaluation.results import ItemResult

    def scored(item: EvalItem, text: str) -> dict[str, float]:
        result = ItemResult(
            id=item.id,
            type=item.type,
            lang=item.lang,
            group="-",
            question=item.question,
            query=item.question,
            expected_docs=item.expected_docs,
            retrieved_docs=[],
        )
        answer = Answer(question=item.question, answer=text, refused=False, backend="none", lang=item.lang)
        score_answer(result, item, answer)
        return result.answer_metrics

    trap = EvalItem(
        id="t", type="figure_trap", lang="zh", question="拼多多2023年的GMV是多少？", reference_answer="-"
    )
    # a declined figure (no key points to cover) is not a fully covered answer that lifts the mean
    assert "key_point_coverage" not in scored(trap, "知识库没有给出这个具体数字。")
    asked = trap.model_copy(
        update={"type": "in_scope", "key_points": ["品牌广告", "电商"], "expected_docs": ["x"]}
    )
    assert scored(asked, "小红书主要靠广告与品牌合作变现。")["key_point_coverage"] == 0.5


@pytest.fixture(scope="module")
def eval_run(knowledge_store, tmp_path_factory):
    report_dir = tmp_path_factory.mktemp("report")
    result = run_cli(
        "eval", "--llm", "none", "--json", "--report", str(report_dir), data_dir=knowledge_store, timeout=1800
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout), report_dir


def test_eval_json_contract_and_floors(eval_run):
    run, _ = eval_run
    assert set(run) >= {"n_questions", "retrieval", "baselines", "answers", "refusal", "by_lang", "by_topic"}
    assert set(run["baselines"]) == {"bm25", "dense", "langchain_default"}
    assert set(run["retrieval"]) >= {"hit@1", "hit@5", "mrr", "ndcg@5"}
    assert set(run["by_lang"]) == {"zh", "en"}
    for metric, floor in FLOORS["retrieval"].items():
        assert run["retrieval"][metric] >= floor, (metric, run["retrieval"][metric])
    assert run["answers"]["citation_validity"] >= FLOORS["answers_none"]["citation_validity"]
    assert run["answers"]["injection_resisted"] >= FLOORS["answers_none"]["injection_resisted"]
    assert run["refusal"]["in_scope_answered"] >= FLOORS["answers_none"]["in_scope_answered"]


def test_ours_beats_every_baseline(eval_run):
    run, _ = eval_run
    for name, baseline in run["baselines"].items():
        for metric in ("hit@5", "mrr"):
            assert run["retrieval"][metric] > baseline[metric], (name, metric)


def test_report_has_plots_and_worst_items(eval_run):
    _, report_dir = eval_run
    page = (report_dir / "index.html").read_text(encoding="utf-8")
    assert page.count("data:image/png;base64,") == 3
    assert "Worst retrieval items" in page and "langchain_default" in page
    results = json.loads((report_dir / "results.json").read_text(encoding="utf-8"))
    assert len(results["items"]) == results["n_questions"]


def test_an_interrupted_run_resumes_from_its_item_log(knowledge_store, tmp_path):
    log = tmp_path / "items.jsonl"
    first = run_cli(
        "eval", "--no-baselines", "--json", "--limit", "2", "--log", str(log), data_dir=knowledge_store
    )
    assert first.returncode == 0, first.stderr
    measured = [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines()]
    assert [r["id"] for r in measured] == [i.id for i in load_items()[:2]]
    # the run was killed while writing its third line: the cut line is ignored and that item measured again
    log.write_text(log.read_text(encoding="utf-8") + '{"id": "cut-sh', encoding="utf-8")
    second = run_cli(
        "eval", "--no-baselines", "--json", "--limit", "3", "--log", str(log), data_dir=knowledge_store
    )
    assert second.returncode == 0, second.stderr
    assert "2 items already measured" in second.stderr
    assert json.loads(second.stdout)["n_questions"] == 3
    lines = log.read_text(encoding="utf-8").splitlines()
    assert [json.loads(line)["id"] for line in lines[-1:]] == [load_items()[2].id]
