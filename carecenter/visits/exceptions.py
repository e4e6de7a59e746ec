"""The manager's exception queue: completed visits that did not verify (outside the tolerance,
by hand, an element or a required confirmation missing) wait here to be approved with a reason
or rejected, every decision audited. A month closes only once its queue is empty, or with what
is left excluded from the claim, which the closing records (`gate_month_close`)."""

from datetime import datetime
from enum import StrEnum

from sqlmodel import Field, Session, SQLModel, col, select

from carecenter.access import Actor
from carecenter.audit.service import record_event
from carecenter.centers.models import Center
from carecenter.errors import Conflict
from carecenter.fields import Text
from carecenter.service_records.service import month_bounds
from carecenter.visits.models import Visit, VisitStatus
from carecenter.visits.service import get_visit, local_day_bounds
from carecenter.visits.verification import ExceptionState


class Decision(StrEnum):
    approve = "approve"
    reject = "reject"


class ExceptionDecision(SQLModel):
    decision: Decision
    reason: Text = Field(min_length=3, max_length=300, description="Why (kept on the visit and in the audit trail)")


def month_visits(session: Session, center: Center, month: str, *, states: tuple[str, ...]) -> list[Visit]:
    """The center's completed visits that started in the local month with their exception in `states`."""
    first, following = month_bounds(month)
    (start, _), (end, _) = (local_day_bounds(day, center.time_zone) for day in (first, following))
    stmt = select(Visit).where(
        Visit.center_id == center.id,
        Visit.status == VisitStatus.completed,
        col(Visit.exception).in_(states),
        Visit.scheduled_start >= start,
        Visit.scheduled_start < end,
    )
    return list(session.exec(stmt.order_by(col(Visit.scheduled_start), col(Visit.id))).all())


def decide(*, session: Session, actor: Actor, visit_id: int, decision: Decision, reason: str, now: datetime) -> Visit:
    """Approve (claimed as it is) or reject (not claimed) an open exception, with the reason."""
    visit = get_visit(session=session, actor=actor, visit_id=visit_id)
    if visit.exception is None:
        raise Conflict("This visit verified: it is not in the exception queue.")
    if visit.exception == ExceptionState.excluded:
        raise Conflict("This visit was excluded when its month closed.")
    visit.exception = ExceptionState.approved if decision == Decision.approve else ExceptionState.rejected
    visit.exception_reason, visit.exception_decided_by, visit.exception_decided_at = reason, actor.username, now
    session.add(visit)
    record_event(
        session=session,
        actor=actor,
        action=f"visit.exception.{decision.value}",
        entity_type="visit",
        entity_id=visit.id,
        center_id=visit.center_id,
        now=now,
        changed_fields=["exception"],
        reason=reason,
    )
    return visit


def gate_month_close(session: Session, actor: Actor, center_id: int, month: str, exclude: bool, now: datetime) -> int:
    """Before a month closes: its open exceptions stop it, or (the manager's choice) are excluded
    from the claim; how many were excluded is returned for the closing's record."""
    center = session.get(Center, center_id)
    if center is None:
        return 0
    waiting = month_visits(session, center, month, states=(ExceptionState.open,))
    if waiting and not exclude:
        raise Conflict(
            "{count} visits of {month} wait in the exception queue: approve or reject them, or close the "
            "month excluding them from the claim.",
            count=len(waiting),
            month=month,
        )
    for visit in waiting:
        visit.exception = ExceptionState.excluded
        visit.exception_decided_by, visit.exception_decided_at = actor.username, now
        visit.exception_reason = f"excluded when {month} closed"
        session.add(visit)
    return len(waiting)
