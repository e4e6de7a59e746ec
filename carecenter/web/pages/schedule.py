"""The manager's planning: the week grid, reassigning a visit, and care plans."""

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Annotated, Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from markupsafe import Markup, escape
from pydantic import BaseModel, Field, ValidationError
from sqlmodel import Session

from carecenter.catalogue.service import service_names
from carecenter.context import context_of
from carecenter.deps import NowDep, SessionDep, assessment_dir
from carecenter.errors import DomainError, InvalidField, field_errors
from carecenter.residents import service as residents
from carecenter.residents.queries import resident_names
from carecenter.staff.service import active_care_workers
from carecenter.visits import queries as visit_queries
from carecenter.visits import service as visits
from carecenter.visits.models import CarePlanCreate, CarePlanUpdate, PlannedMedication
from carecenter.web.deps import CsrfForm, ManagerDep, NoFields, Posted, form_values, posted, run_action
from carecenter.web.pages.assessments import suggested_services
from carecenter.web.render import back, render
from carecenter.web.user import WebUser
from carecenter.words import value_name

router = APIRouter(include_in_schema=False)
SLOT_BADGES = ("missed", "completed", "in_progress", "cancelled")


@dataclass(frozen=True)
class SlotText:
    """What every slot of one week grid shares: escaped once, not 2,000 times."""

    week: date
    zone: ZoneInfo
    badges: dict[str, str]  # status (and "late") -> the badge's HTML
    names: dict[int, str]  # resident id -> escaped name


def schedule_slot(visit: sa.Row[Any], late: bool, text: SlotText) -> str:
    """One visit of the week grid, as HTML. Built with an f-string rather than the template or
    Markup.format: a district center's week holds 2,000 visits and either costs ~60 ms more. Every
    value inserted is escaped (the names and labels in SlotText) or ours (ids, enum values, times)."""
    status = visit.status
    classes = f"slot st-{status}" + (" is-late" if late else "") + (" is-unassigned" if visit.worker_id is None else "")
    badge = text.badges["late"] if late else text.badges.get(status, "")
    start = visit.scheduled_start.astimezone(text.zone).strftime("%H:%M")
    return (
        f'<a class="{classes}" data-visit="{visit.id}" href="/schedule/visits/{visit.id}?week={text.week}">'
        f'<span class="time">{start}</span> {text.names.get(visit.resident_id, "")}{badge}</a>'
    )


@router.get("/schedule", response_class=HTMLResponse)
def schedule_page(
    request: Request, user: ManagerDep, session: SessionDep, now: NowDep, week: date | None = None
) -> HTMLResponse:
    """The week grid: workers by days, unassigned, late and missed visits stand out; reassign in place."""
    today = now.astimezone(ZoneInfo(user.time_zone)).date()
    first = week or today - timedelta(days=today.weekday())
    grid = visit_queries.schedule_rows(
        session=session,
        actor=user.actor,
        first=first,
        last=first + timedelta(days=6),
        center_id=user.actor.center_id,
        worker_id=None,
        now=now,
        columns=visit_queries.SLOT_COLUMNS,
    )
    badge = '<span class="badge{}">{}</span>'
    text = SlotText(
        week=first,
        zone=ZoneInfo(user.time_zone),
        badges={
            key: badge.format(" late" if key == "late" else "", escape(value_name(key, user.language)))
            for key in ("late", *SLOT_BADGES)
        },
        names={rid: str(escape(name)) for rid, name in resident_names(session, center_id=user.actor.center_id).items()},
    )
    rules = context_of(request).visit_rules

    def cell(day: list[sa.Row[Any]]) -> Markup:
        slots = "".join(schedule_slot(v, visits.is_late(v, now, rules), text) for v in day)
        return Markup(slots)  # noqa: S704 - schedule_slot escapes what it inserts

    rows = [(worker_id, name, [cell(day) for day in days]) for worker_id, name, days in grid.rows]
    return render(
        request,
        "schedule.html",
        user,
        rows=rows,
        days=grid.days,
        first=first,
        previous=first - timedelta(days=7),
        following=first + timedelta(days=7),
    )


@router.get("/schedule/visits/{visit_id}", response_class=HTMLResponse)
def schedule_visit(
    visit_id: int, request: Request, user: ManagerDep, session: SessionDep, week: date | None = None
) -> HTMLResponse:
    """One visit of the grid, to reassign it (a form per visit would make the grid too heavy)."""
    visit = visits.get_visit(session=session, actor=user.actor, visit_id=visit_id)
    workers = active_care_workers(session, center_id=visit.center_id)
    names = {w.id: w.name for w in workers}
    return render(
        request,
        "reassign.html",
        user,
        visit=visit,
        resident=visits.visit_resident(session, visit),
        workers=workers,
        worker_name=names.get(visit.worker_id) if visit.worker_id else None,
        week=week.isoformat() if week else "",
    )


class AssignForm(BaseModel):
    visit_id: int = Field(ge=1)
    worker_id: int | None = Field(default=None, ge=1)
    week: date | None = None


@router.post("/schedule/assign", response_model=None)
def schedule_assign(
    request: Request,
    user: ManagerDep,
    form: Annotated[Posted[AssignForm], Depends(posted(AssignForm))],
    session: SessionDep,
    now: NowDep,
) -> Response:
    week = form.data.week if form.data else None
    target = f"/schedule?week={quote(week.isoformat())}" if week else "/schedule"

    def act(data: AssignForm) -> None:
        rules = context_of(request).visit_rules
        visits.assign(
            session=session, actor=user.actor, visit_id=data.visit_id, worker_id=data.worker_id, rules=rules, now=now
        )

    return run_action(session, user, form, act, back_to=target)


# -- care plans -------------------------------------------------------------------------------------
def _plans_page(
    request: Request,
    user: WebUser,
    session: Session,
    status_code: int = 200,
    errors: dict[str, str] | None = None,
    values: dict[str, Any] | None = None,
) -> HTMLResponse:
    plans = visits.list_plans(session=session, actor=user.actor)
    workers = active_care_workers(session, center_id=user.actor.center_id)
    return render(
        request,
        "care_plans.html",
        user,
        status_code=status_code,
        plans=plans,
        names=resident_names(session, center_id=user.actor.center_id, ids={p.resident_id for p in plans}),
        worker_names={w.id: w.name for w in workers},
        field_errors=errors or {},
        values=values or {},
        services=service_names(session, user.actor.center_id or 0, user.language),
        workers=workers,
    )


@router.get("/care-plans", response_class=HTMLResponse)
def care_plans(request: Request, user: ManagerDep, session: SessionDep, resident_id: int | None = None) -> HTMLResponse:
    """The plans, and a new-plan form; from a resident's page it comes filled with that resident and
    the services their assessed level suggests."""
    values: dict[str, Any] = {}
    if resident_id is not None:
        resident = residents.get_resident(session=session, actor=user.actor, resident_id=resident_id)
        extra = assessment_dir(request)
        values = {"resident_id": str(resident_id), "services": suggested_services(session, resident, extra)}
    return _plans_page(request, user, session, values=values)


@router.post("/care-plans", response_model=None)
def create_care_plan(request: Request, user: ManagerDep, form: CsrfForm, session: SessionDep, now: NowDep) -> Response:
    """A new plan from the form (services and weekdays are checkboxes); errors next to their fields."""
    values = form_values(form, lists=("services", "weekdays"))
    given = {k: v for k, v in values.items() if v not in ("", [])}
    recurrence = {k: given.pop(k) for k in ("weekdays", "every_n_days", "start_time", "duration_minutes") if k in given}
    data = given | {"services": values.get("services", []), "recurrence": {"duration_minutes": 60} | recurrence}
    try:
        plan = CarePlanCreate.model_validate(data)
    except ValidationError as exc:
        errors = field_errors(exc.errors(include_url=False), user.language)
        return _plans_page(request, user, session, 422, errors, values)
    try:
        visits.create_plan(session=session, actor=user.actor, data=plan, rules=context_of(request).visit_rules, now=now)
    except InvalidField as exc:
        session.rollback()
        return _plans_page(request, user, session, 422, {exc.field: exc.text(user.language)}, values)
    except DomainError as exc:
        session.rollback()
        return _plans_page(request, user, session, exc.status_code, {"_": exc.text(user.language)}, values)
    session.commit()
    return RedirectResponse("/care-plans", status_code=303)


@router.get("/care-plans/{plan_id}", response_class=HTMLResponse)
def care_plan_page(plan_id: int, request: Request, user: ManagerDep, session: SessionDep) -> HTMLResponse:
    plan = visits.get_plan(session=session, actor=user.actor, plan_id=plan_id)
    names = resident_names(session, center_id=plan.center_id, ids={plan.resident_id})
    return render(
        request,
        "care_plan.html",
        user,
        plan=plan,
        resident_name=names.get(plan.resident_id, ""),
        services=service_names(session, plan.center_id, user.language),
        workers=active_care_workers(session, center_id=plan.center_id),
    )


class PlanWorkerForm(BaseModel):
    preferred_worker_id: int | None = Field(default=None, ge=1)


def _update_plan(
    request: Request, user: WebUser, session: Session, plan_id: int, form: Posted[Any], data: CarePlanUpdate, now: Any
) -> Response:
    def act(_form: Any) -> None:
        rules = context_of(request).visit_rules
        visits.update_plan(session=session, actor=user.actor, plan_id=plan_id, data=data, rules=rules, now=now)

    return run_action(session, user, form, act, back_to="/care-plans")


@router.post("/care-plans/{plan_id}/end", response_model=None)
def end_care_plan(
    plan_id: int,
    request: Request,
    user: ManagerDep,
    form: Annotated[Posted[NoFields], Depends(posted(NoFields))],
    session: SessionDep,
    now: NowDep,
) -> Response:
    """End a plan: its future visits that have not started go."""
    return _update_plan(request, user, session, plan_id, form, CarePlanUpdate(active=False), now)


@router.post("/care-plans/{plan_id}/worker", response_model=None)
def change_plan_worker(
    plan_id: int,
    request: Request,
    user: ManagerDep,
    form: Annotated[Posted[PlanWorkerForm], Depends(posted(PlanWorkerForm))],
    session: SessionDep,
    now: NowDep,
) -> Response:
    """Give a plan another preferred worker: its future visits are planned again."""
    if form.data is None:
        return back(f"/care-plans/{plan_id}", "; ".join(form.errors.values()))
    update = CarePlanUpdate(preferred_worker_id=form.data.preferred_worker_id)
    return _update_plan(request, user, session, plan_id, form, update, now)


class MedicationForm(BaseModel):
    """A medicine for a plan; the times as the manager types them: "08:00, 20:00"."""

    name: str = Field(min_length=1, max_length=60)
    dose: str = Field(default="", max_length=40)
    route: str = Field(default="oral", max_length=20)
    times: str = Field(min_length=4, max_length=60)
    notes: str = Field(default="", max_length=200)
    critical: bool = False

    def planned(self) -> PlannedMedication:
        """The medicine as the plan keeps it; the times are validated into times of day here."""
        times = [t.strip() for t in self.times.replace("，", ",").split(",") if t.strip()]
        fields = self.model_dump(exclude={"times"}) | {"times": times, "route": self.route or "oral"}
        return PlannedMedication.model_validate(fields)


@router.post("/care-plans/{plan_id}/medications", response_model=None)
def add_plan_medication(
    plan_id: int,
    request: Request,
    user: ManagerDep,
    form: Annotated[Posted[MedicationForm], Depends(posted(MedicationForm))],
    session: SessionDep,
    now: NowDep,
) -> Response:
    """Add a medicine: the plan's coming visits at its times get a medication task."""
    plan = visits.get_plan(session=session, actor=user.actor, plan_id=plan_id)

    def act(data: MedicationForm) -> None:
        try:
            added = data.planned()
        except ValidationError as exc:
            raise InvalidField(["times"], "times of day as HH:MM, separated by commas") from exc
        medications = [*plan.medications, added]
        rules = context_of(request).visit_rules
        update = CarePlanUpdate(medications=medications)
        visits.update_plan(session=session, actor=user.actor, plan_id=plan_id, data=update, rules=rules, now=now)

    return run_action(session, user, form, act, back_to=f"/care-plans/{plan_id}")


@router.post("/care-plans/{plan_id}/medications/{index}/remove", response_model=None)
def remove_plan_medication(
    plan_id: int,
    index: int,
    request: Request,
    user: ManagerDep,
    form: Annotated[Posted[NoFields], Depends(posted(NoFields))],
    session: SessionDep,
    now: NowDep,
) -> Response:
    plan = visits.get_plan(session=session, actor=user.actor, plan_id=plan_id)
    kept = [m for n, m in enumerate(plan.medications) if n != index]
    update = CarePlanUpdate(medications=kept)

    def act(_: NoFields) -> None:
        rules = context_of(request).visit_rules
        visits.update_plan(session=session, actor=user.actor, plan_id=plan_id, data=update, rules=rules, now=now)

    return run_action(session, user, form, act, back_to=f"/care-plans/{plan_id}")
