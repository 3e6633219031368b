"""Progress that lasts, on a real SQLite file: what is recorded survives a new Database object (a
restart), and a missed item is due again after 1 day, then 3, then 7 (the clock injected)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from assistant.services.database import LOCAL_USER, Database
from assistant.services.progress import ProgressStore, progress_config

START = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


def test_progress_survives_a_restart(tmp_path):
    clock = Clock()
    first = ProgressStore(Database(tmp_path), clock)
    first.record_read("core-loop")
    first.record_read("product")
    first.record_result("recall", "q-loop-1", "core-loop", False, "zh")
    first.record_result("scenario", "s-content-failure-2", "content", True, "en")
    first.record_result("practice", "case-keep", "product", False, "zh", verdict="half-right")
    first.record_result("recall", "q-other", "alice-only", False, "zh", user="alice")
    before = first.summary()
    first.database.close()

    second = ProgressStore(Database(tmp_path), clock)  # a new process: the same file, nothing in memory
    after = second.summary()
    assert after == before
    assert after.user == LOCAL_USER and after.modules_read == ["core-loop", "product"]
    assert {k: (t.answered, t.correct) for k, t in after.tallies.items()} == {
        "recall": (1, 0),
        "scenario": (1, 1),
        "practice": (1, 0),
    }
    assert [r.item_id for r in after.recent] == ["case-keep", "s-content-failure-2", "q-loop-1"]
    assert after.recent[0].verdict == "half-right" and after.recent[0].at == START
    assert {w.topic for w in after.weak_topics} == {"core-loop", "product"}
    assert "alice-only" not in {w.topic for w in after.weak_topics}  # per user
    assert after.scheduled == 2 and after.due == []  # missed today, due tomorrow


def test_a_missed_item_comes_back_after_1_then_3_then_7_days(tmp_path):
    assert progress_config().review_intervals_days[:3] == [1, 3, 7]
    clock = Clock()
    store = ProgressStore(Database(tmp_path), clock)
    store.record_result("recall", "q1", "core-loop", False, "zh")
    clock.advance(hours=23)
    assert store.due() == []
    clock.advance(hours=1)
    assert [d.item_id for d in store.due()] == ["q1"]
    store.record_result("recall", "q1", "core-loop", True, "zh")  # right: pushed 3 days on
    clock.advance(days=2, hours=23)
    assert store.due() == []
    clock.advance(hours=1)
    assert [d.item_id for d in store.due()] == ["q1"]
    store.record_result("recall", "q1", "core-loop", True, "zh")  # right again: 7 days on
    clock.advance(days=6)
    assert store.due() == []
    clock.advance(days=1)
    assert [d.item_id for d in store.due()] == ["q1"]
    store.record_result("recall", "q1", "core-loop", False, "zh")  # a miss: back to 1 day
    clock.advance(days=1)
    due = store.due()
    assert [d.item_id for d in due] == ["q1"] and due[0].misses == 2
    assert store.due(lang="en") == [] and store.due(kind="practice") == []


def test_an_item_answered_right_at_every_step_is_learned(tmp_path):
    clock = Clock()
    store = ProgressStore(Database(tmp_path), clock)
    store.record_result("scenario", "s1", "content", False, "en")
    for days in progress_config().review_intervals_days:
        clock.advance(days=days)
        assert [d.item_id for d in store.due()] == ["s1"]
        store.record_result("scenario", "s1", "content", True, "en")
    clock.advance(days=365)
    assert store.due() == [] and store.summary().scheduled == 0


def test_weak_topics_rank_by_misses_and_the_team_view_lists_each_user(tmp_path):
    store = ProgressStore(Database(tmp_path), Clock())
    for item in ("a", "b", "c"):
        store.record_result("recall", item, "community", False, "zh", user="wang")
    store.record_result("recall", "d", "core-loop", False, "zh", user="wang")
    store.record_result("recall", "e", "core-loop", True, "zh", user="wang")
    store.record_result("recall", "f", "trends", True, "zh", user="li")
    team = store.team(["wang", "li"])
    assert [s.user for s in team] == ["wang", "li"]
    assert [(w.topic, w.misses, w.answered) for w in team[0].weak_topics] == [
        ("community", 3, 3),
        ("core-loop", 1, 2),
    ]
    assert team[1].weak_topics == [] and team[1].tallies["recall"].correct == 1


def test_the_team_view_needs_logins(tmp_path, make_settings, models_dir):
    from assistant.services.yunying import Yunying

    open_app = Yunying(make_settings())
    with pytest.raises(ValueError, match="logins"):
        open_app.team_progress(["wang"])
    with_logins = Yunying(make_settings(auth="wang:secret-1,li:secret-2"))
    with_logins.progress_store.record_result("recall", "q", "overview", False, "zh", user="li")
    assert [s.user for s in with_logins.team_progress()] == ["wang", "li"]
    assert with_logins.team_progress()[1].tallies["recall"].answered == 1
