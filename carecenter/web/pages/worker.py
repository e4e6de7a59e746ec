"""The care worker's day: today's visits, a visit's page and what is done at the door."""

from datetime import datetime
from typing import Annotated, Any, TypeVar
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel
from sqlmodel import Session

from carecenter.alerts.queries import open_alerts
from carecenter.catalogue.service import service_names
from carecenter.centers.models import Center
from carecenter.context import context_of
from carecenter.deps import NowDep, SessionDep, TabletDep
from carecenter.residents.models import LivingSituation, Resident
from carecenter.thresholds import effective_thresholds
from carecenter.visits import actions, proof
from carecenter.visits import service as visits
from carecenter.visits.actions import CheckIn, CheckOut, Concern, Notes, Tablet, Task, Vitals
from carecenter.visits.models import MedicationOutcome, Visit
from carecenter.visits.queries import worker_day
from carecenter.web.deps import Posted, UserDep, posted, run_action
from carecenter.web.render import render
from carecenter.web.user import WebUser

router = APIRouter(include_in_schema=False)
A = TypeVar("A", bound=BaseModel)


@router.get("/", response_class=HTMLResponse, response_model=None)
def today(request: Request, user: UserDep, session: SessionDep, now: NowDep) -> Response:
    if user.actor.is_manager_or_admin:
        return RedirectResponse("/board", status_code=303)
    day = now.astimezone(ZoneInfo(user.time_zone)).date()
    return render(
        request,
        "today.html",
        user,
        rows=worker_day(session=session, actor=user.actor, day=day, time_zone=user.time_zone),
        open_alerts=open_alerts(session=session, actor=user.actor),
        now=now,
        rules=context_of(request).visit_rules,
        LivingSituation=LivingSituation,
    )


# The vital signs typed at the door: unit, and the thresholds that bound the resident's range.
VITALS = (
    ("systolic", "mmHg", "systolic_low", "systolic_high"),
    ("diastolic", "mmHg", None, "diastolic_high"),
    ("heart_rate", "bpm", "heart_rate_low", "heart_rate_high"),
    ("temperature", "°C", "temperature_low", "temperature_high"),
    ("blood_glucose", "mmol/L", None, None),
)


def vital_fields(
    session: Session, visit: Visit, resident: Resident | None
) -> list[tuple[str, str, float | None, float | None]]:
    """Each vital's field, unit and the resident's alert range (center thresholds and their own)."""
    center = session.get(Center, visit.center_id)
    thresholds = effective_thresholds(
        center.alert_thresholds if center else None, resident.alert_thresholds if resident else None
    )
    return [
        (field, unit, getattr(thresholds, low) if low else None, getattr(thresholds, high) if high else None)
        for field, unit, low, high in VITALS
    ]


def _visit_page(
    request: Request,
    user: WebUser,
    session: Session,
    visit_id: int,
    status_code: int = 200,
    errors: dict[str, str] | None = None,
    values: dict[str, Any] | None = None,
) -> HTMLResponse:
    visit = visits.get_visit(session=session, actor=user.actor, visit_id=visit_id)
    resident = visits.visit_resident(session, visit)
    return render(
        request,
        "visit.html",
        user,
        status_code=status_code,
        visit=visit,
        resident=resident,
        vital_fields=vital_fields(session, visit, resident),
        service_names=service_names(session, visit.center_id, user.language),
        photos=proof.photos_of(session, visit.id or 0),
        confirmation_needed=visits.needs_confirmation(session, visit),
        medication_outcomes=[o.value for o in MedicationOutcome],
        field_errors=errors or {},
        values=values or {},
        LivingSituation=LivingSituation,
    )


@router.get("/visits/{visit_id}", response_class=HTMLResponse)
def visit_page(visit_id: int, request: Request, user: UserDep, session: SessionDep) -> HTMLResponse:
    return _visit_page(request, user, session, visit_id)


def apply_posted(
    visit_id: int,
    user: WebUser,
    form: Posted[A],
    session: Session,
    tablet: Tablet,
    now: datetime,
    *,
    done: str | None = None,
) -> Response:
    """A visit action posted by a form: validated by its model, applied by `actions.apply`."""

    def act(action: A) -> None:
        actions.apply(session, user.actor, visit_id, action, tablet=tablet, now=now)  # type: ignore[arg-type]

    return run_action(session, user, form, act, back_to=f"/visits/{visit_id}", done=done)


@router.post("/visits/{visit_id}/check-in", response_model=None)
def check_in(
    visit_id: int,
    user: UserDep,
    form: Annotated[Posted[CheckIn], Depends(posted(CheckIn))],
    session: SessionDep,
    tablet: TabletDep,
    now: NowDep,
) -> Response:
    return apply_posted(visit_id, user, form, session, tablet, now)


@router.post("/visits/{visit_id}/check-out", response_model=None)
def check_out(
    visit_id: int,
    user: UserDep,
    form: Annotated[Posted[CheckOut], Depends(posted(CheckOut))],
    session: SessionDep,
    tablet: TabletDep,
    now: NowDep,
) -> Response:
    return apply_posted(visit_id, user, form, session, tablet, now, done="/")


@router.post("/visits/{visit_id}/task", response_model=None)
def set_task(
    visit_id: int,
    user: UserDep,
    form: Annotated[Posted[Task], Depends(posted(Task))],
    session: SessionDep,
    tablet: TabletDep,
    now: NowDep,
) -> Response:
    return apply_posted(visit_id, user, form, session, tablet, now)


@router.post("/visits/{visit_id}/notes", response_model=None)
def set_notes(
    visit_id: int,
    user: UserDep,
    form: Annotated[Posted[Notes], Depends(posted(Notes))],
    session: SessionDep,
    tablet: TabletDep,
    now: NowDep,
) -> Response:
    return apply_posted(visit_id, user, form, session, tablet, now)


@router.post("/visits/{visit_id}/concern", response_model=None)
def raise_concern(
    visit_id: int,
    user: UserDep,
    form: Annotated[Posted[Concern], Depends(posted(Concern))],
    session: SessionDep,
    tablet: TabletDep,
    now: NowDep,
) -> Response:
    return apply_posted(visit_id, user, form, session, tablet, now)


@router.post("/visits/{visit_id}/vitals", response_model=None)
def record_vitals(
    visit_id: int,
    request: Request,
    user: UserDep,
    form: Annotated[Posted[Vitals], Depends(posted(Vitals))],
    session: SessionDep,
    tablet: TabletDep,
    now: NowDep,
) -> Response:
    if form.data is None:  # shown next to each field, nothing saved, nothing lost
        return _visit_page(request, user, session, visit_id, 422, form.errors, form.values)
    return apply_posted(visit_id, user, form, session, tablet, now)
