"""Giving a family contact the family page, renewing and revoking it, and opening it by its token."""

from datetime import datetime, timedelta

from sqlmodel import Session, col, select

from carecenter.access import Actor, Role
from carecenter.audit.service import record_event
from carecenter.centers.models import Center
from carecenter.errors import Conflict
from carecenter.messaging.outbound import AlertMessaging, send
from carecenter.messaging.recipients import family_recipient
from carecenter.residents.models import FamilyContact, Resident
from carecenter.residents.service import get_contact
from carecenter.residents.sharing import FamilyLink
from notifications.kinds import TOKEN
from notifications.links import sign_link_id, verify_link_token
from notifications.models import Purpose

VALID_FOR = timedelta(days=90)
FAMILY_LINK = b"family-link:"  # a token for this page opens no response link, and the other way round


def family_token(link: FamilyLink, secret: bytes) -> str:
    assert link.id is not None
    return sign_link_id(link.id, secret, FAMILY_LINK)


def family_url(public_url: str, link: FamilyLink, secret: bytes) -> str:
    return f"{public_url.rstrip('/')}/f/{family_token(link, secret)}"


def current_link(session: Session, contact_id: int, now: datetime) -> FamilyLink | None:
    """The contact's link that still opens the page, if any."""
    return session.exec(
        select(FamilyLink)
        .where(
            FamilyLink.contact_id == contact_id,
            col(FamilyLink.revoked_at).is_(None),
            col(FamilyLink.expires_at) > now,
        )
        .order_by(col(FamilyLink.id).desc())
    ).first()


def share_family_page(
    *,
    session: Session,
    actor: Actor,
    messaging: AlertMessaging,
    resident_id: int,
    contact_id: int,
    now: datetime,
) -> FamilyLink:
    """Give the contact the family page (or renew theirs for another 90 days) and text them the link.

    Only where the resident (or guardian) consented to sharing with family.
    """
    contact = get_contact(session=session, actor=actor, resident_id=resident_id, contact_id=contact_id)
    resident = session.get(Resident, resident_id)
    assert resident is not None
    if not resident.consent_family_sharing:
        raise Conflict("{name} has not consented to sharing with family.", name=resident.name)
    link = current_link(session, contact_id, now)
    action = "family_link.renew"
    if link is None:
        link = FamilyLink(
            center_id=resident.center_id,
            resident_id=resident_id,
            contact_id=contact_id,
            created_by=actor.staff_id,
            created_at=now,
            expires_at=now,
        )
        action = "family_link.create"
    link.expires_at = now + VALID_FOR
    session.add(link)
    session.flush()
    _text_the_link(session, messaging, link=link, contact=contact, resident=resident, now=now)
    record_event(
        session=session,
        actor=actor,
        action=action,
        entity_type="family_contact",
        entity_id=contact_id,
        center_id=resident.center_id,
        now=now,
    )
    return link


def _text_the_link(
    session: Session,
    messaging: AlertMessaging,
    *,
    link: FamilyLink,
    contact: FamilyContact,
    resident: Resident,
    now: datetime,
) -> None:
    center = session.get(Center, resident.center_id)
    assert center is not None and link.id is not None
    recipient = family_recipient(contact, center.time_zone)
    send(
        session,
        messaging,
        recipient,
        kind="family.link",
        params={"center": center.town, "who": resident.name, TOKEN: family_token(link, messaging.link_secret)},
        purpose=Purpose.reminder,
        dedupe_key=f"family_link:{link.id}:{link.expires_at:%Y%m%d%H%M%S}",
        now=now,
        center_id=center.id,
    )


def revoke_family_page(*, session: Session, actor: Actor, resident_id: int, contact_id: int, now: datetime) -> None:
    """The contact's link stops working at once."""
    get_contact(session=session, actor=actor, resident_id=resident_id, contact_id=contact_id)
    links = session.exec(
        select(FamilyLink).where(FamilyLink.contact_id == contact_id, col(FamilyLink.revoked_at).is_(None))
    ).all()
    for link in links:
        link.revoked_at = now
        session.add(link)
    resident = session.get(Resident, resident_id)
    assert resident is not None
    record_event(
        session=session,
        actor=actor,
        action="family_link.revoke",
        entity_type="family_contact",
        entity_id=contact_id,
        center_id=resident.center_id,
        now=now,
    )


def open_family_link(session: Session, token: str, secret: bytes) -> FamilyLink | None:
    """The link a token names (whatever its state), or None for a token we did not sign."""
    link_id = verify_link_token(token, secret, FAMILY_LINK)
    return session.get(FamilyLink, link_id) if link_id is not None else None


def record_view(session: Session, *, link: FamilyLink, client_addr: str | None, now: datetime) -> None:
    """Every view of the family page is in the audit log, as the family contact."""
    viewer = Actor(
        staff_id=None,
        username=f"family:contact:{link.contact_id}",
        role=Role.care_worker,  # not used by the audit log, which records who and from where
        center_id=link.center_id,
        client_addr=client_addr,
    )
    record_event(
        session=session,
        actor=viewer,
        action="family_page.view",
        entity_type="resident",
        entity_id=link.resident_id,
        center_id=link.center_id,
        now=now,
    )
    link.last_viewed_at = now
    session.add(link)
