"""Learners' progress that lasts (issue 18): per user (LOCAL_USER when logins are off) the modules read,
every quiz and practice result with its time, weak topics, and missed items coming back later (spaced
repetition, resources/onboarding/progress.yaml). Stored in the shared SQLite database (tables
progress_*), so a restart, another process or the app sees the same progress.

The clock is injected: tests move time forward instead of waiting days."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import DateTime, Integer, String, select
from sqlalchemy.orm import Mapped, mapped_column

from assistant.resources import load_yaml
from assistant.services.database import LOCAL_USER, Database, Table

Clock = Callable[[], datetime]
ItemKind = Literal["recall", "scenario", "practice"]


class ProgressConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    review_intervals_days: list[int] = Field(min_length=1)
    weak_topics: int
    recent_results: int
    labels: dict[str, dict[str, str]] = Field(description="lang -> the CLI's words around the data")


@cache
def progress_config() -> ProgressConfig:
    return ProgressConfig.model_validate(load_yaml("onboarding/progress.yaml"))


def utc_now() -> datetime:
    return datetime.now(UTC)


def _utc(moment: datetime) -> datetime:
    """SQLite keeps no time zone: what it returns is UTC without one."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


class ProgressRead(Table):
    """A module of the learning path a user has opened (the first time, and the latest)."""

    __tablename__ = "progress_reads"
    user: Mapped[str] = mapped_column(String(200), primary_key=True)
    module: Mapped[str] = mapped_column(String(100), primary_key=True)
    first_at: Mapped[datetime] = mapped_column(DateTime)
    last_at: Mapped[datetime] = mapped_column(DateTime)
    times: Mapped[int] = mapped_column(Integer, default=1)


class ProgressResult(Table):
    """One answer: a quiz question (recall, scenario) or a practice case, right or not, and when."""

    __tablename__ = "progress_results"
    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    user: Mapped[str] = mapped_column(String(200), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    item_id: Mapped[str] = mapped_column(String(200))
    topic: Mapped[str] = mapped_column(String(100))
    lang: Mapped[str] = mapped_column(String(5))
    correct: Mapped[bool]
    verdict: Mapped[str] = mapped_column(String(20), default="")  # practice: right | half-right | wrong
    at: Mapped[datetime] = mapped_column(DateTime)


class ProgressReview(Table):
    """A missed item's place in the spaced-repetition queue."""

    __tablename__ = "progress_reviews"
    user: Mapped[str] = mapped_column(String(200), primary_key=True)
    kind: Mapped[str] = mapped_column(String(20), primary_key=True)
    item_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    lang: Mapped[str] = mapped_column(String(5), primary_key=True)
    topic: Mapped[str] = mapped_column(String(100))
    step: Mapped[int] = mapped_column(Integer, default=0)  # index into review_intervals_days
    due_at: Mapped[datetime] = mapped_column(DateTime)
    misses: Mapped[int] = mapped_column(Integer, default=1)


class ResultView(BaseModel):
    kind: str
    item_id: str
    topic: str
    lang: str
    correct: bool
    verdict: str = ""
    at: datetime


class DueItem(BaseModel):
    kind: str
    item_id: str
    topic: str
    lang: str
    due_at: datetime
    misses: int


class WeakTopic(BaseModel):
    topic: str
    misses: int
    answered: int


class KindTally(BaseModel):
    answered: int = 0
    correct: int = 0


class ProgressSummary(BaseModel):
    """What a learner (or their manager) sees: modules read, results by kind, weak topics, what is due."""

    user: str
    modules_read: list[str] = Field(description="Path modules opened, in the order first opened.")
    tallies: dict[str, KindTally] = Field(description="recall / scenario / practice -> answered, correct.")
    recent: list[ResultView]
    weak_topics: list[WeakTopic]
    due: list[DueItem] = Field(description="Missed items due again now, the longest overdue first.")
    scheduled: int = Field(description="Missed items in the queue, due now or later.")


class ProgressStore:
    """Records and reads learners' progress; built once by the composition root."""

    def __init__(self, database: Database, clock: Clock = utc_now) -> None:
        self.database = database
        self.clock = clock

    def _now(self) -> datetime:
        return self.clock().astimezone(UTC)

    def record_read(self, module: str, user: str = LOCAL_USER) -> None:
        now = self._now()
        with self.database.session() as session:
            row = session.get(ProgressRead, (user, module))
            if row is None:
                session.add(ProgressRead(user=user, module=module, first_at=now, last_at=now, times=1))
            else:
                row.last_at, row.times = now, row.times + 1

    def record_result(
        self,
        kind: ItemKind,
        item_id: str,
        topic: str,
        correct: bool,
        lang: str,
        user: str = LOCAL_USER,
        verdict: str = "",
    ) -> None:
        """Store one answer and move the item in the review queue: a miss puts it (back) at the first
        interval, a right answer to a queued item one step further (out of the queue past the last)."""
        now = self._now()
        intervals = progress_config().review_intervals_days
        with self.database.session() as session:
            session.add(
                ProgressResult(
                    user=user,
                    kind=kind,
                    item_id=item_id,
                    topic=topic,
                    lang=lang,
                    correct=correct,
                    verdict=verdict,
                    at=now,
                )
            )
            review = session.get(ProgressReview, (user, kind, item_id, lang))
            if not correct:
                if review is None:
                    review = ProgressReview(user=user, kind=kind, item_id=item_id, lang=lang, misses=0)
                    session.add(review)
                review.topic, review.step, review.misses = topic, 0, review.misses + 1
                review.due_at = now + timedelta(days=intervals[0])
            elif review is not None:
                review.step += 1
                if review.step >= len(intervals):
                    session.delete(review)  # learned
                else:
                    review.due_at = now + timedelta(days=intervals[review.step])

    def due(self, user: str = LOCAL_USER, kind: str | None = None, lang: str | None = None) -> list[DueItem]:
        """The queued items due now, the longest overdue first."""
        now = self._now()
        with self.database.session() as session:
            rows = session.scalars(select(ProgressReview).where(ProgressReview.user == user)).all()
        items = [
            DueItem(
                kind=r.kind,
                item_id=r.item_id,
                topic=r.topic,
                lang=r.lang,
                due_at=_utc(r.due_at),
                misses=r.misses,
            )
            for r in rows
            if _utc(r.due_at) <= now and kind in (None, r.kind) and lang in (None, r.lang)
        ]
        return sorted(items, key=lambda d: (d.due_at, d.item_id))

    def summary(self, user: str = LOCAL_USER) -> ProgressSummary:
        config = progress_config()
        with self.database.session() as session:
            reads = session.scalars(
                select(ProgressRead).where(ProgressRead.user == user).order_by(ProgressRead.first_at)
            ).all()
            results = session.scalars(
                select(ProgressResult).where(ProgressResult.user == user).order_by(ProgressResult.id)
            ).all()
            scheduled = len(session.scalars(select(ProgressReview).where(ProgressReview.user == user)).all())
        tallies: dict[str, KindTally] = {}
        misses, answered = Counter[str](), Counter[str]()
        for r in results:
            tally = tallies.setdefault(r.kind, KindTally())
            tally.answered += 1
            tally.correct += int(r.correct)
            answered[r.topic] += 1
            if not r.correct:
                misses[r.topic] += 1
        weak = sorted(misses, key=lambda t: (-misses[t], -misses[t] / answered[t], t))[: config.weak_topics]
        recent = [
            ResultView(
                kind=r.kind,
                item_id=r.item_id,
                topic=r.topic,
                lang=r.lang,
                correct=r.correct,
                verdict=r.verdict,
                at=_utc(r.at),
            )
            for r in results[::-1][: config.recent_results]
        ]
        return ProgressSummary(
            user=user,
            modules_read=[r.module for r in reads],
            tallies=tallies,
            recent=recent,
            weak_topics=[WeakTopic(topic=t, misses=misses[t], answered=answered[t]) for t in weak],
            due=self.due(user),
            scheduled=scheduled,
        )

    def team(self, users: Sequence[str]) -> list[ProgressSummary]:
        """Each user's summary, in the order given (the manager view; the caller knows the logins)."""
        return [self.summary(user) for user in users]


__all__ = [
    "DueItem",
    "KindTally",
    "ProgressRead",
    "ProgressResult",
    "ProgressReview",
    "ProgressStore",
    "ProgressSummary",
    "ResultView",
    "WeakTopic",
    "progress_config",
    "utc_now",
]
