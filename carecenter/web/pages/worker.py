"""The care worker's day: today's visits, a visit's page and what is done at the door."""

from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel, Field
from sqlmodel import Session

from carecenter.alerts.queries import open_alerts
from carecenter.catalogue.service import service_names
from carecenter.context import context_of
from carecenter.deps import NowDep, SessionDep
from carecenter.residents.models import LivingSituation
from carecenter.visits import proof
from carecenter.visits import service as visits
from carecenter.visits.models import MedicationOutcome, Position, TaskUpdate, VisitVitals
from carecenter.visits.queries import worker_day
from carecenter.web.deps import Posted, UserDep, posted, run_action
from carecenter.web.render import render
from carecenter.web.user import WebUser

router = APIRouter(include_in_schema=False)


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
    return render(
        request,
        "visit.html",
        user,
        status_code=status_code,
        visit=visit,
        resident=visits.visit_resident(session, visit),
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


class PositionForm(BaseModel):
    """Where the tablet was (geo.js fills these in; both empty when the browser would not say)."""

    latitude: float | None = Field(default=None, ge=-90, le=90)
    longitude: float | None = Field(default=None, ge=-180, le=180)


class NotesForm(BaseModel):
    notes: str = Field(default="", max_length=4000)
    share_with_family: bool = False


class ConcernForm(BaseModel):
    note: str = Field(default="-", max_length=1000)


def _position(data: PositionForm) -> Position:
    return Position(latitude=data.latitude, longitude=data.longitude)


@router.post("/visits/{visit_id}/check-in", response_model=None)
def check_in(
    visit_id: int,
    request: Request,
    user: UserDep,
    form: Annotated[Posted[PositionForm], Depends(posted(PositionForm))],
    session: SessionDep,
    now: NowDep,
) -> Response:
    def act(data: PositionForm) -> None:
        rules = context_of(request).visit_rules
        visits.check_in(
            session=session, actor=user.actor, visit_id=visit_id, position=_position(data), rules=rules, now=now
        )

    return run_action(session, user, form, act, back_to=f"/visits/{visit_id}")


@router.post("/visits/{visit_id}/check-out", response_model=None)
def check_out(
    visit_id: int,
    request: Request,
    user: UserDep,
    form: Annotated[Posted[PositionForm], Depends(posted(PositionForm))],
    session: SessionDep,
    now: NowDep,
) -> Response:
    def act(data: PositionForm) -> None:
        visits.check_out(
            session=session,
            actor=user.actor,
            visit_id=visit_id,
            position=_position(data),
            rules=context_of(request).visit_rules,
            messaging=context_of(request).alert_messaging,
            now=now,
        )

    return run_action(session, user, form, act, back_to=f"/visits/{visit_id}", done="/")


@router.post("/visits/{visit_id}/task", response_model=None)
def set_task(
    visit_id: int,
    user: UserDep,
    form: Annotated[Posted[TaskUpdate], Depends(posted(TaskUpdate))],
    session: SessionDep,
) -> Response:
    def act(data: TaskUpdate) -> None:
        visits.set_task(session=session, actor=user.actor, visit_id=visit_id, update=data)

    return run_action(session, user, form, act, back_to=f"/visits/{visit_id}")


@router.post("/visits/{visit_id}/notes", response_model=None)
def set_notes(
    visit_id: int,
    user: UserDep,
    form: Annotated[Posted[NotesForm], Depends(posted(NotesForm))],
    session: SessionDep,
) -> Response:
    def act(data: NotesForm) -> None:
        visits.set_notes(
            session=session,
            actor=user.actor,
            visit_id=visit_id,
            notes=data.notes,
            share_with_family=data.share_with_family,
        )

    return run_action(session, user, form, act, back_to=f"/visits/{visit_id}")


@router.post("/visits/{visit_id}/concern", response_model=None)
def raise_concern(
    visit_id: int,
    request: Request,
    user: UserDep,
    form: Annotated[Posted[ConcernForm], Depends(posted(ConcernForm))],
    session: SessionDep,
    now: NowDep,
) -> Response:
    def act(data: ConcernForm) -> None:
        messaging = context_of(request).alert_messaging
        note = data.note.strip() or "-"
        visits.raise_concern(
            session=session, actor=user.actor, visit_id=visit_id, note=note, messaging=messaging, now=now
        )

    return run_action(session, user, form, act, back_to=f"/visits/{visit_id}")


@router.post("/visits/{visit_id}/vitals", response_model=None)
def record_vitals(
    visit_id: int,
    request: Request,
    user: UserDep,
    form: Annotated[Posted[VisitVitals], Depends(posted(VisitVitals))],
    session: SessionDep,
    now: NowDep,
) -> Response:
    if form.data is None:  # shown next to each field, nothing saved, nothing lost
        return _visit_page(request, user, session, visit_id, 422, form.errors, form.values)

    def act(data: VisitVitals) -> None:
        messaging = context_of(request).alert_messaging
        visits.record_vitals(
            session=session, actor=user.actor, visit_id=visit_id, vitals=data, messaging=messaging, now=now
        )

    return run_action(session, user, form, act, back_to=f"/visits/{visit_id}")
