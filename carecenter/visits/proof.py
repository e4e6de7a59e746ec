"""Proof of service: photos taken at the visit (with the resident's consent, cleaned of metadata,
kept for the center's retention period, every view audited) and the resident's confirmation
(a drawn signature, or why they could not sign)."""

import base64
import binascii
from datetime import datetime, timedelta

from sqlmodel import Session, col, select

from carecenter.access import Actor, Role
from carecenter.audit.service import record_event
from carecenter.centers.models import Center
from carecenter.errors import Conflict, InvalidField, NotFound
from carecenter.media.images import BadImage, clean_photo, clean_signature
from carecenter.media.store import MediaStore
from carecenter.residents.models import Resident
from carecenter.visits.models import Confirmation, ConfirmationKind, Visit, VisitPhoto, VisitStatus
from carecenter.words import VALUE_NAMES
from carecommon.i18n import N_, Word

PHOTO_STATUSES = (VisitStatus.in_progress, VisitStatus.completed)
SYSTEM = Actor(staff_id=None, username="system", role=Role.admin, center_id=None)


def decode_base64(text: str, field: list[str | int]) -> bytes:
    """Bytes a tablet sent as base64 (a data: URL's prefix allowed)."""
    try:
        return base64.b64decode(text.split(",", 1)[-1], validate=True)
    except (binascii.Error, ValueError) as exc:
        raise InvalidField(field, "not a picture: send it as base64") from exc


def add_photo(
    *,
    session: Session,
    actor: Actor,
    visit: Visit,
    data: bytes,
    taken_at: datetime,
    offline: bool,
    store: MediaStore,
    max_bytes: int,
    now: datetime,
) -> VisitPhoto:
    """A photo of the service (the visit already checked as the actor's to work on)."""
    if visit.status not in PHOTO_STATUSES:
        raise Conflict("This visit is {status}.", status=Word(VALUE_NAMES[visit.status]))
    resident = session.get(Resident, visit.resident_id)
    if resident is None or not resident.consent_service_photos:
        raise Conflict("This resident has not consented to service photos; nothing was saved.")
    if len(data) > max_bytes:
        raise InvalidField(["body"], "the photo is larger than {mb} MB", mb=max_bytes // 1_000_000)
    try:
        clean = clean_photo(data)
    except BadImage as exc:
        raise InvalidField(["body"], str(exc)) from exc
    photo = VisitPhoto(
        center_id=visit.center_id,
        visit_id=visit.id or 0,
        resident_id=visit.resident_id,
        media_key=store.put(clean.data),
        width=clean.width,
        height=clean.height,
        size_bytes=len(clean.data),
        taken_at=taken_at,
        uploaded_by=actor.staff_id,
        recorded_offline=offline,
        created_at=now,
    )
    session.add(photo)
    session.flush()
    _audit(session, actor, "visit.photo.add", photo, now)
    return photo


def photos_of(session: Session, visit_id: int) -> list[VisitPhoto]:
    stmt = select(VisitPhoto).where(VisitPhoto.visit_id == visit_id, col(VisitPhoto.deleted_at).is_(None))
    return list(session.exec(stmt.order_by(col(VisitPhoto.taken_at))).all())


def view_photo(*, session: Session, actor: Actor, photo_id: int, store: MediaStore, now: datetime) -> bytes:
    """The photo, for staff of its center only; every view is in the audit log."""
    photo = session.get(VisitPhoto, photo_id)
    actor.require_visible(photo.center_id if photo else None, "photo")
    assert photo is not None
    if photo.deleted_at is not None:
        raise NotFound("{what} not found", what=Word(N_("photo")))
    _audit(session, actor, "visit.photo.view", photo, now)
    return store.get(photo.media_key)


def confirm(
    *, session: Session, actor: Actor, visit: Visit, data: Confirmation, at: datetime, store: MediaStore, now: datetime
) -> Visit:
    """The resident (or family present) confirms the service: a drawn signature, or why they could not sign."""
    if visit.status != VisitStatus.in_progress:
        raise Conflict("This visit is {status}.", status=Word(VALUE_NAMES[visit.status]))
    signature = None
    if data.kind == ConfirmationKind.signature:
        if not data.signature_png:
            raise InvalidField(["body", "signature_png"], "draw the signature first")
        try:
            signature = store.put(clean_signature(decode_base64(data.signature_png, ["body", "signature_png"])).data)
        except BadImage as exc:
            raise InvalidField(["body", "signature_png"], str(exc)) from exc
    elif not data.reason:
        raise InvalidField(["body", "reason"], "say why they could not sign")
    visit.confirmation, visit.confirmation_signer, visit.confirmation_reason = data.kind, data.signer, data.reason
    visit.confirmation_signature, visit.confirmed_at = signature, at
    session.add(visit)
    return visit


def view_signature(*, session: Session, actor: Actor, visit: Visit, store: MediaStore, now: datetime) -> bytes:
    if visit.confirmation_signature is None:
        raise NotFound("{what} not found", what=Word(N_("signature")))
    record_event(
        session=session,
        actor=actor,
        action="visit.signature.view",
        entity_type="visit",
        entity_id=visit.id,
        center_id=visit.center_id,
        now=now,
    )
    return store.get(visit.confirmation_signature)


def purge_expired_photos(session: Session, *, store: MediaStore, now: datetime) -> int:
    """Photos older than their center's retention period are deleted (the row stays, marked, and
    the deletion is audited); a blob another live photo still uses is kept."""
    deleted = 0
    for center in session.exec(select(Center)).all():
        cutoff = now - timedelta(days=center.photo_retention_days)
        expired = session.exec(
            select(VisitPhoto).where(
                VisitPhoto.center_id == center.id,
                col(VisitPhoto.created_at) < cutoff,
                col(VisitPhoto.deleted_at).is_(None),
            )
        ).all()
        for photo in expired:
            photo.deleted_at = now
            session.add(photo)
            _audit(session, SYSTEM, "visit.photo.delete", photo, now, reason="retention")
            deleted += 1
    session.flush()
    live = set(session.exec(select(VisitPhoto.media_key).where(col(VisitPhoto.deleted_at).is_(None))).all())
    gone = set(session.exec(select(VisitPhoto.media_key).where(col(VisitPhoto.deleted_at).is_not(None))).all())
    for key in gone - live:
        store.delete(key)
    return deleted


def _audit(
    session: Session, actor: Actor, action: str, photo: VisitPhoto, now: datetime, reason: str | None = None
) -> None:
    record_event(
        session=session,
        actor=actor,
        action=action,
        entity_type="visit_photo",
        entity_id=photo.id,
        center_id=photo.center_id,
        now=now,
        reason=reason,
    )


def proof_summary(session: Session, visit_ids: set[int]) -> dict[int, tuple[int, str | None]]:
    """Per visit: how many photos are kept and how the resident confirmed (for records and reports)."""
    if not visit_ids:
        return {}
    counts: dict[int, int] = {}
    for visit_id in session.exec(
        select(VisitPhoto.visit_id).where(col(VisitPhoto.visit_id).in_(visit_ids), col(VisitPhoto.deleted_at).is_(None))
    ).all():
        counts[visit_id] = counts.get(visit_id, 0) + 1
    confirmed = dict(session.exec(select(Visit.id, Visit.confirmation).where(col(Visit.id).in_(visit_ids))).all())
    return {v: (counts.get(v, 0), confirmed.get(v)) for v in visit_ids}
