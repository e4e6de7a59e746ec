"""The devices readings are for, as ingestion reads them, kept in the process while no device changes.

A gateway's batch of 1,000 readings names ~900 devices: reading them was a query of 1,000
serials and a thousand rows built in Python for every batch (~6 µs a reading, PostgreSQL's share
included). What ingestion reads of a device (`Target`: its id, serial, center, resident, kind and
revocation, and its key) changes only when someone registers, edits, revokes or deletes a device,
and each such statement adds one to a number in the database (`device_facts_version`, by a
trigger on `device`: migration 0027, both databases). Every lookup reads that number first (one
row) and forgets what it knew when it moved, so a change committed by any process is seen by the
next lookup of every process; rows read after the number are never older than it. The devices'
last sign of life and connection bookkeeping change other columns, which the trigger leaves alone.

A device not seen yet is read every time (its first reading marks it seen in the reading's own
transaction, which `never_seen` decides); seen is for ever, so a seen device's facts are kept.
Unknown serials and keys are read every time as well (a prober's guesses are never kept).
"""

import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, NamedTuple

import sqlalchemy as sa
from sqlmodel import Session, col

from carecenter.db import PerDialect, among_parameter
from carecenter.devices.models import DEVICE_FACTS_VERSION, Device
from carecenter.devices.service import key_hash


class Target(NamedTuple):
    """The device a reading is for: the columns ingestion reads (a tuple: a batch builds a
    thousand)."""

    id: int
    serial: str
    center_id: int
    resident_id: int | None
    kind: str
    revoked_at: datetime | None
    never_seen: bool  # no reading stored yet


TARGET_COLUMNS = [
    *(col(getattr(Device, name)) for name in ("id", "serial", "center_id", "resident_id", "kind", "revoked_at")),
    col(Device.last_seen_at).is_(None).label("never_seen"),
]
_VERSION = sa.text(f"SELECT version FROM {DEVICE_FACTS_VERSION}")  # noqa: S608 (our own name)


def _by(name: str) -> PerDialect[sa.Select[Any]]:
    return PerDialect(
        lambda dialect: sa.select(*TARGET_COLUMNS, col(Device.key_hash)).where(
            among_parameter(col(getattr(Device, name)), "values", dialect)
        )
    )


_QUERIES = {name: _by(name) for name in ("id", "serial", "key_hash")}  # the columns devices are looked up by


@dataclass
class _Known:
    """What one process knows of one database's devices at one version of their facts."""

    version: int | None
    by_id: dict[int, Target] = field(default_factory=dict)
    id_of_serial: dict[str, int] = field(default_factory=dict)
    id_of_key: dict[str, int] = field(default_factory=dict)  # by key hash

    def add(self, rows: Sequence[sa.Row[Any]]) -> None:
        for row in rows:
            if row.never_seen:
                continue
            self.by_id[row.id] = Target(*row[: len(TARGET_COLUMNS)])
            self.id_of_serial[row.serial] = row.id
            self.id_of_key[row.key_hash] = row.id


_KNOWN: dict[str, _Known] = {}  # by database URL
_LOCK = threading.Lock()  # request threads look devices up at once


def _known(session: Session) -> _Known:
    """What this process knows at the database's current version of the devices' facts."""
    connection = session.connection()
    version = connection.execute(_VERSION).scalar()
    url = connection.engine.url.render_as_string(hide_password=True)
    with _LOCK:
        known = _KNOWN.get(url)
        if known is None or version is None or known.version != version:
            known = _Known(version)
            _KNOWN[url] = known
        return known


def _look_up(session: Session, wanted: set[Any], by: str) -> dict[Any, Target]:
    """The targets by the wanted ids, serials or key hashes (`by`: the column), from what is
    known at the current version, reading the rest in one query."""
    known = _known(session)
    id_of = None if by == "id" else known.id_of_serial if by == "serial" else known.id_of_key
    found: dict[Any, Target] = {}
    missing: list[Any] = []
    for value in wanted:
        target = known.by_id.get(value if id_of is None else id_of.get(value, 0))
        if target is None:
            missing.append(value)
        else:
            found[value] = target
    if missing:
        rows = session.connection().execute(_QUERIES[by](session), {"values": missing}).all()
        with _LOCK:
            known.add(rows)
        found.update((getattr(row, by), Target(*row[: len(TARGET_COLUMNS)])) for row in rows)
    return found


def targets_by_key(session: Session, keys: set[str]) -> dict[str, Target]:
    """The devices these keys belong to; unknown and revoked keys are left out."""
    if not keys:
        return {}
    by_hash = {key_hash(key): key for key in keys}
    found = _look_up(session, set(by_hash), "key_hash")
    return {by_hash[hash_]: target for hash_, target in found.items() if target.revoked_at is None}


def targets_by_id(session: Session, ids: set[int]) -> dict[int, Target]:
    """Devices known by id (a watch the listener identified), unless revoked."""
    if not ids:
        return {}
    return {id_: target for id_, target in _look_up(session, ids, "id").items() if target.revoked_at is None}


def targets_by_serial(session: Session, serials: set[str]) -> dict[str, Target]:
    """The devices gateways' readings name, revoked ones included (their readings are refused
    with that reason)."""
    if not serials:
        return {}
    return _look_up(session, serials, "serial")
