"""Writing a batch of readings in a few statements, the fastest way each database offers.

A reading is new when its `(device, event_id)` goes into `reading_key` (the key table holds the
acceptance window's keys: see `ReadingKey`); only new readings are inserted, and their vital
signs are rolled up by resident and hour in the same transaction.

PostgreSQL: a batch of 50 rows or more is COPYed into a per-connection staging table, then
keys, readings and roll-ups are written in one statement (`WITH fresh AS (INSERT INTO
reading_key … ON CONFLICT DO NOTHING RETURNING …), stored AS (INSERT INTO reading … JOIN fresh
RETURNING …) INSERT INTO reading_hourly_pending SELECT … FROM stored GROUP BY …`); the devices'
last sign of life (once a second: `sightings`) is one `UPDATE … FROM unnest(…)`. (A 1,000-row
multi-VALUES statement costs more for psycopg to parse and quote than for the server to run.)
Smaller batches go in the same statement reading the batch from one array a column (`unnest`),
whose text does not change with the number of rows.

The roll-ups are appended to `reading_hourly_pending` and added to `reading_hourly` by the
check-in writer about once a second (`fold_pending`). Added in the batch's own transaction, they
made every two batches with a resident in common wait for each other's commit on that hour's
row: with 1,000 readings of ~900 residents, every batch waited for the one before. Whoever reads
the roll-ups reads both tables (`readings.queries`).

SQLite (one writer at a time): one multi-row INSERT for the keys, one for the readings, one
upsert of `reading_hourly`. Everything runs in the caller's transaction.
"""

from collections.abc import Iterable, Sequence
from datetime import datetime
from operator import attrgetter
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlmodel import Session

from carecenter.db import UTCDateTime, array_literal
from carecenter.devices.models import Device
from carecenter.readings.models import (
    LOCATION_FIELDS,
    ROLLUP_FIELDS,
    VITAL_FIELDS,
    Reading,
    ReadingHourly,
    ReadingIn,
    ReadingKey,
    hour_of,
)
from carecommon.sqltypes import upsert_insert

# A row's columns in the order a device's reading fills them: what the check-in writer sets, what
# the reading carries (as `ReadingIn` and `FastReading` name it), its vital signs, its place, and
# what only a care worker's visit records. So a row is a few tuples joined (`device_row`), not a
# lookup per column: that was a tenth of a batch's Python.
_SET = ("device_id", "resident_id", "center_id", "kind", "source", "received_at")
_CARRIED = ("event_id", "recorded_at", "battery_pct")
_DEVICE_VITALS = tuple(name for name in VITAL_FIELDS if name in ReadingIn.model_fields)
_VISIT_ONLY = tuple(name for name in VITAL_FIELDS if name not in ReadingIn.model_fields)
READING_COLUMNS = _SET + _CARRIED + _DEVICE_VITALS + LOCATION_FIELDS + _VISIT_ONLY
assert sorted(READING_COLUMNS) == sorted(c.name for c in Reading.__table__.columns if c.name != "id")  # type: ignore[attr-defined]
# The statements are built from the model's column names, never from input.
_COLUMNS = ", ".join(READING_COLUMNS)
_STAGED_COLUMNS = ", ".join(f"s.{name}" for name in READING_COLUMNS)
_CREATE_STAGING = (
    "CREATE TEMP TABLE IF NOT EXISTS reading_staging ON COMMIT DELETE ROWS AS "  # noqa: S608
    f"SELECT {_COLUMNS} FROM reading WITH NO DATA"
)
# Binary: psycopg writes each column with the dumper of its type, where the text format looks a
# dumper up for every value and PostgreSQL parses every number and time back from text (the text
# form cost the server ~4 µs a row, the binary one under 1).
_COPY_STAGING = f"COPY reading_staging ({_COLUMNS}) FROM STDIN (FORMAT BINARY)"
_BINARY_TYPES = {
    "INTEGER": "int4",
    "BIGINT": "int8",
    "VARCHAR": "varchar",
    "TIMESTAMP WITH TIME ZONE": "timestamptz",
    "FLOAT": "float8",
}
_COPY_TYPES = [
    _BINARY_TYPES[Reading.__table__.c[name].type.compile(dialect=postgresql.dialect()).split("(")[0]]  # type: ignore[attr-defined,no-untyped-call]
    for name in READING_COLUMNS
]
_VITAL_VALUES = ", ".join(f"('{name}', s.{name}::float8)" for name in ROLLUP_FIELDS)


_HOURLY_COLUMNS = "resident_id, vital, hour, minimum, maximum, total, samples"
_ADD_TO_HOURLY = (
    "ON CONFLICT (resident_id, vital, hour) DO UPDATE SET "
    "minimum = least(reading_hourly.minimum, excluded.minimum), "
    "maximum = greatest(reading_hourly.maximum, excluded.maximum), "
    "total = reading_hourly.total + excluded.total, samples = reading_hourly.samples + excluded.samples"
)


def _hours_of(source: str) -> str:
    """PostgreSQL: the hourly minimum, maximum, total and count per resident and vital sign of the
    readings in `source` (a table, or a CTE with their columns)."""
    return (
        "SELECT s.resident_id, v.vital, date_trunc('hour', s.recorded_at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC', "  # noqa: S608
        "min(v.value), max(v.value), sum(v.value), count(*) "
        f"FROM {source} s CROSS JOIN LATERAL (VALUES {_VITAL_VALUES}) AS v(vital, value) "
        "WHERE s.resident_id IS NOT NULL AND v.value IS NOT NULL GROUP BY 1, 2, 3"
    )


def roll_up_sql(source: str) -> str:
    """PostgreSQL: add the roll-ups of the readings in `source` to `reading_hourly` (a rebuild)."""
    return f"INSERT INTO reading_hourly ({_HOURLY_COLUMNS}) {_hours_of(source)} {_ADD_TO_HOURLY}"


# Pending roll-ups move into the hourly table in key order (a statement that waited on another's
# rows would not deadlock), by one process at a time: the others skip their turn rather than wait
# (`_FOLD_LOCK`), since the one folding takes every process's pending rows. A check-in writer that
# waited for another process's fold would keep its watches' answers waiting with it.
_FOLD_LOCK = "SELECT pg_try_advisory_xact_lock(7302217)"  # a number of our own: the roll-ups' fold
FOLD_PENDING = (
    "WITH moved AS (DELETE FROM reading_hourly_pending RETURNING *) "  # noqa: S608
    f"INSERT INTO reading_hourly ({_HOURLY_COLUMNS}) "
    "SELECT resident_id, vital, hour, min(minimum), max(maximum), sum(total), sum(samples) "
    f"FROM moved GROUP BY 1, 2, 3 ORDER BY 1, 2, 3 {_ADD_TO_HOURLY}"
)


def fold_pending(connection: sa.Connection) -> int | None:
    """PostgreSQL: add the pending roll-ups to `reading_hourly`, in the caller's transaction; how
    many hourly rows that wrote, or None when another process is doing it (this one did not wait)."""
    if not connection.exec_driver_sql(_FOLD_LOCK).scalar_one():
        return None
    return int(connection.exec_driver_sql(FOLD_PENDING).rowcount or 0)


def _move_sql(source: str) -> str:
    """Keys, readings and their roll-ups in one statement, from `source` (a table or a CTE with the
    reading columns): the roll-ups are summed by the database and appended to the pending ones."""
    return (
        "fresh AS (INSERT INTO reading_key (device_id, event_id, recorded_at) "  # noqa: S608
        f"SELECT device_id, event_id, recorded_at FROM {source} "
        "ON CONFLICT DO NOTHING RETURNING device_id, event_id), "
        f"stored AS (INSERT INTO reading ({_COLUMNS}) SELECT {_STAGED_COLUMNS} FROM {source} s "
        "JOIN fresh ON fresh.device_id = s.device_id AND fresh.event_id = s.event_id "
        f"RETURNING id, device_id, event_id, resident_id, recorded_at, {', '.join(ROLLUP_FIELDS)}), "
        f"rolled AS (INSERT INTO reading_hourly_pending ({_HOURLY_COLUMNS}) {_hours_of('stored')}) "
        "SELECT id, device_id, event_id FROM stored"
    )


_MOVE_STAGED = "WITH " + _move_sql("reading_staging")
# The batch as one array a column: the statement's text is the same for any number of rows, so
# psycopg parses it once and PostgreSQL prepares it (a multi-row VALUES is new text for each size,
# and parsing it was a tenth of a gateway's CPU).
_ARRAY_TYPES = ", ".join(
    f"%s::{Reading.__table__.c[name].type.compile(dialect=postgresql.dialect())}[]"  # type: ignore[attr-defined,no-untyped-call]
    for name in READING_COLUMNS
)
_MOVE_UNNESTED = f"WITH batch AS (SELECT * FROM unnest({_ARRAY_TYPES}) AS b({_COLUMNS})), " + _move_sql("batch")  # noqa: S608

Key = tuple[int | None, str]  # (device_id, event_id); a reading taken at a visit has no device
Row = tuple[Any, ...]  # a reading's values in READING_COLUMNS order
COPY_FROM = 50  # rows; fewer go in as arrays in one statement (cheaper up to about here), more through COPY
_AT = {name: READING_COLUMNS.index(name) for name in ("device_id", "event_id", "resident_id", "recorded_at")}
_VITALS = tuple((name, READING_COLUMNS.index(name)) for name in ROLLUP_FIELDS)


_CARRIED_OF = attrgetter(*_CARRIED)
_VITALS_OF = attrgetter(*_DEVICE_VITALS)
_PLACE_OF = attrgetter(*LOCATION_FIELDS)
_NO_VITALS: Row = (None,) * len(_DEVICE_VITALS)
_NO_PLACE: Row = (None,) * len(LOCATION_FIELDS)
_NOT_AT_VISIT: Row = (None,) * len(_VISIT_ONLY)


def device_row(set_by_writer: Row, item: Any, *, health: bool, place: bool) -> Row:
    """A device's reading as a row: `set_by_writer` is (device_id, resident_id, center_id, kind,
    source, received_at); `item` is the validated reading, whose vital signs and place are kept
    only with the resident's consent (`health`, `place`)."""
    return (
        set_by_writer
        + _CARRIED_OF(item)
        + (_VITALS_OF(item) if health else _NO_VITALS)
        + (_PLACE_OF(item) if place else _NO_PLACE)
        + _NOT_AT_VISIT
    )


def row_of(reading: Reading) -> Row:
    return tuple(getattr(reading, name) for name in READING_COLUMNS)


def key_of(row: Row) -> Key:
    return row[_AT["device_id"]], row[_AT["event_id"]]


def insert_new(session: Session, rows: Sequence[Row]) -> dict[Key, int]:
    """Insert the rows whose (device, event_id) is not stored yet (the first of a key repeated in
    the batch); the new rows' ids by key. Their vital signs go into the hourly roll-ups."""
    firsts: dict[Key, Row] = {}
    for row in rows:
        firsts.setdefault(key_of(row), row)
    if not firsts:
        return {}
    unique = list(firsts.values())
    dialect = session.get_bind().dialect
    if dialect.name == "postgresql" and all(k[0] is not None for k in firsts):  # rolled up in the same statement
        return _insert_via_copy(session, unique) if len(unique) >= COPY_FROM else _insert_unnested(session, unique)
    stored = _insert_rows(session, unique)
    roll_up(session, (firsts[key] for key in stored))
    return stored


def _insert_rows(session: Session, rows: list[Row]) -> dict[Key, int]:
    connection = session.connection()
    insert = upsert_insert(connection.dialect)
    keys = ReadingKey.__table__  # type: ignore[attr-defined]
    keyed = [
        {"device_id": row[_AT["device_id"]], "event_id": row[_AT["event_id"]], "recorded_at": row[_AT["recorded_at"]]}
        for row in rows
        if row[_AT["device_id"]] is not None
    ]
    fresh: set[Key] = set()
    if keyed:
        stmt = insert(keys).on_conflict_do_nothing().returning(keys.c.device_id, keys.c.event_id)
        fresh = {(device_id, event_id) for device_id, event_id in connection.execute(stmt, keyed)}
    new = [row for row in rows if row[_AT["device_id"]] is None or key_of(row) in fresh]
    if not new:
        return {}
    table = Reading.__table__  # type: ignore[attr-defined]
    stmt = sa.insert(table).returning(table.c.id, table.c.device_id, table.c.event_id)
    result = connection.execute(stmt, [dict(zip(READING_COLUMNS, row, strict=True)) for row in new])
    return {(device_id, event_id): reading_id for reading_id, device_id, event_id in result}


def _insert_unnested(session: Session, rows: list[Row]) -> dict[Key, int]:
    with _cursor(session) as cursor:
        cursor.execute(_MOVE_UNNESTED, [array_literal(column) for column in zip(*rows, strict=True)])
        return _stored_ids(cursor)


def _insert_via_copy(session: Session, rows: list[Row]) -> dict[Key, int]:
    with _cursor(session) as cursor:
        cursor.execute(_CREATE_STAGING)
        cursor.execute("DELETE FROM reading_staging")  # rows of an earlier batch in this same transaction
        with cursor.copy(_COPY_STAGING) as copy:
            copy.set_types(_COPY_TYPES)
            for row in rows:
                copy.write_row(row)
        cursor.execute(_MOVE_STAGED)
        return _stored_ids(cursor)


def _cursor(session: Session) -> Any:
    """A psycopg cursor on the session's own connection and transaction (closed by `with`)."""
    return session.connection().connection.cursor()


def _stored_ids(cursor: Any) -> dict[Key, int]:
    """The new readings' ids by key, as the move statement returns them."""
    return {(device_id, event_id): reading_id for reading_id, device_id, event_id in cursor.fetchall()}


def roll_up(session: Session, rows: Iterable[Row]) -> None:
    """Add new readings' vital signs to their residents' hourly minimum, maximum, total and count."""
    hours: dict[tuple[int, str, datetime], list[float]] = {}
    for row in rows:
        resident_id = row[_AT["resident_id"]]
        if resident_id is None:
            continue
        hour = hour_of(row[_AT["recorded_at"]])
        for vital, at in _VITALS:
            if row[at] is None:
                continue
            value = float(row[at])
            bucket = hours.get((resident_id, vital, hour))
            if bucket is None:
                hours[(resident_id, vital, hour)] = [value, value, value, 1]
            else:
                bucket[0], bucket[1] = min(bucket[0], value), max(bucket[1], value)
                bucket[2] += value
                bucket[3] += 1
    if not hours:
        return
    connection = session.connection()
    stmt = _roll_up_statement(connection.dialect)
    names = ("resident_id", "vital", "hour", "minimum", "maximum", "total", "samples")
    connection.execute(stmt, [dict(zip(names, (r, v, h, *b), strict=True)) for (r, v, h), b in hours.items()])


_ROLL_UPS: dict[str, sa.Insert] = {}  # by database


def _roll_up_statement(dialect: sa.Dialect) -> sa.Insert:
    """Built once per database: `excluded` makes a new alias of the table each time, and the
    alias's reference cycles are garbage the collector must walk (a watch frame each)."""
    built = _ROLL_UPS.get(dialect.name)
    if built is not None:
        return built
    table = ReadingHourly.__table__  # type: ignore[attr-defined]
    stmt = upsert_insert(dialect)(table)
    on_postgresql = dialect.name == "postgresql"
    least, greatest = (sa.func.least, sa.func.greatest) if on_postgresql else (sa.func.min, sa.func.max)
    built = stmt.on_conflict_do_update(
        index_elements=["resident_id", "vital", "hour"],
        set_={
            "minimum": least(table.c.minimum, stmt.excluded.minimum),
            "maximum": greatest(table.c.maximum, stmt.excluded.maximum),
            "total": table.c.total + stmt.excluded.total,
            "samples": table.c.samples + stmt.excluded.samples,
        },
    )
    _ROLL_UPS[dialect.name] = built
    return built


def touch_devices(session: Session, seen: Sequence[tuple[int, datetime, int | None, int | None]]) -> None:
    """Set (device id, last seen, battery or None to keep it, the gateway it came through or None)
    for each device, in one statement; a device already seen later is left as it is."""
    if not seen:
        return
    if session.get_bind().dialect.name == "postgresql":
        ids, times, batteries, gateways = (array_literal(column) for column in zip(*seen, strict=True))
        session.execute(
            sa.text(
                "UPDATE device SET last_seen_at = s.seen, battery_pct = coalesce(s.battery, device.battery_pct), "
                "gateway_id = coalesce(s.gateway, device.gateway_id) "
                "FROM unnest(CAST(:ids AS INTEGER[]), CAST(:times AS TIMESTAMPTZ[]), CAST(:batteries AS INTEGER[]), "
                "CAST(:gateways AS INTEGER[])) AS s(id, seen, battery, gateway) "
                "WHERE device.id = s.id AND (device.last_seen_at IS NULL OR device.last_seen_at <= s.seen)"
            ),
            {"ids": ids, "times": times, "batteries": batteries, "gateways": gateways},
        )
        return
    table = Device.__table__  # type: ignore[attr-defined]
    stmt = (
        table.update()
        .where(
            table.c.id == sa.bindparam("b_id"),
            sa.or_(table.c.last_seen_at.is_(None), table.c.last_seen_at <= sa.bindparam("b_seen", type_=UTCDateTime)),
        )
        .values(
            last_seen_at=sa.bindparam("b_seen", type_=UTCDateTime),
            battery_pct=sa.func.coalesce(sa.bindparam("b_battery", type_=sa.Integer), table.c.battery_pct),
            gateway_id=sa.func.coalesce(sa.bindparam("b_gateway", type_=sa.Integer), table.c.gateway_id),
        )
    )
    rows = [{"b_id": i, "b_seen": t, "b_battery": b, "b_gateway": g} for i, t, b, g in seen]
    session.connection().execute(stmt, rows)
