from fastapi.testclient import TestClient
from sqlmodel import Session

from carecenter.access import Role
from tests.factories import login, make_center, make_resident, make_staff


def test_every_change_and_full_read_is_audited(client: TestClient, session: Session) -> None:
    center = make_center(session)
    manager = make_staff(session, center=center, role=Role.manager)
    headers = login(client, manager)
    created = client.post(
        "/api/v1/residents", json={"name": "赵桂兰", "gender": "female", "birth_date": "1938-02-02"}, headers=headers
    ).json()
    rid = created["id"]
    client.patch(f"/api/v1/residents/{rid}", json={"notes": "新入住", "care_level": "dependent"}, headers=headers)
    client.get(f"/api/v1/residents/{rid}", headers=headers)
    contact = client.post(
        f"/api/v1/residents/{rid}/contacts",
        json={"name": "钱军", "relation": "son", "phone": "13900002222"},
        headers=headers,
    ).json()
    client.delete(f"/api/v1/residents/{rid}/contacts/{contact['id']}", headers=headers)

    events = client.get("/api/v1/audit-events", headers=headers).json()
    actions = [(e["action"], e["entity_id"]) for e in reversed(events["items"])]
    assert actions == [
        ("resident.create", rid),
        ("resident.update", rid),
        ("resident.read", rid),
        ("contact.create", contact["id"]),
        ("contact.delete", contact["id"]),
    ]
    update = next(e for e in events["items"] if e["action"] == "resident.update")
    assert update["changed_fields"] == "care_level,notes"  # names only, never the values
    assert all(e["actor_username"] == manager.username and e["client_addr"] == "203.0.113.7" for e in events["items"])
    filtered = client.get("/api/v1/audit-events", params={"action": "resident.read"}, headers=headers).json()
    assert filtered["total"] == 1


def test_audit_log_is_read_only_and_scoped(client: TestClient, session: Session) -> None:
    mine, other = make_center(session), make_center(session)
    make_resident(session, center=other)
    admin_headers = login(client, make_staff(session, center=None, role=Role.admin))
    client.get("/api/v1/residents/" + str(make_resident(session, center=other).id), headers=admin_headers)
    manager_headers = login(client, make_staff(session, center=mine, role=Role.manager))
    assert client.get("/api/v1/audit-events", headers=manager_headers).json()["total"] == 0
    assert client.get("/api/v1/audit-events", headers=admin_headers).json()["total"] == 1
    assert client.delete("/api/v1/audit-events", headers=admin_headers).status_code == 405
    worker_headers = login(client, make_staff(session, center=mine))
    assert client.get("/api/v1/audit-events", headers=worker_headers).status_code == 403


def test_naive_timestamps_in_filters_are_a_422(client: TestClient, session: Session) -> None:
    headers = login(client, make_staff(session, center=None, role=Role.admin))
    response = client.get("/api/v1/audit-events", params={"since": "2026-11-24T08:00:00"}, headers=headers)
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["query", "since"]
    ok = client.get("/api/v1/audit-events", params={"since": "2026-11-24T08:00:00+08:00"}, headers=headers)
    assert ok.status_code == 200
