"""The nightly upkeep that keeps the readings bounded: partitions ahead, raw readings past the
retention period gone, idempotency keys past the acceptance window gone. The hourly roll-ups
and the readings copied into alerts stay."""

import logging
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlmodel import Session, col, select

from carecenter.ingest import bulk
from carecenter.ingest.service import MAX_AGE
from carecenter.readings import partitions
from carecenter.readings.models import ROLLUP_FIELDS, Reading, ReadingKey

log = logging.getLogger(__name__)
CHUNK = 10_000  # rows per delete: each chunk is its own short transaction, so ingestion goes on between
KEY_MARGIN = timedelta(days=1)  # keys are kept a day past the acceptance window


def keep_readings(session: Session, *, now: datetime, retention_days: int) -> int:
    """One night's upkeep; the number of rows and partitions removed. Commits as it goes."""
    cutoff = now - timedelta(days=retention_days)
    connection = session.connection()
    removed = 0
    if partitions.is_partitioned(connection):
        made = partitions.create_ahead(connection, now)
        dropped = partitions.drop_older_than(connection, cutoff)
        session.commit()
        if made or dropped:
            log.info("reading partitions made %s, dropped %s", made, dropped)
        removed += len(dropped)
        # What is left older than the cutoff is in the legacy or default partition (a month
        # partition goes whole once all of it is past the cutoff).
        cutoff = partitions.month_start(cutoff)
    removed += _delete_readings(session, cutoff)
    removed += _delete_keys(session, now - MAX_AGE - KEY_MARGIN)
    return removed


def _delete_readings(session: Session, before: datetime) -> int:
    chunk = select(Reading.id).where(col(Reading.recorded_at) < before).limit(CHUNK).scalar_subquery()
    return _in_chunks(session, sa.delete(Reading).where(col(Reading.id).in_(chunk)))


def _delete_keys(session: Session, before: datetime) -> int:
    table = ReadingKey.__table__  # type: ignore[attr-defined]
    key = sa.tuple_(table.c.device_id, table.c.event_id)
    chunk = sa.select(table.c.device_id, table.c.event_id).where(table.c.recorded_at < before).limit(CHUNK)
    return _in_chunks(session, sa.delete(table).where(key.in_(chunk)))


def _in_chunks(session: Session, delete_a_chunk: sa.Delete) -> int:
    """Run a delete of at most CHUNK rows, each in its own transaction, until it finds fewer."""
    removed = 0
    while True:
        count = session.connection().execute(delete_a_chunk).rowcount
        session.commit()
        removed += count
        if count < CHUNK:
            return removed


def roll_up_stored(connection: sa.Connection) -> None:
    """Hourly roll-ups of every stored reading, replacing what is there: for readings loaded
    around the check-in writer (a benchmark's seed, a bulk import). Reads the whole table."""
    connection.exec_driver_sql("DELETE FROM reading_hourly")
    connection.exec_driver_sql("DELETE FROM reading_hourly_pending")  # counted in the rebuild
    if connection.dialect.name == "postgresql":  # one pass over the table, every vital sign at once
        connection.exec_driver_sql("SET LOCAL work_mem = '256MB'")  # millions of groups: fewer spills
        connection.exec_driver_sql(bulk.roll_up_sql("reading"))
        return
    hour = "strftime('%Y-%m-%d %H:00:00.000000', recorded_at)"  # how SQLAlchemy stores a DateTime there
    for vital in ROLLUP_FIELDS:
        connection.exec_driver_sql(
            "INSERT INTO reading_hourly (resident_id, vital, hour, minimum, maximum, total, samples) "  # noqa: S608
            f"SELECT resident_id, '{vital}', {hour}, min({vital}), max({vital}), sum({vital}), count({vital}) "
            f"FROM reading WHERE resident_id IS NOT NULL AND {vital} IS NOT NULL GROUP BY resident_id, {hour}"
        )
