"""When a care plan's visits fall: pure functions in the center's local time (DST included)."""

from collections.abc import Iterator
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from carecenter.visits.models import Recurrence


def occurrence_dates(
    recurrence: Recurrence, *, starts_on: date, ends_on: date | None, first: date, last: date
) -> Iterator[date]:
    """The local dates in [first, last] on which the plan has a visit."""
    day = max(first, starts_on)
    while day <= last and (ends_on is None or day <= ends_on):
        if recurrence.weekdays is not None:
            if day.weekday() in recurrence.weekdays:
                yield day
        elif recurrence.every_n_days and (day - starts_on).days % recurrence.every_n_days == 0:
            yield day
        day += timedelta(days=1)


def visit_window(recurrence: Recurrence, day: date, time_zone: str) -> tuple[datetime, datetime]:
    """The visit's start and end as instants: the same wall-clock time on either side of a DST change."""
    start = datetime.combine(day, recurrence.start_time, tzinfo=ZoneInfo(time_zone))
    return start, start + timedelta(minutes=recurrence.duration_minutes)


def overlaps(a: tuple[datetime, datetime], b: tuple[datetime, datetime], buffer: timedelta) -> bool:
    """Whether two visits collide once the travel buffer between them is counted."""
    return a[0] < b[1] + buffer and b[0] < a[1] + buffer
