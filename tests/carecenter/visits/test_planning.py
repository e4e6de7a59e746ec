from datetime import UTC, date, datetime, time, timedelta

from carecenter.visits.models import Recurrence
from carecenter.visits.planning import occurrence_dates, overlaps, visit_window


def test_weekdays_across_a_week_boundary() -> None:
    rule = Recurrence(weekdays=[0, 3], start_time=time(9), duration_minutes=60)  # Monday, Thursday
    days = list(
        occurrence_dates(
            rule, starts_on=date(2026, 11, 1), ends_on=None, first=date(2026, 11, 26), last=date(2026, 12, 7)
        )
    )
    assert days == [date(2026, 11, 26), date(2026, 11, 30), date(2026, 12, 3), date(2026, 12, 7)]


def test_every_n_days_counts_from_the_start_and_stops_at_the_end() -> None:
    rule = Recurrence(every_n_days=3, start_time=time(14), duration_minutes=30)
    days = list(
        occurrence_dates(
            rule,
            starts_on=date(2026, 11, 20),
            ends_on=date(2026, 12, 1),
            first=date(2026, 11, 24),
            last=date(2026, 12, 31),
        )
    )
    assert days == [date(2026, 11, 26), date(2026, 11, 29)]


def test_the_wall_clock_time_holds_across_daylight_saving() -> None:
    rule = Recurrence(every_n_days=1, start_time=time(9), duration_minutes=60)
    before, _ = visit_window(rule, date(2027, 3, 27), "Europe/Berlin")  # CET, UTC+1
    after, _ = visit_window(rule, date(2027, 3, 29), "Europe/Berlin")  # CEST, UTC+2
    assert before.astimezone(UTC).time() == time(8) and after.astimezone(UTC).time() == time(7)
    shanghai, _ = visit_window(rule, date(2027, 3, 29), "Asia/Shanghai")
    assert shanghai.astimezone(UTC).time() == time(1)


def test_the_travel_buffer_counts_in_overlaps() -> None:
    nine = datetime(2026, 11, 26, 1, 0, tzinfo=UTC)
    first = (nine, nine + timedelta(minutes=45))
    assert not overlaps(first, (nine + timedelta(hours=1), nine + timedelta(hours=2)), timedelta(minutes=15))
    assert overlaps(first, (nine + timedelta(minutes=55), nine + timedelta(hours=2)), timedelta(minutes=15))
