"""Service records from completed visits and bulk meals, priced when recorded; corrections; closing a month.

The edge commits. A record's month is the month of the day the service was given, unless that
month is closed: then it goes into the first open month after it, like any correction after
closing, so a closed month's figures never move.
"""

import uuid
from collections.abc import Callable
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func
from sqlmodel import Session, col, select

from carecenter.access import Actor, Role
from carecenter.audit.service import record_event
from carecenter.catalogue.models import ServiceCategory, ServiceOffering
from carecenter.catalogue.service import catalogue
from carecenter.centers.models import Center
from carecenter.errors import Conflict, InvalidField
from carecenter.residents.models import Resident
from carecenter.service_records.models import BulkMeals, MonthClose, RecordAdjustment, ServiceRecord
from carecenter.subsidies.models import Eligibility, SubsidyRule
from carecenter.subsidies.pricing import Price, in_force, price
from carecenter.subsidies.service import eligibility_of, rules_of

NOT_TICKED = "not ticked at check-out"  # what a record says when the worker left a task open and gave no reason


def month_of(day: date) -> str:
    return f"{day:%Y-%m}"


def next_month(month: str) -> str:
    year, number = int(month[:4]), int(month[5:])
    return f"{year + number // 12}-{number % 12 + 1:02d}"


def month_bounds(month: str) -> tuple[date, date]:
    """First day of the month and first day of the next."""
    first = date(int(month[:4]), int(month[5:]), 1)
    following = next_month(month)
    return first, date(int(following[:4]), int(following[5:]), 1)


def closed_months(session: Session, center_id: int) -> set[str]:
    return set(session.exec(select(MonthClose.month).where(MonthClose.center_id == center_id)).all())


def first_open_month(closed: set[str], day: date) -> str:
    """The month a record of `day` counts in: its own, or the first open one after it."""
    month = month_of(day)
    while month in closed:
        month = next_month(month)
    return month


def reporting_month(session: Session, center_id: int, day: date) -> str:
    return first_open_month(closed_months(session, center_id), day)


class Pricer:
    """Prices records the way `price` says, reading each center's catalogue, closed months and rules,
    and each resident's groups and subsidy used, once per batch; the subsidy a record takes is
    counted at once, so the next record's cap sees it without a flush."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self._catalogues: dict[int, dict[str, ServiceOffering]] = {}
        self._closed: dict[int, set[str]] = {}
        self._rules: dict[int, list[SubsidyRule]] = {}
        self._eligibility: dict[int, list[Eligibility]] = {}
        self._used: dict[tuple[int, str], dict[int, int]] = {}

    def new_record(
        self, *, center_id: int, resident_id: int, code: str, service_on: date, **fields: Any
    ) -> ServiceRecord:
        """A record of one catalogue service with its category, unit and today's price copied in
        (and `fields`, the record's other columns: given at once, not set one by one after)."""
        if center_id not in self._catalogues:
            self._catalogues[center_id] = catalogue(self.session, center_id)
            self._closed[center_id] = closed_months(self.session, center_id)
        offering = self._catalogues[center_id].get(code)
        return ServiceRecord(
            center_id=center_id,
            resident_id=resident_id,
            service_code=code,
            category=offering.category if offering else ServiceCategory.other,
            unit=offering.unit if offering else "time",
            unit_price_fen=offering.unit_price_fen if offering else 0,
            service_on=service_on,
            month=first_open_month(self._closed[center_id], service_on),
            **fields,
        )

    def price_of(self, record: ServiceRecord, *, quantity: float) -> Price:
        """The price of `quantity` of the record's service on its day, its month's caps counted
        without the record itself (a correction prices it again)."""
        if record.center_id not in self._rules:
            self._rules[record.center_id] = rules_of(self.session, record.center_id)
        if record.resident_id not in self._eligibility:
            self._eligibility[record.resident_id] = eligibility_of(self.session, record.resident_id)
        day = record.service_on
        groups = [e.group for e in self._eligibility[record.resident_id] if in_force(e.starts_on, e.ends_on, day)]
        return price(
            unit_price_fen=record.unit_price_fen,
            quantity=quantity,
            category=record.category,
            day=day,
            groups=groups,
            rules=self._rules[record.center_id],
            used_this_month=self._used_by(record),
        )

    def apply(self, record: ServiceRecord) -> None:
        """Amount, subsidy and resident's part under the rules in force on the service day."""
        priced = self.price_of(record, quantity=record.quantity if record.delivered else 0)
        record.amount_fen, record.subsidy_fen = priced.amount_fen, priced.subsidy_fen
        record.resident_fen, record.subsidy_rule_id, record.eligibility_group = (
            priced.resident_fen,
            priced.rule_id,
            priced.group,
        )
        if priced.rule_id is not None:
            used = self._used_by(record)
            used[priced.rule_id] = used.get(priced.rule_id, 0) + priced.subsidy_fen

    def _used_by(self, record: ServiceRecord) -> dict[int, int]:
        """Subsidy this resident already had in the record's month, by rule (the record itself left out)."""
        key = (record.resident_id, record.month)
        if key not in self._used:
            stmt = (
                select(ServiceRecord.subsidy_rule_id, func.sum(ServiceRecord.subsidy_fen))
                .where(
                    ServiceRecord.resident_id == record.resident_id,
                    ServiceRecord.month == record.month,
                    col(ServiceRecord.subsidy_rule_id).is_not(None),
                )
                .group_by(col(ServiceRecord.subsidy_rule_id))
            )
            if record.id is not None:
                stmt = stmt.where(ServiceRecord.id != record.id)
            self._used[key] = {rule: int(total or 0) for rule, total in self.session.exec(stmt).all() if rule}
        return self._used[key]


def new_batch_id() -> str:
    """The id a meals form carries, so that sending it twice records the meals once."""
    return uuid.uuid4().hex[:16]


WORKER_BACKDATING_DAYS = 3  # billable: a care worker's late entry is a short one; older is a manager's correction


def record_bulk_meals(*, session: Session, actor: Actor, data: BulkMeals, now: datetime) -> list[ServiceRecord]:
    """Meals given to a group at once (a canteen sitting, a delivery round): one record per resident.

    `batch_id` makes the request idempotent: sent again, it returns what the first one recorded."""
    center_id = actor.center_for_new_record(data.center_id)
    center = session.get(Center, center_id)
    if center is None:
        raise InvalidField(["body", "center_id"], "no center {id}", id=center_id)
    batch = data.batch_id or new_batch_id()
    earlier = session.exec(
        select(ServiceRecord).where(ServiceRecord.center_id == center_id, ServiceRecord.bulk_batch == batch)
    ).all()
    if earlier:
        return list(earlier)
    offering = catalogue(session, center_id, active_only=True).get(data.service_code)
    if offering is None or offering.category != ServiceCategory.meals:
        raise InvalidField(
            ["body", "service_code"], "{code} is not a meal service of this center", code=data.service_code
        )
    today = now.astimezone(ZoneInfo(center.time_zone)).date()
    if data.service_on > today:
        raise InvalidField(["body", "service_on"], "meals cannot be recorded ahead of the day")
    if actor.role == Role.care_worker and (today - data.service_on).days > WORKER_BACKDATING_DAYS:
        raise InvalidField(
            ["body", "service_on"],
            "care workers record meals of the last {days} days; a manager records older ones",
            days=WORKER_BACKDATING_DAYS,
        )
    if len(set(data.resident_ids)) != len(data.resident_ids):
        raise InvalidField(["body", "resident_ids"], "a resident is listed twice")
    found = session.exec(
        select(Resident.id).where(col(Resident.id).in_(data.resident_ids), Resident.center_id == center_id)
    ).all()
    missing = sorted(set(data.resident_ids) - set(found))
    if missing:
        raise InvalidField(
            ["body", "resident_ids"], "no residents {ids} in this center", ids=", ".join(map(str, missing))
        )
    made, pricer = [], Pricer(session)
    for resident_id in data.resident_ids:
        record = pricer.new_record(
            center_id=center_id, resident_id=resident_id, code=data.service_code, service_on=data.service_on
        )
        record.quantity, record.bulk_batch = data.quantity, batch
        record.worker_id = actor.staff_id if actor.role == Role.care_worker else None
        record.recorded_by, record.created_at = actor.staff_id, now
        pricer.apply(record)
        made.append(record)
    session.add_all(made)
    session.flush()
    record_event(
        session=session,
        actor=actor,
        action="service_record.bulk_meals",
        entity_type="service_record",
        entity_id=made[0].id,
        center_id=center_id,
        now=now,
        reason=f"{len(made)} × {data.service_code} ({batch})",
    )
    return made


def get_record(*, session: Session, actor: Actor, record_id: int) -> ServiceRecord:
    record = session.get(ServiceRecord, record_id)
    actor.require_visible(record.center_id if record else None, "service record")
    assert record is not None
    return record


def list_records(
    *, session: Session, actor: Actor, center_id: int | None, month: str, resident_id: int | None = None
) -> list[ServiceRecord]:
    stmt = actor.scoped(select(ServiceRecord), ServiceRecord.center_id, center_id).where(ServiceRecord.month == month)
    if resident_id is not None:
        stmt = stmt.where(ServiceRecord.resident_id == resident_id)
    return list(session.exec(stmt.order_by(col(ServiceRecord.service_on), col(ServiceRecord.id))).all())


def adjust_record(
    *, session: Session, actor: Actor, record_id: int, data: RecordAdjustment, now: datetime
) -> ServiceRecord:
    """Correct a record (managers and admins, audited): in place while its month is open; after
    closing, as an adjustment in the first open month that carries the difference."""
    record = get_record(session=session, actor=actor, record_id=record_id)
    if record.adjusts_id is not None:
        raise Conflict("This is an adjustment; correct the record it adjusts instead.")
    delivered = record.delivered if data.delivered is None else data.delivered
    quantity = data.quantity if data.quantity is not None else (record.quantity or 1)
    if not delivered:
        quantity = 0.0
    elif quantity <= 0:
        raise InvalidField(["body", "quantity"], "a delivered service needs a quantity above 0")
    reason_not = None if delivered else (data.not_delivered_reason or record.not_delivered_reason or data.reason)
    if record.month not in closed_months(session, record.center_id):
        record.delivered, record.quantity, record.not_delivered_reason = delivered, quantity, reason_not
        Pricer(session).apply(record)
        session.add(record)
        _audit_adjustment(session, actor, record, record, data.reason, now)
        return record
    corrected = Pricer(session).price_of(record, quantity=quantity)  # as the original: its day, its month's caps
    adjustment = ServiceRecord.model_validate(
        record.model_dump(exclude={"id"})
        | {
            "month": reporting_month(session, record.center_id, record.service_on),
            "delivered": delivered,
            "not_delivered_reason": reason_not,
            "quantity": quantity - record.quantity,
            "amount_fen": corrected.amount_fen - record.amount_fen,
            "subsidy_fen": corrected.subsidy_fen - record.subsidy_fen,
            "resident_fen": corrected.resident_fen - record.resident_fen,
            "subsidy_rule_id": corrected.rule_id or record.subsidy_rule_id,
            "eligibility_group": corrected.group or record.eligibility_group,
            "adjusts_id": record.id,
            "adjustment_reason": data.reason,
            "recorded_by": actor.staff_id,
            "created_at": now,
        }
    )
    session.add(adjustment)
    session.flush()
    _audit_adjustment(session, actor, record, adjustment, data.reason, now)
    return adjustment


def _audit_adjustment(
    session: Session, actor: Actor, record: ServiceRecord, result: ServiceRecord, reason: str, now: datetime
) -> None:
    record_event(
        session=session,
        actor=actor,
        action="service_record.adjust" if result is record else "service_record.adjust_after_close",
        entity_type="service_record",
        entity_id=result.id,
        center_id=record.center_id,
        now=now,
        changed_fields=["quantity", "delivered"],
        reason=reason,
    )


MonthGate = Callable[[Session, Actor, int, str, bool, datetime], int]
_month_gates: list[MonthGate] = []


def register_month_gate(gate: MonthGate) -> None:
    """What must hold before a month closes (the visits' exception queue, registered by `wiring`):
    a gate raises to stop the closing, or returns how many items the closing excluded."""
    if gate not in _month_gates:
        _month_gates.append(gate)


def close_month(
    *,
    session: Session,
    actor: Actor,
    center_id: int | None,
    month: str,
    now: datetime,
    exclude_exceptions: bool = False,
) -> MonthClose:
    """Lock a month's records (managers and admins): later corrections go into the next open month.
    Visits waiting in the exception queue stop it, unless the manager excludes them from the claim."""
    center_id = actor.center_for_new_record(center_id)
    center = session.get(Center, center_id)
    if center is None:
        raise InvalidField(["query", "center"], "no center {id}", id=center_id)
    today = now.astimezone(ZoneInfo(center.time_zone)).date()
    if month_bounds(month)[1] > today:
        raise Conflict("{month} has not ended yet; a month is closed after its last day.", month=month)
    if month in closed_months(session, center_id):
        raise Conflict("{month} is already closed.", month=month)
    excluded = sum(gate(session, actor, center_id, month, exclude_exceptions, now) for gate in _month_gates)
    closing = MonthClose(
        center_id=center_id, month=month, closed_by=actor.staff_id, closed_at=now, exceptions_excluded=excluded
    )
    session.add(closing)
    session.flush()
    record_event(
        session=session,
        actor=actor,
        action="month.close",
        entity_type="month_close",
        entity_id=closing.id,
        center_id=center_id,
        now=now,
        reason=month + (f": {excluded} visits excluded from the claim" if excluded else ""),
    )
    return closing


def month_closing(session: Session, center_id: int, month: str) -> MonthClose | None:
    return session.exec(select(MonthClose).where(MonthClose.center_id == center_id, MonthClose.month == month)).first()
