"""The family page behind a family contact's standing link, and the manager's buttons that share or revoke it.

Read-only, one resident, in the contact's language; no login (the link's signed token is the
key), every view in the audit log. A link that expired, was revoked, or whose resident no longer
consents to sharing opens a short notice instead.
"""

from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import BaseModel

from carecenter.catalogue.service import service_names
from carecenter.context import context_of
from carecenter.deps import NowDep, SessionDep
from carecenter.family import service
from carecenter.family.queries import family_view
from carecenter.reports.monthly import resident_statement
from carecenter.residents.models import FamilyContact
from carecenter.web.deps import ManagerDep, Posted, posted, run_action
from carecenter.web.render import render
from carecommon.i18n import DEFAULT_LANGUAGE, N_, language_of

router = APIRouter(include_in_schema=False)
GONE = N_("This page is no longer available; please call the center.")
NOT_SHARED = N_("This page is not shared at the moment; please call the center.")
UNKNOWN = N_("This link is not valid.")


def _notice(request: Request, language: str, message: str, status_code: int) -> HTMLResponse:
    return render(request, "family.html", None, status_code=status_code, language=language, notice=message)


@router.get("/f/{token}", response_class=HTMLResponse)
def family_page(token: str, request: Request, session: SessionDep, now: NowDep) -> HTMLResponse:
    """Upcoming and recent visits, alerts of the last 30 days with their outcomes, the wearable's state."""
    secret = context_of(request).settings.secret_key.get_secret_value().encode()
    link = service.open_family_link(session, token, secret)
    if link is None:
        return _notice(request, DEFAULT_LANGUAGE, UNKNOWN, 404)
    contact = session.get(FamilyContact, link.contact_id)
    language = language_of(contact.language if contact is not None else None)
    if contact is None or link.revoked_at is not None or now >= link.expires_at:
        return _notice(request, language, GONE, 410)
    view = family_view(session, resident_id=link.resident_id, now=now)
    if view is None or not view.resident.consent_family_sharing:
        return _notice(request, language, NOT_SHARED, 403)
    service.record_view(session, link=link, client_addr=request.client.host if request.client else None, now=now)
    session.commit()
    month = f"{now.astimezone(ZoneInfo(view.center.time_zone)):%Y-%m}"
    rows, totals = resident_statement(session, link.resident_id, month)
    return render(
        request,
        "family.html",
        None,
        language=language,
        time_zone=view.center.time_zone,
        view=view,
        month=month,
        rows=rows,
        totals=totals,
        services=service_names(session, view.center.id or 0, language),
        wechat_code=f"/f/{token}/wechat" if "wechat" in context_of(request).sms.dispatcher.senders else None,
        wechat_bound=contact.wechat_openid is not None,
    )


class FamilyLinkForm(BaseModel):
    share: bool = True  # false: revoke


@router.post("/manage/residents/{resident_id}/contacts/{contact_id}/family-link", response_model=None)
def share_or_revoke(
    resident_id: int,
    contact_id: int,
    request: Request,
    user: ManagerDep,
    session: SessionDep,
    now: NowDep,
    form: Annotated[Posted[FamilyLinkForm], Depends(posted(FamilyLinkForm))],
) -> Response:
    def act(data: FamilyLinkForm) -> None:
        if data.share:
            messaging = context_of(request).alert_messaging
            service.share_family_page(
                session=session,
                actor=user.actor,
                messaging=messaging,
                resident_id=resident_id,
                contact_id=contact_id,
                now=now,
            )
        else:
            service.revoke_family_page(
                session=session, actor=user.actor, resident_id=resident_id, contact_id=contact_id, now=now
            )

    return run_action(session, user, form, act, back_to=f"/residents/{resident_id}")
