from datetime import UTC, datetime

from fastapi.testclient import TestClient
from sqlmodel import Session, select

from carecenter.access import Role
from carecenter.devices.models import CommandKind, Device, DeviceCommand
from carecenter.devices.service import key_hash
from tests.conftest import Clock
from tests.factories import login, make_center, make_device, make_resident, make_staff


def test_a_device_key_is_shown_once_and_stored_hashed(client: TestClient, session: Session) -> None:
    center = make_center(session)
    resident = make_resident(session, center=center)
    headers = login(client, make_staff(session, center=center, role=Role.manager))
    created = client.post(
        "/api/v1/devices",
        json={"kind": "watch", "serial": "IMEI-860000000000001", "resident_id": resident.id, "model": "W1"},
        headers=headers,
    )
    assert created.status_code == 201, created.text
    key = created.json()["device_key"]
    stored = session.exec(select(Device)).one()
    assert stored.key_hash == key_hash(key) and key not in stored.key_hash
    shown = client.get(f"/api/v1/devices/{stored.id}", headers=headers).json()
    assert "device_key" not in shown and shown["key_prefix"] == key[:10]
    listed = client.get("/api/v1/devices", params={"resident_id": resident.id}, headers=headers).json()
    assert [d["serial"] for d in listed["items"]] == ["IMEI-860000000000001"]


def test_device_input_is_checked(client: TestClient, session: Session) -> None:
    center = make_center(session)
    headers = login(client, make_staff(session, center=center, role=Role.manager))
    other_resident = make_resident(session, center=make_center(session))
    cases = [
        ({"kind": "watch", "serial": "has space"}, "serial"),
        ({"kind": "toaster", "serial": "S1"}, "kind"),
        ({"kind": "watch", "serial": "S1", "reporting_interval_seconds": 5}, "reporting_interval_seconds"),
        ({"kind": "watch", "serial": "S1", "resident_id": other_resident.id}, "resident_id"),
        ({"kind": "gateway", "serial": "G1", "resident_id": other_resident.id}, "resident_id"),
    ]
    for body, field in cases:
        response = client.post("/api/v1/devices", json=body, headers=headers)
        assert response.status_code == 422, body
        assert response.json()["detail"][0]["loc"][-1] == field
    assert client.post("/api/v1/devices", json={"kind": "watch", "serial": "S1"}, headers=headers).status_code == 201
    assert client.post("/api/v1/devices", json={"kind": "watch", "serial": "S1"}, headers=headers).status_code == 409


def test_care_workers_see_devices_but_do_not_register_them(client: TestClient, session: Session) -> None:
    center = make_center(session)
    headers = login(client, make_staff(session, center=center))
    assert client.get("/api/v1/devices", headers=headers).status_code == 200
    assert client.post("/api/v1/devices", json={"kind": "watch", "serial": "S2"}, headers=headers).status_code == 403


def test_devices_that_posted_are_revoked_not_deleted(client: TestClient, session: Session, clock: Clock) -> None:
    center = make_center(session)
    headers = login(client, make_staff(session, center=center, role=Role.manager))
    unused = client.post("/api/v1/devices", json={"kind": "watch", "serial": "UNUSED-1"}, headers=headers).json()
    used = client.post("/api/v1/devices", json={"kind": "pendant", "serial": "USED-1"}, headers=headers).json()
    body = {"event_id": "e1", "kind": "heartbeat", "recorded_at": clock.now.isoformat()}
    assert client.post("/api/v1/checkins", json=body, headers={"X-Device-Key": used["device_key"]}).status_code == 201
    assert client.delete(f"/api/v1/devices/{unused['id']}", headers=headers).status_code == 204
    refused = client.delete(f"/api/v1/devices/{used['id']}", headers=headers)
    assert refused.status_code == 409 and "revoke its key" in refused.json()["detail"]


def test_an_unused_device_goes_with_its_commands(client: TestClient, session: Session) -> None:
    """Commands queued to a device that never posted go with it (ON DELETE CASCADE), not by a service's hand."""
    center = make_center(session)
    device, _key = make_device(session, center=center)
    session.add(
        DeviceCommand(
            device_id=device.id or 0,
            center_id=center.id or 0,
            kind=CommandKind.locate,
            content="CR",
            requested_by="manager",
            created_at=datetime.now(UTC),
        )
    )
    session.commit()
    headers = login(client, make_staff(session, center=center, role=Role.manager))
    device_id = device.id
    assert client.delete(f"/api/v1/devices/{device_id}", headers=headers).status_code == 204
    session.expire_all()
    assert session.exec(select(DeviceCommand).where(DeviceCommand.device_id == device_id)).all() == []
