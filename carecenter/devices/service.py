"""Registering devices and their keys (shown once, stored hashed), and authenticating posts."""

import hashlib
import secrets
from datetime import datetime, timedelta

from sqlmodel import Session, col, or_, select

from carecenter.access import Actor
from carecenter.audit.service import record_event
from carecenter.db import rows_that_keep
from carecenter.devices.models import Device, DeviceCreate, DeviceKind, DeviceUpdate, DeviceWithKey
from carecenter.errors import Conflict, InvalidField, NotAuthenticated
from carecenter.pagination import Page, PageParams, paginate
from carecenter.residents.models import Resident
from carecenter.updates import changes_for
from carecommon.i18n import N_

KEY_PREFIX = "dk_"


def new_device_key() -> str:
    return KEY_PREFIX + secrets.token_urlsafe(32)


def key_hash(key: str) -> str:
    # Keys carry 256 random bits, so a plain hash suffices (no salt or stretching needed) and
    # the lookup on every reading stays one indexed equality.
    return hashlib.sha256(key.encode()).hexdigest()


UNKNOWN_DEVICE_KEY = N_("Unknown or revoked device key.")


def require_key(key: str | None) -> str:
    """The key a device sent; 401 when it sent none."""
    if not key:
        raise NotAuthenticated("Send the device key in the X-Device-Key header.")
    return key


# Watches send a keep-alive every few minutes. A listener that died could not record the
# disconnection, so a connection without a frame for longer than this is not shown as connected.
CONNECTION_STALE_AFTER = timedelta(minutes=20)


def is_connected(device: Device, now: datetime) -> bool:
    """Whether a watch listener holds a connection of this watch (as it last recorded)."""
    if device.connected_at is None or (device.disconnected_at and device.disconnected_at >= device.connected_at):
        return False
    return now - max(device.connected_at, device.last_frame_at or device.connected_at) < CONNECTION_STALE_AFTER


def takeover_pending(device: Device) -> bool:
    """Another address took over the device's id while it was connected, and no manager has confirmed since."""
    confirmed = device.identity_confirmed_at
    return device.takeover_at is not None and (confirmed is None or confirmed < device.takeover_at)


def takeovers_to_confirm(*, session: Session, actor: Actor) -> list[Device]:
    """The devices of the actor's centers whose id was taken over and not yet confirmed (the board)."""
    stmt = actor.scoped(select(Device), Device.center_id, None).where(
        col(Device.takeover_at).is_not(None),
        or_(col(Device.identity_confirmed_at).is_(None), col(Device.identity_confirmed_at) < col(Device.takeover_at)),
    )
    return list(session.exec(stmt.order_by(col(Device.takeover_at).desc()).limit(50)).all())


def confirm_connection(*, session: Session, actor: Actor, device_id: int, now: datetime) -> Device:
    """A manager says the newest connection is the real device: it takes the commands, the older one is closed."""
    device = get_device(session=session, actor=actor, device_id=device_id)
    device.identity_confirmed_at = now
    session.add(device)
    record_event(
        session=session,
        actor=actor,
        action="device.confirm_connection",
        entity_type="device",
        entity_id=device.id,
        center_id=device.center_id,
        now=now,
    )
    return device


def with_key(device: Device, key: str) -> DeviceWithKey:
    return DeviceWithKey.model_validate(device, update={"device_key": key})


def _check_resident(session: Session, *, kind: DeviceKind, resident_id: int | None, center_id: int) -> None:
    if resident_id is None:
        return
    if kind == DeviceKind.gateway:
        raise InvalidField(["body", "resident_id"], "a gateway serves a whole center, not one resident")
    resident = session.get(Resident, resident_id)
    if resident is None or resident.center_id != center_id:
        raise InvalidField(["body", "resident_id"], "no resident {id} in this center", id=resident_id)


def list_devices(
    *,
    session: Session,
    actor: Actor,
    page: PageParams,
    center_id: int | None = None,
    resident_id: int | None = None,
    kind: DeviceKind | None = None,
    q: str | None = None,
) -> Page[Device]:
    """Devices of the actor's center (admins: any), by serial; `q` matches a serial, a model or the
    wearer's name."""
    stmt = select(Device)
    stmt = actor.scoped(stmt, Device.center_id, center_id)
    if q and q.strip():
        text = f"%{q.strip()}%"
        wearers = select(Resident.id).where(col(Resident.name).ilike(text))
        stmt = stmt.where(
            col(Device.serial).ilike(text) | col(Device.model).ilike(text) | col(Device.resident_id).in_(wearers)
        )
    if resident_id is not None:
        stmt = stmt.where(Device.resident_id == resident_id)
    if kind is not None:
        stmt = stmt.where(Device.kind == kind)
    return paginate(session, stmt.order_by(col(Device.serial)), page)


def get_device(*, session: Session, actor: Actor, device_id: int) -> Device:
    device = session.get(Device, device_id)
    actor.require_visible(device.center_id if device else None, "device")
    assert device is not None
    return device


def register_device(*, session: Session, actor: Actor, data: DeviceCreate, now: datetime) -> DeviceWithKey:
    """A new device with a fresh key, shown in this answer only (managers and admins)."""
    center_id = actor.center_for_new_record(data.center_id)
    _check_resident(session, kind=data.kind, resident_id=data.resident_id, center_id=center_id)
    if session.exec(select(Device.id).where(Device.serial == data.serial)).first() is not None:
        raise Conflict("A device with serial {serial} is already registered.", serial=data.serial)
    key = new_device_key()
    device = Device.model_validate(
        data,
        update={
            "center_id": center_id,
            "key_hash": key_hash(key),
            "key_prefix": key[:10],
            "key_rotated_at": now,
            "created_at": now,
        },
    )
    session.add(device)
    session.flush()
    record_event(
        session=session,
        actor=actor,
        action="device.create",
        entity_type="device",
        entity_id=device.id,
        center_id=center_id,
        now=now,
    )
    return with_key(device, key)


def update_device(*, session: Session, actor: Actor, device_id: int, data: DeviceUpdate, now: datetime) -> Device:
    """Change a device's model, interval or wearer (managers and admins)."""
    device = get_device(session=session, actor=actor, device_id=device_id)
    changes = changes_for(device, data)
    if "resident_id" in changes:
        _check_resident(
            session, kind=DeviceKind(device.kind), resident_id=changes["resident_id"], center_id=device.center_id
        )
    device.sqlmodel_update(changes)
    session.add(device)
    record_event(
        session=session,
        actor=actor,
        action="device.update",
        entity_type="device",
        entity_id=device.id,
        center_id=device.center_id,
        now=now,
        changed_fields=changes,
    )
    return device


def rotate_key(*, session: Session, actor: Actor, device_id: int, now: datetime) -> DeviceWithKey:
    """A new key for the device; the old one stops working at once (a revoked device comes back)."""
    device = get_device(session=session, actor=actor, device_id=device_id)
    key = new_device_key()
    device.key_hash, device.key_prefix, device.key_rotated_at, device.revoked_at = key_hash(key), key[:10], now, None
    session.add(device)
    record_event(
        session=session,
        actor=actor,
        action="device.rotate_key",
        entity_type="device",
        entity_id=device.id,
        center_id=device.center_id,
        now=now,
    )
    return with_key(device, key)


def delete_device(*, session: Session, actor: Actor, device_id: int, now: datetime) -> None:
    """Remove a device that never posted; one with readings keeps its history and can only be revoked."""
    device = get_device(session=session, actor=actor, device_id=device_id)
    # Every stored reading sets last_seen_at (no scan of the readings, which have no device index).
    if device.last_seen_at is not None:
        raise Conflict("This device has readings on record; revoke its key instead of deleting it.")
    kept = rows_that_keep(session, "device", device_id)
    if "alert" in kept:
        raise Conflict("This device raised alerts; revoke its key instead of deleting it.")
    if kept:
        raise Conflict(
            "This device has records ({tables}); revoke its key instead of deleting it.", tables=", ".join(sorted(kept))
        )
    record_event(
        session=session,
        actor=actor,
        action="device.delete",
        entity_type="device",
        entity_id=device.id,
        center_id=device.center_id,
        now=now,
    )
    session.delete(device)


def revoke_key(*, session: Session, actor: Actor, device_id: int, now: datetime) -> Device:
    """Stop accepting the device's key (a lost or stolen device)."""
    device = get_device(session=session, actor=actor, device_id=device_id)
    device.revoked_at = now
    session.add(device)
    record_event(
        session=session,
        actor=actor,
        action="device.revoke",
        entity_type="device",
        entity_id=device.id,
        center_id=device.center_id,
        now=now,
    )
    return device
