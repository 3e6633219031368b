"""The shared SQLite database: tables declared on `Table` are created on first use and what a session
writes is there for the next process."""

from __future__ import annotations

from sqlalchemy import String, select
from sqlalchemy.orm import Mapped, mapped_column

from assistant.services.database import Database, Table


class _Note(Table):
    __tablename__ = "test_notes"
    id: Mapped[int] = mapped_column(primary_key=True)
    text: Mapped[str] = mapped_column(String(200))


def test_rows_survive_a_new_database_object(tmp_path):
    first = Database(tmp_path)
    with first.session() as session:
        session.add(_Note(text="价值循环"))
    first.close()

    second = Database(tmp_path)
    with second.session() as session:
        assert session.scalars(select(_Note.text)).all() == ["价值循环"]
    assert (tmp_path / "yunying.sqlite3").exists()


def test_a_failed_session_writes_nothing(tmp_path):
    database = Database(tmp_path)
    try:
        with database.session() as session:
            session.add(_Note(text="half"))
            raise RuntimeError("boom")
    except RuntimeError:
        pass
    with database.session() as session:
        assert session.scalars(select(_Note)).all() == []
