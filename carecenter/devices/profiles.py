"""A profile per device model: what differs between models, as data an admin edits.

A device's profile is the row for its protocol and model, else the row for its protocol with
no model, else the protocol's built-in default. A row's alarm codes are laid over the
protocol's (a code mapped to "ignore" turns one off); its clock says whether the device's times
are UTC or local; `silent_after_minutes` replaces the center's silence rule for its devices.
Rows are read when a device connects (a listener) and by each silent-device sweep.
"""

from collections.abc import Iterable
from datetime import datetime

from sqlmodel import Session, col, func, select

from carecenter.access import Actor
from carecenter.audit.service import record_event
from carecenter.devices.models import (
    DeviceProfile,
    DeviceProfileIn,
    DeviceProfilePublic,
    DeviceProtocol,
)
from carecenter.devices.protocol import Profile
from carecenter.devices.registry import spec_of
from carecenter.errors import NotFound
from carecommon.i18n import N_


def profile_row(session: Session, protocol: DeviceProtocol, model: str) -> DeviceProfile | None:
    """The row that applies to a model: its own, else its protocol's (model "")."""
    rows = session.exec(
        select(DeviceProfile).where(DeviceProfile.protocol == protocol, col(DeviceProfile.model).in_({model, ""}))
    ).all()
    return next((r for r in rows if r.model == model), None) or next(iter(rows), None)


def protocol_view(protocol: DeviceProtocol, row: DeviceProfile | None) -> Profile:
    """The profile as the protocol reads frames with it."""
    spec = spec_of(protocol)
    default = spec.default_profile if spec is not None else Profile()
    if row is None:
        return default
    return Profile(clock=row.clock, clock_zone=row.clock_zone, alarm_codes=default.alarm_codes | row.alarm_codes)


def public_view(protocol: DeviceProtocol, row: DeviceProfile | None) -> DeviceProfilePublic:
    """The effective profile for pages and the API (the row's fields, the codes laid over the default's)."""
    codes = protocol_view(protocol, row).alarm_codes
    if row is None:
        profile = protocol_view(protocol, None)
        default = {"id": None, "protocol": protocol, "clock": profile.clock, "clock_zone": profile.clock_zone}
        return DeviceProfilePublic.model_validate(
            default | {"alarm_codes": codes, "updated_at": None, "updated_by": ""}
        )
    return DeviceProfilePublic.model_validate(row, update={"alarm_codes": codes})


def effective_profile(session: Session, protocol: DeviceProtocol, model: str) -> DeviceProfilePublic:
    return public_view(protocol, profile_row(session, protocol, model))


def _saved(session: Session, protocol: DeviceProtocol, model: str) -> DeviceProfile | None:
    """The profile saved for exactly this protocol and model."""
    return session.exec(
        select(DeviceProfile).where(DeviceProfile.protocol == protocol, DeviceProfile.model == model)
    ).first()


def list_profiles(*, session: Session, actor: Actor) -> list[DeviceProfilePublic]:
    """Every saved profile, and the built-in default of each protocol that has none of its own."""
    rows = session.exec(select(DeviceProfile).order_by(col(DeviceProfile.protocol), col(DeviceProfile.model))).all()
    saved = [public_view(DeviceProtocol(r.protocol), r) for r in rows]
    covered = {(r.protocol, r.model) for r in rows}
    defaults = [public_view(p, None) for p in DeviceProtocol if (p, "") not in covered]
    return saved + defaults


def save_profile(*, session: Session, actor: Actor, data: DeviceProfileIn, now: datetime) -> DeviceProfile:
    """Create or replace the profile of a protocol and model (admins)."""
    row = _saved(session, data.protocol, data.model)
    if row is None:
        row = DeviceProfile.model_validate(data, update={"updated_at": now, "updated_by": actor.username})
    else:
        row.sqlmodel_update(data.model_dump() | {"updated_at": now, "updated_by": actor.username})
    session.add(row)
    session.flush()
    record_event(
        session=session,
        actor=actor,
        action="device_profile.save",
        entity_type="device_profile",
        entity_id=row.id,
        center_id=None,
        now=now,
    )
    return row


def delete_profile(*, session: Session, actor: Actor, protocol: DeviceProtocol, model: str, now: datetime) -> None:
    """Remove a saved profile: its devices follow their protocol's profile again (admins)."""
    row = _saved(session, protocol, model)
    if row is None:
        raise NotFound("{what} not found", what=N_("device profile"))
    record_event(
        session=session,
        actor=actor,
        action="device_profile.delete",
        entity_type="device_profile",
        entity_id=row.id,
        center_id=None,
        now=now,
    )
    session.delete(row)


def silence_limits(session: Session, models: Iterable[tuple[str, str]]) -> dict[tuple[str, str], int | None]:
    """Each (protocol, model)'s `silent_after_minutes` (None: the center's rule), for the silent-device sweep."""
    wanted = set(models)
    rows = session.exec(
        select(DeviceProfile).where(col(DeviceProfile.protocol).in_({protocol for protocol, _ in wanted}))
    ).all()
    by_key: dict[tuple[str, str], int | None] = {(str(r.protocol), r.model): r.silent_after_minutes for r in rows}
    return {(p, m): by_key[(p, m)] if (p, m) in by_key else by_key.get((p, "")) for p, m in wanted}


def shortest_silence_limit(session: Session) -> int | None:
    """The shortest `silent_after_minutes` of any profile (the sweep's first, coarse filter)."""
    return session.exec(select(func.min(DeviceProfile.silent_after_minutes))).one()
