from fastapi.testclient import TestClient
from sqlmodel import Session

from carecenter.staff.models import Role
from tests.conftest import make_app, make_settings
from tests.factories import login, make_center, make_resident, make_staff

NEW_CENTER = {"name": "琉璃河镇养老服务中心", "town": "琉璃河镇", "district": "房山区", "phone": "010 6938 1234"}


def test_admin_manages_centers(client: TestClient, session: Session) -> None:
    admin = make_staff(session, center=None, role=Role.admin)
    headers = login(client, admin)
    created = client.post("/api/v1/centers", json=NEW_CENTER, headers=headers)
    assert created.status_code == 201, created.text
    center = created.json()
    assert (center["time_zone"], center["phone"]) == ("Asia/Shanghai", "+861069381234")
    updated = client.patch(f"/api/v1/centers/{center['id']}", json={"address": "京周路1号"}, headers=headers)
    assert updated.json()["address"] == "京周路1号"
    assert client.delete(f"/api/v1/centers/{center['id']}", headers=headers).status_code == 204


def test_new_centers_take_the_configured_time_zone(session: Session, database_url: str) -> None:
    admin = make_staff(session, center=None, role=Role.admin)
    with TestClient(make_app(make_settings(database_url, timezone="Asia/Urumqi"))) as client:
        headers = login(client, admin)
        default = client.post("/api/v1/centers", json=NEW_CENTER, headers=headers).json()
        given = client.post("/api/v1/centers", json=NEW_CENTER | {"time_zone": "Asia/Shanghai"}, headers=headers)
    assert (default["time_zone"], given.json()["time_zone"]) == ("Asia/Urumqi", "Asia/Shanghai")


def test_unknown_time_zone_is_a_422(client: TestClient, session: Session) -> None:
    headers = login(client, make_staff(session, center=None, role=Role.admin))
    response = client.post("/api/v1/centers", json=NEW_CENTER | {"time_zone": "Mars/Olympus"}, headers=headers)
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "time_zone"]
    assert "IANA" in response.json()["detail"][0]["msg"]


def test_a_center_in_use_cannot_be_deleted(client: TestClient, session: Session) -> None:
    center = make_center(session)
    make_resident(session, center=center)
    response = client.delete(
        f"/api/v1/centers/{center.id}", headers=login(client, make_staff(session, center=None, role=Role.admin))
    )
    assert response.status_code == 409
    assert "1 residents" in response.json()["detail"]


def test_managers_see_only_their_center_and_cannot_create(client: TestClient, session: Session) -> None:
    mine, _other = make_center(session), make_center(session)
    headers = login(client, make_staff(session, center=mine, role=Role.manager))
    listed = client.get("/api/v1/centers", headers=headers).json()
    assert [c["id"] for c in listed["items"]] == [mine.id]
    assert client.post("/api/v1/centers", json=NEW_CENTER, headers=headers).status_code == 403
    assert client.patch(f"/api/v1/centers/{mine.id}", json={"name": "x"}, headers=headers).status_code == 403
