"""The page behind an alert SMS's link: the whole story, for staff and for family, and only answers that make sense."""

import re
from datetime import timedelta

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlmodel import Session, col, select

from carecenter.alerts.models import Alert, AlertEvent
from carecenter.geo import to_gcj02
from carecenter.readings.models import Reading
from carecenter.staff.models import Language
from notifications.links import link_url
from notifications.models import ResponseLink
from tests.carecenter.alerts.scenario import Scenario, build
from tests.carecenter.alerts.test_alert_lifecycle import sweep
from tests.conftest import PUBLIC_URL, TEST_SECRET, Clock


def story_scenario(session: Session, clock: Clock) -> Scenario:
    s = build(session, clock.now)
    s.resident.conditions, s.resident.allergies = "高血压", "青霉素"
    s.resident.access_notes, s.resident.phone = "钥匙在邻居张阿姨家（3号）", "+8613800000009"
    s.center.phone = "+861069000000"
    session.add_all([s.resident, s.center])
    session.commit()
    return s


def link_of(session: Session, alert_id: int, ref: str) -> str:
    link = session.exec(
        select(ResponseLink).where(ResponseLink.alert_id == alert_id, ResponseLink.recipient_ref == ref)
    ).one()
    return link_url(PUBLIC_URL, link, TEST_SECRET.encode()).removeprefix(PUBLIC_URL)


def test_family_see_what_who_where_and_say_they_are_going(
    client: TestClient, session: Session, clock: Clock, app: FastAPI
) -> None:
    s = story_scenario(session, clock)
    alert_id = s.post(client, clock.now, "sos").json()["alert_id"]
    sweep(app, clock.advance(minutes=5))  # the family is paged at step 2
    daughter = link_of(session, alert_id, f"contact:{s.daughter.id}")
    page = client.get(daughter).text
    assert "SOS紧急呼救 · 王秀英" in page and "86岁" in page and "长阳镇稻田村12号" in page
    assert 'id="auto-refresh"' in page and "/static/respond.js" in page  # up to date while the alert is open
    lat, lon = to_gcj02(39.76, 116.21)
    assert f"position={lon:.6f},{lat:.6f}" in page  # AMap at the home
    assert "tel:+861069000000" in page  # the center's phone
    assert "青霉素" not in page and "钥匙" not in page and "tel:+8613800000009" not in page  # staff only
    assert "我马上过去" in page and "收到，我来处理" not in page
    answered = client.post(daughter, data={"answer": "going"})
    assert answered.status_code == 200 and "您已回复: 我马上过去" in answered.text
    event = session.exec(select(AlertEvent).where(AlertEvent.kind == "family_answer")).one()
    assert (event.channel, event.detail) == ("link", f"contact:{s.daughter.id}: going")
    # Her brother opens his link later: he sees that someone is already on the way.
    sweep(app, clock.advance(minutes=5))
    son = client.get(link_of(session, alert_id, f"contact:{s.son.id}")).text
    assert re.search(r'id="someone-going">\s*\S+已经在路上', son)


def test_staff_see_what_they_need_at_the_door_and_take_it_to_the_end(
    client: TestClient, session: Session, clock: Clock
) -> None:
    s = story_scenario(session, clock)
    s.worker.language = Language.en
    session.add(s.worker)
    session.add(
        Reading(
            device_id=s.watch.id,
            resident_id=s.resident.id,
            center_id=s.center.id or 0,
            event_id="pos",
            kind="location",
            recorded_at=clock.now - timedelta(minutes=12),
            received_at=clock.now,
            latitude=39.7612,
            longitude=116.2133,
        )
    )
    session.commit()
    alert_id = s.post(client, clock.now, "fall").json()["alert_id"]
    worker = link_of(session, alert_id, f"staff:{s.worker.id}")
    page = client.get(worker).text
    assert "possible fall · 王秀英" in page and "86 years" in page
    assert "青霉素" in page and "高血压" in page and "钥匙在邻居张阿姨家（3号）" in page
    assert "tel:+8613800000009" in page and "tel:+861069000000" in page
    assert 'id="position"' in page  # where the watch last was
    assert "Waiting for someone to take charge" in page

    assert client.post(worker, data={"answer": "acknowledge"}).status_code == 200
    on_site = client.post(worker, data={"answer": "on_site"})
    assert "Someone is with the resident" in on_site.text and 'value="on_site"' not in on_site.text
    assert client.post(worker, data={"answer": "resolve"}).status_code == 422  # no outcome
    done = client.post(worker, data={"answer": "resolve", "outcome": "handled_at_home"})
    assert done.status_code == 200
    alert = session.get(Alert, alert_id)
    session.refresh(alert)
    assert alert is not None and (alert.status, alert.outcome, alert.on_site_by) == (
        "resolved",
        "handled_at_home",
        s.worker.id,
    )
    channels = session.exec(
        select(AlertEvent.kind, AlertEvent.channel)
        .where(col(AlertEvent.kind).in_(["acknowledged", "on_site", "resolved"]))
        .order_by(col(AlertEvent.id))
    ).all()
    assert channels == [("acknowledged", "link"), ("on_site", "link"), ("resolved", "link")]
    # Once it is over: the outcome, no buttons, no refreshing.
    after = client.get(worker).text
    assert "Over:" in after and "<button" not in after and 'id="auto-refresh"' not in after
    assert client.post(worker, data={"answer": "on_site"}).status_code == 409


def test_garbage_answers_are_refused_and_change_nothing(client: TestClient, session: Session, clock: Clock) -> None:
    s = story_scenario(session, clock)
    alert_id = s.post(client, clock.now, "sos").json()["alert_id"]
    worker = link_of(session, alert_id, f"staff:{s.worker.id}")
    for bad in ({"answer": "x" * 200}, {"answer": "going"}, {"answer": "resolve", "outcome": "<script>"}, {}):
        assert client.post(worker, data=bad).status_code == 422, bad
    alert = session.get(Alert, alert_id)
    assert alert is not None and alert.status == "open"


def test_family_answers_are_one_current_answer_and_a_foreign_origin_is_refused(
    client: TestClient, session: Session, clock: Clock, app: FastAPI
) -> None:
    s = story_scenario(session, clock)
    alert_id = s.post(client, clock.now, "sos").json()["alert_id"]
    sweep(app, clock.advance(minutes=5))
    daughter = link_of(session, alert_id, f"contact:{s.daughter.id}")
    forged = client.post(daughter, data={"answer": "going"}, headers={"Origin": "https://evil.example"})
    assert forged.status_code == 403
    assert client.post(daughter, data={"answer": "going"}, headers={"Origin": PUBLIC_URL}).status_code == 200
    for _ in range(5):  # replayed: nothing new
        assert client.post(daughter, data={"answer": "going"}).status_code == 409
    for answer in ("cannot_go", "going", "call_me", "cannot_go", "going", "call_me"):  # contradictions, capped
        client.post(daughter, data={"answer": answer})
    events = session.exec(select(AlertEvent.detail).where(AlertEvent.kind == "family_answer")).all()
    assert [e.rsplit(": ", 1)[1] for e in events] == ["going", "cannot_go", "going", "call_me", "cannot_go"]


def test_a_link_of_someone_who_left_is_closed_and_an_answer_not_applied_is_never_confirmed(
    client: TestClient, session: Session, clock: Clock
) -> None:
    s = story_scenario(session, clock)
    alert_id = s.post(client, clock.now, "sos").json()["alert_id"]
    worker_link = link_of(session, alert_id, f"staff:{s.on_duty.id}")
    s.on_duty.active = False
    session.add(s.on_duty)
    session.commit()
    gone = client.get(worker_link)
    assert gone.status_code == 410 and "王秀英" not in gone.text and "高血压" not in gone.text
    acknowledged = client.post(worker_link, data={"answer": "acknowledge"})
    assert acknowledged.status_code == 410
    session.expire_all()
    alert = session.get(Alert, alert_id)
    assert alert is not None and alert.acknowledged_at is None
