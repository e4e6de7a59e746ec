"""Welfare visits: old people living alone are seen at least every N days from a set age (center settings).

"Seen" is a completed visit, whatever it was for; an overdue person is flagged on the managers'
summary and the manager can plan a welfare visit for everyone who is due and has none planned.
"""

from datetime import date, datetime, time, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

from pydantic import BaseModel, Field
from sqlalchemy import func
from sqlmodel import Session, col, select

from carecenter.access import Actor
from carecenter.centers.models import Center
from carecenter.errors import DomainError
from carecenter.residents.models import LivingSituation, Resident, ResidentStatus, age_on
from carecenter.settings.visits import VisitRules
from carecenter.visits.models import OPEN_VISIT_STATUSES, AdHocVisit, Visit, VisitStatus
from carecenter.visits.service import create_adhoc

WELFARE_SERVICE = "welfare_visit"
PLANNED_AT = time(10, 0)  # local time of a planned welfare visit; the manager moves it on the schedule


def living_alone_old(session: Session, center: Center, day: date) -> list[Resident]:
    """Active residents living alone at or past the center's welfare-visit age on `day`."""
    alone = session.exec(
        select(Resident).where(
            Resident.center_id == center.id,
            Resident.status == ResidentStatus.active,
            Resident.living_situation == LivingSituation.alone,
        )
    ).all()
    return [r for r in alone if age_on(r.birth_date, day) >= center.welfare_visit_age]


def seen_days(
    session: Session, resident_ids: list[int], zone: ZoneInfo, since: datetime, until: datetime
) -> dict[int, list[date]]:
    """Local days each resident had a completed visit in [since, until)."""
    rows = session.exec(
        select(Visit.resident_id, Visit.checked_in_at).where(
            col(Visit.resident_id).in_(resident_ids),
            Visit.status == VisitStatus.completed,
            col(Visit.checked_in_at) >= since,
            col(Visit.checked_in_at) < until,
        )
    ).all()
    days: dict[int, list[date]] = {}
    for resident_id, at in rows:
        if at is not None:
            days.setdefault(resident_id, []).append(at.astimezone(zone).date())
    return {k: sorted(set(v)) for k, v in days.items()}


class WelfareDue(BaseModel):
    resident_id: int
    resident_name: str
    last_seen_on: date | None
    due_on: date
    overdue: bool
    planned_at: datetime | None = Field(description="The next open visit, if any")


def welfare_due(session: Session, *, center: Center, now: datetime) -> list[WelfareDue]:
    """Who must be seen by today or tomorrow, oldest due first."""
    zone = ZoneInfo(center.time_zone)
    today = now.astimezone(zone).date()
    people = living_alone_old(session, center, today)
    ids = [r.id or 0 for r in people]
    last_seen = dict(
        session.exec(
            select(Visit.resident_id, func.max(Visit.checked_in_at))
            .where(col(Visit.resident_id).in_(ids), Visit.status == VisitStatus.completed)
            .group_by(col(Visit.resident_id))
        ).all()
    )
    planned = dict(
        session.exec(
            select(Visit.resident_id, func.min(Visit.scheduled_start))
            .where(
                col(Visit.resident_id).in_(ids),
                col(Visit.status).in_(OPEN_VISIT_STATUSES),
                col(Visit.scheduled_start) >= now - timedelta(hours=12),
            )
            .group_by(col(Visit.resident_id))
        ).all()
    )
    due = []
    for person in people:
        seen = last_seen.get(person.id or 0)
        seen_on = seen.astimezone(zone).date() if seen is not None else None
        due_on = seen_on + timedelta(days=center.welfare_visit_days) if seen_on else today
        if due_on <= today + timedelta(days=1):
            due.append(
                WelfareDue(
                    resident_id=person.id or 0,
                    resident_name=person.name,
                    last_seen_on=seen_on,
                    due_on=due_on,
                    overdue=due_on < today,
                    planned_at=planned.get(person.id or 0),
                )
            )
    return sorted(due, key=lambda d: (d.due_on, d.resident_name))


def plan_welfare_visits(
    *, session: Session, actor: Actor, center: Center, rules: VisitRules, now: datetime
) -> list[Visit]:
    """A welfare visit for everyone due without one planned: by their due day at 10:00 (or tomorrow,
    if that has passed), with their primary care worker when free, else left for the manager to assign."""
    zone = ZoneInfo(center.time_zone)
    planned = []
    for person in welfare_due(session, center=center, now=now):
        if person.planned_at is not None:
            continue
        start = datetime.combine(person.due_on, PLANNED_AT, tzinfo=zone)
        if start <= now:
            start = datetime.combine(now.astimezone(zone).date() + timedelta(days=1), PLANNED_AT, tzinfo=zone)
        resident = session.get(Resident, person.resident_id)
        assert resident is not None
        data = AdHocVisit(
            resident_id=person.resident_id, scheduled_start=start, duration_minutes=30, services=[WELFARE_SERVICE]
        )
        try:
            data.worker_id = resident.primary_worker_id
            visit = create_adhoc(session=session, actor=actor, data=data, rules=rules, now=now)
        except DomainError:
            if data.worker_id is None:
                raise
            data.worker_id = None  # the primary worker is busy then: unassigned, for the manager
            visit = create_adhoc(session=session, actor=actor, data=data, rules=rules, now=now)
        planned.append(visit)
    return planned


def max_gap_days(days: list[date], anchor: date, last: date) -> int:
    """The longest run of days without a visit after `anchor` (the last visit before, or the day
    before the period) up to `last`, counting the visits in `days` that fall in between."""
    marks = [anchor, *sorted(d for d in days if anchor < d <= last), last + timedelta(days=1)]
    return max((b - a).days - 1 for a, b in pairwise(marks))
