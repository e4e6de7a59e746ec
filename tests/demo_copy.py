"""The seeded demo for tests that need a full center, seeded for real once per database kind and
copied into every later test (seeding takes 20-30 s; a copy of its rows 2-4 s).

The first test of a kind runs `seed_demo` itself and saves every table's rows to a file that the
other pytest-xdist workers share (under a lock, so that two workers never seed the same snapshot
at once); later tests insert those rows. The copy starts from an empty database, as the seeding
did, and is what the seeding would write: `seed_demo` is deterministic for a given clock.
"""

import fcntl
import pickle
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session

from carecenter.demo.seed import DemoSummary, seed_demo
from carecenter.tables import metadata
from tests.emptying import empty_database


def seeded_demo(session: Session, folder: Path, *, password: str, now: datetime, paperwork: bool = True) -> DemoSummary:
    """`seed_demo(...)` and commit, into an empty database, from a copy saved in `folder` (one per
    test run, shared by its workers) where one exists."""
    engine = session.get_bind()
    assert isinstance(engine, sa.Engine)
    # What the app or an earlier test left (a test without the emptying fixture) must not mix in.
    session.close()
    empty_database(engine)
    key = f"{engine.dialect.name}-{now:%Y%m%dT%H%M%S}-{paperwork}-{password}-{_schema_version(session)}"
    folder.mkdir(exist_ok=True)
    with _locked(folder / f"{key}.lock"):
        saved = folder / f"{key}.pickle"
        if saved.exists():
            summary, rows = pickle.loads(saved.read_bytes())  # noqa: S301 (written by this module)
            session.close()
            _insert(engine, rows)
            return summary  # type: ignore[no-any-return]
        summary = seed_demo(session=session, password=password, now=now, paperwork=paperwork)
        session.commit()
        with engine.connect() as conn:
            rows = {
                t.name: [dict(r._mapping) for r in conn.execute(sa.select(t).order_by(*t.primary_key))]
                for t in metadata.sorted_tables
            }
        saved.write_bytes(pickle.dumps((summary, rows)))
        return summary


def _schema_version(session: Session) -> str:
    """A snapshot belongs to one schema: a later migration makes a new one."""
    return str(session.exec(sa.text("SELECT version_num FROM alembic_version")).one()[0])  # type: ignore[call-overload]


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    with path.open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _insert(engine: sa.Engine, rows: dict[str, list[dict[str, Any]]]) -> None:
    with engine.begin() as conn:
        for table in metadata.sorted_tables:  # parents first
            if rows.get(table.name):
                conn.execute(table.insert(), rows[table.name])
        if conn.dialect.name == "postgresql":  # the ids were given: move each sequence past them
            for table in metadata.sorted_tables:
                if rows.get(table.name) and "id" in table.c and isinstance(table.c.id.type, sa.Integer):
                    last_id = sa.select(sa.func.max(table.c.id)).scalar_subquery()
                    conn.execute(sa.select(sa.func.setval(sa.func.pg_get_serial_sequence(table.name, "id"), last_id)))
