"""Saved conversations: every turn's question and its whole Answer (citations included), per user, in the
shared SQLite database, so a reopened conversation shows its answers with working [n] links and source
cards, and can be exported with numbered references (services.export)."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Iterable
from datetime import UTC, datetime

from pydantic import BaseModel, Field
from sqlalchemy import ForeignKey, Integer, String, Text, func, inspect, select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Mapped, Session, mapped_column

from assistant.answer import Answer
from assistant.resources import load_yaml
from assistant.services.database import LOCAL_USER, Database, Table

log = logging.getLogger("yunying.service")

MAX_TITLE = 120

StoredDocIds = Callable[[Iterable[str]], set[str]]


def now() -> str:
    """The time as sortable ISO text in UTC (SQLite has no time zone type)."""
    return datetime.now(UTC).isoformat(timespec="microseconds")


def ensure_tables(database: Database, *tables: type[Table]) -> None:
    """Create a feature's tables if the file lacks them, whichever module opened the database first (its
    own create-on-first-use only knows the modules imported by then)."""
    for table in tables:
        try:
            table.__table__.create(database.engine, checkfirst=True)  # type: ignore[attr-defined]
        except OperationalError:  # another process created it between the check and the create
            if not inspect(database.engine).has_table(table.__tablename__):
                raise


class ConversationRow(Table):
    __tablename__ = "conversation_conversations"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    user: Mapped[str] = mapped_column(String(200), index=True)
    title: Mapped[str] = mapped_column(String(MAX_TITLE * 4))
    created: Mapped[str] = mapped_column(String(40))
    updated: Mapped[str] = mapped_column(String(40), index=True)


class TurnRow(Table):
    __tablename__ = "conversation_turns"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    conversation_id: Mapped[str] = mapped_column(
        ForeignKey("conversation_conversations.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int] = mapped_column(Integer)
    question: Mapped[str] = mapped_column(Text)
    answer_json: Mapped[str] = mapped_column(Text)  # the whole Answer, so citations survive a restart
    created: Mapped[str] = mapped_column(String(40))


class ConversationSummary(BaseModel):
    """One line of a user's conversation list."""

    id: str
    user: str
    title: str
    created: str
    updated: str
    turn_count: int = 0


class SavedTurn(BaseModel):
    position: int
    question: str
    answer: Answer
    created: str


class Conversation(ConversationSummary):
    """A conversation with its turns in order."""

    turns: list[SavedTurn] = Field(default_factory=list)

    def history(self) -> list[dict[str, str]]:
        """The turns in the answer chain's history format (user / assistant messages)."""
        messages: list[dict[str, str]] = []
        for turn in self.turns:
            messages.append({"role": "user", "content": turn.question})
            messages.append({"role": "assistant", "content": turn.answer.answer})
        return messages

    @property
    def lang(self) -> str:
        return self.turns[0].answer.lang if self.turns else "zh"


def default_title(question: str, lang: str = "zh") -> str:
    """The first question, on one line and shortened: what a user recognises a conversation by."""
    text = " ".join(question.split())
    if not text:
        return str(load_yaml("services/wording.yaml")["conversation"]["untitled"][lang])
    return text if len(text) <= MAX_TITLE else text[: MAX_TITLE - 1] + "…"


class Conversations:
    """Create, append to, list, read, rename and delete conversations. Every method takes the
    user: a conversation of another user is unknown (KeyError), as one that does not exist.

    `stored`: which of some document ids the knowledge store still holds; with it, a conversation read
    back marks the citations of documents deleted since (`Citation.deleted`)."""

    def __init__(self, database: Database, stored: StoredDocIds | None = None) -> None:
        self.database = database
        self.stored = stored
        ensure_tables(database, ConversationRow, TurnRow)

    def create(self, user: str = LOCAL_USER, title: str = "") -> ConversationSummary:
        stamp = now()
        row = ConversationRow(
            id=uuid.uuid4().hex, user=user, title=title.strip()[: MAX_TITLE * 4], created=stamp, updated=stamp
        )
        with self.database.session() as session:
            session.add(row)
        return self._summary(row, 0)

    def append(
        self, conversation_id: str, question: str, answer: Answer, user: str = LOCAL_USER
    ) -> SavedTurn:
        """Add a turn at the end; the first turn names an untitled conversation after its question."""
        stamp = now()
        with self.database.session() as session:
            row = self._row(session, conversation_id, user)
            position = session.scalar(
                select(func.count()).select_from(TurnRow).where(TurnRow.conversation_id == row.id)
            )
            turn = TurnRow(
                conversation_id=row.id,
                position=int(position or 0),
                question=question,
                answer_json=answer.model_dump_json(),
                created=stamp,
            )
            session.add(turn)
            if not row.title:
                row.title = default_title(question, answer.lang)
            row.updated = stamp
        return SavedTurn(position=turn.position, question=question, answer=answer, created=stamp)

    def list(self, user: str = LOCAL_USER) -> list[ConversationSummary]:
        """The user's conversations, the most recently used first."""
        counts = (
            select(TurnRow.conversation_id, func.count().label("n"))
            .group_by(TurnRow.conversation_id)
            .subquery()
        )
        query = (
            select(ConversationRow, func.coalesce(counts.c.n, 0))
            .outerjoin(counts, counts.c.conversation_id == ConversationRow.id)
            .where(ConversationRow.user == user)
            .order_by(ConversationRow.updated.desc(), ConversationRow.created.desc())
        )
        with self.database.session() as session:
            return [self._summary(row, int(n)) for row, n in session.execute(query).all()]

    def get(self, conversation_id: str, user: str = LOCAL_USER) -> Conversation:
        with self.database.session() as session:
            row = self._row(session, conversation_id, user)
            turns = session.scalars(
                select(TurnRow).where(TurnRow.conversation_id == row.id).order_by(TurnRow.position)
            ).all()
            saved = [
                SavedTurn(
                    position=t.position,
                    question=t.question,
                    answer=Answer.model_validate_json(t.answer_json),
                    created=t.created,
                )
                for t in turns
            ]
            conversation = Conversation(**self._summary(row, len(saved)).model_dump(), turns=saved)
        return self.mark_deleted_sources(conversation)

    def mark_deleted_sources(self, conversation: Conversation) -> Conversation:
        """Mark each citation whose document the store no longer holds (nothing to mark without `stored`)."""
        cited = {c.doc_id for t in conversation.turns for c in t.answer.citations}
        if self.stored is None or not cited:
            return conversation
        try:
            gone = cited - self.stored(cited)
        except Exception:  # an unreachable store must not hide the conversation: shown unmarked
            log.warning("cannot tell which cited documents are still stored", exc_info=True)
            return conversation
        for turn in conversation.turns:
            for citation in turn.answer.citations:
                citation.deleted = citation.doc_id in gone
        return conversation

    def rename(self, conversation_id: str, title: str, user: str = LOCAL_USER) -> ConversationSummary:
        title = " ".join(title.split())
        if not title:
            raise ValueError("the new title is empty")
        with self.database.session() as session:
            row = self._row(session, conversation_id, user)
            row.title = title[: MAX_TITLE * 4]
            row.updated = now()
        return self.summary(conversation_id, user)

    def delete(self, conversation_id: str, user: str = LOCAL_USER) -> ConversationSummary:
        """Delete a conversation and its turns; returns what it was."""
        summary = self.summary(conversation_id, user)
        with self.database.session() as session:
            session.delete(self._row(session, conversation_id, user))  # turns go by ON DELETE CASCADE
        return summary

    def summary(self, conversation_id: str, user: str = LOCAL_USER) -> ConversationSummary:
        with self.database.session() as session:
            row = self._row(session, conversation_id, user)
            n = session.scalar(
                select(func.count()).select_from(TurnRow).where(TurnRow.conversation_id == row.id)
            )
            return self._summary(row, int(n or 0))

    @staticmethod
    def _row(session: Session, conversation_id: str, user: str) -> ConversationRow:
        row = session.get(ConversationRow, conversation_id)
        if row is None or row.user != user:
            raise KeyError(conversation_id)
        return row

    @staticmethod
    def _summary(row: ConversationRow, turns: int) -> ConversationSummary:
        return ConversationSummary(
            id=row.id,
            user=row.user,
            title=row.title,
            created=row.created,
            updated=row.updated,
            turn_count=turns,
        )
