"""A second connection with a watch's id from another address: accepted (a watch that changed cell
must never be locked out, an SOS never dropped), but it receives no commands until it has proved
itself, and everything it raises says so."""

from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from prometheus_client import REGISTRY
from sqlmodel import Session, col, select

from carecenter.alerts.service import mark_unverified_alerts
from carecenter.audit.models import AuditEvent
from carecenter.devices.models import CommandStatus, Device, DeviceCommand, DeviceProtocol
from carecenter.devices.watch_protocol import WATCH
from carecenter.gateway.listener import DeviceListener
from tests.carecenter.alerts.scenario import Scenario
from tests.carecenter.devices.listeners import running_listener, scenario_with, unverified_sos
from tests.carecenter.devices.watch_client import Watch
from tests.carecenter.web.test_pages import web_login
from tests.conftest import Clock
from tests.factories import login
from tests.waiting import eventually

IMEI = "358688000000158"
ELSEWHERE = "127.0.0.2"  # another address on this machine's loopback network


@pytest.fixture
def listener(app: FastAPI, clock: Clock) -> Iterator[DeviceListener]:
    # All of loopback (127.0.0.0/8), so that a second address can connect.
    everywhere = "0.0.0.0"  # noqa: S104
    with running_listener(
        app, clock, WATCH, host=everywhere, watch_command_timeout_seconds=30, unverified=mark_unverified_alerts
    ) as running:
        yield running


@pytest.fixture
def s(session: Session, clock: Clock) -> Scenario:
    return scenario_with(session, clock, IMEI, DeviceProtocol.watch_tcp)


def connect(listener: DeviceListener, source: str = "127.0.0.1") -> Watch:
    assert listener.port is not None
    watch = Watch(listener.port, IMEI, source=source)
    watch.send("LK")
    assert watch.receive().content == b"LK"
    return watch


def fresh(session: Session, model: type, ident: int | None) -> object:
    session.expire_all()
    return session.get(model, ident)


def takeovers() -> float:
    return REGISTRY.get_sample_value("carecenter_device_takeovers_total", {"protocol": "watch"}) or 0.0


def test_a_takeover_from_another_address_gets_no_personal_data_and_its_sos_says_so(
    listener: DeviceListener, s: Scenario, session: Session, client: TestClient, clock: Clock
) -> None:
    before = takeovers()
    real = connect(listener)
    intruder = connect(listener, ELSEWHERE)  # accepted: it could be the watch after a change of cell
    real.send("LK")
    assert real.receive().content == b"LK"  # and the first connection stays
    assert takeovers() == before + 1
    device = fresh(session, Device, s.watch.id)
    assert isinstance(device, Device)
    assert (device.takeover_count, device.takeover_from) == (1, ELSEWHERE)
    audit = session.exec(select(AuditEvent).where(AuditEvent.action == "device.takeover")).one()
    assert (audit.entity_id, audit.client_addr) == (s.watch.id, ELSEWHERE)

    manager = login(client, s.manager)
    sent = client.post(f"/api/v1/devices/{s.watch.id}/commands", json={"kind": "sos_numbers"}, headers=manager)
    assert real.receive().content.startswith(b"SOS,")  # the family's numbers go to the proven connection
    assert intruder.nothing_within(1.5)
    intruder.send("SOS")  # and a reply from the other connection is not the watch's answer
    assert intruder.nothing_within(0.5)
    command = fresh(session, DeviceCommand, sent.json()["id"])
    assert isinstance(command, DeviceCommand) and command.status == CommandStatus.sent

    note = unverified_sos(intruder, session, clock)  # an SOS is never dropped
    assert ELSEWHERE in note and "127.0.0.1" in note

    web_login(client, s.manager.username)
    assert ELSEWHERE in client.get(f"/manage/devices/{s.watch.id}").text
    assert ELSEWHERE in client.get("/board").text


def test_the_newcomer_proves_itself_when_the_old_connection_goes_away(
    listener: DeviceListener, s: Scenario, client: TestClient
) -> None:
    real = connect(listener)
    moved = connect(listener, ELSEWHERE)  # the watch after a change of cell; its old socket lingers
    real.close()  # and then goes away
    manager = login(client, s.manager)
    client.post(f"/api/v1/devices/{s.watch.id}/commands", json={"kind": "sos_numbers"}, headers=manager)
    assert moved.receive(timeout=5).content.startswith(b"SOS,")


def test_a_manager_confirms_the_newcomer_and_the_old_connection_is_closed(
    listener: DeviceListener, s: Scenario, session: Session, client: TestClient
) -> None:
    real = connect(listener)
    moved = connect(listener, ELSEWHERE)
    csrf = web_login(client, s.manager.username)
    confirmed = client.post(f"/manage/devices/{s.watch.id}/confirm-connection", data={"csrf": csrf})
    assert confirmed.status_code == 200
    assert real.closed_by_server(timeout=5)  # the next housekeeping round trusts the newest connection
    manager = login(client, s.manager)
    client.post(f"/api/v1/devices/{s.watch.id}/commands", json={"kind": "locate"}, headers=manager)
    assert moved.receive().content == b"CR"
    assert eventually(
        lambda: (
            session.exec(select(AuditEvent).where(col(AuditEvent.action) == "device.confirm_connection")).first()
            is not None
        )
    )


def test_a_reconnect_from_the_same_address_is_no_takeover(listener: DeviceListener, s: Scenario) -> None:
    before = takeovers()
    first = connect(listener)
    connect(listener)  # the same watch again (its old socket half-open)
    assert first.closed_by_server()
    assert takeovers() == before
