from datetime import timedelta

from fastapi.testclient import TestClient
from sqlmodel import Session

from carecenter.access import Role
from carecenter.duty.service import on_duty_staff
from tests.conftest import Clock
from tests.factories import login, make_center, make_staff


def test_a_night_shift_across_midnight(client: TestClient, session: Session, clock: Clock) -> None:
    center = make_center(session)
    night = make_staff(session, center=center)
    headers = login(client, make_staff(session, center=center, role=Role.manager))
    start = clock.now.replace(hour=12)  # 20:00 in Shanghai
    response = client.post(
        "/api/v1/duty-shifts",
        json={
            "name": "夜班",
            "starts_at": start.isoformat(),
            "ends_at": (start + timedelta(hours=12)).isoformat(),
            "staff_ids": [night.id],
        },
        headers=headers,
    )
    assert response.status_code == 201, response.text
    assert response.json()["staff_ids"] == [night.id]
    assert center.id is not None
    assert [s.id for s in on_duty_staff(session=session, center_id=center.id, now=start + timedelta(hours=5))] == [
        night.id
    ]
    assert on_duty_staff(session=session, center_id=center.id, now=start + timedelta(hours=12)) == []
    listed = client.get("/api/v1/duty-shifts", params={"since": start.isoformat()}, headers=headers).json()
    assert [s["name"] for s in listed] == ["夜班"]
    assert client.delete(f"/api/v1/duty-shifts/{response.json()['id']}", headers=headers).status_code == 204


def test_shifts_are_checked(client: TestClient, session: Session, clock: Clock) -> None:
    center = make_center(session)
    outsider = make_staff(session, center=make_center(session))
    headers = login(client, make_staff(session, center=center, role=Role.manager))
    base = {"starts_at": clock.now.isoformat(), "ends_at": (clock.now + timedelta(hours=8)).isoformat()}
    wrong_staff = client.post("/api/v1/duty-shifts", json=base | {"staff_ids": [outsider.id]}, headers=headers)
    assert wrong_staff.status_code == 422
    assert wrong_staff.json()["detail"][0]["loc"] == ["body", "staff_ids"]
    backwards = client.post(
        "/api/v1/duty-shifts",
        headers=headers,
        json={"starts_at": clock.now.isoformat(), "ends_at": clock.now.isoformat(), "staff_ids": [outsider.id]},
    )
    assert backwards.status_code == 422
    assert "ends_at must be after starts_at" in backwards.text
