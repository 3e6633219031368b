"""The one SQLite database under DATA_DIR that holds what a team keeps for months: saved conversations,
learners' progress, the knowledge-gap queue.

Each feature module declares its tables on `Table` (SQLAlchemy's declarative base) and gets sessions
from `Database`; the tables are created on first use, so a fresh DATA_DIR needs no migration step.
SQLite with WAL lets the app, the API and a CLI command read and write the same file at once."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker

DATABASE_FILE = "yunying.sqlite3"
LOCAL_USER = "local"  # the one user when logins are off


class Table(DeclarativeBase):
    """Base of every table in the database."""


def _tune_sqlite(dbapi_connection, _record) -> None:  # noqa: ANN001 - the DB-API connection
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")  # readers do not block the writer
    cursor.execute("PRAGMA foreign_keys=ON")  # deleting a conversation deletes its turns
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.close()


class Database:
    """Sessions over `DATA_DIR/yunying.sqlite3`; built once by the composition root."""

    def __init__(self, data_dir: Path) -> None:
        data_dir.mkdir(parents=True, exist_ok=True)
        self.path = data_dir / DATABASE_FILE
        self.engine: Engine = create_engine(f"sqlite:///{self.path}")
        event.listen(self.engine, "connect", _tune_sqlite)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        self._created = False

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session that commits on success and rolls back on error."""
        if not self._created:
            # every feature module that declares tables has been imported by the time it asks
            Table.metadata.create_all(self.engine)
            self._created = True
        with self._sessions() as session, session.begin():
            yield session

    def close(self) -> None:
        self.engine.dispose()
