"""An outage is one incident, not thousands of alerts.

When a large share of a center's devices (the center's `outage_share_pct`, at least
`outage_min_devices`) go quiet at once, or every device of one protocol (its listener or its
network went away), or every device behind one home gateway (its power or line went), the
silent-device sweep opens one incident: the managers are paged once (with the carrier most of
the silent devices last reported through, when one is), and each device's own
silence alert is held under it (listed on the board, not paged). SOS and
falls are paged as always. When most devices are back the incident closes with a summary; a
device still silent then is paged on its own.
"""

from collections import Counter
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlmodel import Session, col, func, select

from carecenter.alerts.models import Alert, AlertKind, AlertStatus, Incident
from carecenter.centers.models import Center
from carecenter.devices.models import Device, DeviceKind
from carecenter.devices.networks import carrier
from carecenter.messaging.outbound import AlertMessaging, send
from carecenter.messaging.recipients import managers, staff_recipient
from carecenter.thresholds import Thresholds
from notifications.models import Purpose
from notifications.templates import render

RECENT = timedelta(minutes=15)  # silences this close together are one outage
BACK_SHARE = 0.9  # the incident closes when this share of its devices reports again


def open_incident(session: Session, center_id: int) -> Incident | None:
    return session.exec(
        select(Incident).where(Incident.center_id == center_id, col(Incident.closed_at).is_(None))
    ).first()


def _in_use(session: Session, center_id: int) -> Counter[str]:
    """The center's worn devices that have reported at all, by protocol."""
    rows = session.exec(
        select(Device.protocol, func.count())
        .where(
            Device.center_id == center_id,
            col(Device.resident_id).is_not(None),
            col(Device.revoked_at).is_(None),
            col(Device.last_seen_at).is_not(None),
            Device.kind != DeviceKind.gateway,
        )
        .group_by(col(Device.protocol))
    ).all()
    return Counter({str(protocol): count for protocol, count in rows})


def _recently_alerted(session: Session, center_id: int, now: datetime) -> list[Alert]:
    """Silence alerts of the center opened in the last minutes and not yet under an incident."""
    return list(
        session.exec(
            select(Alert).where(
                Alert.center_id == center_id,
                Alert.kind == AlertKind.device_silent,
                col(Alert.status).in_([AlertStatus.open, AlertStatus.acknowledged]),
                col(Alert.incident_id).is_(None),
                col(Alert.opened_at) > now - RECENT,
            )
        ).all()
    )


def incident_for(
    session: Session,
    messaging: AlertMessaging,
    *,
    center: Center,
    quiet: Sequence[Device],
    thresholds: Thresholds,
    now: datetime,
) -> Incident | None:
    """The incident these newly quiet devices belong to: the center's open one, or a new one when
    they (with the silences of the last minutes) are an outage; None when they are not."""
    assert center.id is not None
    incident = open_incident(session, center.id)
    if incident is not None:
        incident.devices_silent += len(quiet)
        session.add(incident)
        return incident
    recent = _recently_alerted(session, center.id, now)
    devices = {d.id: d for d in quiet}
    for alert in recent:
        if alert.device_id is not None and alert.device_id not in devices:
            device = session.get(Device, alert.device_id)
            if device is not None:
                devices[alert.device_id] = device
    in_use = _in_use(session, center.id)
    total, silent = sum(in_use.values()), len(devices)
    enough = max(thresholds.outage_min_devices, total * thresholds.outage_share_pct / 100)
    by_protocol = Counter(str(d.protocol) for d in devices.values())
    scope = None
    if silent >= enough:
        scope = "center"
    else:
        for protocol, count in by_protocol.items():
            if count >= thresholds.outage_min_devices and count >= BACK_SHARE * in_use[protocol]:
                scope, total = f"protocol:{protocol}", in_use[protocol]
                break
        else:
            gateway = _silent_gateway(session, devices.values())
            if gateway is not None:
                scope, total = f"gateway:{gateway[0]}", gateway[1]
    if scope is None:
        return None
    since = min((d.last_seen_at for d in devices.values() if d.last_seen_at is not None), default=now)
    reporting = ", ".join(f"{p} {n - by_protocol.get(p, 0)}/{n}" for p, n in sorted(in_use.items()))
    networks = Counter(d.last_network for d in devices.values() if d.last_network)
    last_frames = ", ".join(f"{carrier(n, 'en')} ({n}) {c}" for n, c in networks.most_common(3)) or "not known"
    incident = Incident(
        center_id=center.id,
        scope=scope,
        opened_at=now,
        devices_total=total,
        devices_silent=silent,
        silent_since=since,
        detail=f"last frames through: {last_frames}; still reporting by protocol: {reporting}"[:300],
    )
    session.add(incident)
    session.flush()
    for alert in recent:  # paged a few minutes ago, one by one: they join it and stop escalating
        alert.incident_id, alert.next_escalation_at = incident.id, None
        session.add(alert)
    _tell_managers(session, messaging, center, incident, "incident.opened", now, network=_behind_most(networks))
    return incident


def _behind_most(networks: Counter[str]) -> str | None:
    """The network most of the silent devices last reported through, when one is (an operator's outage)."""
    top = networks.most_common(1)
    return top[0][0] if top and top[0][1] * 2 > networks.total() else None


GATEWAY_MIN_DEVICES = 2  # a home gateway serves a household or a building: a few pendants


def _silent_gateway(session: Session, quiet: Iterable[Device]) -> tuple[str, int] | None:
    """A home gateway every one of whose devices went quiet: (its serial, how many it serves)."""
    by_gateway = Counter(d.gateway_id for d in quiet if d.gateway_id is not None)
    for gateway_id, count in by_gateway.most_common():
        served = session.exec(
            select(func.count())
            .select_from(Device)
            .where(
                Device.gateway_id == gateway_id, col(Device.revoked_at).is_(None), col(Device.resident_id).is_not(None)
            )
        ).one()
        if count >= GATEWAY_MIN_DEVICES and count >= served:
            gateway = session.get(Device, gateway_id)
            return (gateway.serial if gateway else str(gateway_id)), served
    return None


def close_recovered(session: Session, messaging: AlertMessaging, *, now: datetime) -> int:
    """Close each incident whose devices are mostly back; the ones still silent are paged on their own."""
    closed = 0
    for incident in session.exec(select(Incident).where(col(Incident.closed_at).is_(None))).all():
        still_held = (Alert.incident_id == incident.id, Alert.status == AlertStatus.open)
        # Counted from an index, not loaded: a district-wide outage holds 20,000 alerts; this runs every sweep.
        if session.exec(select(func.count()).where(*still_held)).one() > incident.devices_silent * (1 - BACK_SHARE):
            continue
        held = session.exec(select(Alert).where(*still_held)).all()
        for alert in held:  # still silent: now it is about this resident, not the network
            alert.escalation_started_at = alert.next_escalation_at = now
            session.add(alert)
        minutes = int((now - incident.opened_at).total_seconds() // 60)
        incident.closed_at = now
        incident.summary = (
            f"{incident.devices_silent - len(held)} of {incident.devices_silent} back after {minutes} min; "
            f"{len(held)} still silent, paged on their own"
        )
        session.add(incident)
        center = session.get(Center, incident.center_id)
        if center is not None:
            _tell_managers(session, messaging, center, incident, "incident.closed", now, still=len(held))
        closed += 1
    return closed


def _tell_managers(
    session: Session,
    messaging: AlertMessaging,
    center: Center,
    incident: Incident,
    kind: str,
    now: datetime,
    still: int = 0,
    network: str | None = None,
) -> None:
    """Once per incident and kind: the managers (the on-call people of a center's outage)."""
    assert center.id is not None and incident.id is not None
    since = incident.silent_since.astimezone(ZoneInfo(center.time_zone)).strftime("%H:%M")
    share = str(round(100 * incident.devices_silent / max(1, incident.devices_total)))
    for manager in managers(session, center.id):
        through = carrier(network, manager.language) if network else render("network_unknown", manager.language)
        params = {
            "incident.opened": {
                "center": center.town,
                "count": str(incident.devices_silent),
                "share": share,
                "since": since,
                "carrier": through,
            },
            "incident.closed": {
                "center": center.town,
                "back": str(incident.devices_silent - still),
                "count": str(incident.devices_silent),
                "still": str(still),
            },
        }[kind]
        send(
            session,
            messaging,
            staff_recipient(manager),
            kind=kind,
            params=params,
            purpose=Purpose.alert,
            dedupe_key=f"{kind}:{incident.id}:staff:{manager.id}",
            now=now,
            center_id=center.id,
            critical=kind == "incident.opened",
        )
