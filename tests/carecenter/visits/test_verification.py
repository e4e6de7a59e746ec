"""Visit verification through the API as the tablet and the manager use it: the home code, GPS
within the tolerance, a visit corrected by hand, the exception queue and the month's close."""

from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlmodel import Session, select

from carecenter.access import Role
from carecenter.audit.models import AuditEvent
from carecenter.visits.models import Visit
from tests.conftest import Clock
from tests.factories import login, make_center, make_resident, make_staff, make_visit

HOME = {"latitude": 39.7601, "longitude": 116.2101}
NEAR = {"latitude": 39.7605, "longitude": 116.2104}  # ~50 m away
FAR = {"latitude": 39.7801, "longitude": 116.2101}  # ~2.2 km away


def _center(session: Session) -> dict[str, Any]:
    center = make_center(session)
    worker = make_staff(session, center=center)
    manager = make_staff(session, center=center, role=Role.manager)
    resident = make_resident(session, center=center, latitude=HOME["latitude"], longitude=HOME["longitude"])
    return {"center": center, "worker": worker, "manager": manager, "resident": resident}


def _visit(session: Session, c: dict[str, Any], clock: Clock) -> int:
    visit = make_visit(session, resident=c["resident"], start=clock.now, worker_id=c["worker"].id)
    assert visit.id is not None
    return visit.id


def _do_visit(
    client: TestClient, worker: dict[str, str], visit_id: int, start: dict[str, Any], end: dict[str, Any]
) -> dict[str, Any]:
    assert client.post(f"/api/v1/visits/{visit_id}/check-in", json=start, headers=worker).status_code == 200
    task = {"service": "meals", "done": True}
    assert client.post(f"/api/v1/visits/{visit_id}/tasks", json=task, headers=worker).status_code == 200
    done = client.post(f"/api/v1/visits/{visit_id}/check-out", json=end, headers=worker)
    assert done.status_code == 200, done.text
    body: dict[str, Any] = done.json()
    return body


def test_a_visit_started_and_ended_with_the_home_code_is_verified_and_an_old_copy_is_not(
    client: TestClient, session: Session, clock: Clock
) -> None:
    c = _center(session)
    manager, worker = login(client, c["manager"]), login(client, c["worker"])
    rid = c["resident"].id
    assert client.get(f"/api/v1/residents/{rid}/home-code", headers=manager).json()["code"] is None
    printed = client.post(f"/api/v1/residents/{rid}/home-code", headers=manager)
    assert printed.status_code == 201
    code = printed.json()["code"]
    assert code.startswith("CCH1-") and printed.json()["version"] == 1

    # Indoors, no GPS: the code alone verifies each end; typed in lower case with spaces it still does.
    typed = f" {code.lower()} "
    done = _do_visit(client, worker, _visit(session, c, clock), {"home_code": code}, {"home_code": typed})
    assert (done["check_in_method"], done["check_out_method"]) == ("home_code", "home_code")
    assert done["verification"] == "verified" and done["exception"] is None

    # Printed again (a card was lost): the old copy no longer verifies; the worker is not stopped,
    # the manager sees what was entered, and the visit waits in the queue.
    client.post(f"/api/v1/residents/{rid}/home-code", headers=manager)
    old = _do_visit(client, worker, _visit(session, c, clock), {"home_code": code}, {"home_code": code})
    assert (old["check_in_method"], old["check_out_method"]) == ("none", "none")
    assert old["verification"] == "exception" and old["exception"] == "open"
    assert old["exception_problems"] == ["no_start_place", "no_end_place"]
    assert [n["why"] for n in old["conflict_notes"]] == ["the home code is not this home's current one"] * 2

    # Another resident's code, a made-up one, a revoked one: none verifies.
    other = make_resident(session, center=c["center"])
    other_code = client.post(f"/api/v1/residents/{other.id}/home-code", headers=manager).json()["code"]
    forged = code[:-1] + ("A" if code[-1] != "A" else "B")
    for wrong in (other_code, forged):
        visit = _do_visit(client, worker, _visit(session, c, clock), {"home_code": wrong, **NEAR}, NEAR)
        assert visit["check_in_method"] == "gps"  # falls back to the tablet's position
    assert client.delete(f"/api/v1/residents/{other.id}/home-code", headers=manager).json()["code"] is None
    revoked = _do_visit(client, worker, _visit(session, c, clock), {"home_code": other_code}, {})
    assert revoked["check_in_method"] == "none"
    actions = session.exec(select(AuditEvent.action).where(AuditEvent.entity_type == "resident")).all()
    assert actions.count("resident.home_code.print") == 3 and actions.count("resident.home_code.revoke") == 1


def test_gps_verifies_within_the_tolerance_and_a_corrected_visit_is_manual_for_good(
    client: TestClient, session: Session, clock: Clock
) -> None:
    c = _center(session)
    manager, worker = login(client, c["manager"]), login(client, c["worker"])
    near = _do_visit(client, worker, _visit(session, c, clock), NEAR, NEAR)
    assert (near["check_in_method"], near["verification"]) == ("gps", "verified")
    far = _do_visit(client, worker, _visit(session, c, clock), FAR, NEAR)
    assert far["verification"] == "exception" and far["exception_problems"] == ["far_start"]

    # The verified visit's check-out corrected by hand: manual, with who and why, and in the queue.
    fixed_out = (datetime.fromisoformat(near["checked_out_at"]) + timedelta(minutes=20)).isoformat()
    corrected = client.post(
        f"/api/v1/visits/{near['id']}/correct-times",
        json={"checked_out_at": fixed_out, "reason": "平板没电，护理员电话报告离开时间"},
        headers=manager,
    ).json()
    assert corrected["check_out_method"] == "manual" and corrected["verification"] == "manual"
    assert corrected["manual_reason"] == "平板没电，护理员电话报告离开时间"
    assert corrected["manual_by"] == c["manager"].username and corrected["exception"] == "open"

    queue = client.get("/api/v1/visit-exceptions", params={"month": "2026-11"}, headers=manager).json()
    assert sorted((v["id"], v["exception_problems"]) for v in queue) == [
        (near["id"], ["manual"]),
        (far["id"], ["far_start"]),
    ]

    approved = client.post(
        f"/api/v1/visits/{near['id']}/exception", json={"decision": "approve", "reason": "电话核实"}, headers=manager
    ).json()
    assert approved["exception"] == "approved" and approved["verification"] == "manual"  # never verified again
    again = client.post(
        f"/api/v1/visits/{near['id']}/exception", json={"decision": "reject", "reason": "x"}, headers=manager
    )
    assert again.status_code == 422  # a reason is at least 3 characters
    stats = client.get(
        "/api/v1/visits/stats", params={"since": "2026-11-01", "until": "2026-11-30"}, headers=manager
    ).json()
    assert stats["verified_share"] == 0 and stats["verified_target"] == 0.9
    event = session.exec(select(AuditEvent).where(AuditEvent.action == "visit.exception.approve")).one()
    assert event.reason == "电话核实" and event.entity_id == near["id"]


def test_a_month_closes_only_with_its_queue_empty_or_its_exceptions_excluded(
    client: TestClient, session: Session, clock: Clock
) -> None:
    c = _center(session)
    manager, worker = login(client, c["manager"]), login(client, c["worker"])
    far = _do_visit(client, worker, _visit(session, c, clock), FAR, FAR)
    near = _do_visit(client, worker, _visit(session, c, clock), NEAR, NEAR)
    clock.now = datetime(2026, 12, 2, 2, 0, tzinfo=UTC)
    manager = login(client, c["manager"])  # a week later
    refused = client.post("/api/v1/months/2026-11/close", headers=manager)
    assert refused.status_code == 409 and "1" in refused.json()["detail"]
    closed = client.post("/api/v1/months/2026-11/close", params={"exclude_exceptions": True}, headers=manager)
    assert closed.status_code == 201 and closed.json()["exceptions_excluded"] == 1
    session.expire_all()
    assert session.get(Visit, far["id"]).exception == "excluded"  # type: ignore[union-attr]
    assert session.get(Visit, near["id"]).exception is None  # type: ignore[union-attr]
    late = client.post(
        f"/api/v1/visits/{far['id']}/exception", json={"decision": "approve", "reason": "补录核实"}, headers=manager
    )
    assert late.status_code == 409
    event = session.exec(select(AuditEvent).where(AuditEvent.action == "month.close")).one()
    assert event.reason == "2026-11: 1 visits excluded from the claim"
