"""Several gateway processes hold a city's watches: each knows which device connections the others
hold (the device rows say which process and from where), so a takeover through another process is
seen as one, a watch that moves between processes gets its commands once, and a process that died
or restarted holds nothing. Two listeners in this test process stand for two gateway processes
("gateway-a", "gateway-b"), with heartbeats as the processes write them."""

import socket
import time
from collections.abc import Collection, Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from prometheus_client import REGISTRY
from sqlmodel import Session, select

from carecenter.alerts.service import mark_unverified_alerts
from carecenter.audit.models import AuditEvent
from carecenter.context import app_context
from carecenter.db import make_engine
from carecenter.devices import connections
from carecenter.devices.models import Device, DeviceProtocol
from carecenter.devices.watch_protocol import WATCH
from carecenter.gateway.listener import CAPACITY, DeviceListener
from carecenter.health.watch import beat, live_processes
from carecenter.settings import Settings
from carecenter.settings.devices import DeviceSettings
from carecenter.settings.health import HealthSettings
from tests.carecenter.alerts.scenario import Scenario
from tests.carecenter.devices.listeners import running_listener, scenario_with, unverified_sos
from tests.carecenter.devices.test_takeover import ELSEWHERE, IMEI, connect
from tests.carecenter.devices.watch_client import Watch
from tests.conftest import Clock
from tests.factories import login, make_device
from tests.waiting import eventually

EVERYWHERE = "0.0.0.0"  # noqa: S104 - all of loopback, so that a second address can connect


@pytest.fixture
def s(session: Session, clock: Clock) -> Scenario:
    return scenario_with(session, clock, IMEI, DeviceProtocol.watch_tcp)


def _gateway(app: FastAPI, clock: Clock, name: str) -> Iterator[DeviceListener]:
    beat(app_context(app).engine, name=name, role="gateway", now=clock.now)  # alive, as its self-watch says

    def live(session: Session) -> set[str]:
        return live_processes(session, now=clock.now, settings=HealthSettings())

    with running_listener(
        app,
        clock,
        WATCH,
        host=EVERYWHERE,
        unverified=mark_unverified_alerts,
        name=name,
        live=live,
        watch_command_timeout_seconds=30,
    ) as listener:
        yield listener


@pytest.fixture
def a(app: FastAPI, clock: Clock) -> Iterator[DeviceListener]:
    yield from _gateway(app, clock, "gateway-a")


@pytest.fixture
def b(app: FastAPI, clock: Clock) -> Iterator[DeviceListener]:
    yield from _gateway(app, clock, "gateway-b")


def device(session: Session, s: Scenario) -> Device:
    session.expire_all()
    found = session.get(Device, s.watch.id)
    assert found is not None
    return found


def held_by(session: Session, s: Scenario, name: str) -> bool:
    """The device rows say `name` holds the watch's connection (written within a second of it)."""
    return held_by_device(session, s.watch.id, name)


def held_by_device(session: Session, device_id: int | None, name: str) -> bool:
    session.expire_all()
    holder = connections.holders(session, device_ids=[device_id or 0]).get(device_id or 0)
    return holder is not None and holder.via == name


def more_watches(session: Session, s: Scenario, first: int, count: int) -> list[Device]:
    """`count` more watches of the scenario's center, ids from `first` on."""
    return [
        make_device(session, center=s.center, serial=f"3586880{n:08d}", protocol=DeviceProtocol.watch_tcp)[0]
        for n in range(first, first + count)
    ]


@pytest.fixture
def disconnects(monkeypatch: pytest.MonkeyPatch) -> list[list[int]]:
    """The device ids of each statement that records connections gone."""
    recorded: list[list[int]] = []
    note = connections.note_disconnected

    def counted(session: Session, *, device_ids: Collection[int], now: datetime, via: str) -> None:
        recorded.append(sorted(device_ids))
        note(session, device_ids=device_ids, now=now, via=via)

    monkeypatch.setattr(connections, "note_disconnected", counted)
    return recorded


def command(client: TestClient, s: Scenario, kind: str = "sos_numbers") -> None:
    sent = client.post(f"/api/v1/devices/{s.watch.id}/commands", json={"kind": kind}, headers=login(client, s.manager))
    assert sent.status_code == 202, sent.text  # queued; the holder sends it


def test_a_takeover_through_another_gateway_process_is_seen_and_gets_no_commands(
    a: DeviceListener, b: DeviceListener, s: Scenario, session: Session, client: TestClient, clock: Clock
) -> None:
    real = connect(a)
    assert eventually(lambda: held_by(session, s, "gateway-a"))
    assert device(session, s).connected_from == "127.0.0.1"
    intruder = connect(b, ELSEWHERE)  # accepted (it may be the watch after a change of cell)
    row = device(session, s)
    assert (row.takeover_count, row.takeover_from) == (1, ELSEWHERE)
    audit = session.exec(select(AuditEvent).where(AuditEvent.action == "device.takeover")).one()
    assert "127.0.0.1 (through gateway-a)" in (audit.reason or "")
    command(client, s)
    assert real.receive().content.startswith(b"SOS,")  # the family's numbers go to the proven connection
    assert intruder.nothing_within(1.5)
    note = unverified_sos(intruder, session, clock)  # an SOS is never dropped
    assert ELSEWHERE in note and "gateway-a" in note
    assert held_by(session, s, "gateway-a")  # the newcomer holds nothing until it proves itself


def test_the_newcomer_proves_itself_when_the_other_process_loses_the_old_connection(
    a: DeviceListener, b: DeviceListener, s: Scenario, session: Session, client: TestClient
) -> None:
    real = connect(a)
    assert eventually(lambda: held_by(session, s, "gateway-a"))
    moved = connect(b, ELSEWHERE)  # the watch after a change of cell, through the other process
    real.close()  # its old socket goes away: gateway-a records it
    assert eventually(lambda: held_by(session, s, "gateway-b"))  # gateway-b trusts the newcomer
    assert device(session, s).connected_from == ELSEWHERE
    command(client, s)
    assert moved.receive(timeout=5).content.startswith(b"SOS,")


def test_a_watch_that_moves_to_another_process_from_its_address_gets_each_command_once(
    a: DeviceListener, b: DeviceListener, s: Scenario, session: Session, client: TestClient
) -> None:
    old = connect(a)
    assert eventually(lambda: held_by(session, s, "gateway-a"))
    new = connect(b)  # the same watch again, through the other process; its old socket half-open
    assert eventually(lambda: held_by(session, s, "gateway-b"))
    assert device(session, s).takeover_count == 0
    command(client, s)
    assert new.receive(timeout=5).content.startswith(b"SOS,")
    assert old.nothing_within(1.5)  # gateway-a no longer holds it: it does not send the command too
    old.close()  # gateway-a sees its old socket go: the watch is still connected, through gateway-b
    assert eventually(lambda: s.watch.id not in a._connections)
    time.sleep(0.5)  # gateway-a's note of the closed socket is written meanwhile
    assert held_by(session, s, "gateway-b")


def test_what_a_dead_process_held_is_no_takeover(
    b: DeviceListener, s: Scenario, session: Session, client: TestClient, clock: Clock
) -> None:
    """A process that died (no heartbeat) holds nothing: the watches it had connect elsewhere as themselves."""
    row = device(session, s)
    row.connected_at, row.connected_from, row.connected_via = clock.now, "127.0.0.9", "gateway-gone"
    session.add(row)
    session.commit()
    moved = connect(b, ELSEWHERE)
    assert eventually(lambda: held_by(session, s, "gateway-b"))
    assert device(session, s).takeover_count == 0
    command(client, s)
    assert moved.receive(timeout=5).content.startswith(b"SOS,")


def test_a_process_that_starts_again_holds_nothing_of_what_it_held(
    app: FastAPI, s: Scenario, session: Session, clock: Clock
) -> None:
    row = device(session, s)
    row.connected_at, row.connected_from, row.connected_via = clock.now - timedelta(hours=1), "127.0.0.1", "gateway-a"
    session.add(row)
    session.commit()
    with running_listener(app, clock, WATCH, name="gateway-a"):
        assert not held_by(session, s, "gateway-a")
        assert device(session, s).disconnected_at == clock.now


def test_processes_sharing_the_port_both_take_connections(app: FastAPI, clock: Clock, session: Session) -> None:
    """With CARECENTER_LISTENERS_SHARE_PORT the kernel spreads new connections over the processes."""
    with running_listener(app, clock, WATCH, name="gateway-a", listeners_share_port=True) as first:
        assert first.port is not None
        with running_listener(
            app, clock, WATCH, name="gateway-b", port=first.port, listeners_share_port=True
        ) as second:
            assert second.port == first.port
            sockets = [Watch(first.port, f"35868800000{n:04d}") for n in range(40)]
            assert eventually(lambda: len(first._live) + len(second._live) == 40)
            assert first._live and second._live  # both got some (all 40 to one: 1 in 2^39)
            for sock in sockets:
                sock.close()


def test_processes_that_share_the_port_must_each_have_a_name() -> None:
    shared = DeviceSettings(listeners_share_port=True)
    unnamed = Settings(devices=shared).production_problems()
    assert any("CARECENTER_PROCESS_NAME" in problem for problem in unnamed)
    named = Settings(devices=shared, health=HealthSettings(process_name="gateway-1")).production_problems()
    assert not any("CARECENTER_PROCESS_NAME" in problem for problem in named)
    with pytest.raises(ValueError, match="process_name"):
        HealthSettings(process_name="gateway 1; drop")


def test_a_gateway_starts_listening_while_the_database_is_away(app: FastAPI, clock: Clock, tmp_path: Path) -> None:
    """Its earlier connections cannot be read yet; watches can still connect (and are answered once it is back)."""
    away = make_engine(f"sqlite:///{tmp_path / 'no such folder' / 'x.db'}")
    listener = DeviceListener(
        protocol=WATCH,
        engine=away,
        checkins=app_context(app).checkins,
        settings=DeviceSettings(watch_port=0, watch_host="127.0.0.1"),
        clock=lambda: clock.now,
        name="gateway-a",
        live=lambda session: live_processes(session, now=clock.now, settings=HealthSettings()),
    )
    listener.start()
    try:
        assert listener.port is not None
        socket.create_connection(("127.0.0.1", listener.port), timeout=5).close()
    finally:
        listener.stop()
        away.dispose()


def test_a_gateway_that_stops_records_every_connection_it_held_as_gone(
    app: FastAPI, s: Scenario, session: Session, clock: Clock, disconnects: list[list[int]]
) -> None:
    """At once, in one statement: one by one, 20,000 connections did not fit in the stop's wait."""
    others = more_watches(session, s, 1000, 5)
    with running_listener(app, clock, WATCH, name="gateway-a") as listener:
        assert listener.port is not None
        watches = [Watch(listener.port, device.serial) for device in [s.watch, *others]]
        for watch in watches:
            watch.send("LK")
            assert watch.receive().content == b"LK"
        assert eventually(lambda: all(held_by_device(session, d.id, "gateway-a") for d in [s.watch, *others]))
    assert disconnects == [sorted(d.id or 0 for d in [s.watch, *others])]
    session.expire_all()
    for device_id in [s.watch.id, *(d.id for d in others)]:
        row = session.get(Device, device_id)
        assert row is not None and row.disconnected_at == clock.now, device_id


def test_watches_reconnecting_together_are_identified_together(
    app: FastAPI, s: Scenario, session: Session, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """After a restart a process's watches reconnect within seconds: those waiting while one lookup
    runs are looked up in the next, one query for all (one each took a minute for 14,000)."""
    others = more_watches(session, s, 2000, 11)
    lookups: list[int] = []
    real = connections.registered_devices

    def slow(session: Session, serials: Collection[str], protocol: DeviceProtocol) -> object:
        lookups.append(len(serials))
        time.sleep(0.3)  # a busy database: the other watches connect meanwhile
        return real(session, serials, protocol)

    monkeypatch.setattr(connections, "registered_devices", slow)
    with running_listener(app, clock, WATCH, name="gateway-a") as listener:
        assert listener.port is not None
        watches = [Watch(listener.port, device.serial) for device in [s.watch, *others]]
        for watch in watches:
            watch.send("LK")
        assert all(watch.receive().content == b"LK" for watch in watches)  # every one identified and answered
        unknown = Watch(listener.port, "358688000099999")
        unknown.send("LK")
        assert unknown.closed_by_server()  # an id nobody registered is still turned away
    assert sum(lookups) == 13 and len(lookups) <= 4, lookups


def test_a_process_at_its_most_connections_turns_new_ones_away_and_keeps_answering(
    app: FastAPI, s: Scenario, session: Session, clock: Clock
) -> None:
    """Past CARECENTER_DEVICE_MAX_CONNECTIONS (by default the descriptor limit less what the database
    needs) a new connection is closed at once: the device tries again, elsewhere where processes
    share the port, and this process still reaches its database for the ones it holds."""
    other, third = more_watches(session, s, 3000, 2)
    before = REGISTRY.get_sample_value("carecenter_device_connections_turned_away_total", {"protocol": "watch"}) or 0
    held_before = CAPACITY.open  # other tests' listeners in this process, if any
    with running_listener(app, clock, WATCH, device_max_connections=held_before + 2) as listener:
        assert listener.port is not None
        first, second = Watch(listener.port, s.watch.serial), Watch(listener.port, other.serial)
        for watch in (first, second):
            watch.send("LK")
            assert watch.receive().content == b"LK"
        turned_away = Watch(listener.port, third.serial)
        assert turned_away.closed_by_server()
        after = REGISTRY.get_sample_value("carecenter_device_connections_turned_away_total", {"protocol": "watch"})
        assert after == before + 1
        first.send("LK")  # the ones it holds are still answered
        assert first.receive().content == b"LK"
        second.close()
        assert eventually(lambda: CAPACITY.open == held_before + 1)
        again = Watch(listener.port, third.serial)  # room again: taken and answered
        again.send("LK")
        assert again.receive().content == b"LK"


def test_connections_that_close_together_are_recorded_together(
    app: FastAPI, s: Scenario, session: Session, clock: Clock, disconnects: list[list[int]]
) -> None:
    """A network outage drops thousands of watches at once: their leaving is written with the
    once-a-second notes, not in a transaction each."""
    everyone = [s.watch, *more_watches(session, s, 4000, 5)]
    with running_listener(app, clock, WATCH, name="gateway-a") as listener:
        assert listener.port is not None
        watches = [Watch(listener.port, device.serial) for device in everyone]
        for watch in watches:
            watch.send("LK")
            assert watch.receive().content == b"LK"
        assert eventually(lambda: all(held_by_device(session, d.id, "gateway-a") for d in everyone))
        for watch in watches:
            watch.close()
        assert eventually(lambda: not any(held_by_device(session, d.id, "gateway-a") for d in everyone))
        assert len(disconnects) <= 2
        assert sorted(i for ids in disconnects for i in ids) == sorted(d.id or 0 for d in everyone)
