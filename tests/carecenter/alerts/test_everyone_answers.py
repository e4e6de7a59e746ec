"""A step where everyone must answer keeps paging each of its people until they do or the alert is
closed, even after someone took it."""

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from carecenter.alerts.answers import page_until_answered
from carecenter.context import app_context
from notifications.links import link_url
from notifications.models import ResponseLink, SmsMessage
from tests.carecenter.alerts.scenario import build
from tests.conftest import TEST_SECRET, Clock
from tests.factories import login


def pages_to(session: Session, phone: str) -> int:
    session.expire_all()
    return len(session.exec(select(SmsMessage).where(SmsMessage.to_phone == phone, SmsMessage.channel == "sms")).all())


def test_each_person_of_the_step_is_paged_until_they_answer(
    app: FastAPI, client: TestClient, session: Session, clock: Clock
) -> None:
    s = build(session, clock.now)
    policy = {
        "steps": [
            {
                "after_minutes": 0,
                "recipients": ["care_worker", "on_duty"],
                "call": ["on_duty"],
                "everyone_answers": True,
            },
            {"after_minutes": 5, "recipients": ["manager"]},
        ],
        "reminder_every_minutes": 10,
    }
    headers = login(client, s.manager)
    saved = client.put(f"/api/v1/centers/{s.center.id}/escalation-policy", json=policy, headers=headers)
    assert saved.status_code == 200, saved.text
    alert_id = s.post(client, clock.now, "sos").json()["alert_id"]
    assert (pages_to(session, s.worker.phone), pages_to(session, s.on_duty.phone)) == (1, 1)

    on_duty = login(client, s.on_duty)
    assert client.post(f"/api/v1/alerts/{alert_id}/acknowledge", headers=on_duty).status_code == 200
    messaging = app_context(app).alert_messaging
    assert page_until_answered(session, messaging, now=clock.advance(minutes=5)) == 0  # not yet: every 10 min
    assert page_until_answered(session, messaging, now=clock.advance(minutes=5)) == 1
    session.commit()
    assert (pages_to(session, s.worker.phone), pages_to(session, s.on_duty.phone)) == (2, 1)  # who took it: not again

    link = session.exec(select(ResponseLink).where(ResponseLink.phone == s.worker.phone)).one()
    path = link_url("", link, TEST_SECRET.encode())
    answered = client.post(path, data={"answer": "on_site"})
    assert answered.status_code == 200
    assert page_until_answered(session, messaging, now=clock.advance(minutes=10)) == 0  # everyone has answered
