"""Writing a batch of readings in a few statements, the fastest way each database offers.

PostgreSQL: a batch of 50 rows or more is COPYed into a per-connection staging table, then
moved with one `INSERT … SELECT … ON CONFLICT DO NOTHING RETURNING`; the devices' last sign of life is one
`UPDATE … FROM unnest(…)`. (A 1,000-row multi-VALUES statement costs more for psycopg to
parse and quote than for the server to run.) Smaller batches, and SQLite: one multi-row INSERT.
Everything runs in the caller's transaction.
"""

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session

from carecenter.db import UTCDateTime
from carecenter.devices.models import Device
from carecenter.readings.models import Reading
from carecommon.sqltypes import upsert_insert

READING_COLUMNS = tuple(c.name for c in Reading.__table__.columns if c.name != "id")  # type: ignore[attr-defined]
# The statements are built from the model's column names, never from input.
_COLUMNS = ", ".join(READING_COLUMNS)
_CREATE_STAGING = (
    "CREATE TEMP TABLE IF NOT EXISTS reading_staging ON COMMIT DELETE ROWS AS "  # noqa: S608
    f"SELECT {_COLUMNS} FROM reading WITH NO DATA"
)
_COPY_STAGING = f"COPY reading_staging ({_COLUMNS}) FROM STDIN"
_MOVE_STAGED = (
    f"INSERT INTO reading ({_COLUMNS}) SELECT {_COLUMNS} FROM reading_staging "  # noqa: S608
    "ON CONFLICT (device_id, event_id) DO NOTHING RETURNING id, device_id, event_id"
)
Key = tuple[int, str]  # (device_id, event_id)
COPY_FROM = 50  # rows; fewer go in one INSERT, which saves the staging table's three round trips


def insert_new(session: Session, rows: list[tuple[Any, ...]]) -> dict[Key, int]:
    """Insert rows (values in READING_COLUMNS order) unless (device, event_id) is stored; new ids by key."""
    if not rows:
        return {}
    dialect = session.get_bind().dialect
    if dialect.name == "postgresql" and len(rows) >= COPY_FROM:
        return _insert_via_copy(session, rows)
    table = Reading.__table__  # type: ignore[attr-defined]
    insert = upsert_insert(dialect)
    stmt = (
        insert(table)
        .on_conflict_do_nothing(index_elements=["device_id", "event_id"])
        .returning(table.c.id, table.c.device_id, table.c.event_id)
    )
    result = session.connection().execute(stmt, [dict(zip(READING_COLUMNS, row, strict=True)) for row in rows])
    return {(device_id, event_id): reading_id for reading_id, device_id, event_id in result}


def _insert_via_copy(session: Session, rows: list[tuple[Any, ...]]) -> dict[Key, int]:
    cursor = session.connection().connection.cursor()  # the session's own connection and transaction
    try:
        cursor.execute(_CREATE_STAGING)
        cursor.execute("DELETE FROM reading_staging")  # rows of an earlier batch in this same transaction
        with cursor.copy(_COPY_STAGING) as copy:
            for row in rows:
                copy.write_row(row)
        cursor.execute(_MOVE_STAGED)
        return {(device_id, event_id): reading_id for reading_id, device_id, event_id in cursor.fetchall()}
    finally:
        cursor.close()


def touch_devices(session: Session, seen: list[tuple[int, datetime, int | None]]) -> None:
    """Set (device id, last seen, battery or None to keep it) for each device, in one statement."""
    if not seen:
        return
    if session.get_bind().dialect.name == "postgresql":
        ids, times, batteries = (list(column) for column in zip(*seen, strict=True))
        session.execute(
            sa.text(
                "UPDATE device SET last_seen_at = s.seen, battery_pct = coalesce(s.battery, device.battery_pct) "
                "FROM unnest(CAST(:ids AS INTEGER[]), CAST(:times AS TIMESTAMPTZ[]), CAST(:batteries AS INTEGER[])) "
                "AS s(id, seen, battery) WHERE device.id = s.id"
            ),
            {"ids": ids, "times": times, "batteries": batteries},
        )
        return
    table = Device.__table__  # type: ignore[attr-defined]
    stmt = (
        table.update()
        .where(table.c.id == sa.bindparam("b_id"))
        .values(
            last_seen_at=sa.bindparam("b_seen", type_=UTCDateTime),
            battery_pct=sa.func.coalesce(sa.bindparam("b_battery", type_=sa.Integer), table.c.battery_pct),
        )
    )
    session.connection().execute(stmt, [{"b_id": i, "b_seen": t, "b_battery": b} for i, t, b in seen])
