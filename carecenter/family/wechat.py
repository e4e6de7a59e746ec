"""WeChat for family contacts: bound by scanning a QR code, confirmed on the page it opens, unbound
from WeChat or from the resident page; every bind and unbind in the audit log.

The code is a parametric QR code of the center's service account whose scene names one contact
(signed: a scene we did not make binds nothing). Scanning it makes WeChat post an event with the
family member's openid; we answer with a link to a confirmation page, and only the confirmation
binds (a code photographed by someone else binds nobody without the family member's tap).
"""

from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlmodel import Session, col, select

from carecenter.access import Actor, Role
from carecenter.audit.service import record_event
from carecenter.downloads import qr_svg
from carecenter.errors import Conflict
from carecenter.residents.models import FamilyContact, Resident
from carecenter.residents.service import get_contact
from carecenter.residents.sharing import WeChatBinding
from carecommon.i18n import N_, gettext, language_of
from notifications.links import sign_link_id, verify_link_token

if TYPE_CHECKING:  # its SDK is loaded only where WeChat is set up (notifications.providers)
    from notifications.wechat import WeChatSender

SCENE = "bind:"
BIND = b"wechat-bind:"  # a scene's signature: it opens nothing else
CONFIRM = b"wechat-confirm:"
CODE_SECONDS = 30 * 24 * 3600  # WeChat's longest temporary code: a printed code works for 30 days
CONFIRM_WITHIN = timedelta(minutes=30)

SCANNED = N_("Open this page to receive {who}'s alerts and visit news in WeChat: {link}")
NOT_OURS = N_("This code is no longer valid; please ask the center for a new one.")
UNBOUND = N_("This WeChat will receive no more messages from the center.")
NOTHING_BOUND = N_("This WeChat receives no messages from the center.")


def family_actor(contact: FamilyContact, center_id: int, client_addr: str | None = None) -> Actor:
    return Actor(
        staff_id=None,
        username=f"family:contact:{contact.id}",
        role=Role.care_worker,  # not used by the audit log, which records who and from where
        center_id=center_id,
        client_addr=client_addr,
    )


def _audit(session: Session, actor: Actor, action: str, contact: FamilyContact, center_id: int, now: datetime) -> None:
    record_event(
        session=session,
        actor=actor,
        action=action,
        entity_type="family_contact",
        entity_id=contact.id,
        center_id=center_id,
        now=now,
    )


def binding_code(
    session: Session,
    *,
    actor: Actor,
    contact: FamilyContact,
    center_id: int,
    wechat: "WeChatSender",
    secret: bytes,
    now: datetime,
) -> str:
    """The QR code (SVG) a family member scans to bind this contact's WeChat; made by WeChat's API."""
    assert contact.id is not None
    scene = SCENE + sign_link_id(contact.id, secret, BIND)
    _ticket, url = wechat.create_binding_code(scene, CODE_SECONDS)
    _audit(session, actor, "family_contact.wechat_code", contact, center_id, now)
    return qr_svg(url, title="WeChat", scale=6, border=2)


def scanned(session: Session, *, openid: str, scene: str, secret: bytes, public_url: str, now: datetime) -> str:
    """WeChat's scan event: a pending binding, and the reply that links to its confirmation page."""
    raw = scene.removeprefix("qrscene_")  # a new follower's scan carries the prefix
    contact_id = verify_link_token(raw.removeprefix(SCENE), secret, BIND) if raw.startswith(SCENE) else None
    contact = session.get(FamilyContact, contact_id) if contact_id is not None else None
    resident = session.get(Resident, contact.resident_id) if contact is not None else None
    if contact is None or resident is None:
        return gettext(NOT_OURS, None)
    binding = WeChatBinding(contact_id=contact.id or 0, openid=openid[:64], created_at=now)
    session.add(binding)
    session.flush()
    link = f"{public_url.rstrip('/')}/w/{sign_link_id(binding.id or 0, secret, CONFIRM)}"
    return gettext(SCANNED, language_of(contact.language)).format(who=resident.name, link=link)


def pending(
    session: Session, *, token: str, secret: bytes, now: datetime
) -> tuple[WeChatBinding, FamilyContact, Resident] | None:
    """The binding a confirmation page's token names, while it may still be confirmed."""
    binding_id = verify_link_token(token, secret, CONFIRM)
    binding = session.get(WeChatBinding, binding_id) if binding_id is not None else None
    if binding is None or binding.confirmed_at is not None or now > binding.created_at + CONFIRM_WITHIN:
        return None
    contact = session.get(FamilyContact, binding.contact_id)
    resident = session.get(Resident, contact.resident_id) if contact is not None else None
    if contact is None or resident is None:
        return None
    return binding, contact, resident


def confirm(
    session: Session,
    *,
    binding: WeChatBinding,
    contact: FamilyContact,
    resident: Resident,
    client_addr: str | None,
    now: datetime,
) -> None:
    """The family member confirmed: this contact's messages go to their WeChat from now on."""
    if binding.confirmed_at is not None:
        raise Conflict("This WeChat is already bound.")
    binding.confirmed_at = now
    contact.wechat_openid, contact.wechat_bound_at = binding.openid, now
    session.add_all([binding, contact])
    _audit(
        session,
        family_actor(contact, resident.center_id, client_addr),
        "family_contact.wechat_bind",
        contact,
        resident.center_id,
        now,
    )


def unbind_by_staff(
    session: Session, *, actor: Actor, resident_id: int, contact_id: int, now: datetime
) -> FamilyContact:
    contact = get_contact(session=session, actor=actor, resident_id=resident_id, contact_id=contact_id)
    resident = session.get(Resident, resident_id)
    assert resident is not None
    if contact.wechat_openid is not None:
        contact.wechat_openid, contact.wechat_bound_at = None, None
        session.add(contact)
        _audit(session, actor, "family_contact.wechat_unbind", contact, resident.center_id, now)
    return contact


def unbind_by_wechat(session: Session, *, openid: str, now: datetime) -> int:
    """The family member unfollowed the account or asked to unbind: every contact with that openid."""
    contacts = session.exec(select(FamilyContact).where(col(FamilyContact.wechat_openid) == openid)).all()
    for contact in contacts:
        resident = session.get(Resident, contact.resident_id)
        contact.wechat_openid, contact.wechat_bound_at = None, None
        session.add(contact)
        center_id = resident.center_id if resident is not None else 0
        _audit(session, family_actor(contact, center_id), "family_contact.wechat_unbind", contact, center_id, now)
    return len(contacts)


def unbind_reply(session: Session, *, openid: str, now: datetime) -> str:
    contacts = session.exec(select(FamilyContact).where(col(FamilyContact.wechat_openid) == openid)).all()
    language = language_of(contacts[0].language) if contacts else None
    return gettext(UNBOUND if unbind_by_wechat(session, openid=openid, now=now) else NOTHING_BOUND, language)
