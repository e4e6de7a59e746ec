from fastapi.testclient import TestClient
from sqlmodel import Session

from carecenter.access import Role
from tests.factories import login, make_center, make_staff

NEW_WORKER = {"name": "刘晓燕", "phone": "139 0000 1111", "username": "Liu.XY", "password": "long-enough-pw"}


def test_manager_hires_a_care_worker_in_their_center(client: TestClient, session: Session) -> None:
    center = make_center(session)
    headers = login(client, make_staff(session, center=center, role=Role.manager))
    response = client.post("/api/v1/staff", json=NEW_WORKER, headers=headers)
    assert response.status_code == 201, response.text
    body = response.json()
    assert (body["username"], body["center_id"], body["role"], body["phone"]) == (
        "liu.xy",
        center.id,
        "care_worker",
        "+8613900001111",
    )
    assert "password" not in body and "password_hash" not in body
    assert (
        client.post("/api/v1/auth/token", data={"username": "liu.xy", "password": "long-enough-pw"}).status_code == 200
    )


def test_username_taken_is_a_409(client: TestClient, session: Session) -> None:
    headers = login(client, make_staff(session, center=make_center(session), role=Role.manager))
    assert client.post("/api/v1/staff", json=NEW_WORKER, headers=headers).status_code == 201
    again = client.post("/api/v1/staff", json=NEW_WORKER | {"phone": "13900001112"}, headers=headers)
    assert again.status_code == 409
    assert "taken" in again.json()["detail"]


def test_short_password_is_a_422_naming_the_field(client: TestClient, session: Session) -> None:
    headers = login(client, make_staff(session, center=make_center(session), role=Role.manager))
    response = client.post("/api/v1/staff", json=NEW_WORKER | {"password": "short"}, headers=headers)
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "password"]


def test_the_most_common_passwords_are_refused(client: TestClient, session: Session) -> None:
    headers = login(client, make_staff(session, center=make_center(session), role=Role.manager))
    for weak in ("12345678", "Password123", "woaini1314", "qwertyuiop", "aaaaaaaaaa", "abababab"):
        response = client.post("/api/v1/staff", json=NEW_WORKER | {"password": weak}, headers=headers)
        assert response.status_code == 422, weak
        assert "most common passwords" in response.json()["detail"][0]["msg"]
    assert client.post("/api/v1/staff", json=NEW_WORKER, headers=headers).status_code == 201


def test_managers_cannot_make_admins_or_hire_elsewhere(client: TestClient, session: Session) -> None:
    other = make_center(session)
    manager = make_staff(session, center=make_center(session), role=Role.manager)
    headers = login(client, manager)
    assert client.post("/api/v1/staff", json=NEW_WORKER | {"role": "admin"}, headers=headers).status_code == 403
    assert client.post("/api/v1/staff", json=NEW_WORKER | {"center_id": other.id}, headers=headers).status_code == 404
    me = client.patch(f"/api/v1/staff/{manager.id}", json={"active": False}, headers=headers)
    assert me.status_code == 403


def test_care_workers_read_colleagues_but_cannot_manage(client: TestClient, session: Session) -> None:
    center = make_center(session)
    worker = make_staff(session, center=center)
    colleague = make_staff(session, center=center)
    make_staff(session, center=make_center(session))  # another center's worker stays invisible
    headers = login(client, worker)
    listed = client.get("/api/v1/staff", headers=headers).json()
    assert {s["id"] for s in listed["items"]} == {worker.id, colleague.id}
    assert client.post("/api/v1/staff", json=NEW_WORKER, headers=headers).status_code == 403
    assert client.patch(f"/api/v1/staff/{colleague.id}", json={"name": "x"}, headers=headers).status_code == 403


def test_admin_creates_a_manager_anywhere(client: TestClient, session: Session) -> None:
    center = make_center(session)
    headers = login(client, make_staff(session, center=None, role=Role.admin))
    no_center = client.post("/api/v1/staff", json=NEW_WORKER | {"role": "manager"}, headers=headers)
    assert no_center.status_code == 422
    assert no_center.json()["detail"][0]["loc"] == ["body", "center_id"]
    response = client.post(
        "/api/v1/staff", json=NEW_WORKER | {"role": "manager", "center_id": center.id}, headers=headers
    )
    assert response.status_code == 201
