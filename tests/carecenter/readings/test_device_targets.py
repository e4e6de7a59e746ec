"""Each process keeps the devices readings are for (`carecenter/ingest/targets.py`) until a device
changes anywhere: a move, a revocation, a new key or serial made through another process is what
the next reading of every process is judged by."""

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlmodel import Session, col, select

from bench.harness import Server, start_server
from carecenter.access import Role
from carecenter.context import app_context
from carecenter.devices.models import DEVICE_FACTS_VERSION, Device, DeviceKind
from carecenter.readings.models import Reading
from notifications.fake_twilio_api import FakeTwilioApi
from tests.factories import login, make_center, make_device, make_resident, make_staff


@pytest.fixture
def other_process(database_url: str, db: sa.Engine) -> Iterator[Server]:
    """`main.py serve` on the tests' database: a second process writing for the same center."""
    twilio = FakeTwilioApi().start()
    server = start_server(database_url, twilio)
    yield server
    server.stop()  # before the tables are emptied
    twilio.stop()


@pytest.fixture
def real_time_client(app: FastAPI, db: sa.Engine) -> Iterator[TestClient]:
    """The app at the real time, as the other process is (readings are stamped now)."""
    with TestClient(app, base_url="https://testserver") as client:
        yield client


def post(client: TestClient | httpx.Client, key: str, serial: str, event_id: str) -> Any:
    """One reading through a gateway's batch: the item's answer, or the status when refused whole."""
    item = {"event_id": event_id, "device": serial, "kind": "vitals", "recorded_at": datetime.now(UTC).isoformat()}
    response = client.post("/api/v1/checkins/batch", json={"readings": [item]}, headers={"X-Device-Key": key})
    return response.json()["results"][0] if response.status_code == 200 else response.status_code


def stored_for(session: Session, event_id: str) -> int | None:
    """The resident the reading was stored for."""
    session.expire_all()
    return session.exec(select(Reading.resident_id).where(Reading.event_id == event_id)).one()


def test_every_process_reads_a_device_as_another_just_changed_it(
    session: Session, real_time_client: TestClient, other_process: Server
) -> None:
    center = make_center(session)
    first, second = make_resident(session, center=center), make_resident(session, center=center)
    watch, _ = make_device(session, center=center, resident=first)
    gateway, gateway_key = make_device(session, center=center, kind=DeviceKind.gateway)
    headers = login(real_time_client, make_staff(session, center=center, role=Role.manager))
    here, there = real_time_client, httpx.Client(base_url=other_process.url, timeout=30)
    with there:
        # Both processes read the watch and keep it.
        assert post(there, gateway_key, watch.serial, "t-1")["result"] == "accepted"
        assert post(here, gateway_key, watch.serial, "h-1")["result"] == "accepted"
        assert stored_for(session, "t-1") == stored_for(session, "h-1") == first.id

        # Moved to another resident here: the other process stores its next reading for them.
        moved = here.patch(f"/api/v1/devices/{watch.id}", json={"resident_id": second.id}, headers=headers)
        assert moved.status_code == 200, moved.text
        assert post(there, gateway_key, watch.serial, "t-2")["result"] == "accepted"
        assert stored_for(session, "t-2") == second.id

        # A new gateway key here: the old one stops working there at once.
        rotated = here.post(f"/api/v1/devices/{gateway.id}/rotate-key", headers=headers)
        assert rotated.status_code == 200, rotated.text
        assert post(there, gateway_key, watch.serial, "t-3") == 401
        gateway_key = rotated.json()["device_key"]
        assert post(there, gateway_key, watch.serial, "t-4")["result"] == "accepted"

        # Revoked here: refused there, with the reason.
        assert here.post(f"/api/v1/devices/{watch.id}/revoke", headers=headers).status_code == 200
        refused = post(there, gateway_key, watch.serial, "t-5")
        assert (refused["result"], refused["reason"]) == ("rejected", f"device {watch.serial!r} has been revoked")
        assert post(here, gateway_key, watch.serial, "h-5")["result"] == "rejected"


def test_a_seen_device_is_not_read_again_until_a_device_changes(
    session: Session, real_time_client: TestClient, database_url: str
) -> None:
    center = make_center(session)
    watch, _ = make_device(session, center=center, resident=make_resident(session, center=center))
    _, gateway_key = make_device(session, center=center, kind=DeviceKind.gateway)
    engine = app_context(real_time_client.app).engine
    statements: list[str] = []

    def note(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    def device_reads() -> int:
        return sum(1 for s in statements if "WHERE device.serial" in s)

    def version() -> int:
        with engine.connect() as conn:
            return int(conn.exec_driver_sql(f"SELECT version FROM {DEVICE_FACTS_VERSION}").scalar_one())  # noqa: S608

    sa.event.listen(engine, "before_cursor_execute", note)
    try:
        assert post(real_time_client, gateway_key, watch.serial, "a-1")["result"] == "accepted"  # its first: read
        first_reads = device_reads()
        assert first_reads >= 1
        before = version()
        for n in range(2, 5):
            assert post(real_time_client, gateway_key, watch.serial, f"a-{n}")["result"] == "accepted"
        assert device_reads() == first_reads + 1  # once more, now seen; then kept
        session.expire_all()
        assert session.get(Device, watch.id).last_seen_at is not None  # type: ignore[union-attr]
        assert version() == before  # its last sign of life is not a change of its facts

        # Any change of a device's facts, made by anyone, and the next lookup reads again.
        with engine.begin() as conn:
            conn.execute(sa.update(Device).where(col(Device.id) == watch.id).values(model="W2"))  # not a fact
        assert version() == before
        with engine.begin() as conn:
            conn.execute(sa.update(Device).where(col(Device.id) == watch.id).values(resident_id=None))
        assert version() > before
        answer = post(real_time_client, gateway_key, watch.serial, "a-9")
        assert answer["result"] == "accepted"
        assert device_reads() == first_reads + 2
        assert stored_for(session, "a-9") is None  # no longer worn by anyone
    finally:
        sa.event.remove(engine, "before_cursor_execute", note)
