"""Medication at visits: a plan's medicines become the tasks of the visits that span their times;
each is recorded with an outcome before check-out; a critical one refused or missing is told to
the managers at once."""

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlmodel import Session, col, select

from carecenter.access import Actor
from carecenter.audit.service import record_event
from carecenter.centers.models import Center
from carecenter.errors import Conflict, InvalidField
from carecenter.messaging.outbound import AlertMessaging
from carecenter.residents.models import Resident
from carecenter.staff.models import Staff
from carecenter.visits.models import (
    NEEDS_REASON,
    OPEN_VISIT_STATUSES,
    DoseRecord,
    MedicationOutcome,
    MedicationRecord,
    PlannedMedication,
    Visit,
    VisitStatus,
)
from carecenter.visits.notices import tell_managers
from carecenter.words import VALUE_NAMES
from carecommon.i18n import Word
from notifications.templates import render

EARLY = timedelta(minutes=30)  # a dose due a little before the visit starts is given at it
HISTORY_DAYS = 30


def medication_tasks(medications: list[PlannedMedication], start: datetime, end: datetime) -> list[DoseRecord]:
    """The doses due during a visit (local times), one each, nothing recorded yet."""
    doses = []
    for planned in medications:
        for at in planned.times:
            due = datetime.combine(start.date(), at, tzinfo=start.tzinfo)
            if start - EARLY <= due < end:
                doses.append(DoseRecord(**planned.model_dump(exclude={"times"}), due=at.strftime("%H:%M")))
    return sorted(doses, key=lambda d: (d.due, d.name))


def unrecorded(visit: Visit) -> list[str]:
    return [m.name for m in visit.medications if not m.outcome]


def record_medication(
    *,
    session: Session,
    actor: Actor,
    visit: Visit,
    data: MedicationRecord,
    at: datetime,
    messaging: AlertMessaging,
    now: datetime,
) -> Visit:
    """The outcome of one dose (the visit already checked as the actor's to work on)."""
    if visit.status not in OPEN_VISIT_STATUSES:
        raise Conflict("This visit is {status}.", status=Word(VALUE_NAMES[visit.status]))
    if data.index >= len(visit.medications):
        raise InvalidField(["body", "index"], "this visit has no medication {index}", index=data.index)
    if data.outcome in NEEDS_REASON and not data.reason:
        raise InvalidField(["body", "reason"], "say why the medication was held, refused or not available")
    staff = session.get(Staff, actor.staff_id) if actor.staff_id else None
    entry = visit.medications[data.index].model_copy(
        update={"outcome": data.outcome, "reason": data.reason, "by": staff.name if staff else actor.username, "at": at}
    )
    visit.medications = [entry if n == data.index else m for n, m in enumerate(visit.medications)]
    session.add(visit)
    if entry.critical and data.outcome in (MedicationOutcome.refused, MedicationOutcome.not_available):
        tell_managers(
            session,
            messaging,
            visit=visit,
            kind="medication.refused",
            event=f"medication:{data.index}:{data.outcome.value}",
            now=now,
            medicine=f"{entry.name} {entry.dose}".strip(),
            outcome=lambda language: render(f"medication_{data.outcome.value}", language),
            reason=entry.reason or "",
        )
    return visit


def medication_history(*, session: Session, actor: Actor, resident: Resident, now: datetime) -> list[dict[str, Any]]:
    """What was due and what was recorded, by whom, over the last 30 days (newest first); the read
    is audited like other health data."""
    zone = ZoneInfo(session.get(Center, resident.center_id).time_zone)  # type: ignore[union-attr]
    visits = session.exec(
        select(Visit)
        .where(
            Visit.resident_id == resident.id,
            col(Visit.scheduled_start) >= now - timedelta(days=HISTORY_DAYS),
            col(Visit.scheduled_start) <= now,
            col(Visit.status) != VisitStatus.cancelled,
        )
        .order_by(col(Visit.scheduled_start).desc())
    ).all()
    rows = [
        m.model_dump(mode="json")
        | {"day": v.scheduled_start.astimezone(zone).date().isoformat(), "visit_id": v.id, "status": v.status}
        for v in visits
        for m in v.medications
    ]
    record_event(
        session=session,
        actor=actor,
        action="resident.medications.read",
        entity_type="resident",
        entity_id=resident.id,
        center_id=resident.center_id,
        now=now,
    )
    return rows
