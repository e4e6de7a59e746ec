"""Reads of readings that pages and the API share."""

from datetime import datetime, timedelta

from sqlmodel import Session, col, select

from carecenter.readings.models import ROLLUP_FIELDS, Reading, ReadingHourly, hour_of

RAW_FOR = timedelta(days=1)  # charts read raw readings this far back, the hourly roll-ups before


def vital_series(
    session: Session, *, resident_id: int, vital: str, since: datetime, now: datetime
) -> list[tuple[datetime, float]]:
    """A resident's values of one vital sign (one of ROLLUP_FIELDS) since a moment, oldest first
    (the caller has checked visibility).

    The last day is raw readings; before it, each hour's mean from the roll-ups (at the middle
    of the hour), so a 30-day chart costs the same however many readings a watch sends and
    still draws after the raw readings are gone.
    """
    assert vital in ROLLUP_FIELDS, vital
    raw_from = max(since, hour_of(now - RAW_FOR))
    hours = session.exec(
        select(ReadingHourly.hour, ReadingHourly.total, ReadingHourly.samples)
        .where(
            ReadingHourly.resident_id == resident_id,
            ReadingHourly.vital == vital,
            col(ReadingHourly.hour) >= hour_of(since),
            col(ReadingHourly.hour) < raw_from,
        )
        .order_by(col(ReadingHourly.hour))
    ).all()
    series = [(hour + timedelta(minutes=30), total / samples) for hour, total, samples in hours if samples]
    column = getattr(Reading, vital)
    rows = session.exec(
        select(Reading.recorded_at, column)
        .where(Reading.resident_id == resident_id, col(Reading.recorded_at) >= raw_from, col(column).is_not(None))
        .order_by(col(Reading.recorded_at))
    ).all()
    return series + [(at, float(value)) for at, value in rows if value is not None]
