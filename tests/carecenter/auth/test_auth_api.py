from fastapi.testclient import TestClient
from sqlmodel import Session

from carecenter.access import Role
from tests.conftest import Clock
from tests.factories import PASSWORD, login, make_center, make_staff


def test_login_returns_a_bearer_token_that_opens_the_api(client: TestClient, session: Session) -> None:
    worker = make_staff(session, center=make_center(session))
    response = client.post("/api/v1/auth/token", data={"username": worker.username.upper(), "password": PASSWORD})
    assert response.status_code == 200
    body = response.json()
    assert body["token_type"] == "bearer"
    me = client.get("/api/v1/staff/me", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert me.status_code == 200
    assert me.json()["username"] == worker.username


def test_wrong_password_and_unknown_user_get_the_same_answer(client: TestClient, session: Session) -> None:
    worker = make_staff(session, center=make_center(session))
    wrong = client.post("/api/v1/auth/token", data={"username": worker.username, "password": "not-the-password"})
    unknown = client.post("/api/v1/auth/token", data={"username": "nobody", "password": PASSWORD})
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json() == unknown.json() == {"detail": "Wrong username or password."}


def test_requests_without_a_valid_token_are_401(client: TestClient) -> None:
    assert client.get("/api/v1/residents").status_code == 401
    response = client.get("/api/v1/residents", headers={"Authorization": "Bearer forged"})
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"


def test_logout_revokes_the_token(client: TestClient, session: Session) -> None:
    headers = login(client, make_staff(session, center=make_center(session)))
    assert client.post("/api/v1/auth/logout", headers=headers).status_code == 204
    assert client.get("/api/v1/staff/me", headers=headers).status_code == 401


def test_idle_sessions_expire_after_30_minutes(client: TestClient, session: Session, clock: Clock) -> None:
    headers = login(client, make_staff(session, center=make_center(session)))
    clock.advance(minutes=29)
    assert client.get("/api/v1/staff/me", headers=headers).status_code == 200  # activity resets the idle timer
    clock.advance(minutes=29)
    assert client.get("/api/v1/staff/me", headers=headers).status_code == 200
    clock.advance(minutes=31)
    response = client.get("/api/v1/staff/me", headers=headers)
    assert response.status_code == 401
    assert "log in again" in response.json()["detail"]


def test_sessions_end_after_12_hours_however_active(client: TestClient, session: Session, clock: Clock) -> None:
    headers = login(client, make_staff(session, center=make_center(session)))
    for _ in range(12 * 3 - 1):
        clock.advance(minutes=20)
        assert client.get("/api/v1/staff/me", headers=headers).status_code == 200
    clock.advance(minutes=20)
    assert client.get("/api/v1/staff/me", headers=headers).status_code == 401


def test_five_failures_lock_the_account_for_15_minutes(client: TestClient, session: Session, clock: Clock) -> None:
    worker = make_staff(session, center=make_center(session))
    for _ in range(5):
        assert (
            client.post("/api/v1/auth/token", data={"username": worker.username, "password": "x" * 8}).status_code
            == 401
        )
    locked = client.post("/api/v1/auth/token", data={"username": worker.username, "password": PASSWORD})
    assert locked.status_code == 429
    assert locked.json()["detail"] == "Too many failed logins for this account. Try again in 15 min."
    assert locked.headers["retry-after"] == "900"
    clock.advance(minutes=10)
    assert (
        "5 min."
        in client.post("/api/v1/auth/token", data={"username": worker.username, "password": PASSWORD}).json()["detail"]
    )
    clock.advance(minutes=5, seconds=1)
    assert (
        client.post("/api/v1/auth/token", data={"username": worker.username, "password": PASSWORD}).status_code == 200
    )


def test_many_failures_from_one_client_lock_that_client(client: TestClient, session: Session) -> None:
    worker = make_staff(session, center=make_center(session))
    for n in range(20):
        client.post("/api/v1/auth/token", data={"username": f"guess{n}", "password": "x" * 8})
    response = client.post("/api/v1/auth/token", data={"username": worker.username, "password": PASSWORD})
    assert response.status_code == 429
    assert "from this device" in response.json()["detail"]


def test_deactivating_staff_ends_their_sessions(client: TestClient, session: Session) -> None:
    center = make_center(session)
    manager = make_staff(session, center=center, role=Role.manager)
    worker = make_staff(session, center=center)
    worker_headers = login(client, worker)
    response = client.patch(f"/api/v1/staff/{worker.id}", json={"active": False}, headers=login(client, manager))
    assert response.status_code == 200
    assert client.get("/api/v1/staff/me", headers=worker_headers).status_code == 401
    again = client.post("/api/v1/auth/token", data={"username": worker.username, "password": PASSWORD})
    assert again.status_code == 401


def test_a_password_reset_ends_old_sessions(client: TestClient, session: Session) -> None:
    center = make_center(session)
    manager = make_staff(session, center=center, role=Role.manager)
    worker = make_staff(session, center=center)
    old = login(client, worker)
    client.patch(f"/api/v1/staff/{worker.id}", json={"password": "a-new-password"}, headers=login(client, manager))
    assert client.get("/api/v1/staff/me", headers=old).status_code == 401
    assert client.get("/api/v1/staff/me", headers=login(client, worker, "a-new-password")).status_code == 200
