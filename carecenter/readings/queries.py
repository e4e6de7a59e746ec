"""Reads of readings that pages and the API share."""

from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlmodel import Session, col, select

from carecenter.readings.models import ROLLUP_FIELDS, Reading, ReadingHourly, hour_of, reading_hourly_pending

RAW_FOR = timedelta(days=1)  # charts read raw readings this far back, the hourly roll-ups before


def vital_series(
    session: Session, *, resident_id: int, vital: str, since: datetime, now: datetime
) -> list[tuple[datetime, float]]:
    """A resident's values of one vital sign (one of ROLLUP_FIELDS) since a moment, oldest first
    (the caller has checked visibility).

    The last day is raw readings; before it, each hour's mean from the roll-ups (at the middle
    of the hour), so a 30-day chart costs the same however many readings a watch sends and
    still draws after the raw readings are gone. The roll-ups not yet folded into the hourly
    table (about the last second's, on PostgreSQL) are counted with it.
    """
    assert vital in ROLLUP_FIELDS, vital
    raw_from = max(since, hour_of(now - RAW_FOR))
    hours = session.execute(hourly_totals(resident_id, vital, hour_of(since), raw_from)).all()
    series = [(hour + timedelta(minutes=30), total / samples) for hour, total, samples in hours if samples]
    column = getattr(Reading, vital)
    rows = session.exec(
        select(Reading.recorded_at, column)
        .where(Reading.resident_id == resident_id, col(Reading.recorded_at) >= raw_from, col(column).is_not(None))
        .order_by(col(Reading.recorded_at))
    ).all()
    return series + [(at, float(value)) for at, value in rows if value is not None]


def hourly_totals(
    resident_id: int, vital: str, since: datetime, until: datetime
) -> sa.Select[tuple[datetime, float, int]]:
    """Each hour's total and count of one vital sign, from the hourly table and the pending roll-ups."""
    pending = reading_hourly_pending.c
    both = sa.union_all(
        sa.select(col(ReadingHourly.hour), col(ReadingHourly.total), col(ReadingHourly.samples)).where(
            col(ReadingHourly.resident_id) == resident_id,
            col(ReadingHourly.vital) == vital,
            col(ReadingHourly.hour) >= since,
            col(ReadingHourly.hour) < until,
        ),
        sa.select(pending.hour, pending.total, pending.samples).where(
            pending.resident_id == resident_id, pending.vital == vital, pending.hour >= since, pending.hour < until
        ),
    ).subquery()
    return (
        sa.select(both.c.hour, sa.func.sum(both.c.total), sa.func.sum(both.c.samples))
        .group_by(both.c.hour)
        .order_by(both.c.hour)
    )
