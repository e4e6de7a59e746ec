"""The manager's record pages: lists with search, and create / edit forms for each kind of record."""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel, ValidationError
from sqlmodel import Session, col, select

from carecenter.access import Actor
from carecenter.alerts.rules import is_silent
from carecenter.auth.deps import NowDep, SessionDep, SettingsDep
from carecenter.devices import service as devices
from carecenter.devices.models import DeviceCreate, DeviceUpdate
from carecenter.errors import DomainError, InvalidField, NotFound
from carecenter.pagination import PageParams
from carecenter.residents import service as residents
from carecenter.residents.models import (
    FamilyContactCreate,
    FamilyContactUpdate,
    Resident,
    ResidentCreate,
    ResidentUpdate,
)
from carecenter.staff import service as staff
from carecenter.staff.models import Role, Staff, StaffCreate, StaffUpdate
from carecenter.visits import service as visits
from carecenter.visits.models import CarePlanCreate, CarePlanUpdate
from carecenter.web.forms import FIELD_LABELS, form_fields, parse
from carecenter.web.i18n import translate
from carecenter.web.router import BadCsrf, FormDep, UserDep, WebUser, render
from carecenter.web.session import csrf_ok

router = APIRouter(include_in_schema=False)
PAGE = PageParams(limit=200)


@dataclass(frozen=True)
class Kind:
    title: str
    create_model: type[BaseModel]
    update_model: type[BaseModel]
    create: Callable[[Session, Actor, Any, datetime], Any]
    update: Callable[[Session, Actor, int, Any, datetime], Any]
    get: Callable[[Session, Actor, int], Any]
    search: Callable[[Session, Actor, str | None], Any]
    columns: tuple[str, ...]
    links: Callable[[Any, str], list[tuple[str, str]]]
    computed: Callable[[Any, datetime], dict[str, str]] = lambda _record, _now: {}


KINDS = {
    "residents": Kind(
        "residents",
        ResidentCreate,
        ResidentUpdate,
        lambda s, a, d, n: residents.create_resident(session=s, actor=a, data=d, now=n),
        lambda s, a, i, d, n: residents.update_resident(session=s, actor=a, resident_id=i, data=d, now=n),
        lambda s, a, i: residents.read_resident(session=s, actor=a, resident_id=i, now=datetime.now(UTC)),
        lambda s, a, q: residents.list_residents(session=s, actor=a, page=PAGE, q=q),
        ("name", "phone", "care_level", "status"),
        lambda r, lang: [
            (translate("resident", lang), f"/residents/{r.id}"),
            (translate("edit", lang), f"/manage/residents/{r.id}/edit"),
            (translate("contacts", lang) + " +", f"/manage/residents/{r.id}/contacts/new"),
        ],
    ),
    "staff": Kind(
        "staff_list",
        StaffCreate,
        StaffUpdate,
        lambda s, a, d, n: staff.create_staff(session=s, actor=a, data=d, now=n),
        lambda s, a, i, d, n: staff.update_staff(session=s, actor=a, staff_id=i, data=d, now=n),
        lambda s, a, i: staff.get_staff(session=s, actor=a, staff_id=i),
        lambda s, a, q: staff.list_staff(session=s, actor=a, page=PAGE, q=q),
        ("name", "username", "role", "phone", "active"),
        lambda r, lang: [(translate("edit", lang), f"/manage/staff/{r.id}/edit")],
    ),
    "devices": Kind(
        "devices",
        DeviceCreate,
        DeviceUpdate,
        lambda s, a, d, n: devices.register_device(session=s, actor=a, data=d, now=n),
        lambda s, a, i, d, n: devices.update_device(session=s, actor=a, device_id=i, data=d, now=n),
        lambda s, a, i: devices.get_device(session=s, actor=a, device_id=i),
        lambda s, a, q: devices.list_devices(session=s, actor=a, page=PAGE),
        ("serial", "kind", "resident_id", "battery_pct", "last_seen_at", "silent", "revoked_at"),
        lambda r, lang: [(translate("edit", lang), f"/manage/devices/{r.id}/edit")],
        lambda r, now: {
            "silent": "⚠"
            if r.last_seen_at is not None
            and r.resident_id is not None
            and is_silent(
                last_seen_at=r.last_seen_at, interval_seconds=r.reporting_interval_seconds, grace_minutes=10, now=now
            )
            else ""
        },
    ),
}


def _kind(name: str, user: WebUser) -> Kind:
    user.actor.require(Role.manager, Role.admin, to="manage records")
    if name not in KINDS:
        raise InvalidField(["path", "kind"], f"no such list: {name}")
    return KINDS[name]


def _form_page(
    request: Request,
    user: WebUser,
    title: str,
    model: type[BaseModel],
    values: dict[str, Any],
    errors: dict[str, str],
    status_code: int = 200,
    shown_once: str | None = None,
) -> HTMLResponse:
    return render(
        request,
        "form.html",
        user,
        status_code=status_code,
        title=title,
        field_errors=errors,
        fields=form_fields(model, user.language, values),
        shown_once=shown_once,
    )


@router.get("/manage/{kind}", response_class=HTMLResponse)
def list_records(
    kind: str, request: Request, user: UserDep, session: SessionDep, now: NowDep, q: str | None = None
) -> HTMLResponse:
    spec = _kind(kind, user)
    page = spec.search(session, user.actor, q[:64] if q else None)
    rows = [
        {
            **{c: _cell(getattr(r, c, None), user) for c in spec.columns},
            **spec.computed(r, now),
            "_links": spec.links(r, user.language),
        }
        for r in page.items
    ]
    columns = [(c, _column_label(c, user.language)) for c in spec.columns]
    return render(
        request,
        "records.html",
        user,
        title=translate(spec.title, user.language),
        rows=rows,
        columns=columns,
        total=page.total,
        q=q,
        base=f"/manage/{kind}",
        can_create=True,
    )


def _column_label(column: str, language: str) -> str:
    return FIELD_LABELS.get(column, {}).get(language) or translate(column, language)


def _cell(value: Any, user: WebUser) -> str:
    from carecenter.web.i18n import local_time

    if isinstance(value, datetime):
        return local_time(value, user.time_zone, user.language)
    if value is None:
        return ""
    return translate(str(value), user.language) if isinstance(value, str) else str(value)


@router.get("/manage/{kind}/new", response_class=HTMLResponse)
def new_record(kind: str, request: Request, user: UserDep) -> HTMLResponse:
    spec = _kind(kind, user)
    return _form_page(
        request,
        user,
        f"{translate(spec.title, user.language)} · {translate('new', user.language)}",
        spec.create_model,
        {},
        {},
    )


@router.post("/manage/{kind}/new", response_model=None)
def create_record(
    kind: str, request: Request, user: UserDep, form: FormDep, session: SessionDep, now: NowDep
) -> Response:
    spec = _kind(kind, user)
    title = f"{translate(spec.title, user.language)} · {translate('new', user.language)}"
    data, errors = parse(spec.create_model, form, partial=False)
    if data is None:
        return _form_page(request, user, title, spec.create_model, form, errors, status_code=422)
    try:
        record = spec.create(session, user.actor, data, now)
    except InvalidField as exc:
        session.rollback()
        return _form_page(request, user, title, spec.create_model, form, {str(exc.loc[-1]): exc.message}, 422)
    except DomainError as exc:
        session.rollback()
        return _form_page(request, user, title, spec.create_model, form, {"_": exc.message}, exc.status_code)
    session.commit()
    key = getattr(record, "device_key", None)
    if key:  # a device key is shown this once
        return _form_page(
            request,
            user,
            title,
            spec.update_model,
            record.model_dump(warnings=False),
            {},
            shown_once=f"{translate('key_once', user.language)} {key}",
        )
    return RedirectResponse(f"/manage/{kind}", status_code=303)


@router.get("/manage/{kind}/{record_id}/edit", response_class=HTMLResponse)
def edit_record(kind: str, record_id: int, request: Request, user: UserDep, session: SessionDep) -> HTMLResponse:
    spec = _kind(kind, user)
    record = spec.get(session, user.actor, record_id)
    session.commit()
    return _form_page(
        request,
        user,
        f"{translate(spec.title, user.language)} · {translate('edit', user.language)}",
        spec.update_model,
        record.model_dump(warnings=False),
        {},
    )


@router.post("/manage/{kind}/{record_id}/edit", response_model=None)
def update_record(
    kind: str, record_id: int, request: Request, user: UserDep, form: FormDep, session: SessionDep, now: NowDep
) -> Response:
    spec = _kind(kind, user)
    title = f"{translate(spec.title, user.language)} · {translate('edit', user.language)}"
    data, errors = parse(spec.update_model, form, partial=True)
    if data is None:
        return _form_page(request, user, title, spec.update_model, form, errors, status_code=422)
    try:
        spec.update(session, user.actor, record_id, data, now)
    except InvalidField as exc:
        session.rollback()
        return _form_page(request, user, title, spec.update_model, form, {str(exc.loc[-1]): exc.message}, 422)
    except DomainError as exc:
        session.rollback()
        return _form_page(request, user, title, spec.update_model, form, {"_": exc.message}, exc.status_code)
    session.commit()
    return RedirectResponse(f"/manage/{kind}", status_code=303)


@router.get("/manage/residents/{resident_id}/contacts/{contact_id}/edit", response_class=HTMLResponse)
def edit_contact(
    resident_id: int, contact_id: int, request: Request, user: UserDep, session: SessionDep
) -> HTMLResponse:
    contact = next(
        (
            c
            for c in residents.list_contacts(session=session, actor=user.actor, resident_id=resident_id)
            if c.id == contact_id
        ),
        None,
    )
    if contact is None:
        raise NotFound("family contact not found")
    return _form_page(
        request, user, translate("contacts", user.language), FamilyContactUpdate, contact.model_dump(warnings=False), {}
    )


@router.post("/manage/residents/{resident_id}/contacts/{contact_id}/edit", response_model=None)
def update_contact(
    resident_id: int, contact_id: int, request: Request, user: UserDep, form: FormDep, session: SessionDep, now: NowDep
) -> Response:
    title = translate("contacts", user.language)
    data, errors = parse(FamilyContactUpdate, form, partial=True)
    if data is None:
        return _form_page(request, user, title, FamilyContactUpdate, form, errors, status_code=422)
    try:
        residents.update_contact(
            session=session, actor=user.actor, resident_id=resident_id, contact_id=contact_id, data=data, now=now
        )
    except InvalidField as exc:
        session.rollback()
        return _form_page(request, user, title, FamilyContactUpdate, form, {str(exc.loc[-1]): exc.message}, 422)
    except DomainError as exc:
        session.rollback()
        return _form_page(request, user, title, FamilyContactUpdate, form, {"_": exc.message}, exc.status_code)
    session.commit()
    return RedirectResponse(f"/residents/{resident_id}", status_code=303)


@router.get("/care-plans/{plan_id}", response_class=HTMLResponse)
def care_plan_page(plan_id: int, request: Request, user: UserDep, session: SessionDep) -> HTMLResponse:
    plan = visits.get_plan(session=session, actor=user.actor, plan_id=plan_id)
    resident = session.get(Resident, plan.resident_id)
    return render(
        request,
        "care_plan.html",
        user,
        plan=plan,
        resident_name=resident.name if resident else "",
        workers=_workers(session, user),
    )


@router.post("/care-plans/{plan_id}/end", response_model=None)
def end_care_plan(
    plan_id: int, request: Request, user: UserDep, form: FormDep, session: SessionDep, now: NowDep
) -> Response:
    """End a plan: its future visits that have not started go."""
    try:
        visits.update_plan(
            session=session,
            actor=user.actor,
            plan_id=plan_id,
            data=CarePlanUpdate(active=False),
            rules=request.app.state.visit_rules,
            now=now,
        )
    except DomainError as exc:
        session.rollback()
        return RedirectResponse(f"/care-plans?error={exc.message}", status_code=303)
    session.commit()
    return RedirectResponse("/care-plans", status_code=303)


@router.post("/care-plans/{plan_id}/worker", response_model=None)
def change_plan_worker(
    plan_id: int, request: Request, user: UserDep, form: FormDep, session: SessionDep, now: NowDep
) -> Response:
    """Give a plan another preferred worker: its future visits are planned again."""
    worker = form.get("preferred_worker_id", "")
    try:
        visits.update_plan(
            session=session,
            actor=user.actor,
            plan_id=plan_id,
            data=CarePlanUpdate(preferred_worker_id=int(worker) if worker.isdigit() else None),
            rules=request.app.state.visit_rules,
            now=now,
        )
    except DomainError as exc:
        session.rollback()
        return RedirectResponse(f"/care-plans?error={exc.message}", status_code=303)
    session.commit()
    return RedirectResponse("/care-plans", status_code=303)


@router.get("/manage/residents/{resident_id}/contacts/new", response_class=HTMLResponse)
def new_contact(resident_id: int, request: Request, user: UserDep) -> HTMLResponse:
    return _form_page(request, user, translate("contacts", user.language), FamilyContactCreate, {}, {})


@router.post("/manage/residents/{resident_id}/contacts/new", response_model=None)
def create_contact(
    resident_id: int, request: Request, user: UserDep, form: FormDep, session: SessionDep, now: NowDep
) -> Response:
    title = translate("contacts", user.language)
    data, errors = parse(FamilyContactCreate, form, partial=False)
    if data is None:
        return _form_page(request, user, title, FamilyContactCreate, form, errors, status_code=422)
    try:
        residents.create_contact(session=session, actor=user.actor, resident_id=resident_id, data=data, now=now)
    except DomainError as exc:
        session.rollback()
        return _form_page(request, user, title, FamilyContactCreate, form, {"_": exc.message}, exc.status_code)
    session.commit()
    return RedirectResponse(f"/residents/{resident_id}", status_code=303)


async def _checked_multi_form(request: Request, user: UserDep, settings: SettingsDep) -> dict[str, Any]:
    """Like the one-value form check, keeping every value of the repeated checkboxes."""
    form = await request.form()
    values: dict[str, Any] = {k: str(v) for k, v in form.items()}
    values["services"] = [str(v) for v in form.getlist("services")]
    values["weekdays"] = [str(v) for v in form.getlist("weekdays")]
    if not csrf_ok(user.token, values.get("csrf"), settings):
        raise BadCsrf()
    return values


@router.get("/care-plans", response_class=HTMLResponse)
def care_plans(request: Request, user: UserDep, session: SessionDep) -> HTMLResponse:
    user.actor.require(Role.manager, Role.admin, to="plan care")
    plans = visits.list_plans(session=session, actor=user.actor)
    names = {
        r.id: r.name
        for r in session.exec(select(Resident).where(col(Resident.id).in_([p.resident_id for p in plans]))).all()
    }
    return render(
        request,
        "care_plans.html",
        user,
        plans=plans,
        names=names,
        worker_names={w.id: w.name for w in _workers(session, user)},
        field_errors={},
        values={},
        services=request.app.state.visit_rules.services,
        workers=_workers(session, user),
    )


def _workers(session: Session, user: WebUser) -> list[Staff]:
    return list(
        session.exec(
            select(Staff)
            .where(Staff.center_id == user.actor.center_id, Staff.role == Role.care_worker, col(Staff.active))
            .order_by(col(Staff.name))
        ).all()
    )


@router.post("/care-plans", response_model=None)
def create_care_plan(
    request: Request,
    user: UserDep,
    session: SessionDep,
    now: NowDep,
    form: Annotated[dict[str, Any], Depends(_checked_multi_form)],
) -> Response:
    """A new plan from the form (services and weekdays are checkboxes); errors next to their fields."""
    rules = request.app.state.visit_rules
    data: dict[str, Any] = {
        "resident_id": form.get("resident_id") or None,
        "services": form.get("services", []),
        "preferred_worker_id": form.get("preferred_worker_id") or None,
        "starts_on": form.get("starts_on") or None,
        "ends_on": form.get("ends_on") or None,
        "notes": form.get("notes", ""),
        "recurrence": {
            "weekdays": [int(d) for d in form.get("weekdays", [])] or None,
            "every_n_days": form.get("every_n_days") or None,
            "start_time": form.get("start_time") or None,
            "duration_minutes": form.get("duration_minutes") or 60,
        },
    }
    errors: dict[str, str] = {}
    try:
        plan = CarePlanCreate.model_validate(data)
        visits.create_plan(session=session, actor=user.actor, data=plan, rules=rules, now=now)
    except ValidationError as exc:
        for error in exc.errors():
            loc = [str(p) for p in error["loc"] if not str(p).isdigit()]
            errors.setdefault(loc[-1] if loc else "_", error["msg"])
    except InvalidField as exc:
        errors[str(exc.loc[-1])] = exc.message
    except DomainError as exc:
        errors["_"] = exc.message
    if errors:
        session.rollback()
        plans = visits.list_plans(session=session, actor=user.actor)
        return render(
            request,
            "care_plans.html",
            user,
            status_code=422,
            plans=plans,
            names={},
            worker_names={},
            field_errors=errors,
            values=form,
            services=rules.services,
            workers=_workers(session, user),
        )
    session.commit()
    return RedirectResponse("/care-plans", status_code=303)
