"""GT06 trackers over real TCP sockets: login, captured packets, an SOS answered only after the commit, commands."""

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from prometheus_client import REGISTRY
from sqlmodel import Session, col, select

from carecenter.access import Role
from carecenter.alerts.models import Alert
from carecenter.devices.gt06_protocol import GT06
from carecenter.devices.models import (
    CommandStatus,
    Device,
    DeviceCommand,
    DeviceProtocol,
    UnknownDevice,
)
from carecenter.gateway.listener import DeviceListener
from carecenter.readings.models import Reading
from notifications.dispatcher import Dispatcher
from tests.carecenter.alerts.scenario import Scenario
from tests.carecenter.devices import gt06_client as packets
from tests.carecenter.devices.captured_gt06_packets import LOGIN_IMEI, PACKETS
from tests.carecenter.devices.gt06_client import Tracker, answer_to
from tests.carecenter.devices.listeners import fail_the_next_commit, running_listener, scenario_with
from tests.conftest import Clock
from tests.factories import login, make_device, make_staff
from tests.fakes import FakeSender
from tests.waiting import eventually

IMEI = "359339075005244"


@pytest.fixture
def listener(app: FastAPI, clock: Clock) -> Iterator[DeviceListener]:
    with running_listener(app, clock, GT06) as running:
        yield running


@pytest.fixture
def s(session: Session, clock: Clock) -> Scenario:
    return scenario_with(session, clock, IMEI, DeviceProtocol.gt06)


def connect(listener: DeviceListener, imei: str = IMEI) -> Tracker:
    assert listener.port is not None
    tracker = Tracker(listener.port)
    tracker.send(packets.login(imei))
    return tracker


def readings(session: Session) -> list[Reading]:
    session.expire_all()
    return list(session.exec(select(Reading).order_by(col(Reading.id))).all())


def alerts(session: Session) -> list[tuple[str, int]]:
    session.expire_all()
    return [(a.kind, a.trigger_count) for a in session.exec(select(Alert).order_by(col(Alert.id))).all()]


def fresh(session: Session, model: Any, ident: Any) -> Any:
    session.expire_all()
    return session.get(model, ident)


def test_login_is_answered_and_a_status_packet_feeds_battery_and_last_seen(
    listener: DeviceListener, s: Scenario, session: Session, clock: Clock
) -> None:
    tracker = connect(listener)
    assert answer_to(tracker.receive()) == (0x01, 1)
    tracker.send(packets.status(battery_level=3, serial=77))
    assert answer_to(tracker.receive()) == (0x13, 77)
    device = fresh(session, Device, s.watch.id)
    assert (device.battery_pct, device.last_seen_at) == (50, clock.now)
    assert eventually(lambda: fresh(session, Device, s.watch.id).connected_at == clock.now)
    tracker.close()
    assert eventually(lambda: fresh(session, Device, s.watch.id).disconnected_at is not None)


def test_an_sos_is_answered_after_it_is_stored_and_pages_the_on_duty_worker(
    listener: DeviceListener, s: Scenario, session: Session, clock: Clock, dispatcher: Dispatcher, sender: FakeSender
) -> None:
    tracker = connect(listener)
    tracker.receive()
    tracker.send(packets.alarm(clock.now, alarm=0x01, serial=5))
    assert answer_to(tracker.receive()) == (0x16, 5)
    assert alerts(session) == [("sos", 1)]
    dispatcher.dispatch_due(clock.now)
    assert s.on_duty.phone in [m.to for m in sender.sent]
    tracker.send(packets.alarm(clock.now, alarm=0x01, serial=6))  # sent again: a duplicate
    assert answer_to(tracker.receive()) == (0x16, 6)
    assert alerts(session) == [("sos", 1)]
    assert [r.kind for r in readings(session)] == ["location", "sos"]


def test_an_alarm_that_was_not_committed_is_not_answered(
    listener: DeviceListener, s: Scenario, session: Session, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    fail_the_next_commit(monkeypatch)
    tracker = connect(listener)
    tracker.receive()
    tracker.send(packets.alarm(clock.now, alarm=0x23))
    assert tracker.nothing_within(1.0)
    assert alerts(session) == []
    tracker.send(packets.alarm(clock.now, alarm=0x23, serial=11))
    assert answer_to(tracker.receive()) == (0x16, 11)
    assert alerts(session) == [("fall", 1)]


def test_packets_captured_by_others_are_answered_and_stored_over_real_sockets(
    listener: DeviceListener, s: Scenario, session: Session, client: TestClient, clock: Clock
) -> None:
    make_device(session, center=s.center, resident=s.resident, serial=LOGIN_IMEI, protocol="gt06")
    device_id = session.exec(select(Device.id).where(Device.serial == LOGIN_IMEI)).one()
    tracker = Tracker(listener.port or 0)
    for captured in PACKETS:
        clock.advance(seconds=10)  # the status packet after each is a new one, not a duplicate
        before = len(readings(session))
        tracker.send(captured.raw)
        if captured.answered:
            assert answer_to(tracker.receive()) == (captured.raw[3], int.from_bytes(captured.raw[-6:-4])), captured.hex
        tracker.send(packets.status(serial=900))  # answered once the packet before it is handled
        assert answer_to(tracker.receive()) == (0x13, 900), captured.hex
        new = [r for r in readings(session)[before:] if r.device_id == device_id]
        assert [r.kind for r in new[:-1]] == list(captured.kinds), captured.hex
        for name, value in captured.values.items():
            assert getattr(new[0], name) == pytest.approx(value), (captured.hex, name)
    refused = {"protocol": "gt06", "device": LOGIN_IMEI, "reason": "bad CRC"}
    assert (REGISTRY.get_sample_value("carecenter_device_frames_refused_total", refused) or 0) >= 1
    assert eventually(lambda: fresh(session, Device, device_id).last_frame == "status")  # flushed each second


def test_unknown_imeis_and_packets_before_login_are_turned_away(
    listener: DeviceListener, s: Scenario, session: Session, client: TestClient
) -> None:
    stranger = connect(listener, "867000000000999")
    assert stranger.closed_by_server()
    unknown = fresh(session, UnknownDevice, "867000000000999")
    assert (unknown.attempts, unknown.protocol) == (1, "gt06")
    admin = login(client, make_staff(session, center=None, role=Role.admin))
    listed = client.get("/api/v1/devices/unknown", headers=admin).json()
    assert [u["serial"] for u in listed["items"]] == ["867000000000999"]
    silent = Tracker(listener.port or 0)
    silent.send(packets.status())  # no login first
    assert silent.closed_by_server()


@pytest.mark.parametrize(
    ("bad", "reason"),
    [
        (b"GET / HTTP/1.1\r\n\r\n", "bytes outside a packet"),
        (b"\x79\x79\xff\xff", "a packet longer than 64 KB"),
        (packets.status()[:-2] + b"XX", "a packet that does not end as its length says"),
        (b"\x78\x78\x20\x13", "frame never completed"),  # half a packet, then nothing
    ],
)
def test_bad_input_closes_that_connection_only(
    listener: DeviceListener, s: Scenario, session: Session, client: TestClient, bad: bytes, reason: str
) -> None:
    good = connect(listener)
    good.receive()
    other, _ = make_device(session, center=s.center, serial="359339075005299", protocol="gt06")
    rogue = connect(listener, other.serial)
    rogue.receive()
    rogue.send(packets.status()[:-4] + b"\x00\x00\r\n")  # a bad CRC: not read, not answered, not closed
    assert rogue.nothing_within(0.5)
    rogue.send(bad)
    assert rogue.closed_by_server(timeout=3)
    good.send(packets.status(battery_level=2, serial=3))
    assert answer_to(good.receive()) == (0x13, 3)
    assert fresh(session, Device, s.watch.id).battery_pct == 33
    assert (
        f'carecenter_device_connections_closed_total{{protocol="gt06",reason="{reason}"}}'
        in client.get("/metrics").text
    )


def test_sos_numbers_go_out_as_0x80_and_the_answer_is_recorded(
    listener: DeviceListener, s: Scenario, session: Session, client: TestClient, clock: Clock
) -> None:
    manager = login(client, s.manager)
    sent = client.post(f"/api/v1/devices/{s.watch.id}/commands", json={"kind": "sos_numbers"}, headers=manager)
    assert sent.status_code == 202, sent.text
    assert sent.json()["content"] == "SOS,A,13900000001,13900000002#"
    tracker = connect(listener)
    received = [tracker.receive() for _ in range(2)]
    [command] = [p for p in received if p[3] == 0x80]
    flag = int.from_bytes(command[5:9], "big")
    assert command[9:-6] == b"SOS,A,13900000001,13900000002#"
    tracker.send(packets.command_answer(flag, "SOS OK!"))
    assert eventually(lambda: fresh(session, DeviceCommand, sent.json()["id"]).status == CommandStatus.answered)
    assert fresh(session, DeviceCommand, sent.json()["id"]).answer == "SOS OK!"
    locate = client.post(f"/api/v1/devices/{s.watch.id}/commands", json={"kind": "locate"}, headers=manager).json()
    assert tracker.receive()[9:-6] == b"WHERE#"
    clock.advance(seconds=3)
    assert eventually(lambda: fresh(session, DeviceCommand, locate["id"]).status == CommandStatus.timed_out, 6)


def test_a_login_and_an_sos_followed_by_noise_in_one_read_are_still_stored(
    listener: DeviceListener, s: Scenario, session: Session, clock: Clock
) -> None:
    tracker = Tracker(listener.port or 0)
    tracker.send(packets.login(IMEI) + packets.alarm(clock.now, alarm=0x01, serial=5) + b"GET / HTTP/1.1\r\n\r\n")
    assert [answer_to(tracker.receive()), answer_to(tracker.receive())] == [(0x01, 1), (0x16, 5)]
    assert tracker.closed_by_server(timeout=3)
    assert alerts(session) == [("sos", 1)]
