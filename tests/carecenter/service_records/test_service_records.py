"""Service records: from a completed visit, priced by the subsidy rules; bulk meals; corrections;
closing a month."""

from datetime import date, datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlmodel import Session, select

from carecenter.access import Role
from carecenter.audit.models import AuditEvent
from tests.conftest import Clock
from tests.factories import (
    login,
    make_center,
    make_eligibility,
    make_resident,
    make_service_record,
    make_staff,
    make_subsidy_rule,
    make_visit,
)

TASKS = [{"service": s, "done": False} for s in ("meals", "bathing", "cleaning", "shopping")]


def _records(
    client: TestClient, headers: dict[str, str], month: str = "2026-11", **params: Any
) -> list[dict[str, Any]]:
    response = client.get("/api/v1/service-records", params={"month": month, **params}, headers=headers)
    assert response.status_code == 200, response.text
    records: list[dict[str, Any]] = response.json()
    return records


def test_a_completed_visit_becomes_its_service_records(client: TestClient, session: Session, clock: Clock) -> None:
    center = make_center(session)
    worker = make_staff(session, center=center)
    resident = make_resident(session, center=center, latitude=39.9, longitude=116.4)
    make_eligibility(session, resident=resident, group="subsistence")
    make_subsidy_rule(session, center=center, group="subsistence", share_percent=80, category="meals")
    visit = make_visit(session, resident=resident, start=clock.now, worker_id=worker.id, tasks=TASKS)
    headers = login(client, worker)
    base = f"/api/v1/visits/{visit.id}"
    assert (
        client.post(f"{base}/check-in", json={"latitude": 39.9003, "longitude": 116.4}, headers=headers).status_code
        == 200
    )
    client.post(f"{base}/tasks", json={"service": "meals", "done": True}, headers=headers)
    client.post(f"{base}/tasks", json={"service": "cleaning", "done": True, "quantity": 1.5}, headers=headers)
    client.post(
        f"{base}/tasks", json={"service": "bathing", "done": False, "reason": "老人发烧，不宜洗澡"}, headers=headers
    )
    clock.advance(minutes=20)
    assert client.post(f"{base}/check-out", json={}, headers=headers).status_code == 200

    manager = login(client, make_staff(session, center=center, role=Role.manager))
    found = {r["service_code"]: r for r in _records(client, manager)}
    assert set(found) == {"meals", "bathing", "cleaning", "shopping"}
    meals, bath, cleaning, shopping = found["meals"], found["bathing"], found["cleaning"], found["shopping"]
    assert (meals["amount_fen"], meals["subsidy_fen"], meals["resident_fen"]) == (1200, 960, 240)
    assert meals["eligibility_group"] == "subsistence" and meals["subsidy_rule_id"] is not None
    assert (cleaning["quantity"], cleaning["amount_fen"], cleaning["subsidy_fen"]) == (
        1.5,
        4500,
        0,
    )  # rule is for meals
    assert (bath["delivered"], bath["amount_fen"], bath["not_delivered_reason"]) == (False, 0, "老人发烧，不宜洗澡")
    assert (shopping["delivered"], shopping["not_delivered_reason"]) == (False, "not ticked at check-out")
    assert meals["visit_id"] == visit.id and meals["worker_id"] == worker.id
    assert round(meals["check_in_distance_m"]) == 33 and meals["far_from_home"] is False  # the proof travels
    assert meals["checked_out_at"] is not None and meals["service_on"] == "2026-11-24"


def test_the_monthly_cap_holds_across_a_month_of_visits(client: TestClient, session: Session, clock: Clock) -> None:
    center = make_center(session)
    worker = make_staff(session, center=center)
    resident = make_resident(session, center=center)
    make_eligibility(session, resident=resident, group="advanced_age")
    make_subsidy_rule(session, center=center, group="advanced_age", share_percent=50, monthly_cap_fen=1500)
    for day in range(3):
        visit = make_visit(
            session, resident=resident, start=clock.now + timedelta(days=day), worker_id=worker.id, tasks=TASKS[:1]
        )
        clock.now = visit.scheduled_start
        headers = login(client, worker)
        client.post(f"/api/v1/visits/{visit.id}/check-in", json={}, headers=headers)
        client.post(f"/api/v1/visits/{visit.id}/tasks", json={"service": "meals", "done": True}, headers=headers)
        client.post(f"/api/v1/visits/{visit.id}/check-out", json={}, headers=headers)
    manager = login(client, make_staff(session, center=center, role=Role.manager))
    assert [r["subsidy_fen"] for r in _records(client, manager)] == [600, 600, 300]


def test_meals_for_a_group_are_recorded_once(client: TestClient, session: Session) -> None:
    center = make_center(session)
    people = [make_resident(session, center=center) for _ in range(3)]
    headers = login(client, make_staff(session, center=center))
    body = {
        "service_code": "meals",
        "service_on": "2026-11-23",
        "resident_ids": [p.id for p in people],
        "batch_id": "canteen-2026-11-23-noon",
    }
    first = client.post("/api/v1/service-records/bulk-meals", json=body, headers=headers)
    assert first.status_code == 201, first.text
    again = client.post("/api/v1/service-records/bulk-meals", json=body, headers=headers)
    assert [r["id"] for r in again.json()] == [r["id"] for r in first.json()]  # a replay doubles nothing
    manager = login(client, make_staff(session, center=center, role=Role.manager))
    assert len(_records(client, manager)) == 3
    other = make_resident(session, center=make_center(session))
    bad: list[tuple[dict[str, Any], list[str]]] = [
        (body | {"batch_id": None, "service_code": "bathing"}, ["body", "service_code"]),
        (body | {"batch_id": None, "service_on": "2026-11-25"}, ["body", "service_on"]),
        (body | {"batch_id": None, "resident_ids": [people[0].id, people[0].id]}, ["body", "resident_ids"]),
        (body | {"batch_id": None, "resident_ids": [other.id]}, ["body", "resident_ids"]),
        (body | {"batch_id": None, "resident_ids": []}, ["body", "resident_ids"]),
        (body | {"batch_id": None, "service_on": "2025-11-20"}, ["body", "service_on"]),  # a worker: 3 days back
        (body | {"batch_id": None, "service_on": "2026-11-20"}, ["body", "service_on"]),
    ]
    for payload, loc in bad:
        response = client.post("/api/v1/service-records/bulk-meals", json=payload, headers=headers)
        assert response.status_code == 422 and response.json()["detail"][0]["loc"] == loc, response.text
    assert len(_records(client, manager)) == 3
    late = body | {"batch_id": None, "service_on": "2026-11-10", "resident_ids": [people[0].id]}
    assert client.post("/api/v1/service-records/bulk-meals", json=late, headers=manager).status_code == 201


def test_closing_a_month_locks_it_and_corrections_go_to_the_next(
    client: TestClient, session: Session, clock: Clock
) -> None:
    center = make_center(session)
    resident = make_resident(session, center=center)
    make_eligibility(session, resident=resident, group="subsistence")
    rule = make_subsidy_rule(session, center=center, group="subsistence", share_percent=50)
    october = make_service_record(
        session,
        resident=resident,
        service_on=date(2026, 10, 20),
        month="2026-10",
        subsidy_fen=600,
        resident_fen=600,
        subsidy_rule_id=rule.id,
        eligibility_group="subsistence",
    )
    manager = login(client, make_staff(session, center=center, role=Role.manager))
    worker = login(client, make_staff(session, center=center))
    assert client.post("/api/v1/months/2026-10/close", headers=worker).status_code == 403
    assert client.post("/api/v1/months/2026-11/close", headers=manager).status_code == 409  # not over yet
    closed = client.post("/api/v1/months/2026-10/close", headers=manager)
    assert closed.status_code == 201, closed.text
    assert client.post("/api/v1/months/2026-10/close", headers=manager).status_code == 409
    assert client.post("/api/v1/months/2026-13/close", headers=manager).status_code == 422

    adjusted = client.post(
        f"/api/v1/service-records/{october.id}/adjust", json={"quantity": 2, "reason": "实际送了两份"}, headers=manager
    )
    assert adjusted.status_code == 200, adjusted.text
    delta = adjusted.json()
    assert (delta["month"], delta["adjusts_id"], delta["quantity"]) == ("2026-11", october.id, 1.0)
    assert (delta["amount_fen"], delta["subsidy_fen"], delta["resident_fen"]) == (1200, 600, 600)
    kept = [r for r in _records(client, manager, month="2026-10")]
    assert [(r["quantity"], r["amount_fen"]) for r in kept] == [(1.0, 1200)]  # the closed month did not move

    november = make_service_record(session, resident=resident, service_on=date(2026, 11, 3))
    in_place = client.post(
        f"/api/v1/service-records/{november.id}/adjust",
        json={"delivered": False, "not_delivered_reason": "老人住院", "reason": "记录有误"},
        headers=manager,
    )
    assert (in_place.json()["id"], in_place.json()["amount_fen"], in_place.json()["delivered"]) == (
        november.id,
        0,
        False,
    )
    assert (
        client.post(
            f"/api/v1/service-records/{delta['id']}/adjust", json={"quantity": 1, "reason": "再改一次"}, headers=manager
        ).status_code
        == 409
    )
    assert (
        client.post(
            f"/api/v1/service-records/{november.id}/adjust", json={"reason": "没改什么"}, headers=manager
        ).status_code
        == 422
    )
    assert (
        client.post(
            f"/api/v1/service-records/{november.id}/adjust", json={"quantity": 1, "reason": "工人改的"}, headers=worker
        ).status_code
        == 403
    )
    actions = session.exec(select(AuditEvent.action).where(AuditEvent.center_id == center.id)).all()
    assert {"month.close", "service_record.adjust", "service_record.adjust_after_close"} <= set(actions)


def test_a_visit_completed_into_a_closed_month_is_reported_in_the_next(
    client: TestClient, session: Session, clock: Clock
) -> None:
    center = make_center(session)
    worker = make_staff(session, center=center)
    resident = make_resident(session, center=center)
    visit = make_visit(
        session, resident=resident, start=datetime(2026, 10, 31, 6, 0, tzinfo=clock.now.tzinfo), worker_id=worker.id
    )
    clock.now = visit.scheduled_start
    client.post(f"/api/v1/visits/{visit.id}/check-in", json={}, headers=login(client, worker))
    clock.now = datetime(2026, 11, 24, 2, 0, tzinfo=clock.now.tzinfo)
    manager, headers = login(client, make_staff(session, center=center, role=Role.manager)), login(client, worker)
    assert client.post("/api/v1/months/2026-10/close", headers=manager).status_code == 201
    client.post(f"/api/v1/visits/{visit.id}/tasks", json={"service": "meals", "done": True}, headers=headers)
    assert client.post(f"/api/v1/visits/{visit.id}/check-out", json={}, headers=headers).status_code == 200
    (record,) = _records(client, manager)
    assert (record["service_on"], record["month"]) == ("2026-10-31", "2026-11")
    assert _records(client, manager, month="2026-10") == []
