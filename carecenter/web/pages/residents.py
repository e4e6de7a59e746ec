"""A resident's page (for everyone who looks after them) and their family contacts (managers)."""

from datetime import datetime, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from sqlmodel import Session, col, select

from carecenter.alerts.models import Alert
from carecenter.alerts.queries import recent_alerts
from carecenter.centers.models import Center
from carecenter.context import context_of
from carecenter.deps import NowDep, SessionDep
from carecenter.devices import commands as device_commands
from carecenter.family.service import current_link as current_family_link
from carecenter.readings.queries import vital_series
from carecenter.residents import service as residents
from carecenter.residents.models import FamilyContactCreate, FamilyContactUpdate, LivingSituation, Resident
from carecenter.subsidies import service as subsidies
from carecenter.subsidies.models import EligibilityGroup
from carecenter.thresholds import Thresholds, effective_thresholds
from carecenter.visits.medication import medication_history
from carecenter.visits.queries import visit_history
from carecenter.web.charts import SIGNS, Sign, chart_svg, daily
from carecenter.web.deps import CsrfForm, ManagerDep, UserDep
from carecenter.web.pages.assessments import assessment_section
from carecenter.web.pages.paperwork import statement_months
from carecenter.web.pages.records import record_form, save_record_form
from carecenter.web.render import back, render
from carecenter.words import FIELD_NAMES, field_name
from carecommon.i18n import N_, gettext

router = APIRouter(include_in_schema=False)
CHART_DAYS = 30
CONTACTS = N_("Family contacts")


def _lines(session: Session, resident: Resident, sign: Sign, now: datetime) -> dict[str, Any]:
    """One chart's lines: each vital's values over CHART_DAYS."""
    since = now - timedelta(days=CHART_DAYS)
    return {
        vital: vital_series(session, resident_id=resident.id or 0, vital=vital, since=since, now=now)
        for vital in sign.vitals
    }


def _vitals(
    session: Session, resident: Resident, sign: Sign, now: datetime
) -> tuple[dict[str, Any], Thresholds, list[datetime]]:
    """One chart: its lines, the resident's thresholds, and when alerts of its kinds opened."""
    since = now - timedelta(days=CHART_DAYS)
    lines = _lines(session, resident, sign, now)
    center = session.get(Center, resident.center_id)
    thresholds = effective_thresholds(center.alert_thresholds if center else None, resident.alert_thresholds)
    opened = session.exec(
        select(Alert.opened_at).where(
            Alert.resident_id == resident.id, col(Alert.kind).in_(sign.alert_kinds), col(Alert.opened_at) >= since
        )
    ).all()
    return lines, thresholds, list(opened)


@router.get("/residents/{resident_id}", response_class=HTMLResponse)
def resident_page(resident_id: int, request: Request, user: UserDep, session: SessionDep, now: NowDep) -> HTMLResponse:
    resident = residents.read_resident(session=session, actor=user.actor, resident_id=resident_id, now=now)
    medications = medication_history(session=session, actor=user.actor, resident=resident, now=now)
    session.commit()  # the reads are audited
    watches = device_commands.watches_of_resident(session, resident_id) if user.actor.is_manager_or_admin else []
    contacts = residents.list_contacts(session=session, actor=user.actor, resident_id=resident_id)
    family_links = {
        c.id: link
        for c in contacts
        if user.actor.is_manager_or_admin and (link := current_family_link(session, c.id, now)) is not None
    }
    zone = ZoneInfo(user.time_zone)
    tables = {
        name: {vital: daily(series, zone) for vital, series in _lines(session, resident, sign, now).items()}
        for name, sign in SIGNS.items()
    }
    return render(
        request,
        "resident.html",
        user,
        resident=residents.to_public(resident, user.actor),
        contacts=contacts,
        signs=SIGNS,
        vital_tables=tables,
        history=visit_history(session=session, resident_id=resident_id, now=now),
        past_alerts=recent_alerts(session=session, resident_id=resident_id),
        LivingSituation=LivingSituation,
        watches=watches,
        sos_numbers=device_commands.sos_numbers(session, resident_id) if watches else [],
        contacts_changed=request.query_params.get("contacts_changed") == "1",
        family_links=family_links,
        wechat_ready="wechat" in context_of(request).sms.dispatcher.senders,
        eligibility=subsidies.list_eligibility(session=session, actor=user.actor, resident_id=resident_id),
        groups=[g.value for g in EligibilityGroup],
        statement_months=statement_months(now.astimezone(ZoneInfo(user.time_zone)).date()),
        medications=medications,
        **assessment_section(request, user, session, resident),
    )


@router.get("/residents/{resident_id}/vitals/{sign}.svg", response_model=None)
def vitals_chart(
    resident_id: int,
    sign: Literal["heart_rate", "blood_pressure", "spo2", "temperature"],
    user: UserDep,
    session: SessionDep,
    now: NowDep,
) -> Response:
    """A chart of the resident page, as an image (the page has its table)."""
    resident = residents.get_resident(session=session, actor=user.actor, resident_id=resident_id)
    lines, thresholds, alerts = _vitals(session, resident, SIGNS[sign], now)
    words = [SIGNS[sign].title, "alerts", *SIGNS[sign].vitals, *SIGNS[sign].limits]
    names = {w: field_name(w, user.language) if w in FIELD_NAMES else gettext(w, user.language) for w in words}
    names["alerts"] = gettext(N_("Alerts"), user.language)
    svg = chart_svg(
        SIGNS[sign],
        lines,
        thresholds,
        alerts,
        since=now - timedelta(days=CHART_DAYS),
        now=now,
        zone=ZoneInfo(user.time_zone),
        names=names,
    )
    return Response(svg, media_type="image/svg+xml", headers={"Cache-Control": "private, no-store"})


def _after_contacts(resident_id: int) -> str:
    """Back to the resident, offering to send the family's numbers to the watch as its SOS numbers."""
    return f"/residents/{resident_id}?contacts_changed=1#watches"


@router.get("/manage/residents/{resident_id}/contacts/new", response_class=HTMLResponse)
def new_contact(resident_id: int, request: Request, user: ManagerDep, session: SessionDep) -> HTMLResponse:
    residents.get_resident(session=session, actor=user.actor, resident_id=resident_id)  # 404 across centers
    return record_form(request, user, gettext(CONTACTS, user.language), FamilyContactCreate, {})


@router.post("/manage/residents/{resident_id}/contacts/new", response_model=None)
def create_contact(
    resident_id: int, request: Request, user: ManagerDep, form: CsrfForm, session: SessionDep, now: NowDep
) -> Response:
    residents.get_resident(session=session, actor=user.actor, resident_id=resident_id)  # 404 before the form

    def create(data: Any) -> None:
        residents.create_contact(session=session, actor=user.actor, resident_id=resident_id, data=data, now=now)

    title = gettext(CONTACTS, user.language)
    return save_record_form(
        request, user, session, form, title, FamilyContactCreate, create, _after_contacts(resident_id), partial=False
    )


@router.get("/manage/residents/{resident_id}/contacts/{contact_id}/edit", response_class=HTMLResponse)
def edit_contact(
    resident_id: int, contact_id: int, request: Request, user: ManagerDep, session: SessionDep
) -> HTMLResponse:
    contact = residents.get_contact(session=session, actor=user.actor, resident_id=resident_id, contact_id=contact_id)
    shown = residents.contacts_public(session, [contact])[0]
    title = gettext(CONTACTS, user.language)
    return record_form(request, user, title, FamilyContactUpdate, shown.model_dump(warnings=False))


@router.post("/manage/residents/{resident_id}/contacts/{contact_id}/edit", response_model=None)
def update_contact(
    resident_id: int,
    contact_id: int,
    request: Request,
    user: ManagerDep,
    form: CsrfForm,
    session: SessionDep,
    now: NowDep,
) -> Response:
    residents.get_contact(session=session, actor=user.actor, resident_id=resident_id, contact_id=contact_id)

    def update(data: Any) -> None:
        residents.update_contact(
            session=session, actor=user.actor, resident_id=resident_id, contact_id=contact_id, data=data, now=now
        )

    title = gettext(CONTACTS, user.language)
    return save_record_form(
        request, user, session, form, title, FamilyContactUpdate, update, _after_contacts(resident_id), partial=True
    )


@router.post("/manage/residents/{resident_id}/contacts/{contact_id}/reachable", response_model=None)
def mark_number_reachable(
    resident_id: int, contact_id: int, user: ManagerDep, form: CsrfForm, session: SessionDep, now: NowDep
) -> Response:
    """The manager confirms the number works again (it was found unreachable)."""
    residents.mark_number_reachable(
        session=session, actor=user.actor, resident_id=resident_id, contact_id=contact_id, now=now
    )
    session.commit()
    return back(f"/residents/{resident_id}")
