"""Engine, session and column types shared by every table."""

from collections.abc import Iterator
from typing import Any

import sqlalchemy as sa
from fastapi import Request
from sqlmodel import Session

from notifications.sqltypes import NAMING_CONVENTION, UTCDateTime

__all__ = ["NAMING_CONVENTION", "UTCDateTime", "get_session", "make_engine"]


def make_engine(database_url: str, **kwargs: Any) -> sa.Engine:
    """An engine for the URL; SQLite gets WAL, foreign keys and a busy timeout."""
    if database_url.startswith("sqlite"):
        engine = sa.create_engine(database_url, connect_args={"check_same_thread": False, "timeout": 30}, **kwargs)

        @sa.event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            # FULL: a commit is on disk before we answer 2xx, even across a power cut.
            cursor.execute("PRAGMA synchronous=FULL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.close()

        return engine
    return sa.create_engine(database_url, pool_pre_ping=True, **kwargs)


def get_session(request: Request) -> Iterator[Session]:
    """FastAPI dependency: one session per request; the route commits, this only closes."""
    with Session(request.app.state.engine, expire_on_commit=False) as session:
        yield session
