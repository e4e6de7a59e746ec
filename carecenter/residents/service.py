"""Residents and their family contacts, scoped to the actor's center."""

import unicodedata
from datetime import datetime

from sqlalchemy import ColumnElement
from sqlmodel import Session, col, exists, or_, select

from carecenter.access import Actor, Role
from carecenter.audit.service import record_event
from carecenter.centers.models import Center
from carecenter.db import rows_that_keep
from carecenter.errors import Conflict, InvalidField, NotFound
from carecenter.fields import mask_national_id
from carecenter.pagination import Page, PageParams, paginate
from carecenter.residents.models import (
    CareLevel,
    FamilyContact,
    FamilyContactCreate,
    FamilyContactPublic,
    FamilyContactUpdate,
    Resident,
    ResidentCreate,
    ResidentPublic,
    ResidentStatus,
    ResidentUpdate,
    SmsOptIn,
    check_quiet_hours,
)
from carecenter.residents.sharing import FamilyLink
from carecenter.staff.models import Staff
from carecenter.updates import changes_for
from notifications.outbox import clear_unreachable, number_states, opted_out_among, set_opted_out


def _like(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def list_residents(
    *,
    session: Session,
    actor: Actor,
    page: PageParams,
    q: str | None = None,
    center_id: int | None = None,
    status: ResidentStatus | None = None,
    care_level: CareLevel | None = None,
    worker_id: int | None = None,
) -> Page[Resident]:
    """Residents by name; `q` matches a name, or a phone of the resident or a family contact."""
    stmt = select(Resident)
    stmt = actor.scoped(stmt, Resident.center_id, center_id)
    if status is not None:
        stmt = stmt.where(Resident.status == status)
    if care_level is not None:
        stmt = stmt.where(Resident.care_level == care_level)
    if worker_id is not None:
        stmt = stmt.where(Resident.primary_worker_id == worker_id)
    if q and q.strip():
        text = unicodedata.normalize("NFC", q.strip())  # as names are stored: a tablet's IME may decompose
        matches: list[ColumnElement[bool]] = [col(Resident.name).ilike(_like(text), escape="\\")]
        digits = "".join(ch for ch in text if ch.isdigit())
        if len(digits) >= 3:
            phone = _like(digits)
            matches.append(col(Resident.phone).like(phone, escape="\\"))
            matches.append(
                exists().where(
                    col(FamilyContact.resident_id) == Resident.id,
                    col(FamilyContact.phone).like(phone, escape="\\"),
                )
            )
        stmt = stmt.where(or_(*matches))
    return paginate(session, stmt.order_by(col(Resident.name), col(Resident.id)), page)


def get_resident(*, session: Session, actor: Actor, resident_id: int) -> Resident:
    """A resident the actor may see (404 otherwise), without reading the full record (no audit)."""
    resident = session.get(Resident, resident_id)
    actor.require_visible(resident.center_id if resident else None, "resident")
    assert resident is not None
    return resident


def to_public(resident: Resident, actor: Actor) -> ResidentPublic:
    """The full record as this actor may see it: the ID number masked for care workers."""
    public = ResidentPublic.model_validate(resident)
    if not actor.is_manager_or_admin:
        public.national_id = mask_national_id(resident.national_id)
    return public


def resident_named(*, session: Session, actor: Actor, resident_id: int) -> Resident:
    """A resident a request body names (a plan's, an assessment's): one of the actor's center, or a
    422 on the field (another center's resident does not exist for them)."""
    resident = session.get(Resident, resident_id)
    if resident is None or not actor.sees_center(resident.center_id):
        raise InvalidField(["body", "resident_id"], "no resident {id}", id=resident_id)
    return resident


def read_resident(*, session: Session, actor: Actor, resident_id: int, now: datetime) -> Resident:
    """A resident's full record; every read is audited."""
    resident = get_resident(session=session, actor=actor, resident_id=resident_id)
    record_event(
        session=session,
        actor=actor,
        action="resident.read",
        entity_type="resident",
        entity_id=resident.id,
        center_id=resident.center_id,
        now=now,
    )
    return resident


def _check_worker(*, session: Session, worker_id: int | None, center_id: int) -> None:
    if worker_id is None:
        return
    worker = session.get(Staff, worker_id)
    if worker is None or worker.center_id != center_id or worker.role != Role.care_worker or not worker.active:
        raise InvalidField(["body", "primary_worker_id"], "no active care worker {id} in this center", id=worker_id)


def create_resident(*, session: Session, actor: Actor, data: ResidentCreate, now: datetime) -> Resident:
    """A new resident (managers in their center, admins anywhere)."""
    center_id = actor.center_for_new_record(data.center_id)
    if session.get(Center, center_id) is None:
        raise InvalidField(["body", "center_id"], "there is no center {id}", id=center_id)
    _check_worker(session=session, worker_id=data.primary_worker_id, center_id=center_id)
    overrides = data.alert_thresholds.model_dump(exclude_none=True) if data.alert_thresholds else None
    resident = Resident.model_validate(
        data, update={"center_id": center_id, "created_at": now, "alert_thresholds": overrides or None}
    )
    session.add(resident)
    session.flush()
    record_event(
        session=session,
        actor=actor,
        action="resident.create",
        entity_type="resident",
        entity_id=resident.id,
        center_id=center_id,
        now=now,
    )
    return resident


def update_resident(
    *, session: Session, actor: Actor, resident_id: int, data: ResidentUpdate, now: datetime
) -> Resident:
    """Change a resident's record (managers and admins)."""
    resident = get_resident(session=session, actor=actor, resident_id=resident_id)
    changes = changes_for(resident, data)
    if "alert_thresholds" in changes and changes["alert_thresholds"] is not None:
        changes["alert_thresholds"] = {k: v for k, v in changes["alert_thresholds"].items() if v is not None} or None
    if "primary_worker_id" in changes:
        _check_worker(session=session, worker_id=changes["primary_worker_id"], center_id=resident.center_id)
    if changes.get("care_level", resident.care_level) != resident.care_level and resident.care_level_assessed_on:
        raise InvalidField(
            ["body", "care_level"],
            "the care level follows the assessment of {day}: assess again to change it",
            day=resident.care_level_assessed_on.isoformat(),
        )
    latitude = changes.get("latitude", resident.latitude)
    longitude = changes.get("longitude", resident.longitude)
    if (latitude is None) != (longitude is None):
        raise InvalidField(["body", "latitude"], "latitude and longitude go together: give both or neither")
    if changes.get("consent_family_sharing") is False and resident.consent_family_sharing:
        _revoke_family_links(session, col(FamilyLink.resident_id) == resident.id, now)  # a new consent, new links
    resident.sqlmodel_update(changes)
    session.add(resident)
    record_event(
        session=session,
        actor=actor,
        action="resident.update",
        entity_type="resident",
        entity_id=resident.id,
        center_id=resident.center_id,
        now=now,
        changed_fields=changes,
    )
    return resident


def update_notes(*, session: Session, actor: Actor, resident_id: int, notes: str, now: datetime) -> Resident:
    """Replace a resident's notes (any staff of the center, care workers included)."""
    resident = get_resident(session=session, actor=actor, resident_id=resident_id)
    resident.notes = notes
    session.add(resident)
    record_event(
        session=session,
        actor=actor,
        action="resident.notes",
        entity_type="resident",
        entity_id=resident.id,
        center_id=resident.center_id,
        now=now,
        changed_fields=["notes"],
    )
    return resident


def delete_resident(*, session: Session, actor: Actor, resident_id: int, now: datetime) -> None:
    """Erase a resident entered by mistake, with their contacts (managers and admins); the audit trail keeps
    the fact. One with records (visits, alerts, devices, service records, …) is kept: their status says they
    moved out or died, which ends visits, alerts and messages, and the records stay for the payers."""
    resident = get_resident(session=session, actor=actor, resident_id=resident_id)
    if rows_that_keep(session, "resident", resident_id):
        raise Conflict(
            "{name} has records (visits, alerts, devices or service records) that must be kept; set their "
            "status to moved out or deceased instead.",
            name=resident.name,
        )
    record_event(
        session=session,
        actor=actor,
        action="resident.delete",
        entity_type="resident",
        entity_id=resident.id,
        center_id=resident.center_id,
        now=now,
    )
    session.delete(resident)


def list_contacts(*, session: Session, actor: Actor, resident_id: int) -> list[FamilyContactPublic]:
    """A resident's family contacts in calling order, with their numbers' SMS state."""
    get_resident(session=session, actor=actor, resident_id=resident_id)
    contacts = session.exec(
        select(FamilyContact)
        .where(FamilyContact.resident_id == resident_id)
        .order_by(col(FamilyContact.priority), col(FamilyContact.id))
    ).all()
    return contacts_public(session, list(contacts))


def _get_contact(
    *, session: Session, actor: Actor, resident_id: int, contact_id: int
) -> tuple[Resident, FamilyContact]:
    resident = get_resident(session=session, actor=actor, resident_id=resident_id)
    contact = session.get(FamilyContact, contact_id)
    if contact is None or contact.resident_id != resident_id:
        raise NotFound("family contact not found")
    return resident, contact


def contacts_public(session: Session, contacts: list[FamilyContact]) -> list[FamilyContactPublic]:
    """Contacts as the API and pages show them, with their numbers' SMS state (one query)."""
    states = number_states(session, [c.phone for c in contacts])
    shown = []
    for contact in contacts:
        state = states.get(contact.phone)
        opted_out = state is not None and state.opted_out_at is not None
        shown.append(
            FamilyContactPublic.model_validate(
                contact,
                update={
                    "sms_opt_in": SmsOptIn.opted_out if opted_out else SmsOptIn.opted_in,
                    "unreachable_at": state.unreachable_at if state else None,
                    "unreachable_code": state.unreachable_code if state else None,
                    "wechat_bound": contact.wechat_openid is not None,
                },
            )
        )
    return shown


def _set_opt_in(session: Session, *, phone: str, wanted: SmsOptIn | None, now: datetime) -> None:
    """A manager records the family's wish; the number's state changes only if it differs."""
    if wanted is None:
        return
    opted_out = phone in opted_out_among(session, [phone])
    if opted_out != (wanted == SmsOptIn.opted_out):
        set_opted_out(session, phone=phone, opted_out=wanted == SmsOptIn.opted_out, now=now)


def get_contact(*, session: Session, actor: Actor, resident_id: int, contact_id: int) -> FamilyContact:
    """One family contact of a resident the actor may see (404 otherwise)."""
    return _get_contact(session=session, actor=actor, resident_id=resident_id, contact_id=contact_id)[1]


def create_contact(
    *, session: Session, actor: Actor, resident_id: int, data: FamilyContactCreate, now: datetime
) -> FamilyContact:
    """Add a family contact (managers and admins)."""
    resident = get_resident(session=session, actor=actor, resident_id=resident_id)
    contact = FamilyContact.model_validate(
        data.model_dump(exclude={"sms_opt_in"}), update={"resident_id": resident_id, "created_at": now}
    )
    session.add(contact)
    session.flush()
    _set_opt_in(session, phone=contact.phone, wanted=data.sms_opt_in, now=now)
    record_event(
        session=session,
        actor=actor,
        action="contact.create",
        entity_type="family_contact",
        entity_id=contact.id,
        center_id=resident.center_id,
        now=now,
    )
    return contact


def update_contact(
    *, session: Session, actor: Actor, resident_id: int, contact_id: int, data: FamilyContactUpdate, now: datetime
) -> FamilyContact:
    """Change a family contact (managers and admins)."""
    resident, contact = _get_contact(session=session, actor=actor, resident_id=resident_id, contact_id=contact_id)
    changes = changes_for(contact, data)
    wanted = changes.pop("sms_opt_in", None)
    start = changes.get("quiet_hours_start", contact.quiet_hours_start)
    end = changes.get("quiet_hours_end", contact.quiet_hours_end)
    try:
        check_quiet_hours(start, end)
    except ValueError as exc:
        raise InvalidField(["body", "quiet_hours_start"], str(exc)) from exc
    if "phone" in changes and changes["phone"] != contact.phone:
        _revoke_family_links(session, col(FamilyLink.contact_id) == contact.id, now)  # the page was for the old number
    contact.sqlmodel_update(changes)
    session.add(contact)
    _set_opt_in(session, phone=contact.phone, wanted=wanted, now=now)
    record_event(
        session=session,
        actor=actor,
        action="contact.update",
        entity_type="family_contact",
        entity_id=contact.id,
        center_id=resident.center_id,
        now=now,
        changed_fields=changes | ({"sms_opt_in": wanted} if wanted is not None else {}),
    )
    return contact


def _revoke_family_links(session: Session, which: ColumnElement[bool], now: datetime) -> None:
    """Family-page links stop opening (a number that changed hands, consent withdrawn), for good."""
    for link in session.exec(select(FamilyLink).where(which, col(FamilyLink.revoked_at).is_(None))).all():
        link.revoked_at = now
        session.add(link)


def delete_contact(*, session: Session, actor: Actor, resident_id: int, contact_id: int, now: datetime) -> None:
    """Remove a family contact and their family-page links (managers and admins): they are messaged no more."""
    resident, contact = _get_contact(session=session, actor=actor, resident_id=resident_id, contact_id=contact_id)
    record_event(
        session=session,
        actor=actor,
        action="contact.delete",
        entity_type="family_contact",
        entity_id=contact.id,
        center_id=resident.center_id,
        now=now,
    )
    session.delete(contact)


def mark_number_reachable(
    *, session: Session, actor: Actor, resident_id: int, contact_id: int, now: datetime
) -> FamilyContact:
    """A manager confirms a contact's number works again after the provider found it unusable."""
    contact = get_contact(session=session, actor=actor, resident_id=resident_id, contact_id=contact_id)
    clear_unreachable(session, phone=contact.phone)
    resident = session.get(Resident, resident_id)
    record_event(
        session=session,
        actor=actor,
        action="contact.reachable",
        entity_type="family_contact",
        entity_id=contact_id,
        center_id=resident.center_id if resident is not None else None,
        now=now,
    )
    return contact
