"""Ingesting readings: validate, drop duplicates, store, evaluate the rules - in one transaction.

A 2xx answer means the reading is committed. The batch answers item by item: one bad reading
never costs the others.
"""

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from pydantic import ValidationError
from sqlmodel import Session, col, select

from carecenter import metrics
from carecenter.access import Actor
from carecenter.alerts import rules
from carecenter.alerts.assess import Assessor, RuleSubject, lock_subjects, remembered_subjects
from carecenter.alerts.models import Alert
from carecenter.devices.models import DeviceKind
from carecenter.devices.service import UNKNOWN_DEVICE_KEY, require_key
from carecenter.errors import NotAuthenticated, NotFound
from carecenter.ingest import bulk
from carecenter.ingest.fast import ItemAnswer, Valid, validate_reading
from carecenter.ingest.sightings import Sighting
from carecenter.ingest.targets import Target, targets_by_key, targets_by_serial
from carecenter.messaging.outbound import AlertMessaging
from carecenter.pagination import Page, PageParams, paginate
from carecenter.readings.models import (
    CheckinAnswer,
    CheckinResult,
    Reading,
    ReadingKind,
)
from carecenter.residents.models import Resident

# Readings an alert opens for at once: the check-in writer stores them first, the assessor reads
# their residents together.
URGENT_KINDS = (ReadingKind.sos, ReadingKind.fall)
MAX_FUTURE = timedelta(minutes=5)
MAX_AGE = timedelta(days=7)


@dataclass
class Rejected(Exception):
    reason: str


@dataclass
class _Accepted:
    """A valid reading of a known device, waiting to be stored and assessed."""

    index: int
    item: Valid
    device: Target


@dataclass
class Ingested:
    """An answer per post, in order, and the devices' last sign of life for the caller to hand
    to the check-in writer's `note_seen` once the transaction has committed (with `stored`)."""

    answers: list[ItemAnswer]
    seen: list[Sighting]
    stored: bool  # some reading was new: its roll-ups wait to be added to the hourly table


def ingest(
    *, session: Session, messaging: AlertMessaging, posts: Sequence[tuple[Target, Any]], now: datetime
) -> Ingested:
    """Store and evaluate readings, each with the device whose key posted it.

    Set-wise, so that a batch of 1,000 costs a handful of statements: the devices in one query,
    the residents locked in one (in id order), the readings in one multi-row INSERT … ON CONFLICT
    DO NOTHING, the rule state once; the rules run in memory in the order the readings came.
    """
    answers: dict[int, ItemAnswer] = {}
    valid: list[tuple[int, Valid]] = []
    for index, (_, raw) in enumerate(posts):
        try:
            valid.append((index, _validate(raw, now)))
        except (ValidationError, Rejected) as exc:
            reason = _explain(exc) if isinstance(exc, ValidationError) else exc.reason
            answers[index] = ItemAnswer(
                index=index, event_id=_echoed_event_id(raw), result=CheckinResult.rejected, reason=reason
            )
    named = {item.device for index, item in valid if item.device and posts[index][0].kind == DeviceKind.gateway}
    devices = targets_by_serial(session, named)
    accepted: list[_Accepted] = []
    for index, item in valid:
        try:
            accepted.append(_Accepted(index, item, _target_device(posts[index][0], item.device, devices)))
        except Rejected as exc:
            answers[index] = ItemAnswer(
                index=index, event_id=item.event_id, result=CheckinResult.rejected, reason=exc.reason
            )
    residents = [a.device.resident_id for a in accepted if a.device.resident_id is not None]
    if len(accepted) >= bulk.COPY_FROM and session.get_bind().dialect.name == "postgresql":
        stored, subjects = _store_then_lock(session, accepted, residents, now)
    else:
        subjects = lock_subjects(session, residents)
        stored = _store(session, accepted, subjects, now)
    pressed = {a.device.resident_id for a in accepted if a.item.kind in URGENT_KINDS}
    assessor = Assessor(session, messaging, subjects.values(), now, pressed=[r for r in subjects if r in pressed])
    seen: dict[int, Valid] = {}
    via: dict[int, int] = {}  # device -> the gateway its readings came through
    assessed: list[tuple[int, str, int, Alert | None]] = []  # answered once the alerts are open
    for reading in accepted:
        item, device = reading.item, reading.device
        reading_id = stored.pop((device.id, item.event_id), None)  # popped: a repeat in the batch is a duplicate
        if reading_id is None:
            answers[reading.index] = ItemAnswer(
                index=reading.index, event_id=item.event_id, result=CheckinResult.duplicate
            )
            continue
        if device.id not in seen or item.recorded_at > seen[device.id].recorded_at:
            seen[device.id] = item
        poster = posts[reading.index][0]
        if poster.kind == DeviceKind.gateway:
            via[device.id] = poster.id
        alert = None
        subject = subjects.get(device.resident_id) if device.resident_id is not None else None
        if subject is not None:
            alert = assessor.assess(subject, _facts(item, subject), device_id=device.id)
        assessed.append((reading.index, item.event_id, reading_id, alert))
    assessor.finish()  # the new alerts have their ids from here on
    for index, event_id, reading_id, alert in assessed:
        answers[index] = ItemAnswer(
            index=index,
            event_id=event_id,
            result=CheckinResult.accepted,
            reading_id=reading_id,
            alert_id=alert.id if alert else None,
        )
    sightings = [Sighting(device, item.recorded_at, item.battery_pct, via.get(device)) for device, item in seen.items()]
    # A device's first reading marks it seen in its own transaction: "never reported" (which lets
    # a device be deleted) stays exact. Every later one is written within the second.
    first = {a.device.id for a in accepted if a.device.never_seen}
    bulk.touch_devices(session, [s for s in sightings if s.device_id in first])
    later = [s for s in sightings if s.device_id not in first]
    return Ingested(answers=[answers[index] for index in range(len(posts))], seen=later, stored=bool(seen))


def _echoed_event_id(raw: Any) -> str | None:
    """A refused reading's event_id as its answer repeats it: text, with what UTF-8 cannot carry
    (half a surrogate pair, which JSON can spell) shown as '?'."""
    event_id = raw.get("event_id") if isinstance(raw, dict) else None
    return str(event_id).encode("utf-8", "replace").decode() if event_id else None


def count_committed(answers: Sequence[ItemAnswer]) -> None:
    """Count the outcomes in /metrics; called after the commit, so that a rolled-back batch is not counted."""
    for result, count in Counter(a.result for a in answers).items():
        metrics.READINGS.labels(result.value).inc(count)


def _validate(raw: Any, now: datetime) -> Valid:
    item = validate_reading(raw)
    if item.recorded_at > now + MAX_FUTURE:
        raise Rejected("recorded_at: more than 5 minutes in the future; check the device clock")
    if item.recorded_at < now - MAX_AGE:
        raise Rejected("recorded_at: more than 7 days old")
    return item


def poster_of(session: Session, key: str | None) -> Target:
    """The device (or gateway) a key belongs to; 401 for a missing, unknown or revoked key."""
    key = require_key(key)
    poster = targets_by_key(session, {key}).get(key)
    if poster is None:
        raise NotAuthenticated(UNKNOWN_DEVICE_KEY)
    return poster


def _target_device(poster: Target, serial: str | None, devices: dict[str, Target]) -> Target:
    """Which device a reading is for: the poster itself, or (for a gateway) one of its center's."""
    if poster.kind != DeviceKind.gateway:
        if serial is not None and serial != poster.serial:
            raise Rejected(f"this key posts only for device {poster.serial}")
        return poster
    if serial is None:
        raise Rejected("device: a gateway must name the device (its serial)")
    device = devices.get(serial)
    if device is None or device.center_id != poster.center_id or device.kind == DeviceKind.gateway:
        raise Rejected(f"device {serial!r} is not registered in this gateway's center")
    if device.revoked_at is not None:
        raise Rejected(f"device {serial!r} has been revoked")
    return device


def _store(
    session: Session, accepted: list[_Accepted], subjects: dict[int, RuleSubject], now: datetime
) -> dict[bulk.Key, int]:
    """Insert the batch unless already stored; the new rows' ids by (device, event_id)."""
    rows: list[bulk.Row] = []
    for reading in accepted:
        device, item = reading.device, reading.item
        subject = subjects.get(device.resident_id) if device.resident_id is not None else None
        # PIPL: without consent, health values and locations are not kept (SOS and falls still work).
        rows.append(
            bulk.device_row(
                (device.id, device.resident_id, device.center_id, str(item.kind), "device", now),
                item,
                health=subject is not None and subject.consent_health_data,
                place=subject is not None and subject.consent_location_data,
            )
        )
    return bulk.insert_new(session, rows)


def _store_then_lock(
    session: Session, accepted: list[_Accepted], residents: list[int], now: datetime
) -> tuple[dict[bulk.Key, int], dict[int, RuleSubject]]:
    """Store a big batch, then lock its residents for the rules: the lock is held while the rules
    run and the transaction commits, not while the rows are written, so batches for the same
    residents (every two batches of 1,000, in a district) overlap instead of queueing.

    What a reading keeps depends on its resident's consent, known here from what the process
    last read. Should the lock find it different, the rows are written again under the lock:
    rolled back to before they were written, which lets the locks taken since go too, so the
    residents are locked again first."""
    unlocked = remembered_subjects(session, residents)
    savepoint = session.begin_nested()
    stored = _store(session, accepted, unlocked, now)
    subjects = lock_subjects(session, residents)
    if _same_consents(subjects, unlocked):
        savepoint.commit()
        return stored, subjects
    savepoint.rollback()
    subjects = lock_subjects(session, residents)
    return _store(session, accepted, subjects, now), subjects


def _same_consents(locked: dict[int, RuleSubject], remembered: dict[int, RuleSubject]) -> bool:
    """Whether the same residents gave the same consents (an unchanged resident is the same object)."""
    if locked.keys() != remembered.keys():
        return False
    for id_, subject in locked.items():
        other = remembered[id_]
        if subject is not other and (subject.consent_health_data, subject.consent_location_data) != (
            other.consent_health_data,
            other.consent_location_data,
        ):
            return False
    return True


def _facts(item: Valid, subject: RuleSubject) -> rules.ReadingFacts:
    """What the rules may look at: vitals and places only with the resident's consent. (Field by
    field: built a thousand times a batch, where a comprehension per reading cost more.)"""
    health, place = subject.consent_health_data, subject.consent_location_data
    return rules.ReadingFacts(
        kind=item.kind,
        recorded_at=item.recorded_at,
        heart_rate=item.heart_rate if health else None,
        spo2=item.spo2 if health else None,
        systolic=item.systolic if health else None,
        diastolic=item.diastolic if health else None,
        temperature=item.temperature if health else None,
        latitude=item.latitude if place else None,
        longitude=item.longitude if place else None,
        accuracy_m=item.accuracy_m if place else None,
        battery_pct=item.battery_pct,
    )


def _explain(exc: ValidationError) -> str:
    parts = []
    for error in exc.errors()[:5]:
        where = ".".join(str(p) for p in error["loc"]) or "reading"
        parts.append(f"{where}: {error['msg']}")
    return "; ".join(parts)


def as_single(answer: ItemAnswer) -> CheckinAnswer:
    return CheckinAnswer(
        result=answer.result,
        event_id=answer.event_id,
        reading_id=answer.reading_id,
        alert_id=answer.alert_id,
        reason=answer.reason,
    )


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
