"""WeChat binding pages: the code a manager prints (or the family page shows), the confirmation a
family member taps inside WeChat after scanning it, and the manager's unbind button."""

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response

from carecenter.access import Role
from carecenter.context import context_of
from carecenter.deps import NowDep, SessionDep
from carecenter.family import service, wechat
from carecenter.residents.models import FamilyContact, Resident
from carecenter.residents.service import get_contact
from carecenter.web.deps import ManagerDep, NoFields, Posted, posted, run_action
from carecenter.web.pages.respond import same_origin
from carecenter.web.render import render
from carecommon.i18n import DEFAULT_LANGUAGE, N_, language_of
from notifications.wechat import WeChatSender

router = APIRouter(include_in_schema=False)
NOT_SET_UP = N_("WeChat is not set up on this server.")
EXPIRED = N_("This confirmation has expired or was used; scan the code again.")
BOUND = N_("Done: this WeChat now receives {who}'s alerts and visit news. Send 解绑 to the account to stop.")


def _wechat(request: Request) -> WeChatSender | None:
    sender = context_of(request).sms.dispatcher.senders.get("wechat")
    return sender if isinstance(sender, WeChatSender) else None


def _secret(request: Request) -> bytes:
    return bytes(context_of(request).settings.secret_key.get_secret_value().encode())


def _page(request: Request, language: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    return render(request, "wechat.html", None, status_code=status_code, language=language, **context)


@router.get("/manage/residents/{resident_id}/contacts/{contact_id}/wechat-code", response_class=HTMLResponse)
def print_code(
    resident_id: int, contact_id: int, request: Request, user: ManagerDep, session: SessionDep, now: NowDep
) -> HTMLResponse:
    """The code to print and leave with the family (valid 30 days)."""
    contact = get_contact(session=session, actor=user.actor, resident_id=resident_id, contact_id=contact_id)
    user.actor.require(Role.manager, Role.admin, to=N_("print WeChat codes"))
    sender = _wechat(request)
    if sender is None:
        return _page(request, user.language, 409, notice=NOT_SET_UP)
    resident = session.get(Resident, resident_id)
    assert resident is not None
    svg = wechat.binding_code(
        session,
        actor=user.actor,
        contact=contact,
        center_id=resident.center_id,
        wechat=sender,
        secret=_secret(request),
        now=now,
    )
    session.commit()
    return _page(request, user.language, code=svg, contact=contact, resident=resident)


@router.post("/manage/residents/{resident_id}/contacts/{contact_id}/wechat-unbind", response_model=None)
def unbind(
    resident_id: int,
    contact_id: int,
    user: ManagerDep,
    session: SessionDep,
    now: NowDep,
    form: Annotated[Posted[NoFields], Depends(posted(NoFields))],
) -> Response:
    def act(_data: NoFields) -> None:
        wechat.unbind_by_staff(session, actor=user.actor, resident_id=resident_id, contact_id=contact_id, now=now)

    return run_action(session, user, form, act, back_to=f"/residents/{resident_id}")


@router.get("/f/{token}/wechat", response_class=HTMLResponse)
def family_code(token: str, request: Request, session: SessionDep, now: NowDep) -> HTMLResponse:
    """The family page's own code: the contact binds their WeChat from the page they already have."""
    link = service.open_family_link(session, token, _secret(request))
    contact = session.get(FamilyContact, link.contact_id) if link is not None else None
    resident = session.get(Resident, link.resident_id) if link is not None else None
    if link is None or contact is None or resident is None or link.revoked_at is not None or now >= link.expires_at:
        return _page(request, DEFAULT_LANGUAGE, 404, notice=EXPIRED)
    language = language_of(contact.language)
    sender = _wechat(request)
    if sender is None:
        return _page(request, language, 404, notice=NOT_SET_UP)
    family = wechat.family_actor(contact, link.center_id, request.client.host if request.client else None)
    svg = wechat.binding_code(
        session,
        actor=family,
        contact=contact,
        center_id=link.center_id,
        wechat=sender,
        secret=_secret(request),
        now=now,
    )
    session.commit()
    return _page(request, language, code=svg, contact=contact, resident=resident)


@router.get("/w/{token}", response_class=HTMLResponse)
def confirmation(token: str, request: Request, session: SessionDep, now: NowDep) -> HTMLResponse:
    found = wechat.pending(session, token=token, secret=_secret(request), now=now)
    if found is None:
        return _page(request, DEFAULT_LANGUAGE, 410, notice=EXPIRED)
    _binding, contact, resident = found
    return _page(request, language_of(contact.language), confirm=True, contact=contact, resident=resident)


@router.post("/w/{token}", response_class=HTMLResponse)
def confirm(token: str, request: Request, session: SessionDep, now: NowDep) -> HTMLResponse:
    if not same_origin(request):
        return _page(request, DEFAULT_LANGUAGE, 403, notice=EXPIRED)
    found = wechat.pending(session, token=token, secret=_secret(request), now=now)
    if found is None:
        return _page(request, DEFAULT_LANGUAGE, 410, notice=EXPIRED)
    binding, contact, resident = found
    client = request.client.host if request.client else None
    wechat.confirm(session, binding=binding, contact=contact, resident=resident, client_addr=client, now=now)
    session.commit()
    return _page(request, language_of(contact.language), done=BOUND, resident=resident)
