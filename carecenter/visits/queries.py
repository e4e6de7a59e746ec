"""Reading visits: lists, the week schedule grouped by worker and day, and the figures."""

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlmodel import Session, col, select

from carecenter.access import Actor, Role
from carecenter.centers.models import Center
from carecenter.centers.service import center_to_read
from carecenter.errors import InvalidField
from carecenter.pagination import Page, PageParams, paginate
from carecenter.residents.models import Resident
from carecenter.settings.visits import VisitRules
from carecenter.staff.models import Staff
from carecenter.visits.models import (
    ScheduleDay,
    Visit,
    VisitPublic,
    VisitStats,
    VisitStatus,
    WorkerSchedule,
)
from carecenter.visits.service import is_late, local_day_bounds, was_on_time
from carecenter.visits.verification import Verification, verification

VISITS = Visit.__table__.c  # type: ignore[attr-defined]
PUBLIC_COLUMNS = [VISITS[name] for name in VisitPublic.model_fields if name not in ("late", "verification")]
SLOT_COLUMNS = [VISITS[name] for name in ("id", "resident_id", "worker_id", "scheduled_start", "status")]


def public(visit: Visit | sa.Row[Any], now: datetime, rules: VisitRules) -> VisitPublic:
    """The visit (or a row of PUBLIC_COLUMNS) as the API shows it. Built without re-validation: the
    values are ours and typed (validating costs ~70 us a visit; a week holds thousands)."""
    values = {column.name: getattr(visit, column.name) for column in PUBLIC_COLUMNS}
    shown = verification(visit)  # type: ignore[arg-type]  # a row has the columns it reads
    return VisitPublic.model_construct(**values, late=is_late(visit, now, rules), verification=shown)


def _center_for(session: Session, actor: Actor, center_id: int | None) -> Center:
    return center_to_read(session=session, actor=actor, center_id=center_id)


def list_visits(
    *,
    session: Session,
    actor: Actor,
    page: PageParams,
    center_id: int | None = None,
    worker_id: int | None = None,
    resident_id: int | None = None,
    status: list[VisitStatus] | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    unassigned: bool = False,
) -> Page[Visit]:
    """Visits by start time; care workers and managers see their center's."""
    stmt = select(Visit)
    stmt = actor.scoped(stmt, Visit.center_id, center_id)
    if worker_id is not None:
        stmt = stmt.where(Visit.worker_id == worker_id)
    if unassigned:
        stmt = stmt.where(col(Visit.worker_id).is_(None))
    if resident_id is not None:
        stmt = stmt.where(Visit.resident_id == resident_id)
    if status:
        stmt = stmt.where(col(Visit.status).in_(status))
    if since is not None:
        stmt = stmt.where(col(Visit.scheduled_start) >= since)
    if until is not None:
        stmt = stmt.where(col(Visit.scheduled_start) < until)
    return paginate(session, stmt.order_by(col(Visit.scheduled_start), col(Visit.id)), page)


def schedule(
    *,
    session: Session,
    actor: Actor,
    first: date | None,
    last: date | None,
    center_id: int | None,
    worker_id: int | None,
    now: datetime,
    rules: VisitRules,
) -> list[WorkerSchedule]:
    """Every worker of the center (and the unassigned visits) with their visits, day by day."""
    week = schedule_rows(
        session=session,
        actor=actor,
        first=first,
        last=last,
        center_id=center_id,
        worker_id=worker_id,
        now=now,
        columns=PUBLIC_COLUMNS,
    )
    return [
        WorkerSchedule(
            worker_id=wid,
            worker_name=name,
            days=[
                ScheduleDay(date=day, visits=[public(v, now, rules) for v in visits])
                for day, visits in zip(week.days, cells, strict=True)
            ],
        )
        for wid, name, cells in week.rows
    ]


@dataclass
class ScheduleRows:
    """A range of days; per worker (name "unassigned" for None, last) the rows of their visits, day by day."""

    days: list[date]
    rows: list[tuple[int | None, str, list[list[sa.Row[Any]]]]]


def schedule_rows(
    *,
    session: Session,
    actor: Actor,
    first: date | None,
    last: date | None,
    center_id: int | None,
    worker_id: int | None,
    now: datetime,
    columns: Sequence[sa.ColumnElement[Any]],
) -> ScheduleRows:
    """The visits of a range of local days, as rows of `columns` (which must hold worker_id and
    scheduled_start) grouped by worker and day: the API's schedule and the web's week grid, which
    reads only what a slot shows (a district center's week is ~2,000 visits)."""
    center = _center_for(session, actor, center_id)
    zone = ZoneInfo(center.time_zone)
    first = first or now.astimezone(zone).date()
    last = last or first + timedelta(days=6)
    if last < first or (last - first).days > 31:
        raise InvalidField(["query", "to"], "give a range of at most 31 days, `to` not before `from`")
    start, _ = local_day_bounds(first, center.time_zone)
    _, end = local_day_bounds(last, center.time_zone)
    stmt = sa.select(*columns).where(VISITS.center_id == center.id, VISITS.scheduled_start >= start)
    stmt = stmt.where(VISITS.scheduled_start < end)
    workers_stmt = select(Staff.id, Staff.name).where(
        Staff.center_id == center.id, Staff.role == Role.care_worker, col(Staff.active)
    )
    if worker_id is not None:
        stmt = stmt.where(VISITS.worker_id == worker_id)
        workers_stmt = workers_stmt.where(Staff.id == worker_id)
    days = [first + timedelta(days=n) for n in range((last - first).days + 1)]
    index = {day: n for n, day in enumerate(days)}
    cells: dict[int | None, list[list[sa.Row[Any]]]] = defaultdict(lambda: [[] for _ in days])
    for row in session.execute(stmt.order_by(VISITS.scheduled_start, VISITS.id)):
        cells[row.worker_id][index[row.scheduled_start.astimezone(zone).date()]].append(row)
    workers: list[tuple[int | None, str]] = list(session.exec(workers_stmt.order_by(col(Staff.name))).all())
    if worker_id is None:
        workers.append((None, "unassigned"))
    return ScheduleRows(days, [(wid, name, cells[wid]) for wid, name in workers])


@dataclass(frozen=True)
class WorkerFigures:
    """One care worker's row of the figures page, counted exactly like the center's totals."""

    name: str
    planned: int
    completed: int
    missed: int
    on_time: int  # completed visits checked in on time
    verified: int = 0  # completed visits verified at both ends

    @property
    def on_time_share(self) -> float | None:
        """As the center's: on-time visits over completed ones (none completed: no share)."""
        return self.on_time / self.completed if self.completed else None

    @property
    def verified_share(self) -> float | None:
        return self.verified / self.completed if self.completed else None


def _visits_of_days(session: Session, center: Center, first: date, last: date) -> list[Visit]:
    start, _ = local_day_bounds(first, center.time_zone)
    _, end = local_day_bounds(last, center.time_zone)
    stmt = select(Visit).where(
        Visit.center_id == center.id, col(Visit.scheduled_start) >= start, col(Visit.scheduled_start) < end
    )
    return list(session.exec(stmt).all())


def _tally(visits: Sequence[Visit], rules: VisitRules) -> tuple[int, int, int, int, int]:
    """planned (not cancelled), completed, missed, cancelled, on time: the one way visits are counted."""
    return (
        sum(1 for v in visits if v.status != VisitStatus.cancelled),
        sum(1 for v in visits if v.status == VisitStatus.completed),
        sum(1 for v in visits if v.status == VisitStatus.missed),
        sum(1 for v in visits if v.status == VisitStatus.cancelled),
        sum(1 for v in visits if was_on_time(v, rules)),
    )


def visit_stats(
    *, session: Session, actor: Actor, first: date, last: date, center_id: int | None, rules: VisitRules
) -> VisitStats:
    """Planned vs completed, on-time share, missed, average duration, share verified at the door."""
    center = _center_for(session, actor, center_id)
    return _center_stats(center, first, last, _visits_of_days(session, center, first, last), rules)


def visit_figures(
    *, session: Session, actor: Actor, first: date, last: date, center_id: int | None, rules: VisitRules
) -> tuple[VisitStats, list[WorkerFigures]]:
    """The center's visit_stats and the same visits per care worker (the figures page), read once."""
    center = _center_for(session, actor, center_id)
    visits = _visits_of_days(session, center, first, last)
    by_worker: dict[int | None, list[Visit]] = defaultdict(list)
    for visit in visits:
        by_worker[visit.worker_id].append(visit)
    workers = session.exec(
        select(Staff).where(Staff.center_id == center.id, Staff.role == Role.care_worker).order_by(col(Staff.name))
    ).all()
    rows = []
    for worker in workers:
        theirs = by_worker.get(worker.id, [])
        planned, completed, missed, _cancelled, on_time = _tally(theirs, rules)
        verified = sum(1 for v in theirs if verification(v) == Verification.verified)
        rows.append(WorkerFigures(worker.name, planned, completed, missed, on_time, verified))
    return _center_stats(center, first, last, visits, rules), rows


def _center_stats(center: Center, first: date, last: date, visits: Sequence[Visit], rules: VisitRules) -> VisitStats:
    planned, completed_count, missed, cancelled, on_time = _tally(visits, rules)
    completed = [v for v in visits if v.status == VisitStatus.completed]
    durations = [
        (v.checked_out_at - v.checked_in_at).total_seconds() / 60
        for v in completed
        if v.checked_in_at and v.checked_out_at
    ]
    verified = [v for v in completed if verification(v) == Verification.verified]
    return VisitStats(
        center_id=center.id,
        since=first,
        until=last,
        planned=planned,
        completed=completed_count,
        missed=missed,
        cancelled=cancelled,
        on_time_share=on_time / completed_count if completed_count else None,
        average_minutes=round(sum(durations) / len(durations), 1) if durations else None,
        verified_share=len(verified) / completed_count if completed_count else None,
        verified_target=rules.verified_target,
    )


def worker_day(*, session: Session, actor: Actor, day: date, time_zone: str) -> list[tuple[Visit, Resident | None]]:
    """The acting care worker's visits of one local day, in order, with their residents, and the
    center's visits of the day nobody has yet (a care worker takes one by checking in)."""
    start, end = local_day_bounds(day, time_zone)
    unassigned = sa.and_(
        col(Visit.worker_id).is_(None),
        col(Visit.center_id) == actor.center_id,
        col(Visit.status) == VisitStatus.scheduled,
    )
    visits = session.exec(
        select(Visit)
        .where(
            sa.or_(col(Visit.worker_id) == actor.staff_id, unassigned),
            col(Visit.scheduled_start) >= start,
            col(Visit.scheduled_start) < end,
        )
        .order_by(col(Visit.scheduled_start))
    ).all()
    return [(v, session.get(Resident, v.resident_id)) for v in visits]


def visit_history(*, session: Session, resident_id: int, now: datetime, limit: int = 10) -> list[Visit]:
    """A resident's latest visits up to now (the caller has checked the resident is visible)."""
    stmt = (
        select(Visit)
        .where(Visit.resident_id == resident_id, col(Visit.scheduled_start) <= now)
        .order_by(col(Visit.scheduled_start).desc())
        .limit(limit)
    )
    return list(session.exec(stmt).all())
