"""Reading alerts: lists, one alert with its timeline, and the answer-time figures."""

import statistics
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, col, func, select

from carecenter.access import Actor, Role
from carecenter.alerts.models import (
    ACTIVE_STATUSES,
    Alert,
    AlertDetail,
    AlertEvent,
    AlertPublic,
    AlertStats,
    AlertStatus,
    Incident,
    Severity,
    TimelineEntry,
)
from carecenter.alerts.rules import is_silent
from carecenter.centers.models import Center
from carecenter.devices.models import Device
from carecenter.devices.profiles import silence_limits
from carecenter.messaging.recipients import recipient_names
from carecenter.pagination import Page, PageParams, paginate
from carecenter.residents.models import Resident
from carecenter.thresholds import silence_grace
from notifications.models import SmsMessage


def get_alert(*, session: Session, actor: Actor, alert_id: int) -> Alert:
    """One alert of a center the actor may see (404 otherwise)."""
    alert = session.get(Alert, alert_id)
    actor.require_visible(alert.center_id if alert else None, "alert")
    assert alert is not None
    return alert


def list_alerts(
    *,
    session: Session,
    actor: Actor,
    page: PageParams,
    status: list[AlertStatus] | None = None,
    kind: str | None = None,
    severity: Severity | None = None,
    resident_id: int | None = None,
    center_id: int | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> Page[Alert]:
    """Alerts, newest first; care workers and managers see their center's."""
    stmt = select(Alert)
    stmt = actor.scoped(stmt, Alert.center_id, center_id)
    if status:
        stmt = stmt.where(col(Alert.status).in_(status))
    if kind:
        stmt = stmt.where(Alert.kind == kind)
    if severity:
        stmt = stmt.where(Alert.severity == severity)
    if resident_id is not None:
        stmt = stmt.where(Alert.resident_id == resident_id)
    if since is not None:
        stmt = stmt.where(col(Alert.opened_at) >= since)
    if until is not None:
        stmt = stmt.where(col(Alert.opened_at) < until)
    return paginate(session, stmt.order_by(col(Alert.opened_at).desc(), col(Alert.id).desc()), page)


def _message_entries(message: SmsMessage) -> list[TimelineEntry]:
    """A message's own history, from its outbox row: queued, sent, delivered or not."""
    who = f"{message.recipient_ref or ''} {message.to_phone}".strip()
    entries = [TimelineEntry(at=message.created_at, kind="message_queued", detail=who, message_id=message.id)]
    if message.sent_at:
        entries.append(TimelineEntry(at=message.sent_at, kind="message_sent", detail=who, message_id=message.id))
    if message.delivered_at:
        entries.append(
            TimelineEntry(at=message.delivered_at, kind="message_delivered", detail=who, message_id=message.id)
        )
    if message.status in ("failed", "undelivered", "suppressed", "retrying"):
        reason = message.error_message or message.hold_reason or ""
        entries.append(
            TimelineEntry(
                at=message.updated_at,
                kind=f"message_{message.status}",
                detail=f"{who}: {reason}".strip(": "),
                message_id=message.id,
            )
        )
    return entries


def alert_detail(session: Session, alert: Alert) -> AlertDetail:
    """The alert with its timeline: its own events merged with its messages' history."""
    events = session.exec(select(AlertEvent).where(AlertEvent.alert_id == alert.id).order_by(col(AlertEvent.id))).all()
    timeline = [
        TimelineEntry(at=e.at, kind=e.kind, detail=e.detail, staff_id=e.staff_id, channel=e.channel) for e in events
    ]
    for message in session.exec(select(SmsMessage).where(SmsMessage.alert_id == alert.id)).all():
        timeline += _message_entries(message)
    timeline.sort(key=lambda entry: entry.at)
    resident = session.get(Resident, alert.resident_id)
    return AlertDetail.model_validate(
        AlertPublic.model_validate(alert).model_dump()
        | {"resident_name": resident.name if resident else "", "timeline": timeline}
    )


def _percentile(values: Sequence[float], share: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, round(share * (len(ordered) - 1))))
    return ordered[rank]


def _median_on_site(alerts: Sequence[Alert]) -> float | None:
    waits = [(a.on_site_at - a.opened_at).total_seconds() for a in alerts if a.on_site_at]
    return statistics.median(waits) if waits else None


def compute_stats(alerts: Sequence[Alert], *, center_id: int | None, since: datetime, until: datetime) -> AlertStats:
    """Answer-time figures over a set of alerts (pure)."""
    answered_for = [a for a in alerts if a.severity != Severity.info and a.status not in (AlertStatus.cancelled,)]
    ack = [(a.acknowledged_at - a.opened_at).total_seconds() for a in answered_for if a.acknowledged_at]
    on_site = [(a.on_site_at - a.opened_at).total_seconds() for a in answered_for if a.on_site_at]
    needing = len(answered_for)
    reached = [a for a in answered_for if a.on_site_at]
    with_nearby = [a for a in reached if a.nearest_staff_id is not None]
    without = [a for a in reached if a.nearest_staff_id is None]
    return AlertStats(
        center_id=center_id,
        since=since,
        until=until,
        alerts=len(alerts),
        needing_answer=needing,
        acknowledged_within_60s=sum(1 for s in ack if s <= 60) / needing if needing else None,
        acknowledged_within_180s=sum(1 for s in ack if s <= 180) / needing if needing else None,
        ack_seconds_median=statistics.median(ack) if ack else None,
        ack_seconds_p90=_percentile(ack, 0.9),
        on_site_seconds_median=statistics.median(on_site) if on_site else None,
        on_site_seconds_p90=_percentile(on_site, 0.9),
        nearest_first_on_site=(
            sum(1 for a in with_nearby if a.on_site_by == a.nearest_staff_id) / len(with_nearby)
            if with_nearby
            else None
        ),
        on_site_seconds_median_with_nearby=_median_on_site(with_nearby),
        on_site_seconds_median_without_nearby=_median_on_site(without),
        by_kind=dict(Counter(a.kind for a in alerts)),
        by_outcome=dict(Counter(a.outcome for a in alerts if a.outcome)),
    )


def alert_stats(
    *, session: Session, actor: Actor, since: datetime, until: datetime, center_id: int | None = None
) -> AlertStats:
    """Figures for alerts opened in [since, until) in one center (admins: all unless named)."""
    stmt = select(Alert).where(col(Alert.opened_at) >= since, col(Alert.opened_at) < until)
    if center_id is not None:
        actor.require_visible(center_id, "center")
        stmt = stmt.where(Alert.center_id == center_id)
    elif not actor.is_admin:
        center_id = actor.center_id
        stmt = stmt.where(Alert.center_id == center_id)
    return compute_stats(session.exec(stmt).all(), center_id=center_id, since=since, until=until)


@dataclass(frozen=True)
class BoardRow:
    """An open alert on the board: its resident and everyone it paged, by name, with their message."""

    alert: Alert
    resident: Resident | None
    messages: list[tuple[str, SmsMessage]]


def open_alerts(*, session: Session, actor: Actor, limit: int = 100) -> list[tuple[Alert, Resident | None]]:
    """Active alerts of the actor's center, newest first; a care worker sees those of their residents.
    Silences held under an outage are not among them: the outage stands for them (`open_incidents`)."""
    held = col(Alert.incident_id).is_not(None) & (col(Alert.status) == AlertStatus.open)
    stmt = select(Alert).where(col(Alert.status).in_(ACTIVE_STATUSES), ~held).order_by(col(Alert.opened_at).desc())
    stmt = actor.scoped(stmt, Alert.center_id, None)
    if actor.role == Role.care_worker:
        mine = select(Resident.id).where(Resident.primary_worker_id == actor.staff_id)
        stmt = stmt.where(col(Alert.resident_id).in_(mine))
    return [(a, session.get(Resident, a.resident_id)) for a in session.exec(stmt.limit(limit)).all()]


@dataclass(frozen=True)
class IncidentRow:
    incident: Incident
    center: Center | None
    held: int  # silence alerts still held under it


def open_incidents(*, session: Session, actor: Actor) -> list[IncidentRow]:
    """Outages going on in the actor's center (admins: all), with how many silences each holds."""
    stmt = actor.scoped(select(Incident).where(col(Incident.closed_at).is_(None)), Incident.center_id, None)
    rows = []
    for incident in session.exec(stmt.order_by(col(Incident.opened_at))).all():
        held = session.exec(
            select(func.count())
            .select_from(Alert)
            .where(Alert.incident_id == incident.id, Alert.status == AlertStatus.open)
        ).one()
        rows.append(IncidentRow(incident, session.get(Center, incident.center_id), held))
    return rows


def board_rows(*, session: Session, actor: Actor) -> list[BoardRow]:
    """The alert board: open alerts with (name, message) for everyone they paged."""
    alerts = open_alerts(session=session, actor=actor)
    paged: dict[int | None, list[SmsMessage]] = {alert.id: [] for alert, _ in alerts}
    if paged:  # the messages of every open alert in one query (the board refreshes every 2 s)
        stmt = select(SmsMessage).where(col(SmsMessage.alert_id).in_(list(paged))).order_by(col(SmsMessage.id))
        for message in session.exec(stmt):
            paged[message.alert_id].append(message)
    names = recipient_names(session, [m.recipient_ref for messages in paged.values() for m in messages])
    return [
        BoardRow(alert, resident, [(names.get(m.recipient_ref or "", ""), m) for m in paged[alert.id]])
        for alert, resident in alerts
    ]


def recent_alerts(*, session: Session, resident_id: int, limit: int = 10) -> list[Alert]:
    """A resident's latest alerts (the caller has checked the resident is visible)."""
    stmt = select(Alert).where(Alert.resident_id == resident_id).order_by(col(Alert.opened_at).desc()).limit(limit)
    return list(session.exec(stmt).all())


def silent_device_ids(session: Session, devices: Sequence[Device], now: datetime) -> set[int]:
    """Which of these devices count as silent now, with each center's own grace (the sweep's rule)."""
    centers = select(Center).where(col(Center.id).in_({d.center_id for d in devices}))
    graces = {c.id: silence_grace(c.alert_thresholds) for c in session.exec(centers)}
    limits = silence_limits(session, {(d.protocol, d.model) for d in devices})
    return {
        d.id
        for d in devices
        if d.id is not None
        and d.last_seen_at is not None
        and d.resident_id is not None
        and is_silent(
            last_seen_at=d.last_seen_at,
            interval_seconds=d.reporting_interval_seconds,
            grace_minutes=graces.get(d.center_id, 10),
            now=now,
            silent_after_minutes=limits[(d.protocol, d.model)],
        )
    }
