"""How a profile reads who pays for what (real e5 model, real store): ads shown inside a game are the
product's monetisation, not an audience sold to advertisers; a VIP membership that unlocks a library is
paid content, not a community's dues; tickets to a club's evenings are a community's conversion
(resources/fit/profile.yaml: in_product_ads, paid_content, event_tickets)."""

from __future__ import annotations

import pytest

from assistant.core.settings import Settings
from assistant.services.yunying import Yunying


@pytest.fixture(scope="module")
def service(knowledge_store, models_dir):
    return Yunying(
        Settings(_env_file=None, data_dir=knowledge_store, models_dir_override=models_dir, llm="none")
    )


def test_ads_inside_a_game_read_as_the_products_monetisation(service):
    game = service.fit("一款三消类手机小游戏，玩家过关时看广告，收入来自游戏内广告和道具内购。")
    assert game.profile.top("sells").value == "game"
    assert game.profile.top("earns").value == "in_product_ads"
    assert game.primary == "product", game.ranking
    podcast = service.fit("一档讲电影的播客节目，收入来自品牌广告植入和赞助。")
    assert podcast.profile.top("earns").value == "advertising"
    assert podcast.primary == "content", podcast.ranking


def test_a_membership_that_unlocks_a_library_is_paid_content_not_community_dues(service):
    app = service.fit("一个儿童睡前故事App，故事由配音演员录制，家长开通会员后可以收听全部故事。")
    assert app.profile.top("earns").value == "paid_content"
    assert app.primary == "content", app.ranking


def test_tickets_to_a_clubs_evenings_are_a_community_conversion(service):
    club = service.fit(
        "Board-game evenings in Leeds every Thursday: players buy a ticket for each evening, "
        "and most come back for the friends they made there."
    )
    assert club.profile.top("earns").value == "event_tickets"
    assert club.primary == "community", club.ranking


def test_a_clause_is_read_only_for_the_fields_it_speaks_to(service):
    # e5 puts "A meditation app." within 0.04 of "no revenue yet" and of "takes a commission on each
    # sale": a clause about what is sold says nothing about how the business earns
    app = service.fit("A meditation app.")
    assert app.profile.top("sells").value == "software_tool"
    assert "earns" not in app.profile.readings, app.profile.readings.get("earns")
    assert app.primary == "product", app.ranking


def test_ads_monetise_what_is_sold(service):
    # a game's ads and sponsorships monetise the game (the product), not an audience built by content;
    # with the ads' own pull alone, content led both
    for text in (
        "A daily trivia quiz game in the browser. Revenue comes from ads and sponsorships.",
        "一个每天一道题的网页猜词小游戏，收入来自品牌广告和赞助。",
    ):
        game = service.fit(text)
        assert game.profile.top("sells").value == "game"
        assert game.profile.top("earns").value == "advertising"
        assert game.primary == "product", game.ranking
        rule = {r.model: r.signal_score for r in game.ranking}
        assert rule["product"] > rule["content"], rule
    podcast = service.fit("一档讲电影的播客节目，收入来自品牌广告植入和赞助。")
    assert podcast.primary == "content", podcast.ranking  # a show's ads stay the content's


def test_a_game_sold_once_is_the_products_own_revenue(service):
    game = service.fit("一款在Steam上买断制销售的独立解谜游戏，没有内购。")
    assert game.profile.top("earns").value == "one_time_purchase"
    assert game.primary == "product", game.ranking


def test_a_video_channel_sells_content(service):
    channel = service.fit("A woodworking YouTube channel with two million subscribers, paid by sponsorships.")
    assert channel.profile.top("sells").value == "content"
    assert channel.primary == "content", channel.ranking


def test_list_items_and_thousands_are_not_read_as_clauses_of_their_own(service):
    from assistant.fit.profile import clauses

    sentence = (
        "Our app lists about 4,000 clinics, and the team works on search and ranking, reviews, promotions."
    )
    parts = clauses(sentence)
    assert "Our app lists about 4,000 clinics" in parts  # a thousands separator ends no clause
    assert "reviews" not in parts and "promotions" not in parts  # a one-word list item has no predicate
    # read whole, a clinic-booking marketplace earning commissions is no content business
    marketplace = service.fit(
        "We started as booking software for massage and physiotherapy clinics. Today our consumer "
        "app, where people find and book treatments at about 4,000 clinics, brings in roughly 70% of "
        "revenue: clinics pay a 20% commission on every first visit booked through it. Most of the "
        "team works on the consumer side: search and ranking, reviews, promotions and support for patients."
    )
    assert marketplace.primary in ("transaction", "service"), marketplace.ranking


def test_a_browser_extension_is_a_software_tool(service):
    extension = service.fit("A browser extension that finds and applies coupon codes at checkout.")
    assert extension.profile.top("sells").value == "software_tool"
    assert extension.primary in ("product", "transaction"), extension.ranking
