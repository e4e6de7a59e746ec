"""The duty roster: who is on duty now, and managing shifts."""

from datetime import datetime

from sqlalchemy import delete
from sqlmodel import Session, col, select

from carecenter.access import Actor
from carecenter.audit.service import record_event
from carecenter.duty.models import DutyShift, DutyShiftCreate, DutyShiftPublic, DutyShiftStaff
from carecenter.errors import InvalidField, NotFound
from carecenter.staff.models import Staff


def on_duty_staff(*, session: Session, center_id: int, now: datetime) -> list[Staff]:
    """Active staff on a shift of the center that covers `now`."""
    return list(
        session.exec(
            select(Staff)
            .join(DutyShiftStaff, col(DutyShiftStaff.staff_id) == Staff.id)
            .join(DutyShift, col(DutyShift.id) == DutyShiftStaff.shift_id)
            .where(
                DutyShift.center_id == center_id,
                col(DutyShift.starts_at) <= now,
                col(DutyShift.ends_at) > now,
                Staff.active == True,  # noqa: E712 - SQL comparison
            )
            .order_by(col(Staff.id))
            .distinct()
        ).all()
    )


def to_public(session: Session, shift: DutyShift) -> DutyShiftPublic:
    staff_ids = session.exec(
        select(DutyShiftStaff.staff_id)
        .where(DutyShiftStaff.shift_id == shift.id)
        .order_by(col(DutyShiftStaff.staff_id))
    ).all()
    assert shift.id is not None
    return DutyShiftPublic(
        id=shift.id,
        center_id=shift.center_id,
        name=shift.name,
        starts_at=shift.starts_at,
        ends_at=shift.ends_at,
        staff_ids=list(staff_ids),
    )


def list_shifts(
    *, session: Session, actor: Actor, since: datetime, until: datetime, center_id: int | None = None
) -> list[DutyShift]:
    """Shifts overlapping [since, until) in the actor's center (admins: any or all)."""
    stmt = select(DutyShift).where(col(DutyShift.ends_at) > since, col(DutyShift.starts_at) < until)
    stmt = actor.scoped(stmt, DutyShift.center_id, center_id)
    return list(session.exec(stmt.order_by(col(DutyShift.starts_at), col(DutyShift.id))).all())


def create_shift(*, session: Session, actor: Actor, data: DutyShiftCreate, now: datetime) -> DutyShift:
    """Put staff of the center on a shift (managers and admins)."""
    center_id = actor.center_for_new_record(data.center_id)
    for staff_id in data.staff_ids:
        staff = session.get(Staff, staff_id)
        if staff is None or staff.center_id != center_id or not staff.active:
            raise InvalidField(["body", "staff_ids"], "no active staff member {id} in this center", id=staff_id)
    shift = DutyShift(
        center_id=center_id, name=data.name, starts_at=data.starts_at, ends_at=data.ends_at, created_at=now
    )
    session.add(shift)
    session.flush()
    assert shift.id is not None
    for staff_id in sorted(set(data.staff_ids)):
        session.add(DutyShiftStaff(shift_id=shift.id, staff_id=staff_id))
    record_event(
        session=session,
        actor=actor,
        action="duty_shift.create",
        entity_type="duty_shift",
        entity_id=shift.id,
        center_id=center_id,
        now=now,
    )
    return shift


def delete_shift(*, session: Session, actor: Actor, shift_id: int, now: datetime) -> None:
    """Remove a shift (managers and admins)."""
    shift = session.get(DutyShift, shift_id)
    if shift is None or not actor.sees_center(shift.center_id):
        raise NotFound("duty shift not found")
    session.exec(delete(DutyShiftStaff).where(col(DutyShiftStaff.shift_id) == shift_id))
    record_event(
        session=session,
        actor=actor,
        action="duty_shift.delete",
        entity_type="duty_shift",
        entity_id=shift.id,
        center_id=shift.center_id,
        now=now,
    )
    session.delete(shift)
