"""The naive peer of figure 2: a minimal FastAPI + SQLModel endpoint that commits one row per request.

What a first version of a check-in endpoint would look like, with the same guarantee as ours
(2xx only once the row is committed; on SQLite the same WAL and synchronous=FULL). Run by the
benchmark as `uvicorn --factory bench.naive_peer:app_factory` against its own table.
"""

import os
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from fastapi import FastAPI
from pydantic import AwareDatetime, BaseModel
from sqlmodel import Field, Session, SQLModel


class NaiveReading(SQLModel, table=True):
    __tablename__ = "naive_reading"

    id: int | None = Field(default=None, primary_key=True)
    device: str
    event_id: str
    kind: str
    recorded_at: datetime = Field(sa_type=sa.DateTime(timezone=True))
    heart_rate: int | None = None


class NaiveIn(BaseModel):
    device: str
    event_id: str
    kind: str
    recorded_at: AwareDatetime
    heart_rate: int | None = None


def _durable_sqlite(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.execute("PRAGMA journal_mode=WAL")
    dbapi_connection.execute("PRAGMA synchronous=FULL")


def _engine(url: str) -> sa.Engine:
    engine = sa.create_engine(url, connect_args={"check_same_thread": False} if url.startswith("sqlite") else {})
    if url.startswith("sqlite"):
        sa.event.listen(engine, "connect", _durable_sqlite)
    return engine


def create_table(url: str) -> None:
    engine = _engine(url)
    NaiveReading.__table__.create(engine, checkfirst=True)  # type: ignore[attr-defined]
    engine.dispose()


def app_factory() -> FastAPI:
    engine = _engine(os.environ["NAIVE_DATABASE_URL"])
    app = FastAPI()

    @app.get("/readyz")
    def ready() -> dict[str, str]:
        return {"status": "ready"}

    @app.post("/readings", status_code=201)
    def post_reading(reading: NaiveIn) -> dict[str, int | None]:
        with Session(engine) as session:
            row = NaiveReading.model_validate(reading)
            session.add(row)
            session.commit()
            return {"id": row.id}

    return app
