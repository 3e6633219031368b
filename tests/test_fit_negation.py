"""What a description says the business does not do: the negation scopes (text only), and their effect on
the profile and the ranking with the real e5 model and the real store (issue 15: "自己不卖货" is not
transaction-primary; "不做内容" does not rank content first)."""

from __future__ import annotations

import re

import pytest

from assistant.core.settings import Settings
from assistant.fit.negation import scope_negations, whole, without_cues
from assistant.fit.profile import clauses
from assistant.services.yunying import Yunying

SHOP_SAAS = "一个帮小商家开网店的SaaS，按月收费，自己不卖货"
BOOK_CLUB_OPENING = "一个让读书爱好者交流读后感的社区App，用户互相推荐书、组织线上读书会。"
BOOK_CLUB_PLAIN = BOOK_CLUB_OPENING + "帖子都是用户自己发的，收入来自会员费。"
BOOK_CLUB = BOOK_CLUB_OPENING + "我们不做内容，帖子都是用户自己发的，收入来自会员费。"


@pytest.mark.parametrize(
    ("text", "lang", "negated", "kept"),
    [
        (SHOP_SAAS, "zh", ["自己不卖货"], "一个帮小商家开网店的SaaS，按月收费"),
        ("我们不卖货而是按月收服务费。", "zh", ["我们不卖货"], "而是按月收服务费。"),
        ("一个育儿社区，不仅有问答，用户不断发帖。", "zh", [], "一个育儿社区，不仅有问答，用户不断发帖。"),
        (
            "Hotels keep their own payments: we take no commission and never act as an agency.",
            "en",
            ["no commission and never act as an agency"],
            "Hotels keep their own payments.",
        ),
        ("We don't sell goods but charge a fee.", "en", ["don't sell goods"], "but charge a fee."),
        ("A no-code shop builder, not only cafes.", "en", [], "A no-code shop builder, not only cafes."),
    ],
)
def test_negation_scopes_split_what_is_denied_from_what_is_said(text, lang, negated, kept):
    scoped = scope_negations(text, lang)
    assert scoped.negated == negated
    assert scoped.text == kept


def test_a_denial_is_read_without_its_cues():
    assert without_cues("也没有编辑团队", "zh") == "也编辑团队"
    assert without_cues("don't run ads", "en") == "run ads"


@pytest.fixture(scope="module")
def service(knowledge_store, models_dir):
    return Yunying(
        Settings(_env_file=None, data_dir=knowledge_store, models_dir_override=models_dir, llm="none")
    )


def test_a_store_builder_that_sells_no_goods_is_not_transaction_primary(service):
    analysis = service.fit(SHOP_SAAS)
    assert analysis.primary != "transaction", analysis.ranking
    assert analysis.primary in ("service", "product")
    profile = analysis.profile
    assert profile.negated == ["自己不卖货"]
    denied = {(v.field, v.value) for v in profile.ruled_out}
    assert ("sells", "goods") in denied
    assert all(v.value != "goods" for v in profile.readings.get("sells", []))
    assert any("自己不卖货" in line for line in analysis.assumptions)


def test_a_community_that_makes_no_content_does_not_rank_content_first(service):
    denied = service.fit(BOOK_CLUB)
    plain = service.fit(BOOK_CLUB_PLAIN)
    assert denied.primary != "content" and denied.primary == "community", denied.ranking
    assert ("sells", "content") in {(v.field, v.value) for v in denied.profile.ruled_out}
    score = {r.model: r.score for r in denied.ranking}
    assert score["content"] < {r.model: r.score for r in plain.ranking}["content"]
    content = next(r for r in denied.ranking if r.model == "content")
    assert "不做内容" in content.rationale


def test_saying_there_is_no_revenue_yet_states_it(service):
    analysis = service.fit("一个机械键盘爱好者的兴趣社区App，用户晒作品、组织线下聚会，目前没有收入。")
    assert analysis.profile.top("earns").value == "none_yet"
    assert analysis.profile.ruled_out == []
    assert analysis.primary == "community"


KEYBOARD_ADS = (
    "A mechanical keyboard brand that designs its own keyboards. The brand spends almost nothing on ads: "
    "most sales come through its own web store from word of mouth."
)


def test_a_part_cut_by_a_negation_is_given_back_its_clause():
    """The reading keeps the affirmative part ("The brand spends almost"); what is shown to the user is the
    clause as written, for the affirmative part, the sentence it stands in and the negated part alike."""
    scoped = scope_negations(KEYBOARD_ADS, "en")
    assert "The brand spends almost:" in scoped.text  # read without the denial
    assert whole("The brand spends almost", scoped.wholes) == "The brand spends almost nothing on ads"
    assert whole(scoped.negated[0], scoped.wholes) == "The brand spends almost nothing on ads"
    for clause in clauses(scoped.text):
        assert whole(clause, scoped.wholes).rstrip(".") in KEYBOARD_ADS, clause
    # a clause nothing was cut from stays as it is
    assert whole("most sales come through its own web store", scoped.wholes) == (
        "most sales come through its own web store"
    )
    zh = scope_negations("我们不卖货而是按月收服务费。", "zh")
    assert whole("而是按月收服务费", zh.wholes) == "我们不卖货而是按月收服务费"


def test_the_memo_quotes_no_cut_sentence_of_the_description(service):
    """Every passage of the user's words the memo quotes is a span of the description as written: the
    keyboard brand's "spends almost nothing on ads" is never quoted as "The brand spends almost"."""
    analysis = service.fit(KEYBOARD_ADS)
    quoted = re.findall(r'"([^"]+)" \(your description\)', analysis.memo_markdown)
    assert quoted
    for text in quoted:
        assert text in " ".join(KEYBOARD_ADS.split()), text
        assert not text.endswith("almost") and "almost:" not in text, text
    assert "spends almost nothing" in analysis.memo_markdown
