"""The demo's devices and roster, and the simulator driving the real API."""

import itertools
import random
from datetime import timedelta

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlmodel import Session, col, func, select

from carecenter.alerts.models import Alert
from carecenter.context import app_context
from carecenter.demo.seed import seed_demo
from carecenter.demo.simulator import Simulator
from carecenter.devices.gt06_protocol import GT06
from carecenter.devices.models import Device
from carecenter.devices.protocol import DeviceProtocolSpec
from carecenter.devices.watch_protocol import WATCH
from carecenter.duty.models import DutyShift
from carecenter.duty.service import on_duty_staff
from carecenter.gateway.listener import DeviceListener
from carecenter.readings.models import Reading
from carecenter.settings.devices import DeviceSettings
from notifications.models import SmsMessage
from tests.conftest import Clock, Demo
from tests.factories import PASSWORD


def test_the_demo_registers_devices_and_a_roster(session: Session, clock: Clock, db: object, demo: Demo) -> None:
    summary = demo()
    assert session.exec(select(func.count()).select_from(Device)).one() > 300
    assert [len(g["devices"]) > 20 for g in summary.gateways] == [True, True]  # pendants behind the gateways
    assert len(summary.watches) > 100  # the 4G watches speak their own protocol
    assert all(len(w["serial"]) == 15 and w["serial"].isdigit() for w in summary.watches)  # IMEI-like ids
    assert len(summary.trackers) > 20  # and GT06 pendants the binary protocol
    assert all(len(t["serial"]) == 15 and t["serial"].isdigit() for t in summary.trackers)
    serials = [d["serial"] for d in summary.watches + summary.trackers]
    assert all(luhn_valid(serial) for serial in serials)  # IMEIs with a valid check digit …
    numbers = sorted(int(serial[2:14]) for serial in serials)
    assert sum(b - a == 1 for a, b in itertools.pairwise(numbers)) < 3  # … and not sequential
    shifts = session.exec(select(func.count()).select_from(DutyShift)).one()
    again = seed_demo(session=session, password=PASSWORD, now=clock.now, paperwork=False)
    session.commit()
    assert session.exec(select(func.count()).select_from(DutyShift)).one() == shifts  # no duplicate shifts
    assert again.gateways[0]["key"] != summary.gateways[0]["key"]  # keys are only shown fresh
    for gateway in summary.gateways:
        assert on_duty_staff(session=session, center_id=gateway["center_id"], now=clock.now)  # always someone
        assert on_duty_staff(session=session, center_id=gateway["center_id"], now=clock.now + timedelta(days=13))


def test_the_simulators_first_sos_comes_within_seconds(
    client: TestClient, session: Session, clock: Clock, demo: Demo
) -> None:
    """A newcomer opening the board sees an SOS reach the right people within 20 s: the simulator
    (one step a second) sends its first on its fifth step, whatever chance says."""
    summary = demo()
    simulator = Simulator(client=client, gateways=summary.gateways, rate=5, rng=random.Random(1), sos_chance=0)
    for _ in range(4):
        simulator.step(now=clock.now)
    assert session.exec(select(Alert).where(Alert.kind == "sos")).all() == []
    simulator.step(now=clock.now)
    [sos] = session.exec(select(Alert).where(Alert.kind == "sos")).all()
    assert session.exec(select(SmsMessage).where(SmsMessage.alert_id == sos.id)).all()  # paged at once


def test_the_demo_has_a_full_month_of_paperwork(client: TestClient, session: Session, clock: Clock, demo: Demo) -> None:
    """Last month's report is full: every category, subsidies, welfare visits, levels, statements."""
    demo()
    response = client.post("/api/v1/auth/token", data={"username": "manager", "password": PASSWORD})
    headers = {"Authorization": f"Bearer {response.json()['access_token']}"}
    report = client.get("/api/v1/reports/monthly", params={"month": "2026-10"}, headers=headers).json()
    categories = {row["key"] for row in report["by_category"]}
    assert {"meals", "bathing", "cleaning", "medical_help", "welfare_visit", "other"} <= categories
    assert report["totals"]["records"] > 3000 and report["totals"]["subsidy_fen"] > 0
    assert {"extremely_poor", "subsistence", "none"} <= {row["key"] for row in report["by_group"]}
    assert report["welfare"]["eligible"] > 5 and 0 < report["welfare"]["covered"] <= report["welfare"]["eligible"]
    assert {"mild", "moderate", "severe", "none"} <= set(report["levels"])
    assert report["not_delivered"] > 0 and report["closed_at"] is None  # the manager closes it
    due = client.get("/api/v1/assessments/due", headers=headers).json()
    assert any(d["overdue"] for d in due) and any(d["why"] == "never" for d in due)


def test_the_simulator_raises_alerts_and_the_workers_answer(
    client: TestClient, session: Session, app: FastAPI, clock: Clock, demo: Demo
) -> None:
    summary = demo()
    simulator = Simulator(
        client=client, gateways=summary.gateways, rate=40, password=PASSWORD, rng=random.Random(7), sos_chance=0.05
    )
    assert simulator.start_visits(now=clock.now) >= 1  # the demo's worker checks in at the visit due now
    for _ in range(5):
        simulator.step(now=clock.now)
    assert simulator.posted >= 150
    opened = session.exec(select(Alert).where(Alert.kind == "sos")).all()
    assert opened, "a 5% SOS chance over 200 readings opens alerts"
    assert session.exec(select(func.count()).select_from(SmsMessage)).one() >= 2 * len(opened)
    clock.advance(minutes=2)
    for _ in range(6):  # acknowledge on one pass, resolve on a later one (each with some randomness)
        simulator.answer(now=clock.now)
    session.expire_all()
    statuses = {a.status for a in session.exec(select(Alert).where(Alert.kind == "sos")).all()}
    assert "resolved" in statuses
    assert simulator.answered > 0


def test_simulate_needs_the_demo_keys(tmp_path: object, capsys: pytest.CaptureFixture[str]) -> None:
    from main import main

    assert main(["simulate", "--keys", "/nonexistent/keys.json", "--duration", "0"]) == 2
    assert "run `python main.py demo` first" in capsys.readouterr().err


@pytest.mark.parametrize("protocol", [WATCH, GT06], ids=lambda p: p.name)
def test_the_simulator_drives_watches_and_gt06_pendants_over_tcp(
    client: TestClient, session: Session, app: FastAPI, clock: Clock, protocol: DeviceProtocolSpec, demo: Demo
) -> None:
    summary = demo()
    listener = DeviceListener(
        protocol=protocol,
        engine=app_context(app).engine,
        checkins=app_context(app).checkins,
        settings=DeviceSettings(watch_port=0, watch_host="127.0.0.1", gt06_port=0, gt06_host="127.0.0.1"),
        clock=lambda: clock.now,
    )
    listener.start()
    assert listener.port is not None
    devices = (summary.watches if protocol is WATCH else summary.trackers)[:6]
    address = ("127.0.0.1", listener.port)
    try:
        simulator = Simulator(
            client=client,
            gateways=summary.gateways,
            rate=2,
            rng=random.Random(3),
            sos_chance=0.2,
            fall_chance=0.2,
            watch_address=address if protocol is WATCH else None,
            watches=devices if protocol is WATCH else [],
            gt06_address=address if protocol is GT06 else None,
            trackers=devices if protocol is GT06 else [],
        )
        for _ in range(30):
            simulator.step(now=clock.now)
    finally:
        simulator.stop()
        listener.stop()
    serials = {w["serial"] for w in devices}
    session.expire_all()
    from_watches = session.exec(
        select(func.count())
        .select_from(Reading)
        .join(Device, col(Reading.device_id) == Device.id)
        .where(col(Device.serial).in_(serials))
    ).one()
    assert from_watches > 5
    watch_ids = session.exec(select(Device.id).where(col(Device.serial).in_(serials))).all()
    raised = set(session.exec(select(Alert.kind).where(col(Alert.device_id).in_(watch_ids))).all())
    assert {"sos", "fall"} <= raised


def luhn_valid(number: str) -> bool:
    """The IMEI check digit (Luhn), written here independently of the demo's."""
    digits = [int(d) for d in number]
    odd, even = digits[-1::-2], digits[-2::-2]
    return (sum(odd) + sum(sum(divmod(2 * d, 10)) for d in even)) % 10 == 0
