"""The CLI contract, run as a user runs it: a real subprocess over the whole bundled knowledge base."""

from __future__ import annotations

import json

import pytest

from tests.conftest import run_cli

HIT_FIELDS = {
    "rank",
    "score",
    "chunk_id",
    "doc_id",
    "title",
    "kind",
    "topic",
    "models",
    "company",
    "heading",
    "text",
}


def test_second_ingest_adds_and_updates_nothing(knowledge_store):
    result = run_cli("ingest", "--json", data_dir=knowledge_store)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert set(report) >= {"added", "updated", "unchanged", "removed", "failed"}
    assert report["added"] == [] and report["updated"] == [] and report["removed"] == []
    assert len(report["unchanged"]) == report["total_documents"] >= 10


def test_chinese_question_ranks_the_core_loop_first(knowledge_store):
    result = run_cli("search", "运营的价值循环包括哪些环节？", "--json", data_dir=knowledge_store)
    assert result.returncode == 0, result.stderr
    hits = json.loads(result.stdout)
    assert hits and set(hits[0]) >= HIT_FIELDS
    assert hits[0]["doc_id"] == "framework-core-loop"
    assert hits[0]["kind"] == "framework" and hits[0]["topic"] == "core-loop"


def test_english_question_finds_the_chinese_content_framework(knowledge_store):
    result = run_cli(
        "search", "How does a content platform make money?", "--json", "-k", "5", data_dir=knowledge_store
    )
    assert result.returncode == 0, result.stderr
    hits = json.loads(result.stdout)
    assert len(hits) == 5
    assert "framework-content" in [h["pair_id"] for h in hits[:3]]  # either twin of it


def test_filters_and_jsonl_batch(knowledge_store):
    stdin = "私域流量是什么？\n\nWhat does JD do differently in logistics?\n"
    result = run_cli("search", "--jsonl", "-k", "3", "--kind", "case", data_dir=knowledge_store, stdin=stdin)
    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [line["query"] for line in lines] == [
        "私域流量是什么？",
        "What does JD do differently in logistics?",
    ]
    assert all(len(line["hits"]) == 3 and all(h["kind"] == "case" for h in line["hits"]) for line in lines)
    assert lines[1]["hits"][0]["company"] == "JD"


def test_company_filter_accepts_english_and_chinese_names(knowledge_store):
    for name in ("zhihu", "知乎"):
        result = run_cli("search", "变现方式", "--company", name, "--json", data_dir=knowledge_store)
        assert result.returncode == 0, result.stderr
        hits = json.loads(result.stdout)
        assert hits and {h["company"] for h in hits} == {"Zhihu"}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["search", "   "], "the query is empty"),
        (["search", "增长", "--kind", "blog"], "'--kind'"),
        (["search", "增长", "--model", "growth"], "'--model'"),
        (["search", "增长", "-k", "0"], "'-k'"),
        (["ingest", "/no/such/folder"], "no such file or folder"),
        (["frobnicate"], "No such command"),
    ],
)
def test_bad_input_gives_one_clear_line_and_no_traceback(tmp_path, args, message):
    result = run_cli(*args, data_dir=tmp_path / "data")
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("yunying: error:") and message in lines[0]
    assert "Traceback" not in result.stderr and result.stdout == ""


def test_ingest_of_a_broken_file_reports_it_and_exits_non_zero(tmp_path, knowledge_store):
    bad = tmp_path / "bad.md"
    bad.write_text("---\nid: x1\ntitle: t\nkind: framework\ntopic: nope\n---\n正文。", encoding="utf-8")
    result = run_cli("ingest", str(bad), "--json", data_dir=tmp_path / "data")
    assert result.returncode == 1
    report = json.loads(result.stdout)
    assert report["failed"][0]["path"] == str(bad) and "field 'topic'" in report["failed"][0]["error"]


def test_invalid_setting_is_one_line(tmp_path):
    result = run_cli("config", data_dir=tmp_path, YUNYING_CHUNK_SIZE="10")
    assert result.returncode != 0
    assert result.stderr.strip().splitlines() == [result.stderr.strip()]
    assert "YUNYING_CHUNK_SIZE" in result.stderr


def test_config_prints_effective_settings(tmp_path):
    result = run_cli("config", "--json", data_dir=tmp_path / "d", YUNYING_TOP_K="7")
    assert result.returncode == 0, result.stderr
    settings = json.loads(result.stdout)
    assert settings["top_k"] == 7 and settings["data_dir"] == str(tmp_path / "d")
    table = run_cli("config", data_dir=tmp_path / "d")
    assert "YUNYING_CHROMA_URL" in table.stdout and "YUNYING_KNOWLEDGE_DIR" in table.stdout
