"""Reads of readings that pages and the API share."""

from datetime import datetime, timedelta

from sqlmodel import Session, col, select

from carecenter.readings.models import Reading, ReadingHourly, hour_of

RAW_FOR = timedelta(days=1)  # charts read raw readings this far back, the hourly roll-ups before


def heart_rate_series(
    session: Session, *, resident_id: int, since: datetime, now: datetime
) -> list[tuple[datetime, int]]:
    """A resident's heart rates since a moment, oldest first (the caller has checked visibility).

    The last day is raw readings; before it, each hour's mean from the roll-ups (at the middle
    of the hour), so a 30-day chart costs the same however many readings a watch sends and
    still draws after the raw readings are gone.
    """
    raw_from = max(since, hour_of(now - RAW_FOR))
    hours = session.exec(
        select(ReadingHourly.hour, ReadingHourly.total, ReadingHourly.samples)
        .where(
            ReadingHourly.resident_id == resident_id,
            ReadingHourly.vital == "heart_rate",
            col(ReadingHourly.hour) >= hour_of(since),
            col(ReadingHourly.hour) < raw_from,
        )
        .order_by(col(ReadingHourly.hour))
    ).all()
    series = [(hour + timedelta(minutes=30), round(total / samples)) for hour, total, samples in hours if samples]
    rows = session.exec(
        select(Reading.recorded_at, Reading.heart_rate)
        .where(
            Reading.resident_id == resident_id,
            col(Reading.recorded_at) >= raw_from,
            col(Reading.heart_rate).is_not(None),
        )
        .order_by(col(Reading.recorded_at))
    ).all()
    return series + [(at, rate) for at, rate in rows if rate is not None]
