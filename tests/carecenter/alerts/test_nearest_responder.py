"""The nearest responder first: the care worker working next door is paged (and called) with the distance."""

import re
from datetime import timedelta

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlmodel import Session, col, select

from carecenter.alerts.models import Alert, AlertEvent, EscalationPolicy, EscalationPolicyData
from carecenter.staff.models import Staff
from notifications.models import SmsMessage
from tests.carecenter.alerts.scenario import Scenario, build
from tests.carecenter.web.test_pages import web_login
from tests.conftest import Clock
from tests.factories import login, make_resident, make_staff, make_visit

# The scenario's resident lives at (39.76, 116.21); 0.001 degrees of latitude are ~111 m.
NEXT_DOOR = (39.7631, 116.21)  # ~345 m north
ACROSS_TOWN = (39.78, 116.21)  # ~2.2 km


def worker_at(session: Session, s: Scenario, home: tuple[float, float], clock: Clock, *, checked_in: bool) -> Staff:
    """A care worker at (or about to start) a visit to a neighbour living at `home`."""
    worker = make_staff(session, center=s.center, name=f"王晓燕{home[0]}")
    neighbour = make_resident(session, center=s.center, latitude=home[0], longitude=home[1])
    start = clock.now - timedelta(minutes=10) if checked_in else clock.now + timedelta(minutes=15)
    make_visit(
        session,
        resident=neighbour,
        start=start,
        worker_id=worker.id,
        status="in_progress" if checked_in else "scheduled",
        checked_in_at=start if checked_in else None,
    )
    return worker


def test_an_sos_pages_and_calls_the_worker_next_door_with_the_distance(
    client: TestClient, session: Session, clock: Clock
) -> None:
    s = build(session, clock.now)
    near = worker_at(session, s, NEXT_DOOR, clock, checked_in=True)
    worker_at(session, s, ACROSS_TOWN, clock, checked_in=True)
    alert_id = s.post(client, clock.now, "sos").json()["alert_id"]
    alert = session.get(Alert, alert_id)
    assert alert is not None and (alert.nearest_staff_id, alert.nearest_distance_m) == (near.id, 345)
    rows = session.exec(select(SmsMessage).where(SmsMessage.to_phone == near.phone)).all()
    assert sorted(m.channel for m in rows) == ["sms", "voice"]
    text = next(m.body for m in rows if m.channel == "sms")
    assert "距您345米" in text
    call = next(m.body for m in rows if m.channel == "voice")
    assert "您距离约345米" in call
    why = session.exec(select(AlertEvent.detail).where(AlertEvent.kind == "nearest_paged")).one()
    assert why.startswith(f"{near.name}: the nearest responder, 345 m away (at a visit")


def test_a_worker_about_to_start_a_visit_nearby_counts_and_nobody_beyond_the_centers_distance(
    client: TestClient, session: Session, clock: Clock
) -> None:
    s = build(session, clock.now)
    coming = worker_at(session, s, NEXT_DOOR, clock, checked_in=False)
    first = s.post(client, clock.now, "fall", event_id="f1").json()["alert_id"]
    assert session.get(Alert, first).nearest_staff_id == coming.id  # type: ignore[union-attr]
    # A center that wants only responders within 300 m: nobody qualifies.
    session.add(
        EscalationPolicy(
            center_id=s.center.id,  # type: ignore[arg-type]
            policy=EscalationPolicyData(nearest_responder_m=300).model_dump(mode="json"),
            updated_at=clock.now,
        )
    )
    session.commit()
    client.post(f"/api/v1/alerts/{first}/resolve", json={"outcome": "false_alarm"}, headers=login(client, s.manager))
    second = s.post(client, clock.advance(minutes=1), "sos", event_id="s2").json()["alert_id"]
    alert = session.get(Alert, second)
    assert alert is not None and alert.nearest_staff_id is None
    assert not session.exec(
        select(SmsMessage).where(SmsMessage.to_phone == coming.phone, SmsMessage.alert_id == second)
    ).all()


def test_a_heart_rate_alert_pages_no_nearest_responder(client: TestClient, session: Session, clock: Clock) -> None:
    s = build(session, clock.now)
    worker_at(session, s, NEXT_DOOR, clock, checked_in=True)
    for n in range(3):
        s.post(client, clock.advance(minutes=1), "vitals", event_id=f"hr{n}", heart_rate=150)
    assert session.exec(select(Alert.nearest_staff_id)).all() == [None]


def test_the_figures_say_how_often_the_nearest_got_there_first(
    client: TestClient, session: Session, clock: Clock, app: FastAPI
) -> None:
    s = build(session, clock.now)
    near = worker_at(session, s, NEXT_DOOR, clock, checked_in=True)
    headers_near = login(client, near)
    alert_id = s.post(client, clock.now, "sos", event_id="a").json()["alert_id"]
    clock.advance(minutes=4)
    client.post(f"/api/v1/alerts/{alert_id}/acknowledge", json={"channel": "tablet"}, headers=headers_near)
    client.post(f"/api/v1/alerts/{alert_id}/on-site", json={"channel": "tablet"}, headers=headers_near)
    stats = client.get("/api/v1/alerts/stats", headers=login(client, s.manager)).json()
    assert stats["nearest_first_on_site"] == 1.0
    assert stats["on_site_seconds_median_with_nearby"] == 240
    assert stats["on_site_seconds_median_without_nearby"] is None
    page = client.get("/api/v1/alerts", headers=login(client, s.manager)).json()["items"]
    assert [a["nearest_staff_id"] for a in page] == [near.id]
    assert session.exec(select(col(Alert.on_site_by))).all() == [near.id]
    web_login(client, s.manager.username)
    figures = client.get("/figures").text  # the manager's page says the same, in their language
    assert 'aria-label="最先到场的是被呼叫的最近响应人: 100%"' in figures
    assert re.search(r"有附近响应人 240,\s+没有 —", figures)
