"""The knowledge-gap queue: questions the knowledge base failed (refused, answered with sentences the
sources do not support, or given a thumbs-down), each with its nearest topics (the titles of the
documents nearest to it), so a curator sees what to write next, grouped by topic, and marks entries
resolved once the knowledge base covers them."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Literal

from pydantic import BaseModel, Field
from sqlalchemy import Boolean, Integer, String, Text, select
from sqlalchemy.orm import Mapped, mapped_column

from assistant.answer import Answer
from assistant.services.conversations import ensure_tables, now
from assistant.services.database import LOCAL_USER, Database, Table

GapReason = Literal["refused", "unsupported", "thumbs_down"]
MAX_TEXT = 4000


class GapRow(Table):
    __tablename__ = "gap_entries"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    user: Mapped[str] = mapped_column(String(200))
    created: Mapped[str] = mapped_column(String(40))
    question: Mapped[str] = mapped_column(Text)
    reason: Mapped[str] = mapped_column(String(20))
    topic: Mapped[str] = mapped_column(String(400), index=True)  # the nearest topic: what entries group by
    topics_json: Mapped[str] = mapped_column(Text)
    detail: Mapped[str] = mapped_column(Text, default="")
    answer: Mapped[str] = mapped_column(Text, default="")
    source_id: Mapped[str] = mapped_column(String(64), index=True, default="")  # the feedback's id
    resolved: Mapped[bool] = mapped_column(Boolean, default=False, index=True)
    resolved_at: Mapped[str] = mapped_column(String(40), default="")


class GapEntry(BaseModel):
    id: int
    created: str
    user: str
    question: str
    reason: GapReason
    topic: str = Field(description="The nearest topic ('' when none was found): entries group by it.")
    topics: list[str] = Field(default_factory=list, description="The nearest topics, nearest first.")
    detail: str = Field(default="", description="The unsupported sentences, or the user's comment.")
    answer: str = ""
    source_id: str = ""
    resolved: bool = False
    resolved_at: str = ""


class GapGroup(BaseModel):
    """The open entries of one nearest topic; `count` is how many."""

    topic: str
    count: int
    reasons: dict[str, int]
    entries: list[GapEntry]


def _entry(row: GapRow) -> GapEntry:
    return GapEntry(
        id=row.id,
        created=row.created,
        user=row.user,
        question=row.question,
        reason=row.reason,  # type: ignore[arg-type]
        topic=row.topic,
        topics=json.loads(row.topics_json or "[]"),
        detail=row.detail,
        answer=row.answer,
        source_id=row.source_id,
        resolved=row.resolved,
        resolved_at=row.resolved_at,
    )


def answer_gap(answer: Answer) -> tuple[GapReason, list[str], str] | None:
    """What an answer says about the knowledge base: refused (nearest topics: the refusal's own), or with
    unsupported sentences (nearest topics: the cited documents), or nothing to record (None)."""
    if answer.refused:
        return "refused", list(answer.nearest_topics), ""
    if answer.unsupported_sentences:
        titles = list(dict.fromkeys(c.title for c in answer.citations if c.title))
        return "unsupported", titles or list(answer.nearest_topics), "\n".join(answer.unsupported_sentences)
    return None


class Gaps:
    """Record, list, group and resolve knowledge-gap entries in the shared database."""

    def __init__(self, database: Database) -> None:
        self.database = database
        ensure_tables(database, GapRow)

    def record(
        self,
        question: str,
        reason: GapReason,
        topics: Sequence[str],
        *,
        detail: str = "",
        answer: str = "",
        user: str = LOCAL_USER,
        source_id: str = "",
    ) -> GapEntry:
        topics = list(dict.fromkeys(t.strip() for t in topics if t and t.strip()))
        row = GapRow(
            user=user,
            created=now(),
            question=question.strip()[:MAX_TEXT],
            reason=reason,
            topic=topics[0] if topics else "",
            topics_json=json.dumps(topics, ensure_ascii=False),
            detail=detail.strip()[:MAX_TEXT],
            answer=answer.strip()[:MAX_TEXT],
            source_id=source_id,
            resolved=False,
            resolved_at="",
        )
        with self.database.session() as session:
            session.add(row)
        return _entry(row)

    def record_answer(self, answer: Answer, user: str = LOCAL_USER) -> GapEntry | None:
        """Record the answer when it was refused or had unsupported sentences; None when it was fine."""
        gap = answer_gap(answer)
        if gap is None or not answer.question.strip():
            return None
        reason, topics, detail = gap
        return self.record(answer.question, reason, topics, detail=detail, answer=answer.answer, user=user)

    def record_thumbs_down(
        self,
        feedback_id: str,
        question: str,
        answer: str,
        topics: Sequence[str],
        comment: str = "",
        user: str = LOCAL_USER,
    ) -> GapEntry:
        """One entry per thumbs-down: a comment sent later (same feedback id) fills in its detail."""
        with self.database.session() as session:
            row = session.scalars(
                select(GapRow).where(GapRow.source_id == feedback_id, GapRow.reason == "thumbs_down")
            ).first()
            if row is not None:
                if comment.strip():
                    row.detail = comment.strip()[:MAX_TEXT]
                return _entry(row)
        return self.record(
            question, "thumbs_down", topics, detail=comment, answer=answer, user=user, source_id=feedback_id
        )

    def entries(self, include_resolved: bool = False) -> list[GapEntry]:
        """Every entry, the newest first (only the open ones unless `include_resolved`)."""
        query = select(GapRow).order_by(GapRow.created.desc(), GapRow.id.desc())
        if not include_resolved:
            query = query.where(GapRow.resolved.is_(False))
        with self.database.session() as session:
            return [_entry(row) for row in session.scalars(query).all()]

    def grouped(self, include_resolved: bool = False) -> list[GapGroup]:
        """The entries grouped by nearest topic, the most frequent topic first (ties: most recent first)."""
        groups: dict[str, list[GapEntry]] = {}
        for entry in self.entries(include_resolved):  # newest first, so each group's first is its latest
            groups.setdefault(entry.topic, []).append(entry)
        ordered = sorted(groups.items(), key=lambda item: item[1][0].created, reverse=True)
        ordered.sort(key=lambda item: len(item[1]), reverse=True)  # stable: recency breaks ties
        return [
            GapGroup(
                topic=topic,
                count=len(entries),
                reasons={
                    r: sum(e.reason == r for e in entries) for r in dict.fromkeys(e.reason for e in entries)
                },
                entries=entries,
            )
            for topic, entries in ordered
        ]

    def resolve(self, entry_id: int, resolved: bool = True) -> GapEntry:
        """Mark an entry resolved (or open again); KeyError for an unknown id."""
        with self.database.session() as session:
            row = session.get(GapRow, entry_id)
            if row is None:
                raise KeyError(entry_id)
            row.resolved = resolved
            row.resolved_at = now() if resolved else ""
            return _entry(row)
