"""What the device listeners record about connections: who is connected, unknown ids, commands on
the wire, voice messages and photos.

Keyword-only functions over a session the listener owns; each adds and flushes, the listener
commits. Reads for the devices page and the API are in `devices/commands.py`.
"""

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from carecenter.access import Actor, Role
from carecenter.audit.service import record_event
from carecenter.db import among, array_literal
from carecenter.devices.models import (
    CommandStatus,
    Device,
    DeviceCommand,
    DeviceMedia,
    DeviceProtocol,
    UnknownDevice,
)
from carecenter.devices.profiles import profile_row, protocol_view
from carecenter.devices.protocol import Media, Profile
from carecenter.residents.models import Resident
from carecommon.sqltypes import upsert_insert

HOLDER_FIELDS = ("connected_at", "disconnected_at", "connected_from", "connected_via")


@dataclass(frozen=True)
class Holder:
    """The gateway process that holds a device's connection, and the address it comes from."""

    via: str
    host: str | None


@dataclass(frozen=True)
class DeviceIdentity:
    device_id: int
    serial: str
    profile: Profile
    holder: Holder | None = None  # as recorded: connected, through some process (maybe this one)


def _holder(row: Any) -> Holder | None:
    """From a row with connected_at, disconnected_at, connected_from, connected_via."""
    connected = row.connected_at is not None and (row.disconnected_at is None or row.disconnected_at < row.connected_at)
    return Holder(row.connected_via, row.connected_from) if connected and row.connected_via else None


_HOLDER_COLUMNS = [col(getattr(Device, name)) for name in HOLDER_FIELDS]


def registered_devices(
    session: Session, serials: Collection[str], protocol: DeviceProtocol
) -> dict[str, DeviceIdentity]:
    """The devices registered with these ids and protocol (not revoked), each with its model's
    profile and who holds its connection, in one query (a gateway's watches reconnect together
    after a restart); ids nobody registered are left out."""
    if not serials:
        return {}
    rows = session.execute(
        sa.select(col(Device.id), col(Device.serial), col(Device.model), *_HOLDER_COLUMNS).where(
            among(session, Device.serial, serials),
            col(Device.protocol) == protocol,
            col(Device.revoked_at).is_(None),
        )
    ).all()
    models = {row.model for row in rows}
    profiles = {model: protocol_view(protocol, profile_row(session, protocol, model)) for model in models}
    return {row.serial: DeviceIdentity(row.id, row.serial, profiles[row.model], _holder(row)) for row in rows}


def holders(session: Session, *, device_ids: Collection[int]) -> dict[int, Holder]:
    """Who holds each of these devices' connections, as recorded (devices not connected are left out)."""
    rows = session.execute(sa.select(col(Device.id), *_HOLDER_COLUMNS).where(among(session, Device.id, device_ids)))
    return {row.id: holder for row in rows if (holder := _holder(row)) is not None}


LISTENER = "device listener"  # the audit log's actor for what a listener records


def note_takeover(session: Session, *, device_id: int, address: str, previous: str, now: datetime) -> None:
    """A connection from `address` named a device connected from `previous`: counted, kept, audited."""
    center_id = session.execute(sa.select(col(Device.center_id)).where(col(Device.id) == device_id)).scalar_one()
    session.execute(
        sa.update(Device)
        .where(col(Device.id) == device_id)
        .values(takeover_count=col(Device.takeover_count) + 1, takeover_at=now, takeover_from=address[:64])
    )
    actor = Actor(staff_id=None, username=LISTENER, role=Role.admin, center_id=None, client_addr=address[:64])
    record_event(
        session=session,
        actor=actor,
        action="device.takeover",
        entity_type="device",
        entity_id=device_id,
        center_id=center_id,
        now=now,
        reason=f"connected from {address} while connected from {previous}"[:300],
    )


def confirmations(session: Session, *, device_ids: Collection[int]) -> dict[int, datetime]:
    """When a manager last confirmed each device's newest connection (devices never confirmed are left out)."""
    rows = session.execute(
        sa.select(col(Device.id), col(Device.identity_confirmed_at)).where(
            among(session, Device.id, device_ids), col(Device.identity_confirmed_at).is_not(None)
        )
    ).all()
    return {row.id: row.identity_confirmed_at for row in rows}


def add_media(session: Session, *, device_id: int, media: Media, key: str, now: datetime) -> None:
    """Keep a device's voice message or photo (its bytes are already in the media store under `key`)."""
    center_id = session.execute(sa.select(col(Device.center_id)).where(col(Device.id) == device_id)).scalar_one()
    session.add(
        DeviceMedia(
            device_id=device_id,
            center_id=center_id,
            kind=media.kind,
            media_key=key,
            content_type=media.content_type,
            size_bytes=len(media.data),
            received_at=now,
        )
    )


MAX_UNKNOWN = 1000  # unknown ids kept; past that only the ones already listed are counted


def note_unknown(session: Session, *, serial: str, protocol: DeviceProtocol, address: str, now: datetime) -> None:
    """Count an attempt by an id nobody registered (one row per id, for the admins' list)."""
    listed = session.execute(sa.select(col(UnknownDevice.serial)).where(col(UnknownDevice.serial) == serial[:64]))
    if (
        listed.first() is None
        and session.execute(sa.select(sa.func.count()).select_from(UnknownDevice)).scalar_one() >= MAX_UNKNOWN
    ):
        return
    insert = upsert_insert(session.get_bind().dialect)
    statement = insert(UnknownDevice).values(
        serial=serial[:64],
        protocol=protocol,
        attempts=1,
        first_seen_at=now,
        last_seen_at=now,
        last_address=address[:64],
    )
    session.execute(
        statement.on_conflict_do_update(
            index_elements=["serial"],
            set_={
                "attempts": col(UnknownDevice.attempts) + 1,
                "last_seen_at": now,
                "last_address": address[:64],
            },
        )
    )


def note_connected(session: Session, *, since: Mapping[int, tuple[datetime, str]], via: str) -> None:
    """Devices that connected to the process `via`, each with when and from which address (one
    statement for all)."""
    if since:
        session.execute(
            sa.update(Device),
            [
                {
                    "id": device_id,
                    "connected_at": at,
                    "disconnected_at": None,
                    "connected_from": host[:64],
                    "connected_via": via,
                }
                for device_id, (at, host) in since.items()
            ],
        )


def note_disconnected(session: Session, *, device_ids: Collection[int], now: datetime, via: str) -> None:
    """These devices' connections to the process `via` closed; a device that has connected to another
    process since stays connected there."""
    if device_ids:
        session.execute(
            sa.update(Device).where(among(session, Device.id, device_ids), _held_by(via)).values(disconnected_at=now)
        )


def release_all(session: Session, *, via: str, now: datetime) -> None:
    """A process starting holds no connection yet: what it held before it stopped (or died) is gone."""
    still_open = sa.or_(col(Device.disconnected_at).is_(None), col(Device.disconnected_at) < col(Device.connected_at))
    session.execute(sa.update(Device).where(col(Device.connected_via) == via, still_open).values(disconnected_at=now))


def _held_by(via: str) -> sa.ColumnElement[bool]:
    """Rows this process holds (or that no process was recorded for: rows older than the column)."""
    return sa.or_(col(Device.connected_via) == via, col(Device.connected_via).is_(None))


@dataclass(frozen=True)
class FrameNote:
    at: datetime
    word: str
    cells: str | None  # set when the frame had no GPS fix
    network: str | None = None  # MCC-MNC, when the frame named its base station


def note_frames(session: Session, notes: Mapping[int, FrameNote]) -> None:
    """Each device's last frame; the raw cell list only where the resident consented to location data."""
    if not notes:
        return
    consenting = set(
        session.exec(
            select(Device.id)
            .join(Resident, col(Resident.id) == Device.resident_id)
            .where(among(session, Device.id, list(notes)), col(Resident.consent_location_data))
        ).all()
    )
    rows: list[dict[str, object]] = []
    for device_id, note in notes.items():
        values: dict[str, object] = {"id": device_id, "last_frame_at": note.at, "last_frame": note.word[:64]}
        if note.cells is not None and device_id in consenting:
            values["last_cells"] = note.cells[:2000]
        if note.network is not None:
            values["last_network"] = note.network
        rows.append(values)
    if session.get_bind().dialect.name == "postgresql":  # one statement over arrays, whatever the number
        session.execute(
            sa.text(
                "UPDATE device SET last_frame_at = s.at, last_frame = s.word, "
                "last_cells = coalesce(s.cells, device.last_cells), "
                "last_network = coalesce(s.network, device.last_network) "
                "FROM unnest(CAST(:ids AS INTEGER[]), CAST(:times AS TIMESTAMPTZ[]), CAST(:words AS TEXT[]), "
                "CAST(:cells AS TEXT[]), CAST(:networks AS TEXT[])) AS s(id, at, word, cells, network) "
                "WHERE device.id = s.id"
            ),
            {  # as array literals: psycopg's lists cost ~5 µs a datetime (`array_literal`)
                "ids": array_literal(r["id"] for r in rows),
                "times": array_literal(r["last_frame_at"] for r in rows),
                "words": array_literal(r["last_frame"] for r in rows),
                "cells": array_literal(r.get("last_cells") for r in rows),
                "networks": array_literal(r.get("last_network") for r in rows),
            },
        )
        return
    # Bulk UPDATE by primary key, grouped by the columns each row sets (one executemany per group).
    for columns in {tuple(sorted(r)) for r in rows}:
        session.execute(sa.update(Device), [r for r in rows if tuple(sorted(r)) == columns])


QUEUED_READ_AT_ONCE = 5000


@dataclass(frozen=True)
class CommandToSend:
    id: int
    device_id: int
    content: str


def commands_to_send(session: Session, *, device_ids: Collection[int], via: str) -> list[CommandToSend]:
    """Queued commands for these (connected) devices that the process `via` holds, oldest first
    (a device that has moved to another process gets its commands from there, once).

    Queued commands are few (they leave the queue once sent), so they are read in one small
    query and picked here: a listener holding 20,000 connections does not send 20,000 ids to
    the database every second.
    """
    if not device_ids:
        return []
    rows = session.execute(
        sa.select(col(DeviceCommand.id), col(DeviceCommand.device_id), col(DeviceCommand.content))
        .join(Device, col(Device.id) == col(DeviceCommand.device_id))
        .where(col(DeviceCommand.status) == CommandStatus.queued, _held_by(via))
        .order_by(col(DeviceCommand.id))
        .limit(QUEUED_READ_AT_ONCE)
    ).all()
    wanted = set(device_ids)
    return [CommandToSend(*row) for row in rows if row[1] in wanted]


def mark_sent(session: Session, *, command_ids: Collection[int], now: datetime) -> None:
    if command_ids:
        session.execute(
            sa.update(DeviceCommand)
            .where(among(session, DeviceCommand.id, command_ids), col(DeviceCommand.status) == CommandStatus.queued)
            .values(status=CommandStatus.sent, sent_at=now)
        )


def record_answer(session: Session, *, command_id: int, answer: str, now: datetime) -> None:
    session.execute(
        sa.update(DeviceCommand)
        # "queued" too: the device may answer before the listener has recorded that it sent the command
        .where(
            col(DeviceCommand.id) == command_id,
            col(DeviceCommand.status).in_([CommandStatus.queued, CommandStatus.sent]),
        )
        .values(status=CommandStatus.answered, answered_at=now, answer=answer[:200])
    )


def time_out_commands(session: Session, *, now: datetime, timeout: timedelta) -> int:
    """Commands sent and not answered in time; returns how many."""
    result = session.execute(
        sa.update(DeviceCommand)
        .where(col(DeviceCommand.status) == CommandStatus.sent, col(DeviceCommand.sent_at) < now - timeout)
        .values(status=CommandStatus.timed_out)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]
