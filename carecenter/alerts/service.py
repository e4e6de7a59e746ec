"""Alerts: opening or folding drafts, escalating step by step, acknowledging, closing.

The escalation state lives on the alert row (`escalation_steps_done`, `reminders_sent`,
`next_escalation_at`); each sweep locks the due alerts, runs one stage each and records when
the next is due, so a restart loses nothing and a sweep run twice pages nobody twice.
"""

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import update
from sqlmodel import Session, col, func, select

from carecenter.access import Actor, Role
from carecenter.alerts import escalation, outages
from carecenter.alerts.models import (
    ACTIVE_STATUSES,
    Alert,
    AlertEvent,
    AlertKind,
    AlertStatus,
    Channel,
    EscalationPolicyData,
    Incident,
    Severity,
)
from carecenter.alerts.notify import Page, page, page_all, tell_outcome
from carecenter.alerts.policy import policy_for
from carecenter.alerts.responders import nearest_worker
from carecenter.alerts.rules import (
    AlertDraft,
    ResidentFacts,
    is_silent,
    silent_severity,
)
from carecenter.centers.models import Center
from carecenter.db import among
from carecenter.devices.models import MIN_REPORTING_INTERVAL_SECONDS, Device, DeviceKind
from carecenter.devices.profiles import shortest_silence_limit, silence_limits
from carecenter.errors import Conflict, InvalidField
from carecenter.messaging.outbound import AlertMessaging
from carecenter.messaging.recipients import (
    Recipient,
    RecipientRef,
    family_recipient,
    first_per_phone,
    reachable_family,
    resolve_groups_of,
    staff_recipient,
)
from carecenter.readings.models import Reading, ReadingKey
from carecenter.residents.models import LivingSituation, Resident, ResidentStatus
from carecenter.staff.models import Staff
from carecenter.thresholds import effective_thresholds, silence_grace
from carecenter.words import VALUE_NAMES, alert_kind_name
from carecommon.i18n import Word
from notifications.models import MessageChannel, SmsMessage
from notifications.outbox import cancel_queued_calls
from notifications.templates import render


def add_event(
    session: Session,
    alert: Alert,
    kind: str,
    now: datetime,
    *,
    detail: str = "",
    staff_id: int | None = None,
    channel: Channel | None = None,
) -> None:
    assert alert.id is not None
    session.add(
        AlertEvent(alert_id=alert.id, at=now, kind=kind, detail=detail[:300], staff_id=staff_id, channel=channel)
    )


def mark_unverified_alerts(session: Session, device_id: int, at: datetime, detail: str) -> int:
    """Say on the alerts a device's readings just opened or joined that they came from a connection that took
    over the device's id from another address (unverified); returns how many."""
    alerts = session.exec(select(Alert).where(Alert.device_id == device_id, col(Alert.last_triggered_at) >= at)).all()
    for alert in alerts:
        add_event(session, alert, "unverified_source", at, detail=f"unverified connection: {detail}")
    return len(alerts)


def resident_facts(resident: Resident) -> ResidentFacts:
    home = None
    if resident.consent_location_data and resident.latitude is not None and resident.longitude is not None:
        home = (resident.latitude, resident.longitude)
    return ResidentFacts(
        living_alone=resident.living_situation == LivingSituation.alone,
        wander_risk=resident.wander_risk,
        home=home,
        watch_removed_alert=resident.watch_removed_alert,
    )


def lock_resident(session: Session, resident_id: int) -> Resident:
    """The resident row, locked for this transaction: alerts of one resident open one at a time.
    `FOR NO KEY UPDATE` (as ingestion locks them): the readings stored for the resident meanwhile
    check their foreign key with a lock this one does not block."""
    return lock_residents(session, [resident_id])[resident_id]


def lock_residents(session: Session, resident_ids: Sequence[int]) -> dict[int, Resident]:
    """Residents locked as `lock_resident` locks one, in one statement (in id order); those that
    do not exist are absent."""
    locked = (
        select(Resident)
        .where(col(Resident.id).in_(sorted(set(resident_ids))))
        .order_by(col(Resident.id))
        .with_for_update(key_share=True)
    )
    return {resident.id: resident for resident in session.exec(locked) if resident.id is not None}


def lock_alert(session: Session, alert_id: int | None) -> Alert | None:
    """The alert row, locked for this transaction (two answers to one alert apply one after the other)."""
    if alert_id is None:
        return None
    return session.exec(select(Alert).where(Alert.id == alert_id).with_for_update()).first()


def active_alert(session: Session, resident_id: int, kind: str) -> Alert | None:
    return session.exec(
        select(Alert).where(
            Alert.resident_id == resident_id, Alert.kind == kind, col(Alert.status).in_(ACTIVE_STATUSES)
        )
    ).first()


# -- opening ------------------------------------------------------------------------------------
def raise_alert(
    session: Session,
    messaging: AlertMessaging,
    *,
    resident: Resident,
    center: Center,
    draft: AlertDraft,
    now: datetime,
    device_id: int | None = None,
    reading: dict[str, Any] | None = None,
    incident: Incident | None = None,
) -> Alert:
    """Open an alert, or fold the draft into the active one of the same kind (no new SMS).

    Under an `incident` (an outage) the alert is held: listed, not paged, until the incident closes.

    `reading` is the triggering reading as the alert keeps it (`ReadingFacts.as_record`).

    A new alert's first step is queued in the caller's transaction, unless a fall waits out
    the center's cancel window; the escalation sweep runs it then.
    """
    assert resident.id is not None and center.id is not None
    existing = active_alert(session, resident.id, draft.kind)
    if existing is not None:
        existing.trigger_count += 1
        existing.last_triggered_at, existing.last_value = now, draft.value
        existing.last_reading = reading or existing.last_reading
        session.add(existing)
        if device_id is not None and device_id != existing.device_id:  # another device saw it too: one alert
            other = session.get(Device, device_id)
            add_event(
                session, existing, "joined", now, detail=f"{other.serial if other else device_id}: {draft.value or ''}"
            )
        return existing
    opening = Opening(resident, center, draft, now, device_id=device_id, reading=reading, incident=incident)
    return open_alerts(session, messaging, [opening], now=now)[0]


@dataclass(frozen=True)
class Opening:
    """A new alert for a resident the caller has locked and knows has none of its kind active
    (held, not paged, under an `incident`). `alert` is the row it will be, built at once: its id
    comes with `open_alerts`' INSERT."""

    resident: Resident
    center: Center
    draft: AlertDraft
    now: datetime
    device_id: int | None = None
    reading: dict[str, Any] | None = None
    incident: Incident | None = None
    alert: Alert = field(init=False)

    def __post_init__(self) -> None:
        row = _new_alert(
            self.resident, self.center, self.draft, self.now, device_id=self.device_id,
            reading=self.reading, incident=self.incident,
        )  # fmt: skip
        object.__setattr__(self, "alert", row)


def open_alerts(
    session: Session,
    messaging: AlertMessaging,
    openings: Sequence[Opening],
    *,
    now: datetime,
) -> list[Alert]:
    """Open new alerts (`raise_alert`'s new case for several, a burst of SOS): their rows in one
    INSERT, their first steps' recipients, links and messages set-wise (`page_all`)."""
    if not openings:
        return []
    alerts: list[Alert] = []
    staged: list[_Staged] = []
    informed: list[Page] = []
    policies: dict[int, EscalationPolicyData] = {}
    waits: list[tuple[Alert, int]] = []
    for opening in openings:
        resident, center, draft, alert = opening.resident, opening.center, opening.draft, opening.alert
        assert center.id is not None
        alerts.append(alert)
        if opening.incident is not None:
            continue
        if draft.severity == Severity.info:  # tell the care worker once; nothing escalates
            worker = session.get(Staff, resident.primary_worker_id) if resident.primary_worker_id else None
            recipients = [staff_recipient(worker)] if worker is not None and worker.active else []
            informed.append(Page(alert, resident, center, recipients, stage="info", reminder=False))
            continue
        if center.id not in policies:
            policies[center.id] = policy_for(session, center.id)
        policy = policies[center.id]
        # Everything the row will hold is set before its INSERT: the first step's counters too.
        wait = policy.fall_cancel_seconds if draft.kind == AlertKind.fall else 0
        alert.escalation_started_at = now + timedelta(seconds=wait)
        alert.next_escalation_at = alert.escalation_started_at
        if wait == 0:
            staged.append(_Staged(alert, resident, center, policy, _advance(alert, policy)))
        else:
            waits.append((alert, wait))
    session.add_all(alerts)
    session.flush()  # on PostgreSQL one INSERT … RETURNING for all of them
    for alert, opening in zip(alerts, openings, strict=True):
        add_event(session, alert, "opened", now, detail=_opened(opening.draft))
        if opening.incident is not None:
            add_event(session, alert, "held", now, detail=_held(opening.incident))
    for alert, wait in waits:
        add_event(session, alert, "waiting", now, detail=f"{wait} s for the OK button to cancel")
    page_all(session, messaging, informed, now=now, fresh=True)
    _page_stages(session, messaging, staged, now=now, fresh=True)
    return alerts


def _new_alert(
    resident: Resident,
    center: Center,
    draft: AlertDraft,
    now: datetime,
    *,
    device_id: int | None,
    reading: dict[str, Any] | None,
    incident: Incident | None,
) -> Alert:
    assert resident.id is not None and center.id is not None
    return Alert(
        center_id=center.id,
        resident_id=resident.id,
        device_id=device_id,
        kind=draft.kind,
        severity=draft.severity,
        status=AlertStatus.open,
        opened_at=now,
        last_triggered_at=now,
        last_value=draft.value,
        first_reading=reading,
        last_reading=reading,
        incident_id=incident.id if incident is not None else None,
    )


def _opened(draft: AlertDraft) -> str:
    return f"{draft.kind} ({draft.severity}) {draft.value or ''}".strip()


def _held(incident: Incident) -> str:
    return f"under incident #{incident.id}: many devices silent at once"


def _hold_silences(session: Session, messaging: AlertMessaging, silences: list[Opening], now: datetime) -> None:
    """`raise_alert`'s held case for many silences at once (their residents locked by the caller):
    new alerts under their incidents through `open_alerts`; a resident whose silence alert is
    still active has it joined, one by one, as `raise_alert` does."""
    if not silences:
        return
    residents = [s.resident.id for s in silences]
    active: set[int] = set(
        session.exec(
            select(Alert.resident_id).where(
                col(Alert.resident_id).in_(residents),
                Alert.kind == AlertKind.device_silent,
                col(Alert.status).in_(ACTIVE_STATUSES),
            )
        )
    )
    new: list[Opening] = []
    joining: list[Opening] = []  # an active one, or a second device of a resident opened here
    for silence in silences:
        if (silence.resident.id or 0) in active:
            joining.append(silence)
            continue
        active.add(silence.resident.id or 0)
        new.append(silence)
    open_alerts(session, messaging, new, now=now)
    for silence in joining:
        raise_alert(
            session, messaging, resident=silence.resident, center=silence.center, draft=silence.draft, now=now,
            device_id=silence.device_id, incident=silence.incident,
        )  # fmt: skip


# -- escalation ---------------------------------------------------------------------------------
def run_stage(
    session: Session,
    messaging: AlertMessaging,
    *,
    alert: Alert,
    resident: Resident,
    center: Center,
    now: datetime,
) -> None:
    """Page the next stage's recipients and record when the one after is due."""
    assert center.id is not None
    policy = policy_for(session, center.id)
    stage = _advance(alert, policy)
    _page_stages(session, messaging, [_Staged(alert, resident, center, policy, stage)], now=now)


def _advance(alert: Alert, policy: EscalationPolicyData) -> escalation.Stage:
    """The stage to run now, counted on the alert with when the one after it is due."""
    assert alert.escalation_started_at is not None
    stage = escalation.next_stage(policy, alert.escalation_steps_done, alert.reminders_sent)
    if stage.is_reminder:
        alert.reminders_sent += 1
    else:
        alert.escalation_steps_done += 1
    alert.next_escalation_at = escalation.due_at(
        policy, alert.escalation_started_at, alert.escalation_steps_done, alert.reminders_sent
    )
    return stage


@dataclass(frozen=True)
class _Staged:
    """An alert whose stage `stage` of its center's `policy` is to be paged now."""

    alert: Alert
    resident: Resident
    center: Center
    policy: EscalationPolicyData
    stage: escalation.Stage


def _page_stages(
    session: Session, messaging: AlertMessaging, staged: Sequence[_Staged], *, now: datetime, fresh: bool = False
) -> None:
    """Page each stage's recipients (and, for an emergency's first step, the nearest care worker);
    `fresh`: the alerts were opened in this transaction, so nobody has a link to them yet."""
    # Only SOS and falls wake people.
    calling = [item.stage.call if item.alert.severity == Severity.critical else () for item in staged]
    wanted = [
        (item.resident, item.center, item.stage.recipients + calls) for item, calls in zip(staged, calling, strict=True)
    ]
    pages: list[Page] = []
    for item, calls, by_group in zip(staged, calling, resolve_groups_of(session, wanted, now=now), strict=True):
        alert, stage = item.alert, item.stage
        recipients = first_per_phone(person for group in stage.recipients for person in by_group[group])
        called = {person.phone for group in calls for person in by_group[group]}
        distances: dict[str, int] = {}
        if stage.name == "s1" and alert.kind in (AlertKind.sos, AlertKind.fall):
            nearby = _page_nearest(
                session, alert=alert, resident=item.resident, center=item.center, policy=item.policy, now=now
            )
            if nearby is not None:
                recipient, distance = nearby
                recipients += [recipient] if recipient.phone not in {r.phone for r in recipients} else []
                distances[recipient.phone] = distance
                called.add(recipient.phone)
        pages.append(
            Page(alert, item.resident, item.center, recipients, stage.name, stage.is_reminder, called, distances)
        )
    page_all(session, messaging, pages, now=now, fresh=fresh)
    for item, paged in zip(staged, pages, strict=True):
        names = ", ".join(str(r.ref) for r in paged.recipients) or "nobody reachable"
        add_event(
            session,
            item.alert,
            "reminder" if item.stage.is_reminder else "escalated",
            now,
            detail=f"{item.stage.name}: {', '.join(item.stage.recipients)} -> {names}",
        )
        session.add(item.alert)


def _page_nearest(
    session: Session,
    *,
    alert: Alert,
    resident: Resident,
    center: Center,
    policy: EscalationPolicyData,
    now: datetime,
) -> tuple[Recipient, int] | None:
    """The care worker working closest to the resident's home, if within the center's distance:
    recorded on the alert (for the figures) and its timeline (why they were paged)."""
    if not policy.nearest_responder_m or resident.latitude is None or resident.longitude is None:
        return None
    assert center.id is not None
    nearby = nearest_worker(
        session,
        center_id=center.id,
        home=(resident.latitude, resident.longitude),
        now=now,
        within_m=policy.nearest_responder_m,
    )
    worker = session.get(Staff, nearby.staff_id) if nearby is not None else None
    if nearby is None or worker is None:
        return None
    alert.nearest_staff_id, alert.nearest_distance_m = worker.id, nearby.distance_m
    where = "at a visit" if nearby.at_visit else "about to start a visit"
    detail = (
        f"{worker.name}: the nearest responder, {nearby.distance_m} m away ({where} nearby, visit {nearby.visit_id})"
    )
    add_event(session, alert, "nearest_paged", now, staff_id=worker.id, detail=detail)
    return staff_recipient(worker), nearby.distance_m


def escalate_due_alerts(session: Session, messaging: AlertMessaging, *, now: datetime, limit: int = 200) -> int:
    """One stage for every open alert whose next step is due; returns how many were run."""
    due = session.exec(
        select(Alert)
        .where(Alert.status == AlertStatus.open, col(Alert.next_escalation_at) <= now)
        .order_by(col(Alert.next_escalation_at))
        .limit(limit)
        .with_for_update(skip_locked=True)
    ).all()
    for alert in due:
        resident = session.get(Resident, alert.resident_id)
        center = session.get(Center, alert.center_id)
        assert resident is not None and center is not None
        run_stage(session, messaging, alert=alert, resident=resident, center=center, now=now)
    return len(due)


def move_on_after_failure(session: Session, messaging: AlertMessaging, *, message: SmsMessage, now: datetime) -> None:
    """A message that will not arrive: page the next family contact at once, or bring the next step forward."""
    if message.alert_id is None:
        return
    alert = lock_alert(session, message.alert_id)
    if alert is None or alert.status != AlertStatus.open:
        return
    add_event(session, alert, "not_reached", now, detail=f"{message.recipient_ref}: {message.status}")
    resident = session.get(Resident, alert.resident_id)
    center = session.get(Center, alert.center_id)
    assert resident is not None and center is not None and resident.id is not None
    ref = RecipientRef.parse(message.recipient_ref)
    if ref is not None and ref.kind == "contact":
        paged = set(session.exec(select(SmsMessage.to_phone).where(SmsMessage.alert_id == alert.id)).all())
        for contact in reachable_family(session, resident.id):
            if contact.phone not in paged:
                page(
                    session,
                    messaging,
                    alert=alert,
                    resident=resident,
                    center=center,
                    recipients=[family_recipient(contact, center.time_zone)],
                    stage=f"next{message.id}",
                    reminder=False,
                    now=now,
                    call={contact.phone} if message.channel == MessageChannel.voice else set(),
                )
                return
    if alert.next_escalation_at is None or alert.next_escalation_at > now:
        alert.next_escalation_at = now  # nobody else at this level: the next step, now
        session.add(alert)


def escalate_now(session: Session, *, alert_id: int | None, by: str | None, now: datetime) -> bool:
    """Someone asked for the next step now (5 on a call): the sweep pages it at once."""
    alert = lock_alert(session, alert_id)
    if alert is None or alert.status != AlertStatus.open:
        return False
    alert.next_escalation_at = now
    session.add(alert)
    add_event(session, alert, "escalated", now, detail=f"{by or ''}: the next step, now".strip(": "))
    return True


def jump_to_step(session: Session, *, actor: Actor, alert_id: int, step: int, now: datetime) -> Alert:
    """A manager sends an alert on to a later step of its policy (1 = the first): it is paged at once."""
    alert = lock_alert(session, alert_id)
    actor.require_visible(alert.center_id if alert else None, "alert")
    assert alert is not None
    if alert.status not in ACTIVE_STATUSES:
        raise Conflict("This alert is closed.")
    steps = len(policy_for(session, alert.center_id).steps)
    if not alert.escalation_steps_done < step <= steps:
        raise InvalidField(
            ["body", "step"],
            "a step not yet paged: {first} to {last}",
            first=alert.escalation_steps_done + 1,
            last=steps,
        )
    alert.status, alert.escalation_steps_done = AlertStatus.open, step - 1
    alert.escalation_started_at = alert.escalation_started_at or now
    alert.next_escalation_at = now
    session.add(alert)
    add_event(session, alert, "escalated", now, staff_id=actor.staff_id, detail=f"to step {step} by {actor.username}")
    return alert


# -- people answering ---------------------------------------------------------------------------
def acknowledge(session: Session, *, alert: Alert, staff_id: int | None, channel: Channel, now: datetime) -> bool:
    """Open -> acknowledged, exactly once however many answer at the same moment; stops escalation."""
    result = session.execute(
        update(Alert)
        .where(col(Alert.id) == alert.id, col(Alert.status) == AlertStatus.open)
        .values(
            status=AlertStatus.acknowledged,
            acknowledged_at=now,
            acknowledged_by=staff_id,
            acknowledged_via=channel,
            next_escalation_at=None,
        )
    )
    changed: bool = result.rowcount == 1  # type: ignore[attr-defined]
    if changed:
        add_event(session, alert, "acknowledged", now, staff_id=staff_id, channel=channel)
        assert alert.id is not None
        if cancelled := cancel_queued_calls(session, alert_id=alert.id, now=now):
            add_event(session, alert, "calls_cancelled", now, detail=f"{cancelled} not placed: someone answered")
    session.refresh(alert)
    return changed


def mark_on_site(session: Session, *, alert: Alert, staff_id: int | None, channel: Channel, now: datetime) -> None:
    """Someone is with the resident (acknowledging the alert if nobody had)."""
    if alert.status not in ACTIVE_STATUSES:
        raise Conflict("This alert is already {status}.", status=Word(VALUE_NAMES[alert.status]))
    acknowledge(session, alert=alert, staff_id=staff_id, channel=channel, now=now)
    if alert.on_site_at is None:
        alert.on_site_at, alert.on_site_by = now, staff_id
        session.add(alert)
        add_event(session, alert, "on_site", now, staff_id=staff_id, channel=channel)


def resolve(
    session: Session,
    messaging: AlertMessaging,
    *,
    alert: Alert,
    staff_id: int | None,
    outcome: str,
    note: str,
    channel: Channel,
    now: datetime,
) -> None:
    """Close an alert with its outcome; family who were told about it hear how it ended."""
    if alert.status not in ACTIVE_STATUSES:
        raise Conflict("This alert is already {status}.", status=Word(VALUE_NAMES[alert.status]))
    acknowledge(session, alert=alert, staff_id=staff_id, channel=channel, now=now)
    alert.status, alert.resolved_at, alert.resolved_by = AlertStatus.resolved, now, staff_id
    alert.outcome, alert.resolution_note, alert.next_escalation_at = outcome, note or None, None
    session.add(alert)
    add_event(session, alert, "resolved", now, staff_id=staff_id, channel=channel, detail=outcome)
    resident = session.get(Resident, alert.resident_id)
    center = session.get(Center, alert.center_id)
    assert resident is not None and center is not None
    tell_outcome(session, messaging, alert=alert, resident=resident, center=center, now=now)


def acknowledge_by_phone(session: Session, *, phone: str, code: str | None, now: datetime) -> str | None:
    """A staff member's SMS reply: acknowledge the alert they were paged for (or the one named by code)."""
    staff = session.exec(select(Staff).where(Staff.phone == phone, Staff.active == True)).first()  # noqa: E712
    if staff is None:
        return None
    paged = select(SmsMessage.alert_id).where(SmsMessage.to_phone == phone, col(SmsMessage.alert_id).is_not(None))
    stmt = select(Alert).where(col(Alert.id).in_(paged), Alert.status == AlertStatus.open)
    if code is not None:
        if not code.isdigit():
            return None
        stmt = stmt.where(Alert.id == int(code))
    alert = session.exec(stmt.order_by(col(Alert.opened_at).desc())).first()
    if alert is None:
        return None
    acknowledge(session, alert=alert, staff_id=staff.id, channel=Channel.sms, now=now)
    resident = session.get(Resident, alert.resident_id)
    return render(
        "reply_acknowledged",
        staff.language,
        who=resident.name if resident else "",
        what=alert_kind_name(alert.kind, staff.language),
    )


FAMILY_ANSWER_CHANGES = 5  # a person's answers to one alert on its timeline, the first and its changes


def record_family_answer(
    session: Session, *, alert_id: int, ref: str | None, answer: str, now: datetime, channel: Channel = Channel.link
) -> bool:
    """A family member's answer (going, cannot go, call me) on the alert's timeline, with how it came.

    One current answer per person: the same answer again adds nothing, a different one is a change
    (at most FAMILY_ANSWER_CHANGES in all). Returns whether it was recorded."""
    alert = session.get(Alert, alert_id)
    if alert is None:
        return False
    theirs = session.exec(
        select(AlertEvent.detail)
        .where(
            AlertEvent.alert_id == alert_id,
            AlertEvent.kind == "family_answer",
            AlertEvent.detail.startswith(f"{ref}: "),
        )
        .order_by(col(AlertEvent.id))
    ).all()
    if (theirs and theirs[-1] == f"{ref}: {answer}") or len(theirs) >= FAMILY_ANSWER_CHANGES:
        return False
    add_event(session, alert, "family_answer", now, detail=f"{ref}: {answer}", channel=channel)
    return True


# -- conditions that end by themselves ------------------------------------------------------------
def clear_conditions(session: Session, *, resident_id: int, kinds: list[AlertKind], now: datetime) -> None:
    """Open alerts whose condition is over close as auto_cleared (acknowledged ones stay with their owner)."""
    if not kinds:
        return
    alerts = session.exec(
        select(Alert).where(
            Alert.resident_id == resident_id, col(Alert.kind).in_(kinds), Alert.status == AlertStatus.open
        )
    ).all()
    for alert in alerts:
        alert.status, alert.next_escalation_at, alert.closed_reason = (
            AlertStatus.auto_cleared,
            None,
            "condition cleared",
        )
        session.add(alert)
        add_event(session, alert, "auto_cleared", now)


def cancel_falls(session: Session, *, resident_id: int, now: datetime) -> None:
    """The OK button, pressed within a fall's cancel window, cancels it before anyone is paged."""
    alerts = session.exec(
        select(Alert).where(
            Alert.resident_id == resident_id,
            Alert.kind == AlertKind.fall,
            Alert.status == AlertStatus.open,
            Alert.escalation_steps_done == 0,
            col(Alert.next_escalation_at) > now,
        )
    ).all()
    for alert in alerts:
        alert.status, alert.next_escalation_at, alert.closed_reason = AlertStatus.cancelled, None, "OK button"
        session.add(alert)
        add_event(session, alert, "cancelled", now, detail="OK button pressed in the cancel window")


# -- sweeps -----------------------------------------------------------------------------------------
SWEEP_STEP = 100  # residents a sweep that may reach a whole district writes a transaction


def detect_silent_devices(session: Session, messaging: AlertMessaging, *, now: datetime) -> int:
    """Raise `device_silent` for worn devices that stopped reporting (once per silence).

    A device that never reported is not silent but not yet in use: it is left alone. The
    database narrows 20,000 watches down to the few quiet ones not yet alerted (with the
    shortest grace and interval possible); the exact per-device rule runs on those. Many at once
    are written `SWEEP_STEP` at a time, each step committed; a sweep cut short leaves the rest to
    the next, which skips what is already alerted.
    """
    already_alerted = (
        select(Alert.id)
        .where(
            col(Alert.resident_id) == col(Device.resident_id),
            Alert.kind == AlertKind.device_silent,
            col(Alert.opened_at) > col(Device.last_seen_at),
        )
        .exists()
    )
    centers = {c.id: c for c in session.exec(select(Center)).all()}
    graces = {cid: silence_grace(c.alert_thresholds) for cid, c in centers.items()}
    shortest = min(graces.values(), default=0)
    quiet_before = now - min(
        timedelta(minutes=shortest, seconds=2 * MIN_REPORTING_INTERVAL_SECONDS),
        timedelta(minutes=shortest_silence_limit(session) or 24 * 60),
    )
    devices = session.exec(
        select(Device)
        .where(
            col(Device.resident_id).is_not(None),
            col(Device.revoked_at).is_(None),
            col(Device.last_seen_at) < quiet_before,
            Device.kind != DeviceKind.gateway,
            ~already_alerted,
        )
        .order_by(col(Device.resident_id))  # residents are locked in id order everywhere
    ).all()
    limits = silence_limits(session, {(d.protocol, d.model) for d in devices})
    # A device's last sign of life is written up to a second after its reading (ingest.sightings);
    # the reading's key is in with the reading, so one that came in that second counts.
    keyed = select(ReadingKey.device_id, func.max(ReadingKey.recorded_at)).group_by(col(ReadingKey.device_id))
    latest = (
        dict(session.exec(keyed.where(among(session, ReadingKey.device_id, {d.id for d in devices}))).all())
        if devices
        else {}
    )
    quiet = [
        d
        for d in devices
        if d.last_seen_at is not None
        and is_silent(
            last_seen_at=max(d.last_seen_at, latest.get(d.id or 0, d.last_seen_at)),
            interval_seconds=d.reporting_interval_seconds,
            grace_minutes=graces[d.center_id],
            now=now,
            silent_after_minutes=limits[(d.protocol, d.model)],
        )
    ]
    # Many at once is an outage: one incident pages the managers, the silences are held under it.
    incidents: dict[int, Incident | None] = {}
    for center_id in sorted({d.center_id for d in quiet}):
        center = centers[center_id]
        thresholds = effective_thresholds(center.alert_thresholds, None)
        of_center = [d for d in quiet if d.center_id == center_id]
        incidents[center_id] = outages.incident_for(
            session, messaging, center=center, quiet=of_center, thresholds=thresholds, now=now
        )
    # In resident order (residents are locked in id order everywhere), a step at a time, each step
    # committed: when a district's watches all go quiet, one transaction would hold every
    # resident's lock (on SQLite, the database) until the last silence is written, and an SOS of a
    # resident already swept would wait for it. Plain values: a commit expires the rows.
    # Silences under an incident are only listed: a step's are written together.
    todo = [(d.resident_id, d.id, d.serial, d.center_id) for d in quiet]
    raised = 0
    for start in range(0, len(todo), SWEEP_STEP):
        step = todo[start : start + SWEEP_STEP]
        residents = lock_residents(session, [resident_id for resident_id, *_ in step if resident_id is not None])
        held: list[Opening] = []
        for resident_id, device_id, serial, center_id in step:
            resident = residents.get(resident_id or 0)
            if resident is None or resident.status != ResidentStatus.active:
                continue
            draft = AlertDraft(AlertKind.device_silent, silent_severity(resident_facts(resident)), serial)
            center, incident = centers[center_id], incidents.get(center_id)
            if incident is not None:
                held.append(Opening(resident, center, draft, now, device_id=device_id or 0, incident=incident))
            else:
                raise_alert(
                    session, messaging, resident=resident, center=center, draft=draft, now=now, device_id=device_id
                )
            raised += 1
        _hold_silences(session, messaging, held, now)
        session.commit()
    outages.close_recovered(session, messaging, now=now)
    return raised


def detect_missed_ok_checkins(session: Session, messaging: AlertMessaging, *, now: datetime) -> int:
    """After the center's deadline, residents enrolled in the daily OK check-in who have not pressed it today."""
    raised = 0
    for center in session.exec(select(Center)).all():
        zone = ZoneInfo(center.time_zone)
        local_now = now.astimezone(zone)
        deadline = effective_thresholds(center.alert_thresholds, None).ok_checkin_deadline
        if local_now.time() < deadline:
            continue
        day_start = datetime.combine(local_now.date(), time(0), tzinfo=zone)
        pressed = select(Reading.resident_id).where(Reading.kind == "ok_button", col(Reading.recorded_at) >= day_start)
        alerted = select(Alert.resident_id).where(
            Alert.kind == AlertKind.missed_ok_checkin, col(Alert.opened_at) >= day_start
        )
        due = session.exec(
            select(Resident.id)
            .where(
                Resident.center_id == center.id,
                Resident.daily_ok_checkin == True,  # noqa: E712
                Resident.status == ResidentStatus.active,
                col(Resident.id).not_in(pressed),
                col(Resident.id).not_in(alerted),
            )
            .order_by(col(Resident.id))  # residents are locked in id order everywhere
        ).all()
        missed = [resident_id for resident_id in due if resident_id is not None]
        # A step at a time, each committed: at the deadline a town's enrolled residents may all be
        # due at once, and an SOS of one already paged must not wait for the rest.
        for start in range(0, len(missed), SWEEP_STEP):
            for resident in lock_residents(session, missed[start : start + SWEEP_STEP]).values():
                severity = Severity.high if resident.living_situation == LivingSituation.alone else Severity.medium
                raise_alert(
                    session,
                    messaging,
                    resident=resident,
                    center=center,
                    now=now,
                    draft=AlertDraft(AlertKind.missed_ok_checkin, severity, f"by {deadline:%H:%M}"),
                )
                raised += 1
            session.commit()
    return raised


def staff_may_answer(staff: Staff | None, alert: Alert) -> bool:
    return staff is not None and staff.active and (staff.role == Role.admin or staff.center_id == alert.center_id)
