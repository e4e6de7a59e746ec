from datetime import UTC, datetime

from fastapi.testclient import TestClient
from sqlmodel import Session, select

from carecenter.access import Role
from carecenter.alerts.models import EscalationPolicy
from carecenter.catalogue.models import ServiceOffering
from carecenter.centers.models import Center
from carecenter.duty.models import DutyShift
from carecenter.subsidies.models import SubsidyRule
from tests.conftest import make_app, make_settings
from tests.factories import login, make_center, make_device, make_resident, make_shift, make_staff, make_subsidy_rule

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


def test_deleting_a_center_takes_its_own_settings_and_keeps_any_record(client: TestClient, session: Session) -> None:
    """The schema decides: its catalogue, subsidy rules, policy and rota go with it (ON DELETE CASCADE);
    a device registered to it is a record, so the center stays and the answer says why."""
    admin = login(client, make_staff(session, center=None, role=Role.admin))
    created = client.post("/api/v1/centers", json=NEW_CENTER, headers=admin).json()
    center = session.get(Center, created["id"])
    assert center is not None
    make_subsidy_rule(session, center=center)
    make_shift(session, center=center, staff=[], starts_at=datetime.now(UTC))
    policy = client.put(
        f"/api/v1/centers/{center.id}/escalation-policy",
        json=client.get(f"/api/v1/centers/{center.id}/escalation-policy", headers=admin).json(),
        headers=admin,
    )
    assert policy.status_code == 200, policy.text
    assert session.exec(select(ServiceOffering).where(ServiceOffering.center_id == center.id)).first() is not None
    device, _key = make_device(session, center=center)
    kept = client.delete(f"/api/v1/centers/{center.id}", headers=admin | {"Accept-Language": "zh-CN"})
    assert kept.status_code == 409 and "device" in kept.json()["detail"] and "不能删除" in kept.json()["detail"]
    session.delete(device)
    session.commit()
    center_id = center.id
    assert client.delete(f"/api/v1/centers/{center_id}", headers=admin).status_code == 204
    session.expire_all()
    for table in (ServiceOffering, SubsidyRule, EscalationPolicy, DutyShift):
        assert session.exec(select(table).where(table.center_id == center_id)).all() == []
