"""Care plans, the visits they generate, and what happens at the door."""

import uuid
from datetime import date, datetime, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

from sqlalchemy import delete
from sqlmodel import Session, col, select

from carecenter.access import Actor, Role
from carecenter.alerts import rules as alert_rules
from carecenter.alerts.assess import Assessor, subject_of
from carecenter.alerts.service import lock_resident
from carecenter.audit.service import record_event
from carecenter.catalogue.service import catalogue, require_offered
from carecenter.centers.models import Center
from carecenter.errors import Conflict, Forbidden, InvalidField
from carecenter.geo import distance_m
from carecenter.ingest import bulk
from carecenter.messaging.outbound import AlertMessaging, send
from carecenter.messaging.recipients import family_recipient, reachable_family
from carecenter.readings.models import Reading
from carecenter.residents.home_code import verifies
from carecenter.residents.models import Resident
from carecenter.residents.service import resident_named
from carecenter.settings.visits import VisitRules
from carecenter.staff.models import Staff
from carecenter.updates import changes_for
from carecenter.visits import verification
from carecenter.visits.medication import medication_tasks, unrecorded
from carecenter.visits.models import (
    OPEN_VISIT_STATUSES,
    AdHocVisit,
    CarePlan,
    CarePlanCreate,
    CarePlanUpdate,
    ConflictNote,
    Position,
    Recurrence,
    TaskUpdate,
    Visit,
    VisitStatus,
    VisitTask,
    VisitVitals,
)
from carecenter.visits.notices import tell_managers
from carecenter.visits.planning import occurrence_dates, overlaps, visit_window
from carecenter.visits.records import records_from_visits
from carecenter.words import VALUE_NAMES
from carecommon.i18n import Word
from carecommon.sqltypes import upsert_insert
from notifications.models import MessageChannel, Purpose


# -- care plans ---------------------------------------------------------------------------------
def _check_plan(session: Session, *, services: list[str], worker_id: int | None, center_id: int) -> None:
    require_offered(session, center_id=center_id, codes=services, field=["body", "services"])
    if worker_id is not None:
        worker = session.get(Staff, worker_id)
        if worker is None or worker.center_id != center_id or worker.role != Role.care_worker or not worker.active:
            raise InvalidField(
                ["body", "preferred_worker_id"], "no active care worker {id} in this center", id=worker_id
            )


def get_plan(*, session: Session, actor: Actor, plan_id: int) -> CarePlan:
    plan = session.get(CarePlan, plan_id)
    actor.require_visible(plan.center_id if plan else None, "care plan")
    assert plan is not None
    return plan


def list_plans(*, session: Session, actor: Actor, resident_id: int | None = None) -> list[CarePlan]:
    stmt = select(CarePlan)
    stmt = actor.scoped(stmt, CarePlan.center_id, None)
    if resident_id is not None:
        stmt = stmt.where(CarePlan.resident_id == resident_id)
    return list(session.exec(stmt.order_by(col(CarePlan.id))).all())


def create_plan(*, session: Session, actor: Actor, data: CarePlanCreate, rules: VisitRules, now: datetime) -> CarePlan:
    """A new care plan; its visits for the horizon are generated at once (managers and admins)."""
    resident = resident_named(session=session, actor=actor, resident_id=data.resident_id)
    _check_plan(session, services=data.services, worker_id=data.preferred_worker_id, center_id=resident.center_id)
    plan = CarePlan.model_validate(
        data,
        update={
            "center_id": resident.center_id,
            "recurrence": data.recurrence.model_dump(mode="json"),
            "medications": data.medications,
            "created_at": now,
        },
    )
    session.add(plan)
    session.flush()
    record_event(
        session=session,
        actor=actor,
        action="care_plan.create",
        entity_type="care_plan",
        entity_id=plan.id,
        center_id=plan.center_id,
        now=now,
    )
    generate_visits(session, plan=plan, now=now, rules=rules)
    return plan


def update_plan(
    *, session: Session, actor: Actor, plan_id: int, data: CarePlanUpdate, rules: VisitRules, now: datetime
) -> CarePlan:
    """Change a plan; only its future visits that have not started are replaced."""
    plan = get_plan(session=session, actor=actor, plan_id=plan_id)
    changes = changes_for(plan, data)
    if "recurrence" in changes and data.recurrence is not None:
        changes["recurrence"] = data.recurrence.model_dump(mode="json")
    if "medications" in changes and data.medications is not None:
        changes["medications"] = data.medications
    _check_plan(
        session,
        services=changes.get("services", plan.services),
        worker_id=changes.get("preferred_worker_id", plan.preferred_worker_id),
        center_id=plan.center_id,
    )
    plan.sqlmodel_update(changes)
    session.add(plan)
    session.exec(
        delete(Visit).where(
            col(Visit.care_plan_id) == plan.id,
            col(Visit.status) == VisitStatus.scheduled,
            col(Visit.scheduled_start) > now,
            col(Visit.checked_in_at).is_(None),
        )
    )
    record_event(
        session=session,
        actor=actor,
        action="care_plan.update",
        entity_type="care_plan",
        entity_id=plan.id,
        center_id=plan.center_id,
        now=now,
        changed_fields=changes,
    )
    if plan.active:
        generate_visits(session, plan=plan, now=now, rules=rules)
    return plan


def generate_visits(session: Session, *, plan: CarePlan, now: datetime, rules: VisitRules) -> int:
    """Visits for the plan over the horizon, each once however often this runs; returns how many are new."""
    center = session.get(Center, plan.center_id)
    assert center is not None and plan.id is not None
    recurrence = Recurrence.model_validate(plan.recurrence)
    today = now.astimezone(ZoneInfo(center.time_zone)).date()
    tasks = [VisitTask(service=s) for s in plan.services]
    insert = upsert_insert(session.get_bind().dialect)
    created = 0
    for day in occurrence_dates(
        recurrence,
        starts_on=plan.starts_on,
        ends_on=plan.ends_on,
        first=today,
        last=today + timedelta(days=rules.horizon_days),
    ):
        start, end = visit_window(recurrence, day, center.time_zone)
        if start <= now:
            continue
        medications = medication_tasks(plan.medications, start, end)
        worker = plan.preferred_worker_id
        if worker is not None and find_conflict(
            session, worker_id=worker, window=(start, end), buffer=rules.travel_buffer
        ):
            worker = None  # left unassigned for the manager rather than double-booked
        result = session.execute(
            insert(Visit)
            .values(
                center_id=plan.center_id,
                resident_id=plan.resident_id,
                care_plan_id=plan.id,
                worker_id=worker,
                scheduled_start=start,
                scheduled_end=end,
                status=VisitStatus.scheduled,
                tasks=tasks,
                medications=medications,
                conflict_notes=[],
                recorded_offline=False,
                notes="",
                far_from_home=False,
                concern=False,
                time_corrected=False,
                created_at=now,
            )
            .on_conflict_do_nothing(index_elements=["care_plan_id", "scheduled_start"])
            .returning(Visit.__table__.c.id)  # type: ignore[attr-defined]
        )
        created += result.scalar() is not None  # portable: rowcount is -1 here on psycopg
    return created


def generate_all_visits(session: Session, *, now: datetime, rules: VisitRules) -> int:
    """The nightly job: extend every active plan's visits to the horizon."""
    return sum(
        generate_visits(session, plan=plan, now=now, rules=rules)
        for plan in session.exec(select(CarePlan).where(CarePlan.active == True)).all()  # noqa: E712
    )


# -- visits ---------------------------------------------------------------------------------------
def find_conflict(
    session: Session,
    *,
    worker_id: int,
    window: tuple[datetime, datetime],
    buffer: timedelta,
    exclude_id: int | None = None,
) -> Visit | None:
    """The worker's visit that collides with `window` once travel time is counted, if any."""
    candidates = session.exec(
        select(Visit).where(
            Visit.worker_id == worker_id,
            col(Visit.status).in_(OPEN_VISIT_STATUSES),
            col(Visit.scheduled_start) < window[1] + buffer,
            col(Visit.scheduled_end) > window[0] - buffer,
        )
    ).all()
    return next(
        (
            v
            for v in candidates
            if v.id != exclude_id and overlaps((v.scheduled_start, v.scheduled_end), window, buffer)
        ),
        None,
    )


def get_visit(*, session: Session, actor: Actor, visit_id: int) -> Visit:
    visit = session.get(Visit, visit_id)
    actor.require_visible(visit.center_id if visit else None, "visit")
    assert visit is not None
    return visit


def _check_assignable(
    session: Session,
    *,
    worker_id: int,
    center_id: int,
    window: tuple[datetime, datetime],
    rules: VisitRules,
    exclude_id: int | None,
) -> None:
    worker = session.get(Staff, worker_id)
    if worker is None or worker.center_id != center_id or worker.role != Role.care_worker or not worker.active:
        raise InvalidField(["body", "worker_id"], "no active care worker {id} in this center", id=worker_id)
    clash = find_conflict(
        session, worker_id=worker_id, window=window, buffer=rules.travel_buffer, exclude_id=exclude_id
    )
    if clash is not None:
        local = clash.scheduled_start.astimezone(ZoneInfo(session.get(Center, center_id).time_zone))  # type: ignore[union-attr]
        when = local.strftime("%m-%d %H:%M")
        raise Conflict(
            "{worker} already has visit {visit} at {time} (with {minutes} minutes to travel); "
            "choose another time or worker.",
            worker=worker.name,
            visit=clash.id,
            time=when,
            minutes=int(rules.travel_buffer.total_seconds() // 60),
        )


def assign(
    *, session: Session, actor: Actor, visit_id: int, worker_id: int | None, rules: VisitRules, now: datetime
) -> Visit:
    """Give a visit to a care worker (or none), refusing double bookings."""
    visit = get_visit(session=session, actor=actor, visit_id=visit_id)
    if visit.status != VisitStatus.scheduled:
        raise Conflict("This visit is already {status}.", status=Word(VALUE_NAMES[visit.status]))
    if worker_id is not None:
        _check_assignable(
            session,
            worker_id=worker_id,
            center_id=visit.center_id,
            window=(visit.scheduled_start, visit.scheduled_end),
            rules=rules,
            exclude_id=visit.id,
        )
    visit.worker_id, visit.reminder_sent_at = worker_id, None  # the new worker gets their own reminder
    session.add(visit)
    record_event(
        session=session,
        actor=actor,
        action="visit.assign",
        entity_type="visit",
        entity_id=visit.id,
        center_id=visit.center_id,
        now=now,
        changed_fields=["worker_id"],
    )
    return visit


def create_adhoc(*, session: Session, actor: Actor, data: AdHocVisit, rules: VisitRules, now: datetime) -> Visit:
    """A one-off visit, for example a follow-up after an alert (managers and admins)."""
    resident = resident_named(session=session, actor=actor, resident_id=data.resident_id)
    _check_plan(session, services=data.services, worker_id=None, center_id=resident.center_id)
    window = (data.scheduled_start, data.scheduled_start + timedelta(minutes=data.duration_minutes))
    if data.worker_id is not None:
        _check_assignable(
            session, worker_id=data.worker_id, center_id=resident.center_id, window=window, rules=rules, exclude_id=None
        )
    visit = Visit(
        center_id=resident.center_id,
        resident_id=resident.id or 0,
        worker_id=data.worker_id,
        scheduled_start=window[0],
        scheduled_end=window[1],
        notes=data.notes,
        created_at=now,
        tasks=[VisitTask(service=s) for s in data.services],
    )
    session.add(visit)
    session.flush()
    record_event(
        session=session,
        actor=actor,
        action="visit.create",
        entity_type="visit",
        entity_id=visit.id,
        center_id=visit.center_id,
        now=now,
    )
    return visit


def visit_to_work_on(session: Session, actor: Actor, visit_id: int, *, may_take: bool = False) -> Visit:
    """A visit the actor may work on: its care worker, or a manager of the center; with `may_take`
    (checking in) also a visit nobody has yet, which a care worker of the center takes."""
    visit = get_visit(session=session, actor=actor, visit_id=visit_id)
    taking = may_take and visit.worker_id is None and actor.role == Role.care_worker
    if not (actor.is_manager_or_admin or visit.worker_id == actor.staff_id or taking):
        raise Forbidden("Only the visit's care worker or a manager may do this.")
    return visit


def take_visit(session: Session, actor: Actor, visit: Visit, now: datetime) -> None:
    """A care worker of the center takes a visit nobody was given (at its check-in): theirs from
    now on, on the schedule as on their day, and in the audit trail."""
    visit.worker_id = actor.staff_id
    session.add(visit)
    record_event(
        session=session,
        actor=actor,
        action="visit.take",
        entity_type="visit",
        entity_id=visit.id,
        center_id=visit.center_id,
        now=now,
    )


def _distance_from_home(session: Session, visit: Visit, position: Position) -> float | None:
    resident = session.get(Resident, visit.resident_id)
    if position.latitude is None or position.longitude is None or resident is None:
        return None
    if resident.latitude is None or resident.longitude is None:
        return None
    home = (resident.latitude, resident.longitude)
    return round(distance_m(home, (position.latitude, position.longitude)), 1)


def _method(
    session: Session,
    actor: Actor,
    visit: Visit,
    position: Position,
    distance: float | None,
    *,
    key: bytes,
    now: datetime,
) -> verification.Method:
    """How this end was captured. A code that is not the home's current one is kept for the manager
    (an old copy, another home's card) and the end falls back to GPS: the worker is never stopped."""
    code_verified = False
    if position.home_code:
        resident = session.get(Resident, visit.resident_id)
        code_verified = resident is not None and verifies(key, position.home_code, resident)
        if not code_verified:
            note = ConflictNote(
                at=position.at or now,
                received_at=now,
                worker=actor.username,
                kind="home_code",
                entered={"home_code": position.home_code[:40]},
                why="the home code is not this home's current one",
            )
            visit.conflict_notes = [*visit.conflict_notes, note]
    return verification.method_of(code_verified=code_verified, distance_m=distance)


def check_in(
    *, session: Session, actor: Actor, visit_id: int, position: Position, rules: VisitRules, now: datetime
) -> Visit:
    """At the door: the visit starts; the distance from home is kept and flagged when far (never blocked)."""
    visit = visit_to_work_on(session, actor, visit_id, may_take=True)
    if visit.status != VisitStatus.scheduled:
        raise Conflict(
            "This visit is {status}; only a scheduled visit can be checked into.",
            status=Word(VALUE_NAMES[visit.status]),
        )
    visit.status, visit.checked_in_at = VisitStatus.in_progress, device_time(position.at, now)
    visit.check_in_received_at = now
    if visit.scheduled_start - visit.checked_in_at > EARLY_CHECK_IN:  # allowed, but the manager should look
        note = ConflictNote(
            at=visit.checked_in_at,
            received_at=now,
            worker=actor.username,
            kind="check_in",
            why="checked in more than 24 hours before the visit's start",
        )
        visit.conflict_notes = [*visit.conflict_notes, note]
    visit.check_in_distance_m = _distance_from_home(session, visit, position)
    visit.check_in_method = _method(
        session, actor, visit, position, visit.check_in_distance_m, key=rules.home_code_key, now=now
    )
    visit.far_from_home = (visit.check_in_distance_m or 0) > rules.far_from_home_m
    if visit.worker_id is None and actor.role == Role.care_worker:
        take_visit(session, actor, visit, now)
    session.add(visit)
    return visit


def check_out(
    *,
    session: Session,
    actor: Actor,
    visit_id: int,
    position: Position,
    rules: VisitRules,
    messaging: AlertMessaging,
    now: datetime,
) -> Visit:
    """The visit is done; a family contact who asked for it hears so (quiet hours respected)."""
    visit = visit_to_work_on(session, actor, visit_id)
    if visit.status != VisitStatus.in_progress:
        raise Conflict("This visit is {status}; check in first.", status=Word(VALUE_NAMES[visit.status]))
    if missing := unrecorded(visit):
        raise Conflict(
            "Record every medication (given, refused, not available, held, given by family) before checking out: "
            "{names}.",
            names="、".join(missing),
        )
    if needing := needs_confirmation(session, visit):
        raise Conflict(
            "{services}: the resident (or a family member) confirms the service before check-out.",
            services="、".join(needing),
        )
    checked_out_at = device_time(position.at, now)
    if visit.checked_in_at is not None and checked_out_at < visit.checked_in_at:
        raise InvalidField(["body", "at"], "a check-out cannot be before the check-in")
    visit.status, visit.checked_out_at = VisitStatus.completed, checked_out_at
    visit.check_out_received_at = now
    visit.check_out_distance_m = _distance_from_home(session, visit, position)
    visit.check_out_method = _method(
        session, actor, visit, position, visit.check_out_distance_m, key=rules.home_code_key, now=now
    )
    visit.far_from_home = visit.far_from_home or (visit.check_out_distance_m or 0) > rules.far_from_home_m
    verification.assess(visit, tolerance_m=rules.far_from_home_m, confirmation_missing=False)  # checked above
    session.add(visit)
    records_from_visits(session, visits=[visit], now=now)
    _tell_family_visit_done(session, messaging, visit=visit, now=now)
    return visit


OFFLINE_WINDOW = timedelta(hours=24)
EARLY_CHECK_IN = timedelta(hours=24)
CLOCK_SKEW = timedelta(minutes=2)


def device_time(at: datetime | None, now: datetime) -> datetime:
    """The time the tablet says something happened: within the last 24 hours (it may have waited
    offline) and not ahead of the server by more than a little clock skew."""
    if at is None:
        return now
    if not now - OFFLINE_WINDOW <= at <= now + CLOCK_SKEW:
        raise InvalidField(["body", "at"], "the time on the tablet must be within the last 24 hours")
    return at


def needs_confirmation(session: Session, visit: Visit) -> list[str]:
    """Services given at this visit whose center wants a confirmation, while none was recorded."""
    if visit.confirmation is not None:
        return []
    offered = catalogue(session, visit.center_id)
    return [
        t.service
        for t in visit.tasks
        if t.done and (s := offered.get(t.service)) is not None and s.confirmation_required
    ]


def _tell_family_visit_done(session: Session, messaging: AlertMessaging, *, visit: Visit, now: datetime) -> None:
    contact = next(iter(reachable_family(session, visit.resident_id, visit_updates=True)), None)
    resident = session.get(Resident, visit.resident_id)
    center = session.get(Center, visit.center_id)
    if contact is None or resident is None or center is None or visit.checked_out_at is None:
        return
    recipient = family_recipient(contact, center.time_zone)
    local = visit.checked_out_at.astimezone(ZoneInfo(center.time_zone))
    by_wechat = recipient.openid is not None and recipient.wechat_visits
    send(
        session,
        messaging,
        recipient,
        channel=MessageChannel.wechat if by_wechat else MessageChannel.sms,
        kind="family.visit_update",
        params={"center": center.town, "who": resident.name, "when": f"{local:%H:%M}"},
        purpose=Purpose.outcome,
        dedupe_key=f"visit:{visit.id}:completed:{recipient.ref}",
        now=now,
        center_id=center.id,
        visit_id=visit.id,
    )


def cancel(*, session: Session, actor: Actor, visit_id: int, reason: str, now: datetime) -> Visit:
    visit = get_visit(session=session, actor=actor, visit_id=visit_id)
    if visit.status != VisitStatus.scheduled:
        raise Conflict(
            "This visit is {status}; only a scheduled visit can be cancelled.", status=Word(VALUE_NAMES[visit.status])
        )
    visit.status, visit.cancel_reason = VisitStatus.cancelled, reason
    session.add(visit)
    record_event(
        session=session,
        actor=actor,
        action="visit.cancel",
        entity_type="visit",
        entity_id=visit.id,
        center_id=visit.center_id,
        now=now,
    )
    return visit


def set_task(*, session: Session, actor: Actor, visit_id: int, update: TaskUpdate) -> Visit:
    """Tick a checklist service (with the quantity given, e.g. 1.5 hours) or say why it was not given."""
    visit = visit_to_work_on(session, actor, visit_id)
    if visit.status not in OPEN_VISIT_STATUSES:
        raise Conflict("This visit is {status}.", status=Word(VALUE_NAMES[visit.status]))
    if update.service not in [t.service for t in visit.tasks]:
        raise InvalidField(["body", "service"], "{service} is not on this visit's checklist", service=update.service)
    change: dict[str, object] = {"done": update.done}
    if update.quantity is not None:
        change["quantity"] = update.quantity
    if update.reason is not None:
        change["reason"] = update.reason
    visit.tasks = [t.model_copy(update=change) if t.service == update.service else t for t in visit.tasks]
    session.add(visit)
    return visit


def set_notes(*, session: Session, actor: Actor, visit_id: int, notes: str, share_with_family: bool = False) -> Visit:
    """The visit's notes, and whether the family page shows them."""
    visit = visit_to_work_on(session, actor, visit_id)
    visit.notes, visit.share_notes_with_family = notes, share_with_family
    session.add(visit)
    return visit


def raise_concern(
    *, session: Session, actor: Actor, visit_id: int, note: str, messaging: AlertMessaging, now: datetime
) -> Visit:
    """Something worries the care worker: the visit is flagged and the managers are told."""
    visit = visit_to_work_on(session, actor, visit_id)
    visit.concern, visit.concern_note = True, note or None
    session.add(visit)
    worker = session.get(Staff, actor.staff_id) if actor.staff_id else None
    name = worker.name if worker else actor.username
    tell_managers(session, messaging, visit=visit, kind="visit.concern", event="concern", now=now, worker=name)
    return visit


def record_vitals(
    *,
    session: Session,
    actor: Actor,
    visit_id: int,
    vitals: VisitVitals,
    messaging: AlertMessaging,
    now: datetime,
    measured_at: datetime | None = None,
) -> Reading:
    """Vitals taken at the visit: stored as a reading and checked by the same rules as the wearables.

    One rule for health values, whoever measured them: they are kept and checked only with the
    resident's consent to health data (PIPL), exactly as for a wearable's readings."""
    visit = visit_to_work_on(session, actor, visit_id)
    if visit.status != VisitStatus.in_progress:
        raise Conflict("Check in before recording vitals.")
    values = vitals.model_dump(exclude_none=True)
    if not values:
        raise InvalidField(["body"], "give at least one measurement")
    resident = lock_resident(session, visit.resident_id)
    if not resident.consent_health_data:
        raise Conflict("This resident has not consented to health data being kept; nothing was saved.")
    reading = Reading(
        resident_id=visit.resident_id,
        center_id=visit.center_id,
        # Unique without reading anything: `reading` has no index on event_id (a count by prefix
        # scanned every partition); a tablet's replay is kept once by its action key instead.
        event_id=f"visit:{visit.id}:{uuid.uuid4().hex[:20]}",
        kind="vitals",
        source="visit",
        recorded_at=measured_at or now,
        received_at=now,
        **values,
    )
    reading.id = bulk.insert_new(session, [bulk.row_of(reading)])[(None, reading.event_id)]
    facts = alert_rules.ReadingFacts(
        kind="vitals",
        recorded_at=measured_at or now,
        **{k: v for k, v in values.items() if k in alert_rules.RULE_VITAL_FIELDS},
    )
    subject = subject_of(resident)
    assessor = Assessor(session, messaging, [subject], now)
    assessor.assess(subject, facts, device_id=None)
    assessor.finish()
    return reading


def correct_times(
    *,
    session: Session,
    actor: Actor,
    visit_id: int,
    checked_in_at: datetime | None,
    checked_out_at: datetime | None,
    reason: str,
    rules: VisitRules,
    now: datetime,
) -> Visit:
    """A manager fixes check-in or check-out times; the reason goes into the audit trail. The visit
    is manual from then on (who and why kept on it) and goes to the exception queue."""
    visit = get_visit(session=session, actor=actor, visit_id=visit_id)
    changed = []
    if checked_in_at is not None:
        visit.checked_in_at = checked_in_at
        visit.check_in_method = verification.Method.manual
        changed.append("checked_in_at")
    if checked_out_at is not None:
        visit.checked_out_at = checked_out_at
        visit.check_out_method = verification.Method.manual
        changed.append("checked_out_at")
    if not changed:
        raise InvalidField(["body"], "give checked_in_at, checked_out_at or both")
    if visit.checked_in_at and visit.checked_out_at and visit.checked_out_at < visit.checked_in_at:
        raise InvalidField(["body", "checked_out_at"], "check-out cannot be before check-in")
    visit.time_corrected = True
    visit.manual_reason, visit.manual_by = reason, actor.username
    missing = bool(needs_confirmation(session, visit))
    verification.assess(visit, tolerance_m=rules.far_from_home_m, confirmation_missing=missing)
    session.add(visit)
    record_event(
        session=session,
        actor=actor,
        action="visit.correct_times",
        entity_type="visit",
        entity_id=visit.id,
        center_id=visit.center_id,
        now=now,
        changed_fields=changed,
        reason=reason,
    )
    return visit


class Scheduled(Protocol):
    """A visit, or a row of a visit's columns that include these."""

    @property
    def status(self) -> str: ...
    @property
    def scheduled_start(self) -> datetime: ...


def is_late(visit: Scheduled, now: datetime, rules: VisitRules) -> bool:
    return visit.status == VisitStatus.scheduled and now >= visit.scheduled_start + rules.late_after


def was_on_time(visit: Visit, rules: VisitRules) -> bool:
    """The one definition of an on-time visit: completed, checked in before it counted as late."""
    return (
        visit.status == VisitStatus.completed
        and visit.checked_in_at is not None
        and visit.checked_in_at <= visit.scheduled_start + rules.late_after
    )


def local_day_bounds(day: date, time_zone: str) -> tuple[datetime, datetime]:
    zone = ZoneInfo(time_zone)
    start = datetime.combine(day, datetime.min.time(), tzinfo=zone)
    return start, datetime.combine(day + timedelta(days=1), datetime.min.time(), tzinfo=zone)


def visit_resident(session: Session, visit: Visit) -> Resident | None:
    """The resident a visit (already checked visible) is for."""
    return session.get(Resident, visit.resident_id)
