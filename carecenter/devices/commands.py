"""Commands to connected devices (upload interval, SOS numbers, locate now) and unregistered ids that tried."""

from datetime import datetime

import phonenumbers
from sqlmodel import Session, col, select

from carecenter.access import Actor
from carecenter.audit.service import record_event
from carecenter.devices.models import (
    CommandKind,
    Device,
    DeviceCommand,
    DeviceCommandIn,
    DeviceProtocol,
    UnknownDevice,
)
from carecenter.devices.protocol import SOS_SLOTS, CommandRequest
from carecenter.devices.registry import spec_of
from carecenter.devices.service import get_device
from carecenter.errors import Conflict, InvalidField
from carecenter.pagination import Page, PageParams, paginate
from carecenter.residents.models import FamilyContact


def sos_numbers(session: Session, resident_id: int) -> list[str]:
    """The first three family contacts' numbers in calling order, as the watch dials them."""
    phones = session.exec(
        select(FamilyContact.phone)
        .where(FamilyContact.resident_id == resident_id)
        .order_by(col(FamilyContact.priority), col(FamilyContact.id))
        .limit(SOS_SLOTS)
    ).all()
    return [_dialled(phone) for phone in phones]


def _dialled(phone: str) -> str:
    """A Chinese number as dialled at home (13800138000); others in full (+44…)."""
    parsed = phonenumbers.parse(phone)
    if parsed.country_code == 86:
        return phonenumbers.national_significant_number(parsed)
    return phone


def command_content(session: Session, device: Device, data: DeviceCommandIn) -> str:
    """What goes on the wire, in the device's protocol (`UPLOAD,600` for a watch, `TIMER,600,600#` for GT06)."""
    spec = spec_of(DeviceProtocol(device.protocol))
    if spec is None:
        raise Conflict("Only devices connected over TCP (protocols watch-tcp and gt06) take commands.")
    if data.kind == CommandKind.upload_interval and data.seconds is None:
        raise InvalidField(["body", "seconds"], "give the upload interval in seconds")
    numbers: list[str] = []
    if data.kind == CommandKind.sos_numbers:
        if device.resident_id is None:
            raise Conflict("This device is not worn by a resident, so it has no family numbers to hold.")
        numbers = sos_numbers(session, device.resident_id)
    return spec.command_content(CommandRequest(data.kind, data.seconds, tuple(numbers)))


def request_command(
    *, session: Session, actor: Actor, device_id: int, data: DeviceCommandIn, now: datetime
) -> DeviceCommand:
    """Queue a command for a device; it is sent when the device is (or next gets) connected."""
    device = get_device(session=session, actor=actor, device_id=device_id)
    command = DeviceCommand(
        device_id=device_id,
        center_id=device.center_id,
        kind=data.kind,
        content=command_content(session, device, data),
        requested_by=actor.username,
        created_at=now,
    )
    session.add(command)
    session.flush()
    record_event(
        session=session,
        actor=actor,
        action="device.command",
        entity_type="device",
        entity_id=device_id,
        center_id=device.center_id,
        now=now,
        changed_fields=(data.kind.value,),
    )
    return command


def list_commands(*, session: Session, actor: Actor, device_id: int, page: PageParams) -> Page[DeviceCommand]:
    """A device's commands, newest first, each with its answer or time-out."""
    get_device(session=session, actor=actor, device_id=device_id)
    stmt = select(DeviceCommand).where(DeviceCommand.device_id == device_id)
    return paginate(session, stmt.order_by(col(DeviceCommand.id).desc()), page)


def list_unknown(*, session: Session, actor: Actor, page: PageParams) -> Page[UnknownDevice]:
    """Ids that tried to connect and are still not registered, most recent first (admins: the ids and the
    addresses they came from belong to no center yet)."""
    stmt = select(UnknownDevice).where(col(UnknownDevice.serial).not_in(select(Device.serial)))
    return paginate(session, stmt.order_by(col(UnknownDevice.last_seen_at).desc()), page)


def watches_of_resident(session: Session, resident_id: int) -> list[Device]:
    """The resident's watches and trackers that take commands (for offering to push new SOS numbers)."""
    takes_commands = [p for p in DeviceProtocol if p.takes_commands]
    return list(
        session.exec(
            select(Device).where(
                Device.resident_id == resident_id,
                col(Device.protocol).in_(takes_commands),
                col(Device.revoked_at).is_(None),
            )
        ).all()
    )
