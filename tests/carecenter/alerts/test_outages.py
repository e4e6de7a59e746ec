"""An outage is one incident: many devices silent at once page the managers once, their silence
alerts are held under it (listed, not paged), SOS still pages as always, and the incident closes
with a summary when they are back (who is still silent is paged on their own)."""

from datetime import datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlmodel import Session, col, select

from carecenter.access import Role
from carecenter.alerts import service as alerts_service
from carecenter.alerts.models import Alert, AlertEvent, AlertKind, Incident
from carecenter.alerts.service import clear_conditions, detect_silent_devices, escalate_due_alerts
from carecenter.centers.models import Center
from carecenter.context import app_context
from carecenter.devices.models import Device, DeviceKind, DeviceProtocol
from carecenter.readings.models import Reading
from carecenter.residents.models import Resident
from carecenter.staff.models import Staff
from notifications.models import SmsMessage
from tests.carecenter.web.test_pages import web_login
from tests.conftest import Clock
from tests.factories import make_center, make_contact, make_device, make_resident, make_staff


def fleet(session: Session, center: Center, n: int, seen: datetime, protocol: str = "http") -> list[Device]:
    devices = []
    for _ in range(n):
        resident = make_resident(session, center=center)
        make_contact(session, resident=resident)
        device, _key = make_device(session, center=center, resident=resident, protocol=protocol)
        device.last_seen_at = seen
        session.add(device)
        devices.append(device)
    session.commit()
    return devices


def seen(session: Session, devices: list[Device], at: datetime) -> None:
    for device in devices:
        device.last_seen_at = at
        session.add(device)
    session.commit()


@pytest.fixture
def manager(session: Session) -> tuple[Center, Staff]:
    center = make_center(session, town="长阳镇")
    return center, make_staff(session, center=center, role=Role.manager, phone="+8613700000003")


def sweep(app: FastAPI, session: Session, now: datetime) -> int:
    raised = detect_silent_devices(session, app_context(app).alert_messaging, now=now)
    session.commit()
    return raised


def messages(session: Session) -> list[SmsMessage]:
    session.expire_all()
    return list(session.exec(select(SmsMessage).order_by(col(SmsMessage.id))).all())


def test_many_devices_silent_at_once_are_one_incident_paged_once(
    app: FastAPI, client: TestClient, session: Session, manager: tuple[Center, Staff], clock: Clock
) -> None:
    center, boss = manager
    start = clock.now
    devices = fleet(session, center, 40, start)
    for n, device in enumerate(devices[:20]):  # their watches last came through China Unicom, most of them
        device.last_network = "460-01" if n < 15 else "460-00"
        session.add(device)
    seen(session, devices[20:], start + timedelta(minutes=30))  # half of them keep reporting
    now = clock.advance(minutes=31)
    assert sweep(app, session, now) == 20
    [incident] = session.exec(select(Incident)).all()
    assert (incident.scope, incident.devices_silent, incident.devices_total) == ("center", 20, 40)
    held = session.exec(select(Alert).where(Alert.incident_id == incident.id)).all()
    assert len(held) == 20 and all(a.next_escalation_at is None for a in held)
    sent = messages(session)
    assert [(m.kind, m.to_phone) for m in sent] == [("incident.opened", boss.phone)]  # one message, not 20 pages
    assert sent[0].params["count"] == "20" and sent[0].params["share"] == "50" and sent[0].critical
    assert sent[0].params["carrier"] == "中国联通" and "最后上报网络：中国联通" in sent[0].body
    assert (incident.detail or "").startswith("last frames through: China Unicom (460-01) 15, China Mobile (460-00) 5")
    escalate_due_alerts(session, app_context(app).alert_messaging, now=clock.advance(minutes=10))
    session.commit()
    assert len(messages(session)) == 1  # held alerts do not escalate
    web_login(client, boss.username)
    board = client.get("/board").text
    assert f'id="incident-{incident.id}"' in board and "20" in board and "China Unicom (460-01) 15" in board
    assert board.count("data-alert=") == 0  # the held silences are the outage's, not 20 rows

    # More go quiet during it: they join it, nobody is paged.
    seen(session, devices[30:], clock.now)
    assert sweep(app, session, clock.advance(minutes=15)) == 10
    assert len(messages(session)) == 1
    session.refresh(incident)
    assert incident.devices_silent == 30

    # Back: their readings clear their silences; one stays silent.
    for device in devices[:29]:
        assert device.resident_id is not None
        clear_conditions(session, resident_id=device.resident_id, kinds=[AlertKind.device_silent], now=clock.now)
    session.commit()
    sweep(app, session, clock.advance(minutes=1))
    session.refresh(incident)
    assert incident.closed_at is not None and "29 of 30 back" in (incident.summary or "")
    closed = [m for m in messages(session) if m.kind == "incident.closed"]
    assert [m.params["still"] for m in closed] == ["1"]
    escalate_due_alerts(session, app_context(app).alert_messaging, now=clock.now)
    session.commit()
    paged = [m for m in messages(session) if m.alert_id is not None]
    assert paged and {m.alert_id for m in paged} == {
        a.id for a in session.exec(select(Alert).where(Alert.incident_id == incident.id, Alert.status == "open"))
    }  # the one still silent is paged on its own now


def test_a_few_silent_devices_are_alerted_one_by_one_as_before(
    app: FastAPI, session: Session, manager: tuple[Center, Staff], clock: Clock
) -> None:
    center, _boss = manager
    devices = fleet(session, center, 40, clock.now)
    seen(session, devices[3:], clock.now + timedelta(minutes=30))
    assert sweep(app, session, clock.advance(minutes=31)) == 3
    assert session.exec(select(Incident)).all() == []
    alerts = session.exec(select(Alert)).all()
    assert len(alerts) == 3 and all(a.incident_id is None and a.next_escalation_at is not None for a in alerts)


def test_every_device_of_one_protocol_silent_is_an_incident_of_its_listener(
    app: FastAPI, session: Session, manager: tuple[Center, Staff], clock: Clock
) -> None:
    center, _boss = manager
    fleet(session, center, 40, clock.now + timedelta(minutes=30))
    fleet(session, center, 12, clock.now, protocol=DeviceProtocol.gt06)
    assert sweep(app, session, clock.advance(minutes=31)) == 12
    [incident] = session.exec(select(Incident)).all()
    assert (incident.scope, incident.devices_silent, incident.devices_total) == ("protocol:gt06", 12, 12)
    [opened] = messages(session)
    assert opened.params["carrier"] == "多个或未知网络"  # no frame named its network


def test_an_sos_during_an_outage_is_paged_as_always(
    app: FastAPI, client: TestClient, session: Session, manager: tuple[Center, Staff], clock: Clock
) -> None:
    center, _boss = manager
    worker = make_staff(session, center=center, phone="+8613700000001")
    devices = fleet(session, center, 30, clock.now)
    resident = make_resident(session, center=center, primary_worker_id=worker.id)
    _watch, key = make_device(session, center=center, resident=resident)
    assert sweep(app, session, clock.advance(minutes=31)) == 30
    assert session.exec(select(Incident)).one().closed_at is None
    answer = client.post(
        "/api/v1/checkins",
        json={"event_id": "sos-in-outage", "kind": "sos", "recorded_at": clock.now.isoformat()},
        headers={"X-Device-Key": key},
    )
    assert answer.status_code == 201
    sos = session.exec(select(Alert).where(Alert.kind == "sos")).one()
    assert sos.incident_id is None
    paged = [m.to_phone for m in messages(session) if m.alert_id == sos.id]
    assert worker.phone in paged
    assert len(devices) == 30


def test_every_device_behind_one_gateway_silent_is_an_incident_of_that_gateway(
    app: FastAPI, client: TestClient, session: Session, manager: tuple[Center, Staff], clock: Clock
) -> None:
    center, boss = manager
    fleet(session, center, 40, clock.now + timedelta(minutes=30))  # the rest of the town reports
    gateway, key = make_device(session, center=center, kind=DeviceKind.gateway, serial="GW-HOME-7")
    pendants = []
    for n in range(3):
        resident = make_resident(session, center=center)
        pendant, _ = make_device(session, center=center, resident=resident, serial=f"PENDANT-7{n}")
        pendants.append(pendant)
    readings = [
        {"event_id": f"hb-{p.serial}", "device": p.serial, "kind": "heartbeat", "recorded_at": clock.now.isoformat()}
        for p in pendants
    ]
    assert (
        client.post("/api/v1/checkins/batch", json={"readings": readings}, headers={"X-Device-Key": key}).status_code
        == 200
    )
    session.expire_all()
    assert {session.get(Device, p.id).gateway_id for p in pendants} == {gateway.id}  # type: ignore[union-attr]
    assert sweep(app, session, clock.advance(minutes=31)) == 3
    [incident] = session.exec(select(Incident)).all()
    assert (incident.scope, incident.devices_silent, incident.devices_total) == ("gateway:GW-HOME-7", 3, 3)
    assert [m.kind for m in messages(session)] == ["incident.opened"]
    assert boss.id is not None


def test_a_district_wide_silence_is_written_in_steps_that_hold_no_resident_for_long(
    app: FastAPI,
    session: Session,
    db: sa.Engine,
    manager: tuple[Center, Staff],
    clock: Clock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Every watch quiet at once: the sweep writes SWEEP_STEP silences a transaction, so what it
    wrote is seen (and its residents' locks gone) while it goes on; a resident it holds still gets
    readings stored (its lock does not block their foreign-key check); a silence still active
    from before is joined, not opened twice."""
    center, _ = manager
    start = clock.now
    devices = fleet(session, center, 25, start)
    assert center.id is not None and devices[3].resident_id is not None
    earlier = Alert(  # silent once before, never cleared; the watch reported since
        center_id=center.id, resident_id=devices[3].resident_id, device_id=devices[3].id,
        kind=AlertKind.device_silent, severity="medium", status="open",
        opened_at=start - timedelta(hours=2), last_triggered_at=start - timedelta(hours=2),
    )  # fmt: skip
    session.add(earlier)
    resident5 = session.get(Resident, devices[5].resident_id)
    second, _key = make_device(session, center=center, resident=resident5, protocol="http")  # two watches
    second.last_seen_at = start
    session.add(second)
    session.commit()
    now = clock.advance(minutes=31)
    monkeypatch.setattr(alerts_service, "SWEEP_STEP", 10)
    seen_meanwhile: list[int] = []
    lock_residents = alerts_service.lock_residents

    def observed(own: Session, resident_ids: Any) -> dict[int, Resident]:
        locked = lock_residents(own, resident_ids)
        if len(seen_meanwhile) == 0 and devices[15].resident_id in locked:  # the second step
            with db.connect() as other:
                silent = sa.select(sa.func.count()).select_from(Alert).where(col(Alert.kind) == AlertKind.device_silent)
                seen_meanwhile.append(other.execute(silent).scalar_one())
                if db.dialect.name == "postgresql":
                    other.exec_driver_sql("SET lock_timeout = '2s'")
                    first = devices[0].resident_id
                    mine = sa.select(col(Resident.id)).where(col(Resident.id) == first).with_for_update(key_share=True)
                    assert other.execute(mine).scalar_one() == first  # the first step's lock is gone
                    other.execute(  # a reading for a resident this step holds is stored, not kept waiting
                        sa.insert(Reading).values(
                            resident_id=devices[15].resident_id, center_id=center.id, event_id="meanwhile",
                            kind="heartbeat", source="device", recorded_at=now, received_at=now,
                        )
                    )  # fmt: skip
                    other.rollback()
        return locked

    monkeypatch.setattr(alerts_service, "lock_residents", observed)
    with Session(db) as own:  # the job's session: each commit expires its rows
        assert detect_silent_devices(own, app_context(app).alert_messaging, now=now) == 26
        own.commit()
    # The earlier silence, and the first step's new ones: 10 devices of 9 residents, one joined.
    assert seen_meanwhile == [1 + 8]
    session.expire_all()
    silences = session.exec(select(Alert).where(Alert.kind == AlertKind.device_silent)).all()
    assert len(silences) == 25 and session.get(Alert, earlier.id).trigger_count == 2  # type: ignore[union-attr]
    [fifth] = [a for a in silences if a.resident_id == resident5.id]  # type: ignore[union-attr]
    assert fifth.trigger_count == 2
    [incident] = session.exec(select(Incident)).all()
    assert incident.devices_silent == 26
    assert all(a.incident_id == incident.id and a.next_escalation_at is None for a in silences if a.id != earlier.id)
    events = session.exec(select(AlertEvent.kind).where(AlertEvent.alert_id == silences[-1].id)).all()
    assert sorted(events) == ["held", "opened"]
