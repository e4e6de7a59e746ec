"""A resident's page (for everyone who looks after them) and their family contacts (managers)."""

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from carecenter.alerts.queries import recent_alerts
from carecenter.context import context_of
from carecenter.deps import NowDep, SessionDep
from carecenter.devices import commands as device_commands
from carecenter.family.service import current_link as current_family_link
from carecenter.readings.queries import heart_rate_series
from carecenter.residents import service as residents
from carecenter.residents.models import FamilyContactCreate, FamilyContactUpdate, LivingSituation
from carecenter.subsidies import service as subsidies
from carecenter.subsidies.models import EligibilityGroup
from carecenter.visits.medication import medication_history
from carecenter.visits.queries import visit_history
from carecenter.web.deps import CsrfForm, ManagerDep, UserDep
from carecenter.web.pages.assessments import assessment_section
from carecenter.web.pages.paperwork import statement_months
from carecenter.web.pages.records import record_form, save_record_form
from carecenter.web.render import back, render
from carecommon.i18n import N_, gettext

router = APIRouter(include_in_schema=False)
CHART_DAYS = 30
CHART_POINTS = 240  # a 30-day line of 3-hour averages: readable on a tablet, light to send
CONTACTS = N_("Family contacts")


def heart_rate_chart(
    points: list[tuple[datetime, int]], width: int = 640, height: int = 160, buckets: int = CHART_POINTS
) -> dict[str, Any]:
    """Points for a server-rendered SVG line (no chart library), averaged into at most `buckets`."""
    if len(points) < 2:
        return {"points": "", "width": width, "height": height, "low": None, "high": None}
    first, last = points[0][0], points[-1][0]
    span = max((last - first).total_seconds(), 1.0)
    sums: dict[int, list[float]] = {}
    for t, v in points:
        bucket = sums.setdefault(min(int((t - first).total_seconds() / span * buckets), buckets - 1), [0.0, 0.0])
        bucket[0] += v
        bucket[1] += 1
    averaged = [((b + 0.5) / buckets, total / n) for b, (total, n) in sorted(sums.items())]
    low, high = min(v for _, v in averaged) - 5, max(v for _, v in averaged) + 5
    coords = " ".join(
        f"{x * (width - 20) + 10:.1f},{height - 10 - (v - low) / max(high - low, 1) * (height - 20):.1f}"
        for x, v in averaged
    )
    return {"points": coords, "width": width, "height": height, "low": round(low), "high": round(high)}


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
    heart_rates = heart_rate_series(session, resident_id=resident_id, since=now - timedelta(days=CHART_DAYS), now=now)
    return render(
        request,
        "resident.html",
        user,
        resident=residents.to_public(resident, user.actor),
        contacts=contacts,
        chart=heart_rate_chart(heart_rates),
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
