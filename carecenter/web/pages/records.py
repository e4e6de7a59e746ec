"""The manager's record pages: lists with search, and create / edit forms for each kind of record.

The forms are generated from the API's own `XCreate` / `XUpdate` models (`web/forms.py`), so a
posted value is validated exactly as the API validates it and each error shows next to its field.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel
from sqlmodel import Session
from starlette.datastructures import FormData

from carecenter.access import Actor
from carecenter.alerts.queries import silent_device_ids
from carecenter.catalogue import service as catalogue
from carecenter.catalogue.models import ServiceOfferingCreate, ServiceOfferingUpdate
from carecenter.deps import NowDep, SessionDep
from carecenter.devices import commands as device_commands
from carecenter.devices import service as devices
from carecenter.devices.models import DeviceCreate, DeviceUpdate
from carecenter.errors import DomainError, InvalidField
from carecenter.pagination import Page, PageParams
from carecenter.residents import service as residents
from carecenter.residents.models import ResidentCreate, ResidentUpdate
from carecenter.staff import service as staff
from carecenter.staff.models import StaffCreate, StaffUpdate
from carecenter.subsidies import service as subsidies
from carecenter.subsidies.models import EligibilityEnd, SubsidyRuleCreate
from carecenter.web.deps import CsrfForm, ManagerDep, form_values
from carecenter.web.forms import form_fields, parse
from carecenter.web.paging import PageNumber, page_params_of, pager
from carecenter.web.render import local_time, render
from carecenter.web.user import WebUser
from carecenter.words import field_name, value_name
from carecommon.i18n import N_, gettext

router = APIRouter(include_in_schema=False)
PAGE_SIZE = 50  # rows a list page shows; the pager goes on from there
NEW, EDIT = N_("New"), N_("Edit")
KindName = Literal["residents", "staff", "devices", "services", "subsidy-rules"]


@dataclass(frozen=True)
class Kind:
    title: str
    create_model: type[BaseModel]
    update_model: type[BaseModel]
    create: Callable[[Session, Actor, Any, datetime], Any]
    update: Callable[[Session, Actor, int, Any, datetime], Any]
    get: Callable[[Session, Actor, int, datetime], Any]
    search: Callable[[Session, Actor, str | None, PageParams], Any]
    columns: tuple[str, ...]
    links: Callable[[Any], list[tuple[str, str]]]
    computed: Callable[[Session, list[Any], datetime], dict[int, dict[str, str]]] = lambda _s, _rows, _now: {}
    notice: Callable[[Session, Actor], tuple[str, str] | None] = lambda _s, _a: None  # (text msgid, link)


KINDS: dict[str, Kind] = {
    "residents": Kind(
        N_("Residents"),
        ResidentCreate,
        ResidentUpdate,
        lambda s, a, d, n: residents.create_resident(session=s, actor=a, data=d, now=n),
        lambda s, a, i, d, n: residents.update_resident(session=s, actor=a, resident_id=i, data=d, now=n),
        lambda s, a, i, n: residents.read_resident(session=s, actor=a, resident_id=i, now=n),
        lambda s, a, q, p: residents.list_residents(session=s, actor=a, page=p, q=q),
        ("name", "phone", "care_level", "status"),
        lambda r: [
            (N_("Resident"), f"/residents/{r.id}"),
            (EDIT, f"/manage/residents/{r.id}/edit"),
            (N_("Family contacts"), f"/manage/residents/{r.id}/contacts/new"),
        ],
    ),
    "staff": Kind(
        N_("Staff"),
        StaffCreate,
        StaffUpdate,
        lambda s, a, d, n: staff.create_staff(session=s, actor=a, data=d, now=n),
        lambda s, a, i, d, n: staff.update_staff(session=s, actor=a, staff_id=i, data=d, now=n),
        lambda s, a, i, n: staff.get_staff(session=s, actor=a, staff_id=i),
        lambda s, a, q, p: staff.list_staff(session=s, actor=a, page=p, q=q),
        ("name", "username", "role", "phone", "active"),
        lambda r: [(EDIT, f"/manage/staff/{r.id}/edit")],
    ),
    "devices": Kind(
        N_("Devices"),
        DeviceCreate,
        DeviceUpdate,
        lambda s, a, d, n: devices.register_device(session=s, actor=a, data=d, now=n),
        lambda s, a, i, d, n: devices.update_device(session=s, actor=a, device_id=i, data=d, now=n),
        lambda s, a, i, n: devices.get_device(session=s, actor=a, device_id=i),
        lambda s, a, q, p: devices.list_devices(session=s, actor=a, page=p, q=q),
        (
            "serial",
            "kind",
            "protocol",
            "connection",
            "resident_id",
            "battery_pct",
            "last_frame_at",
            "last_seen_at",
            "silent",
            "revoked_at",
        ),
        lambda r: [(N_("Device"), f"/manage/devices/{r.id}"), (EDIT, f"/manage/devices/{r.id}/edit")],
        lambda s, rows, now: _device_cells(s, rows, now),
        lambda s, a: _unknown_notice(s, a),
    ),
    "services": Kind(
        N_("Service catalogue"),
        ServiceOfferingCreate,
        ServiceOfferingUpdate,
        lambda s, a, d, n: catalogue.create_offering(session=s, actor=a, data=d, now=n),
        lambda s, a, i, d, n: catalogue.update_offering(session=s, actor=a, offering_id=i, data=d, now=n),
        lambda s, a, i, n: catalogue.get_offering(session=s, actor=a, offering_id=i),
        lambda s, a, q, p: _all(catalogue.list_offerings(session=s, actor=a, center_id=None)),
        ("code", "name_zh", "name_en", "category", "unit", "unit_price_fen", "active"),
        lambda r: [(EDIT, f"/manage/services/{r.id}/edit")],
    ),
    "subsidy-rules": Kind(
        N_("Subsidy rules"),
        SubsidyRuleCreate,
        EligibilityEnd,
        lambda s, a, d, n: subsidies.create_rule(session=s, actor=a, data=d, now=n),
        lambda s, a, i, d, n: subsidies.end_rule(session=s, actor=a, rule_id=i, ends_on=d.ends_on, now=n),
        lambda s, a, i, n: subsidies.get_rule(session=s, actor=a, rule_id=i),
        lambda s, a, q, p: _all(subsidies.list_rules(session=s, actor=a, center_id=None)),
        ("group", "category", "share_percent", "monthly_cap_fen", "starts_on", "ends_on"),
        lambda r: [(N_("End"), f"/manage/subsidy-rules/{r.id}/edit")],
    ),
}


def _all(items: list[Any]) -> Page[Any]:
    """A short list shown whole (a catalogue, a center's rules)."""
    return Page(items=items, total=len(items), limit=len(items), offset=0)


def _device_cells(session: Session, rows: list[Any], now: datetime) -> dict[int, dict[str, str]]:
    silent = silent_device_ids(session, rows, now)
    cells: dict[int, dict[str, str]] = {}
    for device in rows:
        connected = devices.is_connected(device, now)
        cells[device.id] = {"connection": "●" if connected else ("○" if device.protocol == "watch-tcp" else "")}
        if device.id in silent:
            cells[device.id]["silent"] = "⚠"
    return cells


def _unknown_notice(session: Session, actor: Actor) -> tuple[str, str] | None:
    if not actor.is_admin:
        return None
    unknown = device_commands.list_unknown(session=session, actor=actor, page=PageParams(limit=1)).total
    return (N_("Unknown devices tried to connect"), "/manage/devices/unknown") if unknown else None


def _cell(value: Any, user: WebUser) -> str:
    if isinstance(value, datetime):
        return local_time(value, user.time_zone, user.language)
    if value is None or value is False:
        return ""
    if value is True:
        return "✓"
    return value_name(value, user.language) if isinstance(value, str) else str(value)


def record_form(
    request: Request,
    user: WebUser,
    title: str,
    model: type[BaseModel],
    values: dict[str, Any],
    errors: dict[str, str] | None = None,
    status_code: int = 200,
    shown_once: str | None = None,
) -> HTMLResponse:
    return render(
        request,
        "form.html",
        user,
        status_code=status_code,
        title=title,
        field_errors=errors or {},
        fields=form_fields(model, user.language, values),
        shown_once=shown_once,
    )


def save_record_form(
    request: Request,
    user: WebUser,
    session: Session,
    form: FormData,
    title: str,
    model: type[BaseModel],
    save: Callable[[Any], Any],
    done: str,
    *,
    partial: bool,
) -> Response:
    """Validate a posted record form with its model and save it; errors next to their fields, nothing lost."""
    values = form_values(form)
    data, errors = parse(model, values, partial=partial, language=user.language)
    if data is None:
        return record_form(request, user, title, model, values, errors, status_code=422)
    try:
        record = save(data)
    except InvalidField as exc:
        session.rollback()
        return record_form(request, user, title, model, values, {exc.field: exc.text(user.language)}, 422)
    except DomainError as exc:
        session.rollback()
        return record_form(request, user, title, model, values, {"_": exc.text(user.language)}, exc.status_code)
    session.commit()
    key = getattr(record, "device_key", None)
    if key:  # a device key is shown this once
        shown = f"{gettext(N_('Device key (shown once; put it in the device):'), user.language)} {key}"
        return record_form(request, user, title, model, record.model_dump(warnings=False), shown_once=shown)
    return RedirectResponse(done, status_code=303)


def _title(kind: Kind, action: str, language: str) -> str:
    return f"{gettext(kind.title, language)} · {gettext(action, language)}"


@router.get("/manage/{kind}", response_class=HTMLResponse)
def list_records(
    kind: KindName,
    request: Request,
    user: ManagerDep,
    session: SessionDep,
    now: NowDep,
    q: str | None = None,
    page_number: PageNumber = 1,
) -> HTMLResponse:
    spec = KINDS[kind]
    page = spec.search(session, user.actor, q[:64] if q else None, page_params_of(page_number, PAGE_SIZE))
    computed = spec.computed(session, page.items, now)
    notice = spec.notice(session, user.actor)
    rows = [
        {
            **{c: _cell(getattr(r, c, None), user) for c in spec.columns},
            **computed.get(r.id, {}),
            "_links": [(gettext(label, user.language), href) for label, href in spec.links(r)],
        }
        for r in page.items
    ]
    return render(
        request,
        "records.html",
        user,
        title=gettext(spec.title, user.language),
        rows=rows,
        columns=[(c, field_name(c, user.language)) for c in spec.columns],
        total=page.total,
        q=q,
        pager=pager(page, page_number, {"q": q}),
        base=f"/manage/{kind}",
        can_create=True,
        notice=(gettext(notice[0], user.language), notice[1]) if notice else None,
    )


@router.get("/manage/{kind}/new", response_class=HTMLResponse)
def new_record(kind: KindName, request: Request, user: ManagerDep) -> HTMLResponse:
    """The empty form; fields may come filled from the link (an unknown device's id, to register it)."""
    spec = KINDS[kind]
    given = {k: v[:200] for k, v in request.query_params.items() if k in spec.create_model.model_fields}
    return record_form(request, user, _title(spec, NEW, user.language), spec.create_model, given)


@router.post("/manage/{kind}/new", response_model=None)
def create_record(
    kind: KindName, request: Request, user: ManagerDep, form: CsrfForm, session: SessionDep, now: NowDep
) -> Response:
    spec = KINDS[kind]
    return save_record_form(
        request,
        user,
        session,
        form,
        _title(spec, NEW, user.language),
        spec.create_model,
        lambda data: spec.create(session, user.actor, data, now),
        f"/manage/{kind}",
        partial=False,
    )


@router.get("/manage/{kind}/{record_id}/edit", response_class=HTMLResponse)
def edit_record(
    kind: KindName, record_id: int, request: Request, user: ManagerDep, session: SessionDep, now: NowDep
) -> HTMLResponse:
    spec = KINDS[kind]
    record = spec.get(session, user.actor, record_id, now)
    session.commit()  # a resident's full record is read (and audited)
    values = record.model_dump(warnings=False)
    return record_form(request, user, _title(spec, EDIT, user.language), spec.update_model, values)


@router.post("/manage/{kind}/{record_id}/edit", response_model=None)
def update_record(
    kind: KindName,
    record_id: int,
    request: Request,
    user: ManagerDep,
    form: CsrfForm,
    session: SessionDep,
    now: NowDep,
) -> Response:
    spec = KINDS[kind]
    return save_record_form(
        request,
        user,
        session,
        form,
        _title(spec, EDIT, user.language),
        spec.update_model,
        lambda data: spec.update(session, user.actor, record_id, data, now),
        f"/manage/{kind}",
        partial=True,
    )
