"""Ingesting readings: validate, drop duplicates, store, evaluate the rules - in one transaction.

A 2xx answer means the reading is committed. The batch answers item by item: one bad reading
never costs the others.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from pydantic import ValidationError
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col, select

from carecenter.access import Actor
from carecenter.alerts import rules
from carecenter.alerts.notify import AlertMessaging
from carecenter.alerts.service import apply_evaluation, load_rule_state, lock_resident, resident_facts
from carecenter.alerts.thresholds import effective_thresholds
from carecenter.centers.models import Center
from carecenter.devices.models import Device, DeviceKind
from carecenter.errors import NotFound
from carecenter.pagination import Page, PageParams, paginate
from carecenter.readings.models import (
    LOCATION_FIELDS,
    VITAL_FIELDS,
    BatchItemAnswer,
    CheckinAnswer,
    CheckinResult,
    Reading,
    ReadingIn,
)
from carecenter.residents.models import Resident

MAX_FUTURE = timedelta(minutes=5)
MAX_AGE = timedelta(days=7)


@dataclass
class Rejected(Exception):
    reason: str


def _target_device(session: Session, poster: Device, serial: str | None, cache: dict[str, Device]) -> Device:
    """Which device a reading is for: the poster itself, or (for a gateway) one of its center's."""
    if poster.kind != DeviceKind.gateway:
        if serial is not None and serial != poster.serial:
            raise Rejected(f"this key posts only for device {poster.serial}")
        return poster
    if serial is None:
        raise Rejected("device: a gateway must name the device (its serial)")
    if serial not in cache:
        device = session.exec(select(Device).where(Device.serial == serial)).first()
        if device is None or device.center_id != poster.center_id or device.kind == DeviceKind.gateway:
            raise Rejected(f"device {serial!r} is not registered in this gateway's center")
        cache[serial] = device
    if cache[serial].revoked_at is not None:
        raise Rejected(f"device {serial!r} has been revoked")
    return cache[serial]


def _store(session: Session, device: Device, resident: Resident | None, item: ReadingIn, now: datetime) -> int | None:
    """INSERT … ON CONFLICT (device, event_id) DO NOTHING; the new id, or None for a duplicate."""
    values: dict[str, Any] = item.model_dump(exclude={"device"})
    # PIPL: without consent, health values and locations are not kept (SOS and falls still work).
    if resident is None or not resident.consent_health_data:
        values.update(dict.fromkeys(set(VITAL_FIELDS) & values.keys()))
    if resident is None or not resident.consent_location_data:
        values.update(dict.fromkeys(LOCATION_FIELDS))
    values.update(device_id=device.id, resident_id=device.resident_id, center_id=device.center_id, received_at=now)
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    stmt = (
        insert(Reading)
        .values(**values)
        .on_conflict_do_nothing(index_elements=["device_id", "event_id"])
        .returning(Reading.__table__.c.id)  # type: ignore[attr-defined]
    )
    reading_id: int | None = session.execute(stmt).scalar()
    return reading_id


def ingest(
    *, session: Session, messaging: AlertMessaging, poster: Device, items: list[dict[str, Any]], now: datetime
) -> list[BatchItemAnswer]:
    """Store and evaluate readings posted with one device key; an answer per item, in order."""
    answers: list[BatchItemAnswer] = []
    devices: dict[str, Device] = {}
    residents = _lock_residents_in_order(session, poster, items, devices)
    for index, raw in enumerate(items):
        event_id = raw.get("event_id") if isinstance(raw, dict) else None
        try:
            item = ReadingIn.model_validate(raw)
            answers.append(_ingest_one(session, messaging, poster, item, devices, residents, now, index))
        except ValidationError as exc:
            answers.append(
                BatchItemAnswer(
                    index=index,
                    event_id=str(event_id) if event_id else None,
                    result=CheckinResult.rejected,
                    reason=_explain(exc),
                )
            )
        except Rejected as exc:
            answers.append(
                BatchItemAnswer(index=index, event_id=str(event_id), result=CheckinResult.rejected, reason=exc.reason)
            )
    return answers


def _lock_residents_in_order(
    session: Session, poster: Device, items: list[Any], devices: dict[str, Device]
) -> dict[int, Resident]:
    """Lock every resident the batch touches, in id order, before any write.

    Two batches (or a batch and a sweep) that lock the same residents in different orders would
    deadlock on PostgreSQL; one order for everyone makes the later one wait instead.
    """
    resident_ids: set[int] = set()
    for raw in items:
        serial = raw.get("device") if isinstance(raw, dict) else None
        try:
            device = _target_device(session, poster, serial if isinstance(serial, str) else None, devices)
        except Rejected:
            continue  # answered as rejected when the item itself is processed
        if device.resident_id is not None:
            resident_ids.add(device.resident_id)
    if not resident_ids:
        return {}
    locked = session.exec(
        select(Resident).where(col(Resident.id).in_(sorted(resident_ids))).order_by(col(Resident.id)).with_for_update()
    ).all()
    return {r.id: r for r in locked if r.id is not None}


def _ingest_one(
    session: Session,
    messaging: AlertMessaging,
    poster: Device,
    item: ReadingIn,
    devices: dict[str, Device],
    residents: dict[int, Resident],
    now: datetime,
    index: int,
) -> BatchItemAnswer:
    if item.recorded_at > now + MAX_FUTURE:
        raise Rejected("recorded_at: more than 5 minutes in the future; check the device clock")
    if item.recorded_at < now - MAX_AGE:
        raise Rejected("recorded_at: more than 7 days old")
    device = _target_device(session, poster, item.device, devices)
    resident = None
    if device.resident_id is not None:  # locked with the whole batch, in id order
        resident = residents.get(device.resident_id) or lock_resident(session, device.resident_id)
    reading_id = _store(session, device, resident, item, now)
    if reading_id is None:
        return BatchItemAnswer(index=index, event_id=item.event_id, result=CheckinResult.duplicate)
    if device.last_seen_at is None or item.recorded_at > device.last_seen_at:
        device.last_seen_at = item.recorded_at
        if item.battery_pct is not None:
            device.battery_pct = item.battery_pct
        session.add(device)
    alert_id = None
    if resident is not None and resident.id is not None:
        center = session.get(Center, resident.center_id)
        assert center is not None
        facts = rules.ReadingFacts(
            kind=item.kind,
            recorded_at=item.recorded_at,
            **{f: getattr(item, f) for f in ("heart_rate", "spo2", "systolic", "diastolic", "temperature")}
            if resident.consent_health_data
            else {},
            **{f: getattr(item, f) for f in ("latitude", "longitude")} if resident.consent_location_data else {},
            battery_pct=item.battery_pct,
        )
        evaluation = rules.evaluate(
            facts,
            effective_thresholds(center.alert_thresholds, resident.alert_thresholds),
            resident_facts(resident),
            load_rule_state(session, resident.id),
        )
        alert = apply_evaluation(
            session, messaging, resident=resident, center=center, evaluation=evaluation, now=now, device_id=device.id
        )
        alert_id = alert.id if alert else None
    return BatchItemAnswer(
        index=index, event_id=item.event_id, result=CheckinResult.accepted, reading_id=reading_id, alert_id=alert_id
    )


def _explain(exc: ValidationError) -> str:
    parts = []
    for error in exc.errors()[:5]:
        where = ".".join(str(p) for p in error["loc"]) or "reading"
        parts.append(f"{where}: {error['msg']}")
    return "; ".join(parts)


def as_single(answer: BatchItemAnswer) -> CheckinAnswer:
    return CheckinAnswer.model_validate(answer.model_dump(exclude={"index"}))


def list_readings(
    *,
    session: Session,
    actor: Actor,
    resident_id: int,
    page: PageParams,
    since: datetime | None = None,
    until: datetime | None = None,
    kind: str | None = None,
) -> Page[Reading]:
    """A resident's readings, newest first (for charts)."""
    resident = session.get(Resident, resident_id)
    if resident is None or not actor.sees_center(resident.center_id):
        raise NotFound("resident not found")
    stmt = select(Reading).where(Reading.resident_id == resident_id)
    if since is not None:
        stmt = stmt.where(col(Reading.recorded_at) >= since)
    if until is not None:
        stmt = stmt.where(col(Reading.recorded_at) < until)
    if kind is not None:
        stmt = stmt.where(Reading.kind == kind)
    return paginate(session, stmt.order_by(col(Reading.recorded_at).desc(), col(Reading.id).desc()), page)
