"""Reads of readings that pages and the API share."""

from datetime import datetime

from sqlmodel import Session, col, select

from carecenter.readings.models import Reading


def heart_rate_series(session: Session, *, resident_id: int, since: datetime) -> list[tuple[datetime, int]]:
    """A resident's heart rates since a moment, oldest first (the caller has checked visibility)."""
    rows = session.exec(
        select(Reading.recorded_at, Reading.heart_rate)
        .where(
            Reading.resident_id == resident_id,
            col(Reading.recorded_at) >= since,
            col(Reading.heart_rate).is_not(None),
        )
        .order_by(col(Reading.recorded_at))
    ).all()
    return [(at, rate) for at, rate in rows if rate is not None]
