"""JSON endpoints for care plans, visits, the schedule and visit figures."""

from datetime import datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response, UploadFile
from sqlmodel import Session

from carecenter.access import Role
from carecenter.centers.service import center_to_read
from carecenter.deps import ActorDep, NowDep, SessionDep, TabletDep, VisitRulesDep, allow
from carecenter.errors import request_language
from carecenter.fields import Day, Instant
from carecenter.pagination import Page, PageParams, page_params
from carecenter.readings.models import ReadingPublic
from carecenter.residents.service import get_resident
from carecenter.service_records.models import MONTH
from carecenter.visits import actions, exceptions, medication, proof, queries, service, sync, welfare
from carecenter.visits.actions import (
    CheckIn,
    CheckOut,
    Concern,
    Confirm,
    Correction,
    Medication,
    Notes,
    Photo,
    Tablet,
    Task,
    Vitals,
)
from carecenter.visits.exceptions import ExceptionDecision
from carecenter.visits.models import (
    AdHocVisit,
    AssignRequest,
    CancelRequest,
    CarePlan,
    CarePlanCreate,
    CarePlanPublic,
    CarePlanUpdate,
    VisitPhoto,
    VisitPhotoPublic,
    VisitPublic,
    VisitStats,
    VisitStatus,
    WorkerSchedule,
)
from carecenter.visits.sync import ActionResult, TabletActions
from carecenter.visits.verification import ExceptionState
from carecenter.visits.welfare import WelfareDue
from carecommon.i18n import N_

router = APIRouter(tags=["visits"])


def _done(session: Session, applied: actions.Applied, tablet: Tablet, now: datetime) -> VisitPublic:
    """A visit action's answer: committed, the visit as it now is."""
    session.commit()
    return queries.public(applied.visit, now, tablet.rules)


@router.get("/api/v1/care-plans", response_model=list[CarePlanPublic])
def list_plans(actor: ActorDep, session: SessionDep, resident_id: int | None = None) -> list[CarePlan]:
    """Care plans of your center (optionally one resident's)."""
    return service.list_plans(session=session, actor=actor, resident_id=resident_id)


@router.post(
    "/api/v1/care-plans",
    response_model=CarePlanPublic,
    status_code=201,
    dependencies=[allow(Role.manager, Role.admin, to=N_("plan care"))],
)
def create_plan(
    data: CarePlanCreate, actor: ActorDep, session: SessionDep, rules: VisitRulesDep, now: NowDep
) -> CarePlan:
    """Create a care plan; its visits for the coming weeks are generated at once."""
    plan = service.create_plan(session=session, actor=actor, data=data, rules=rules, now=now)
    session.commit()
    return plan


@router.get("/api/v1/care-plans/{plan_id}", response_model=CarePlanPublic)
def get_plan(plan_id: int, actor: ActorDep, session: SessionDep) -> CarePlan:
    """Read one care plan."""
    return service.get_plan(session=session, actor=actor, plan_id=plan_id)


@router.patch(
    "/api/v1/care-plans/{plan_id}",
    response_model=CarePlanPublic,
    dependencies=[allow(Role.manager, Role.admin, to=N_("plan care"))],
)
def update_plan(
    plan_id: int, data: CarePlanUpdate, actor: ActorDep, session: SessionDep, rules: VisitRulesDep, now: NowDep
) -> CarePlan:
    """Change a plan; future visits that have not started follow it (`active: false` ends it)."""
    plan = service.update_plan(session=session, actor=actor, plan_id=plan_id, data=data, rules=rules, now=now)
    session.commit()
    return plan


@router.get("/api/v1/visits", response_model=Page[VisitPublic])
def list_visits(
    actor: ActorDep,
    session: SessionDep,
    rules: VisitRulesDep,
    now: NowDep,
    page: Annotated[PageParams, Depends(page_params)],
    center_id: int | None = None,
    worker_id: int | None = None,
    resident_id: int | None = None,
    status: Annotated[list[VisitStatus] | None, Query()] = None,
    since: Instant | None = None,
    until: Instant | None = None,
    unassigned: bool = False,
) -> Page[VisitPublic]:
    """Visits by start time (filter by worker, resident, status, time, unassigned)."""
    found = queries.list_visits(
        session=session,
        actor=actor,
        page=page,
        center_id=center_id,
        worker_id=worker_id,
        resident_id=resident_id,
        status=status,
        since=since,
        until=until,
        unassigned=unassigned,
    )
    return Page(
        items=[queries.public(v, now, rules) for v in found.items],
        total=found.total,
        limit=found.limit,
        offset=found.offset,
    )


@router.post(
    "/api/v1/visits",
    response_model=VisitPublic,
    status_code=201,
    dependencies=[allow(Role.manager, Role.admin, to=N_("plan visits"))],
)
def create_visit(
    data: AdHocVisit, actor: ActorDep, session: SessionDep, rules: VisitRulesDep, now: NowDep
) -> VisitPublic:
    """An ad-hoc visit (for example a follow-up after an alert)."""
    visit = service.create_adhoc(session=session, actor=actor, data=data, rules=rules, now=now)
    session.commit()
    return queries.public(visit, now, rules)


@router.get("/api/v1/visits/stats", response_model=VisitStats)
def visit_stats(
    actor: ActorDep,
    session: SessionDep,
    rules: VisitRulesDep,
    now: NowDep,
    center_id: int | None = None,
    from_: Annotated[Day | None, Query(alias="from")] = None,
    to: Day | None = None,
) -> VisitStats:
    """Planned vs completed, on-time share, missed, average duration, share verified at the door (default: 30 days)."""
    last = to or now.date()
    return queries.visit_stats(
        session=session,
        actor=actor,
        first=from_ or last - timedelta(days=29),
        last=last,
        center_id=center_id,
        rules=rules,
    )


@router.get("/api/v1/schedule", response_model=list[WorkerSchedule])
def get_schedule(
    actor: ActorDep,
    session: SessionDep,
    rules: VisitRulesDep,
    now: NowDep,
    center_id: Annotated[int | None, Query(alias="center", description="Admins: which center")] = None,
    from_: Annotated[Day | None, Query(alias="from", description="First local date (default: today)")] = None,
    to: Annotated[Day | None, Query(description="Last local date (default: a week on)")] = None,
    worker_id: Annotated[int | None, Query(alias="worker")] = None,
) -> list[WorkerSchedule]:
    """The schedule: visits grouped by worker and day (default: a week from today), unassigned ones last."""
    return queries.schedule(
        session=session,
        actor=actor,
        first=from_,
        last=to,
        center_id=center_id,
        worker_id=worker_id,
        now=now,
        rules=rules,
    )


@router.get("/api/v1/visits/{visit_id}", response_model=VisitPublic)
def get_visit(visit_id: int, actor: ActorDep, session: SessionDep, rules: VisitRulesDep, now: NowDep) -> VisitPublic:
    """Read one visit."""
    return queries.public(service.get_visit(session=session, actor=actor, visit_id=visit_id), now, rules)


@router.post(
    "/api/v1/visits/{visit_id}/assign",
    response_model=VisitPublic,
    dependencies=[allow(Role.manager, Role.admin, to=N_("assign visits"))],
)
def assign(
    visit_id: int, data: AssignRequest, actor: ActorDep, session: SessionDep, rules: VisitRulesDep, now: NowDep
) -> VisitPublic:
    """Give the visit to a care worker (409 if that double-books them, travel time included)."""
    visit = service.assign(
        session=session, actor=actor, visit_id=visit_id, worker_id=data.worker_id, rules=rules, now=now
    )
    session.commit()
    return queries.public(visit, now, rules)


@router.post("/api/v1/visits/{visit_id}/check-in", response_model=VisitPublic)
def check_in(
    visit_id: int, data: CheckIn, actor: ActorDep, session: SessionDep, tablet: TabletDep, now: NowDep
) -> VisitPublic:
    """Check in at the door, with the position if the tablet allows (far from home is flagged, not refused)."""
    return _done(session, actions.apply(session, actor, visit_id, data, tablet=tablet, now=now), tablet, now)


@router.post("/api/v1/visits/{visit_id}/check-out", response_model=VisitPublic)
def check_out(
    visit_id: int, data: CheckOut, actor: ActorDep, session: SessionDep, tablet: TabletDep, now: NowDep
) -> VisitPublic:
    """Check out: the visit is completed."""
    return _done(session, actions.apply(session, actor, visit_id, data, tablet=tablet, now=now), tablet, now)


@router.post(
    "/api/v1/visits/{visit_id}/cancel",
    response_model=VisitPublic,
    dependencies=[allow(Role.manager, Role.admin, to=N_("cancel visits"))],
)
def cancel(
    visit_id: int, data: CancelRequest, actor: ActorDep, session: SessionDep, rules: VisitRulesDep, now: NowDep
) -> VisitPublic:
    """Cancel a scheduled visit, with the reason."""
    visit = service.cancel(session=session, actor=actor, visit_id=visit_id, reason=data.reason, now=now)
    session.commit()
    return queries.public(visit, now, rules)


@router.post("/api/v1/visits/{visit_id}/tasks", response_model=VisitPublic)
def set_task(
    visit_id: int, data: Task, actor: ActorDep, session: SessionDep, tablet: TabletDep, now: NowDep
) -> VisitPublic:
    """Tick (or untick) one item of the checklist."""
    return _done(session, actions.apply(session, actor, visit_id, data, tablet=tablet, now=now), tablet, now)


@router.put("/api/v1/visits/{visit_id}/notes", response_model=VisitPublic)
def set_notes(
    visit_id: int, data: Notes, actor: ActorDep, session: SessionDep, tablet: TabletDep, now: NowDep
) -> VisitPublic:
    """Replace the visit's notes."""
    return _done(session, actions.apply(session, actor, visit_id, data, tablet=tablet, now=now), tablet, now)


@router.post("/api/v1/visits/{visit_id}/concern", response_model=VisitPublic)
def concern(
    visit_id: int, data: Concern, actor: ActorDep, session: SessionDep, tablet: TabletDep, now: NowDep
) -> VisitPublic:
    """Flag a concern: the managers are told by SMS."""
    return _done(session, actions.apply(session, actor, visit_id, data, tablet=tablet, now=now), tablet, now)


@router.post("/api/v1/visits/{visit_id}/vitals", response_model=ReadingPublic, status_code=201)
def vitals(visit_id: int, data: Vitals, actor: ActorDep, session: SessionDep, tablet: TabletDep, now: NowDep) -> object:
    """Record vitals taken at the visit (checked by the same rules as the wearables)."""
    reading = actions.apply(session, actor, visit_id, data, tablet=tablet, now=now).reading
    session.commit()
    return reading


@router.post(
    "/api/v1/visits/{visit_id}/correct-times",
    response_model=VisitPublic,
    dependencies=[allow(Role.manager, Role.admin, to=N_("correct visit times"))],
)
def correct_times(
    visit_id: int, data: Correction, actor: ActorDep, session: SessionDep, tablet: TabletDep, now: NowDep
) -> VisitPublic:
    """Correct check-in/out times by hand (managers; the reason is audited)."""
    return _done(session, actions.apply(session, actor, visit_id, data, tablet=tablet, now=now), tablet, now)


@router.get(
    "/api/v1/visit-exceptions",
    response_model=list[VisitPublic],
    dependencies=[allow(Role.manager, Role.admin, to=N_("review visit exceptions"))],
)
def visit_exceptions(
    month: Annotated[str, Query(pattern=MONTH, description="YYYY-MM")],
    actor: ActorDep,
    session: SessionDep,
    rules: VisitRulesDep,
    now: NowDep,
    center_id: int | None = None,
    state: ExceptionState = ExceptionState.open,
) -> list[VisitPublic]:
    """The month's completed visits that did not verify, in this state (open: the queue), with
    what keeps each from verifying (`exception_problems`)."""
    center = center_to_read(session=session, actor=actor, center_id=center_id)
    return [queries.public(v, now, rules) for v in exceptions.month_visits(session, center, month, states=(state,))]


@router.post(
    "/api/v1/visits/{visit_id}/exception",
    response_model=VisitPublic,
    dependencies=[allow(Role.manager, Role.admin, to=N_("review visit exceptions"))],
)
def decide_exception(
    visit_id: int, data: ExceptionDecision, actor: ActorDep, session: SessionDep, rules: VisitRulesDep, now: NowDep
) -> VisitPublic:
    """Approve (claimed as it is) or reject (not claimed) a visit of the exception queue, with the reason."""
    visit = exceptions.decide(
        session=session, actor=actor, visit_id=visit_id, decision=data.decision, reason=data.reason, now=now
    )
    session.commit()
    return queries.public(visit, now, rules)


@router.get("/api/v1/welfare-visits/due", response_model=list[WelfareDue])
def welfare_visits_due(
    actor: ActorDep, session: SessionDep, now: NowDep, center_id: int | None = None
) -> list[WelfareDue]:
    """Residents living alone past the center's age who must be seen by tomorrow (overdue first)."""
    center = center_to_read(session=session, actor=actor, center_id=center_id)
    return welfare.welfare_due(session, center=center, now=now)


@router.post(
    "/api/v1/welfare-visits/plan",
    response_model=list[VisitPublic],
    status_code=201,
    dependencies=[allow(Role.manager, Role.admin, to=N_("plan visits"))],
)
def plan_welfare_visits(
    actor: ActorDep, session: SessionDep, rules: VisitRulesDep, now: NowDep, center_id: int | None = None
) -> list[VisitPublic]:
    """A welfare visit for everyone due who has none planned (managers); returns the visits made."""
    center = center_to_read(session=session, actor=actor, center_id=center_id)
    made = welfare.plan_welfare_visits(session=session, actor=actor, center=center, rules=rules, now=now)
    session.commit()
    return [queries.public(v, now, rules) for v in made]


@router.post("/api/v1/tablet/actions", response_model=list[ActionResult])
def tablet_actions(
    data: TabletActions, request: Request, actor: ActorDep, session: SessionDep, tablet: TabletDep, now: NowDep
) -> list[ActionResult]:
    """What a tablet recorded, in order, each with its own idempotency key and time (within the
    last 24 h): check-in and out, checklist, notes, vitals, concerns, photos, the confirmation,
    medication. A key sent again is answered "duplicate"; an action the visit no longer allows
    (given to someone else, cancelled) is "conflict", and what was entered is kept on the visit as
    a note for the manager. Always 200: read each result."""
    return sync.apply_actions(session, actor, data, tablet, now, request_language(request))


@router.post("/api/v1/visits/{visit_id}/photos", response_model=VisitPhotoPublic, status_code=201)
def add_photo(
    visit_id: int,
    photo: UploadFile,
    actor: ActorDep,
    session: SessionDep,
    tablet: TabletDep,
    now: NowDep,
    taken_at: Annotated[Instant | None, Query(description="On the device; defaults to now")] = None,
) -> VisitPhoto | None:
    """A photo of the service (JPEG or PNG; resized, metadata removed); needs the resident's consent."""
    data = Photo(jpeg=photo.file.read(tablet.max_photo_bytes + 1), at=taken_at)
    made = actions.apply(session, actor, visit_id, data, tablet=tablet, now=now).photo
    session.commit()
    return made


@router.get("/api/v1/visits/{visit_id}/photos", response_model=list[VisitPhotoPublic])
def list_photos(visit_id: int, actor: ActorDep, session: SessionDep) -> list[VisitPhoto]:
    """The visit's photos that are still kept."""
    service.get_visit(session=session, actor=actor, visit_id=visit_id)
    return proof.photos_of(session, visit_id)


@router.get("/api/v1/photos/{photo_id}", response_class=Response, responses={200: {"content": {"image/jpeg": {}}}})
def get_photo(photo_id: int, actor: ActorDep, session: SessionDep, tablet: TabletDep, now: NowDep) -> Response:
    """The photo itself, for staff of its center; every view is audited."""
    data = proof.view_photo(session=session, actor=actor, photo_id=photo_id, store=tablet.store, now=now)
    session.commit()
    return Response(data, media_type="image/jpeg", headers={"Cache-Control": "private, no-store"})


@router.post("/api/v1/visits/{visit_id}/confirmation", response_model=VisitPublic)
def confirm_visit(
    visit_id: int, data: Confirm, actor: ActorDep, session: SessionDep, tablet: TabletDep, now: NowDep
) -> VisitPublic:
    """The resident (or family present) confirms the service: a drawn signature (base64 PNG), or why
    they could not sign."""
    return _done(session, actions.apply(session, actor, visit_id, data, tablet=tablet, now=now), tablet, now)


@router.get(
    "/api/v1/visits/{visit_id}/signature", response_class=Response, responses={200: {"content": {"image/png": {}}}}
)
def get_signature(visit_id: int, actor: ActorDep, session: SessionDep, tablet: TabletDep, now: NowDep) -> Response:
    """The drawn signature (staff of the center; audited)."""
    visit = service.get_visit(session=session, actor=actor, visit_id=visit_id)
    data = proof.view_signature(session=session, actor=actor, visit=visit, store=tablet.store, now=now)
    session.commit()
    return Response(data, media_type="image/png", headers={"Cache-Control": "private, no-store"})


@router.post("/api/v1/visits/{visit_id}/medications", response_model=VisitPublic)
def record_medication(
    visit_id: int, data: Medication, actor: ActorDep, session: SessionDep, tablet: TabletDep, now: NowDep
) -> VisitPublic:
    """The outcome of one of the visit's doses; a critical one refused or not available is told to
    the managers at once. Check-out needs every dose recorded."""
    return _done(session, actions.apply(session, actor, visit_id, data, tablet=tablet, now=now), tablet, now)


@router.get("/api/v1/residents/{resident_id}/medications", response_model=list[dict[str, Any]])
def medication_record(resident_id: int, actor: ActorDep, session: SessionDep, now: NowDep) -> list[dict[str, Any]]:
    """What was due and what was recorded, by whom, in the last 30 days (audited, like health data)."""
    resident = get_resident(session=session, actor=actor, resident_id=resident_id)
    rows = medication.medication_history(session=session, actor=actor, resident=resident, now=now)
    session.commit()
    return rows
