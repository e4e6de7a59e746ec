"""Care plans to visits, visits at the door, and the visit sweeps stepped through time."""

import threading
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlmodel import Session, col, select

from carecenter.alerts.models import Alert
from carecenter.audit.models import AuditEvent
from carecenter.context import app_context
from carecenter.readings.models import Reading
from carecenter.residents.models import LivingSituation
from carecenter.settings.visits import VisitRules
from carecenter.visits import sweeps
from carecenter.visits.models import Visit
from notifications.models import SmsMessage
from tests.carecenter.alerts.scenario import Scenario, build
from tests.conftest import Clock, Demo, make_app, make_settings
from tests.factories import login, make_assessment, make_center, make_resident, make_staff, make_visit

SHANGHAI = ZoneInfo("Asia/Shanghai")
RULES = VisitRules()


def plan_body(s: Scenario, **overrides: Any) -> dict[str, Any]:
    body = {
        "resident_id": s.resident.id,
        "services": ["meals", "medication"],
        "starts_on": "2026-11-01",
        "preferred_worker_id": s.worker.id,
        "recurrence": {"weekdays": [0, 2, 4], "start_time": "15:00", "duration_minutes": 60},
    }
    return body | overrides


def visits_of(session: Session, **where: Any) -> list[Visit]:
    session.expire_all()
    stmt = select(Visit).order_by(col(Visit.scheduled_start))
    for key, value in where.items():
        stmt = stmt.where(getattr(Visit, key) == value)
    return list(session.exec(stmt).all())


def run(app: FastAPI, job: Any, now: datetime) -> int:
    with Session(app_context(app).engine) as session:
        done: int = job(session, app_context(app).alert_messaging, now=now, rules=RULES)
        session.commit()
    return done


def sms(session: Session, purpose: str | None = None) -> list[tuple[str, str]]:
    stmt = select(SmsMessage).order_by(col(SmsMessage.id))
    if purpose:
        stmt = stmt.where(SmsMessage.purpose == purpose)
    return [
        (m.recipient_ref or "", m.dedupe_key.split(":")[2] if m.dedupe_key.startswith("visit:") else m.dedupe_key)
        for m in session.exec(stmt).all()
    ]


def test_a_plan_generates_two_weeks_of_visits_once(client: TestClient, session: Session, clock: Clock) -> None:
    s = build(session, clock.now)  # 2026-11-24 is a Tuesday, 10:00 in Shanghai
    headers = login(client, s.manager)
    created = client.post("/api/v1/care-plans", json=plan_body(s), headers=headers)
    assert created.status_code == 201, created.text
    visits = visits_of(session)
    local = [v.scheduled_start.astimezone(SHANGHAI) for v in visits]
    assert [d.date() for d in local] == [date(2026, 11, d) for d in (25, 27, 30)] + [
        date(2026, 12, d) for d in (2, 4, 7)
    ]
    assert {d.time() for d in local} == {time(15)} and {v.worker_id for v in visits} == {s.worker.id}
    assert [t.model_dump() for t in visits[0].tasks] == [
        {"service": "meals", "done": False, "quantity": None, "reason": None},
        {"service": "medication", "done": False, "quantity": None, "reason": None},
    ]
    with Session(app_context(client.app).engine) as own:
        from carecenter.visits.service import generate_all_visits

        assert generate_all_visits(own, now=clock.now, rules=RULES) == 0  # the nightly job adds nothing new
        own.commit()
    assert len(visits_of(session)) == 6


def test_editing_a_plan_changes_only_future_unstarted_visits(
    client: TestClient, session: Session, clock: Clock
) -> None:
    s = build(session, clock.now)
    headers = login(client, s.manager)
    plan = client.post("/api/v1/care-plans", json=plan_body(s), headers=headers).json()
    first = visits_of(session)[0]
    clock.now = first.scheduled_start + timedelta(minutes=5)
    worker = login(client, s.worker)
    assert client.post(f"/api/v1/visits/{first.id}/check-in", json={}, headers=worker).status_code == 200
    recurrence = {"weekdays": [1, 3], "start_time": "16:30", "duration_minutes": 45}
    headers = login(client, s.manager)
    assert (
        client.patch(f"/api/v1/care-plans/{plan['id']}", json={"recurrence": recurrence}, headers=headers).status_code
        == 200
    )
    visits = visits_of(session)
    assert visits[0].id == first.id and visits[0].status == "in_progress"  # the started one is untouched
    later = [v.scheduled_start.astimezone(SHANGHAI) for v in visits[1:]]
    assert {d.weekday() for d in later} == {1, 3} and {d.time() for d in later} == {time(16, 30)}


def test_invalid_plans_are_refused(client: TestClient, session: Session, clock: Clock) -> None:
    s = build(session, clock.now)
    headers = login(client, s.manager)
    for overrides, field in (
        ({"services": ["juggling"]}, "services"),
        ({"recurrence": {"weekdays": [7], "start_time": "09:00"}}, "recurrence"),
        ({"recurrence": {"weekdays": [1], "every_n_days": 2, "start_time": "09:00"}}, "recurrence"),
        ({"preferred_worker_id": s.manager.id}, "preferred_worker_id"),
    ):
        response = client.post("/api/v1/care-plans", json=plan_body(s, **overrides), headers=headers)
        assert response.status_code == 422, overrides
        assert field in str(response.json()["detail"][0]["loc"]), response.text
    assert client.post("/api/v1/care-plans", json=plan_body(s), headers=login(client, s.worker)).status_code == 403


def test_assignment_refuses_double_bookings_with_travel_time(
    client: TestClient, session: Session, clock: Clock
) -> None:
    s = build(session, clock.now)
    nine = datetime(2026, 11, 25, 9, tzinfo=SHANGHAI)
    booked = make_visit(session, resident=s.resident, start=nine, worker_id=s.worker.id)
    other = make_resident(session, center=s.center)
    clash = make_visit(session, resident=other, start=nine + timedelta(minutes=70))  # 10 min after the first ends
    fine = make_visit(session, resident=other, start=nine + timedelta(minutes=75))
    headers = login(client, s.manager)
    refused = client.post(f"/api/v1/visits/{clash.id}/assign", json={"worker_id": s.worker.id}, headers=headers)
    assert refused.status_code == 409
    assert f"already has visit {booked.id} at 11-25 09:00" in refused.json()["detail"]
    ok = client.post(f"/api/v1/visits/{fine.id}/assign", json={"worker_id": s.worker.id}, headers=headers)
    assert ok.status_code == 200 and ok.json()["worker_id"] == s.worker.id


def test_a_visit_at_the_door(client: TestClient, session: Session, app: FastAPI, clock: Clock) -> None:
    s = build(session, clock.now)
    s.daughter.visit_updates = True
    session.add(s.daughter)
    session.commit()
    visit = make_visit(
        session,
        resident=s.resident,
        start=clock.now,
        worker_id=s.worker.id,
        tasks=[{"service": "meals", "done": False}, {"service": "bathing", "done": False}],
    )
    headers = login(client, s.worker)
    url = f"/api/v1/visits/{visit.id}"
    far = client.post(f"{url}/check-in", json={"latitude": 39.7650, "longitude": 116.21}, headers=headers).json()
    assert far["status"] == "in_progress" and 500 < far["check_in_distance_m"] < 600 and far["far_from_home"]
    assert client.post(f"{url}/tasks", json={"service": "meals", "done": True}, headers=headers).status_code == 200
    assert client.post(f"{url}/tasks", json={"service": "dancing", "done": True}, headers=headers).status_code == 422
    assert client.put(f"{url}/notes", json={"notes": "食欲好"}, headers=headers).json()["notes"] == "食欲好"
    reading = client.post(f"{url}/vitals", json={"systolic": 190, "diastolic": 100, "heart_rate": 88}, headers=headers)
    assert reading.status_code == 201 and reading.json()["source"] == "visit"
    concern = client.post(f"{url}/concern", json={"note": "家中无人照料"}, headers=headers).json()
    assert concern["concern"] is True
    assert (f"staff:{s.manager.id}", "concern") in sms(session)
    done = client.post(f"{url}/check-out", json={}, headers=headers).json()
    assert done["status"] == "completed"
    assert [(t["service"], t["done"]) for t in done["tasks"]] == [("meals", True), ("bathing", False)]
    assert (f"contact:{s.daughter.id}", "completed") in sms(session)
    assert client.post(f"{url}/check-in", json={}, headers=headers).status_code == 409


def test_visit_vitals_use_the_alert_rules(client: TestClient, session: Session, clock: Clock) -> None:
    s = build(session, clock.now)
    s.center.alert_thresholds = {"sustain_readings": 1}
    session.add(s.center)
    session.commit()
    visit = make_visit(session, resident=s.resident, start=clock.now, worker_id=s.worker.id)
    headers = login(client, s.worker)
    client.post(f"/api/v1/visits/{visit.id}/check-in", json={}, headers=headers)
    client.post(f"/api/v1/visits/{visit.id}/vitals", json={"temperature": 39.2}, headers=headers)
    alert = session.exec(select(Alert)).one()
    assert (alert.kind, alert.last_value) == ("temperature_high", "39.2 °C")

    # A second measurement is a reading of its own, found without scanning readings by event id.
    statements: list[str] = []
    listen = lambda *args: statements.append(str(args[2]))  # noqa: E731 - (conn, cursor, statement, …)
    engine = app_context(client.app).engine
    sa.event.listen(engine, "before_cursor_execute", listen)
    try:
        assert client.post(f"/api/v1/visits/{visit.id}/vitals", json={"temperature": 37.0}, headers=headers).is_success
    finally:
        sa.event.remove(engine, "before_cursor_execute", listen)
    assert not [s for s in statements if "FROM reading" in s and "event_id" in s.split("WHERE", 1)[-1]]
    ids = session.exec(select(Reading.event_id).where(Reading.source == "visit")).all()
    assert len(set(ids)) == 2 and all(i.startswith(f"visit:{visit.id}:") for i in ids)


def test_time_corrections_need_a_reason_and_are_audited(client: TestClient, session: Session, clock: Clock) -> None:
    s = build(session, clock.now)
    visit = make_visit(
        session, resident=s.resident, start=clock.now - timedelta(hours=2), worker_id=s.worker.id, status="completed"
    )
    headers = login(client, s.manager)
    url = f"/api/v1/visits/{visit.id}/correct-times"
    when = (clock.now - timedelta(hours=2)).isoformat()
    assert client.post(url, json={"checked_in_at": when}, headers=headers).status_code == 422
    fixed = client.post(url, json={"checked_in_at": when, "reason": "平板没电，补登"}, headers=headers)
    assert fixed.status_code == 200
    event = session.exec(select(AuditEvent).where(AuditEvent.action == "visit.correct_times")).one()
    assert (event.reason, event.changed_fields, event.actor_id) == ("平板没电，补登", "checked_in_at", s.manager.id)
    assert (
        client.post(url, json={"checked_in_at": when, "reason": "x" * 5}, headers=login(client, s.worker)).status_code
        == 403
    )


def test_reminders_go_out_once_even_from_two_schedulers(
    client: TestClient, session: Session, app: FastAPI, clock: Clock, database_url: str
) -> None:
    s = build(session, clock.now)
    make_visit(session, resident=s.resident, start=clock.now + timedelta(minutes=40), worker_id=s.worker.id)
    assert run(app, sweeps.send_visit_reminders, clock.now + timedelta(minutes=9)) == 0  # 31 min before: not yet
    other = make_app(make_settings(database_url))  # a second process, or this one after a restart
    results: list[int] = []
    at = clock.now + timedelta(minutes=11)
    threads = [
        threading.Thread(target=lambda a=a: results.append(run(a, sweeps.send_visit_reminders, at)))
        for a in (app, other)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    app_context(other).engine.dispose()
    assert sorted(results) == [0, 1]
    assert run(app, sweeps.send_visit_reminders, at + timedelta(minutes=5)) == 0
    assert sms(session, "reminder") == [(f"staff:{s.worker.id}", "reminder")]


def test_late_then_missed(client: TestClient, session: Session, app: FastAPI, clock: Clock) -> None:
    s = build(session, clock.now)
    visit = make_visit(session, resident=s.resident, start=clock.now, worker_id=s.worker.id)
    assert run(app, sweeps.detect_late_and_missed, clock.now + timedelta(minutes=14, seconds=59)) == 0
    assert run(app, sweeps.detect_late_and_missed, clock.now + timedelta(minutes=15)) == 1
    assert sms(session) == [(f"staff:{s.worker.id}", "late")]
    listed = client.get("/api/v1/visits", headers=login(client, s.manager))
    assert listed.json()["items"][0]["late"] is False  # the API's clock is still at the start
    assert run(app, sweeps.detect_late_and_missed, clock.now + timedelta(minutes=20)) == 0
    assert run(app, sweeps.detect_late_and_missed, clock.now + timedelta(minutes=30)) == 1
    assert visits_of(session, id=visit.id)[0].status == "missed"
    assert sms(session)[-1] == (f"staff:{s.manager.id}", "missed")


def test_after_downtime_a_long_overdue_visit_is_simply_missed(
    client: TestClient, session: Session, app: FastAPI, clock: Clock
) -> None:
    s = build(session, clock.now)
    make_visit(session, resident=s.resident, start=clock.now, worker_id=s.worker.id)
    assert run(app, sweeps.send_visit_reminders, clock.now + timedelta(hours=3)) == 0  # too late to remind
    run(app, sweeps.detect_late_and_missed, clock.now + timedelta(hours=3))
    assert sms(session) == [(f"staff:{s.manager.id}", "missed")]  # no stale "you are late" to the worker


def test_the_morning_digest_and_evening_summary_go_out_once_a_day(
    client: TestClient, session: Session, app: FastAPI, clock: Clock
) -> None:
    s = build(session, clock.now)
    day = datetime(2026, 11, 25, tzinfo=SHANGHAI)
    make_visit(session, resident=s.resident, start=day + timedelta(hours=9), worker_id=s.worker.id)
    make_visit(session, resident=s.resident, start=day + timedelta(hours=14), worker_id=s.worker.id, status="completed")
    assert run(app, sweeps.send_daily_digests, day + timedelta(hours=6, minutes=59)) == 0
    assert run(app, sweeps.send_daily_digests, day + timedelta(hours=7)) == 1
    assert run(app, sweeps.send_daily_digests, day + timedelta(hours=8)) == 0
    digest = session.exec(select(SmsMessage).where(SmsMessage.purpose == "digest")).one()
    assert "1次上门：09:00 王秀英" in digest.body
    alone = make_resident(
        session, center=s.center, name="孤老人", birth_date=date(1938, 1, 1), living_situation=LivingSituation.alone
    )
    seen = day - timedelta(days=10)
    make_visit(session, resident=alone, start=seen, status="completed", checked_in_at=seen)
    make_assessment(session, resident=alone, assessed_on=date(2026, 6, 1))
    assert run(app, sweeps.send_manager_summaries, day + timedelta(hours=18)) == 1
    assert run(app, sweeps.send_manager_summaries, day + timedelta(hours=19)) == 0
    summary = session.exec(select(SmsMessage).where(SmsMessage.dedupe_key.startswith("day-summary"))).one()
    assert "计划2次，完成1次，漏访0次" in summary.body
    assert "能力评估到期或逾期：1人（王秀英）" in summary.body  # never assessed; 孤老人 was, in June
    assert "独居老人未按时探访：1人（孤老人）" in summary.body


def test_the_schedule_shows_next_week_for_every_worker(client: TestClient, session: Session, clock: Clock) -> None:
    s = build(session, clock.now)
    headers = login(client, s.manager)
    client.post("/api/v1/care-plans", json=plan_body(s), headers=headers)
    next_monday = date(2026, 11, 30)
    week = client.get(
        "/api/v1/schedule", params={"from": next_monday.isoformat(), "to": "2026-12-06"}, headers=headers
    ).json()
    rows = {row["worker_id"]: row for row in week}
    assert set(rows) == {s.worker.id, s.on_duty.id, None}
    worker_days = {d["date"]: len(d["visits"]) for d in rows[s.worker.id]["days"]}
    assert worker_days == {
        "2026-11-30": 1,
        "2026-12-01": 0,
        "2026-12-02": 1,
        "2026-12-03": 0,
        "2026-12-04": 1,
        "2026-12-05": 0,
        "2026-12-06": 0,
    }
    assert all(not d["visits"] for d in rows[None]["days"])
    one = client.get("/api/v1/schedule", params={"from": "2026-11-30", "worker": s.worker.id}, headers=headers).json()
    assert [row["worker_id"] for row in one] == [s.worker.id]
    too_long = client.get("/api/v1/schedule", params={"from": "2026-11-01", "to": "2026-12-31"}, headers=headers)
    assert too_long.status_code == 422


def test_visit_figures(client: TestClient, session: Session, clock: Clock) -> None:
    s = build(session, clock.now)
    base = clock.now - timedelta(days=1)
    on_time = make_visit(
        session,
        resident=s.resident,
        start=base,
        worker_id=s.worker.id,
        status="completed",
        checked_in_at=base + timedelta(minutes=5),
        checked_out_at=base + timedelta(minutes=50),
        check_in_distance_m=20.0,
        check_out_distance_m=30.0,
        check_in_method="gps",
        check_out_method="gps",
    )
    make_visit(
        session,
        resident=s.resident,
        start=base + timedelta(hours=2),
        worker_id=s.worker.id,
        status="completed",
        checked_in_at=base + timedelta(hours=2, minutes=40),
        checked_out_at=base + timedelta(hours=3, minutes=10),
    )
    make_visit(session, resident=s.resident, start=base + timedelta(hours=4), status="missed")
    make_visit(session, resident=s.resident, start=base + timedelta(hours=5), status="cancelled")
    stats = client.get("/api/v1/visits/stats", headers=login(client, s.manager)).json()
    assert (stats["planned"], stats["completed"], stats["missed"], stats["cancelled"]) == (3, 2, 1, 1)
    assert stats["on_time_share"] == 0.5 and stats["average_minutes"] == 37.5 and stats["verified_share"] == 0.5
    assert on_time.id is not None


def test_care_workers_do_only_their_own_visits(client: TestClient, session: Session, clock: Clock) -> None:
    s = build(session, clock.now)
    visit = make_visit(session, resident=s.resident, start=clock.now, worker_id=s.worker.id)
    colleague = login(client, make_staff(session, center=s.center))
    assert client.post(f"/api/v1/visits/{visit.id}/check-in", json={}, headers=colleague).status_code == 403
    outsider = login(client, make_staff(session, center=make_center(session)))
    assert client.post(f"/api/v1/visits/{visit.id}/check-in", json={}, headers=outsider).status_code == 404
    assert (
        client.post(
            f"/api/v1/visits/{visit.id}/cancel", json={"reason": "x"}, headers=login(client, s.worker)
        ).status_code
        == 403
    )


def test_ad_hoc_follow_up_visit(client: TestClient, session: Session, clock: Clock) -> None:
    s = build(session, clock.now)
    start = (clock.now + timedelta(hours=2)).astimezone(UTC).isoformat()
    created = client.post(
        "/api/v1/visits",
        json={
            "resident_id": s.resident.id,
            "worker_id": s.worker.id,
            "scheduled_start": start,
            "services": ["health_check"],
        },
        headers=login(client, s.manager),
    )
    assert created.status_code == 201, created.text
    assert created.json()["care_plan_id"] is None and created.json()["worker_id"] == s.worker.id


def test_the_demo_has_two_weeks_of_visits(session: Session, demo: Demo) -> None:
    demo()
    starts = [v.scheduled_start for v in visits_of(session)]
    assert len(starts) > 1000
    assert max(starts) - min(starts) > timedelta(days=13)


def test_a_plan_in_a_daylight_saving_zone_keeps_its_local_time(session: Session, clock: Clock) -> None:
    from carecenter.visits.models import CarePlan, Recurrence
    from carecenter.visits.service import generate_visits

    center = make_center(session, time_zone="Europe/Berlin")
    resident = make_resident(session, center=center)
    plan = CarePlan(
        resident_id=resident.id or 0,
        center_id=center.id or 0,
        services=["meals"],
        recurrence=Recurrence(every_n_days=1, start_time=time(9)).model_dump(mode="json"),
        starts_on=date(2027, 3, 1),
        created_at=clock.now,
    )
    session.add(plan)
    session.commit()
    now = datetime(2027, 3, 26, 12, tzinfo=UTC)
    assert generate_visits(session, plan=plan, now=now, rules=VisitRules(horizon_days=4)) == 4
    session.commit()
    starts = [v.scheduled_start for v in visits_of(session)]
    assert [s.astimezone(ZoneInfo("Europe/Berlin")).hour for s in starts] == [9, 9, 9, 9]
    assert [s.hour for s in starts] == [8, 7, 7, 7]  # UTC: the clocks go forward at 02:00 on 28 March


def test_visit_vitals_follow_the_same_consent_rule_as_device_readings(
    client: TestClient, session: Session, clock: Clock
) -> None:
    s = build(session, clock.now)
    s.resident.consent_health_data = False
    session.add(s.resident)
    session.commit()
    visit = make_visit(session, resident=s.resident, start=clock.now, worker_id=s.worker.id)
    headers = login(client, s.worker) | {"Accept-Language": "zh-CN"}
    url = f"/api/v1/visits/{visit.id}"
    client.post(f"{url}/check-in", json={}, headers=headers)
    refused = client.post(f"{url}/vitals", json={"systolic": 210, "heart_rate": 150}, headers=headers)
    assert refused.status_code == 409 and "未同意" in refused.json()["detail"]
    assert session.exec(select(Reading).where(Reading.resident_id == s.resident.id)).all() == []
    assert session.exec(select(Alert).where(Alert.resident_id == s.resident.id)).all() == []
    # The same values from the resident's watch are not kept either (the rule both paths share).
    s.post(client, clock.now, "vitals", event_id="v-1", systolic=210, heart_rate=150)
    stored = session.exec(select(Reading).where(Reading.resident_id == s.resident.id)).one()
    assert (stored.systolic, stored.heart_rate) == (None, None)


def test_the_missed_visit_sms_says_the_configured_minutes(app: FastAPI, session: Session, clock: Clock) -> None:
    s = build(session, clock.now)
    make_visit(session, resident=s.resident, start=clock.now, worker_id=s.worker.id)
    rules = VisitRules(missed_after=timedelta(minutes=45))
    messaging = app_context(app).alert_messaging
    with Session(app_context(app).engine) as own:
        late = sweeps.detect_late_and_missed(own, messaging, now=clock.now + timedelta(minutes=44), rules=rules)
        missed = sweeps.detect_late_and_missed(own, messaging, now=clock.now + timedelta(minutes=45), rules=rules)
        assert (late, missed) == (1, 1)
        own.commit()
    sent = session.exec(select(SmsMessage).where(SmsMessage.purpose == "reminder")).all()
    text = next(m.body for m in sent if m.recipient_ref == f"staff:{s.manager.id}")
    assert "45分钟" in text and "30" not in text
