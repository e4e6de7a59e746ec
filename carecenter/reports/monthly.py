"""The monthly report from the service records (the source of truth), with welfare-visit coverage,
assessment levels and the alert figures the center already has."""

from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from pydantic import BaseModel, Field
from sqlmodel import Session, col, select

from carecenter.access import Actor
from carecenter.alerts.models import AlertStats
from carecenter.alerts.queries import alert_stats
from carecenter.assessments.service import current_levels
from carecenter.centers.models import Center
from carecenter.centers.service import center_to_read
from carecenter.residents.models import Resident
from carecenter.residents.service import get_resident
from carecenter.service_records.models import ServiceRecord
from carecenter.service_records.service import month_bounds, month_closing
from carecenter.settings.visits import VisitRules
from carecenter.visits.queries import visit_figures
from carecenter.visits.welfare import living_alone_old, max_gap_days, seen_days

NO_GROUP = "none"  # records no subsidy rule paid for


class ReportRow(BaseModel):
    key: str
    residents: int = 0
    records: int = 0
    quantity: float = 0
    amount_fen: int = 0
    subsidy_fen: int = 0
    resident_fen: int = 0


class WelfareCoverage(BaseModel):
    age: int
    every_days: int
    eligible: int
    covered: int = Field(description="Seen with no gap longer than the interval during the month")
    share: float | None
    not_covered: list[str]


class VerifiedRow(BaseModel):
    """Completed visits of the month and how many verified at both ends, for the center or one worker."""

    name: str
    completed: int
    verified: int
    share: float | None


class VisitVerification(BaseModel):
    target: float = Field(description="The share expected verified (CARECENTER_VISIT_VERIFIED_TARGET)")
    center: VerifiedRow
    workers: list[VerifiedRow]


class MonthlyReport(BaseModel):
    center_id: int
    center_name: str
    month: str
    closed_at: datetime | None
    by_category: list[ReportRow]
    by_group: list[ReportRow]
    totals: ReportRow
    adjustments: int = Field(description="Corrections of closed months counted in this one")
    not_delivered: int
    welfare: WelfareCoverage
    levels: dict[str, int] = Field(description="Residents by current assessment level; 'none' if never assessed")
    alerts: AlertStats
    verification: VisitVerification


def month_records(session: Session, center_id: int, month: str) -> Sequence[sa.Row[Any]]:
    """The month's records as plain rows (columns by name): a report reads them and never changes
    them, and rows load several times faster than model objects."""
    table = ServiceRecord.__table__  # type: ignore[attr-defined]
    stmt = (
        sa.select(table)
        .where(table.c.center_id == center_id, table.c.month == month)
        .order_by(table.c.service_on, table.c.id)
    )
    return session.execute(stmt).all()


def _rows(records: Iterable[Any], key_of: str) -> list[ReportRow]:
    rows: dict[str, ReportRow] = {}
    people: dict[str, set[int]] = defaultdict(set)
    for r in records:
        key = getattr(r, key_of) or NO_GROUP
        row = rows.setdefault(key, ReportRow(key=key))
        _add(row, r)
        if r.delivered and r.adjusts_id is None:
            people[key].add(r.resident_id)
    for key, row in rows.items():
        row.residents = len(people[key])
    return sorted(rows.values(), key=lambda row: row.key)


def _add(row: ReportRow, r: Any) -> None:
    row.records += 1
    row.quantity = round(row.quantity + (r.quantity if r.delivered or r.adjusts_id else 0), 2)
    row.amount_fen += r.amount_fen
    row.subsidy_fen += r.subsidy_fen
    row.resident_fen += r.resident_fen


def totals_of(records: Sequence[Any]) -> ReportRow:
    total = ReportRow(key="total")
    for r in records:
        _add(total, r)
    total.residents = len({r.resident_id for r in records if r.delivered and r.adjusts_id is None})
    return total


def welfare_coverage(session: Session, center: Center, month: str, now: datetime) -> WelfareCoverage:
    zone = ZoneInfo(center.time_zone)
    first, following = month_bounds(month)
    last = min(following - timedelta(days=1), now.astimezone(zone).date())
    people = living_alone_old(session, center, last) if last >= first else []
    since = datetime.combine(first - timedelta(days=center.welfare_visit_days), time(), tzinfo=zone)
    seen = seen_days(
        session, [p.id or 0 for p in people], zone, since, datetime.combine(following, time(), tzinfo=zone)
    )
    not_covered = []
    for person in people:
        days = seen.get(person.id or 0, [])
        before = [d for d in days if d < first]  # a visit just before the month counts for its first days
        anchor = max(before) if before else first - timedelta(days=1)
        if max_gap_days(days, anchor, last) >= center.welfare_visit_days:
            not_covered.append(person.name)
    covered = len(people) - len(not_covered)
    return WelfareCoverage(
        age=center.welfare_visit_age,
        every_days=center.welfare_visit_days,
        eligible=len(people),
        covered=covered,
        share=round(covered / len(people), 3) if people else None,
        not_covered=sorted(not_covered),
    )


def monthly_report(
    *, session: Session, actor: Actor, center_id: int | None, month: str, now: datetime, rules: VisitRules
) -> MonthlyReport:
    """The month's figures for one center (its managers; admins name it)."""
    return report_and_records(session=session, actor=actor, center_id=center_id, month=month, now=now, rules=rules)[0]


def verified_visits(session: Session, actor: Actor, center: Center, month: str, rules: VisitRules) -> VisitVerification:
    """The month's verified share, the center's and each care worker's, counted as the figures page does."""
    first, following = month_bounds(month)
    stats, workers = visit_figures(
        session=session, actor=actor, first=first, last=following - timedelta(days=1), center_id=center.id, rules=rules
    )
    verified = round((stats.verified_share or 0) * stats.completed)
    return VisitVerification(
        target=rules.verified_target,
        center=VerifiedRow(name=center.name, completed=stats.completed, verified=verified, share=stats.verified_share),
        workers=[
            VerifiedRow(name=w.name, completed=w.completed, verified=w.verified, share=w.verified_share)
            for w in workers
            if w.completed
        ],
    )


def report_and_records(
    *, session: Session, actor: Actor, center_id: int | None, month: str, now: datetime, rules: VisitRules
) -> tuple[MonthlyReport, Sequence[sa.Row[Any]]]:
    """The report and the records it sums (read once: the downloads write both)."""
    center = center_to_read(session=session, actor=actor, center_id=center_id)
    assert center is not None and center.id is not None
    records = month_records(session, center.id, month)
    zone = ZoneInfo(center.time_zone)
    first, following = month_bounds(month)
    levels: dict[str, int] = defaultdict(int)
    current = current_levels(session, center.id)
    for resident_id in session.exec(select(Resident.id).where(Resident.center_id == center.id)).all():
        levels[current.get(resident_id or 0, NO_GROUP)] += 1
    closing = month_closing(session, center.id, month)
    report = MonthlyReport(
        center_id=center.id,
        center_name=center.name,
        month=month,
        closed_at=closing.closed_at if closing else None,
        by_category=_rows(records, "category"),
        by_group=_rows(records, "eligibility_group"),
        totals=totals_of(records),
        adjustments=sum(1 for r in records if r.adjusts_id is not None),
        not_delivered=sum(1 for r in records if not r.delivered and r.adjusts_id is None),
        welfare=welfare_coverage(session, center, month, now),
        levels=dict(levels),
        alerts=alert_stats(
            session=session,
            actor=actor,
            center_id=center.id,
            since=datetime.combine(first, time(), tzinfo=zone),
            until=datetime.combine(following, time(), tzinfo=zone),
        ),
        verification=verified_visits(session, actor, center, month, rules),
    )
    return report, records


def resident_statement(session: Session, resident_id: int, month: str) -> tuple[list[ServiceRecord], ReportRow]:
    """One resident's records of the month and their totals (what the family sees)."""
    stmt = select(ServiceRecord).where(ServiceRecord.resident_id == resident_id, ServiceRecord.month == month)
    records = list(session.exec(stmt.order_by(col(ServiceRecord.service_on), col(ServiceRecord.id))).all())
    return records, totals_of(records)


def statement_for(
    *, session: Session, actor: Actor, resident_id: int, month: str
) -> tuple[list[ServiceRecord], ReportRow]:
    """A resident's priced statement, for the managers of their center: one rule for who sees money
    (care workers see neither the records' prices, nor the report, nor a statement)."""
    get_resident(session=session, actor=actor, resident_id=resident_id)
    return resident_statement(session, resident_id, month)


def previous_month(day: date) -> str:
    last = day.replace(day=1) - timedelta(days=1)
    return f"{last:%Y-%m}"
