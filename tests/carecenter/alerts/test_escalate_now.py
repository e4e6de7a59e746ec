"""Escalating on purpose: a manager sends an alert on to a later step from the board or the API, and
"5" on a domestic provider's call does what it does on Twilio."""

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlmodel import Session, col, select

from carecenter.alerts.models import AlertEvent
from notifications.models import SmsMessage
from tests.carecenter.alerts.scenario import build
from tests.carecenter.alerts.test_alert_lifecycle import sweep
from tests.carecenter.web.test_pages import web_login
from tests.conftest import Clock
from tests.factories import login


def test_a_manager_sends_an_alert_on_to_a_later_step_now(
    app: FastAPI, client: TestClient, session: Session, clock: Clock
) -> None:
    s = build(session, clock.now)
    alert_id = s.post(client, clock.now, "sos").json()["alert_id"]
    worker = login(client, s.worker)
    assert client.post(f"/api/v1/alerts/{alert_id}/escalate", json={"step": 2}, headers=worker).status_code == 403
    manager = login(client, s.manager)
    answer = client.post(f"/api/v1/alerts/{alert_id}/escalate", json={"step": 2}, headers=manager)
    assert answer.status_code == 200, answer.text
    session.expire_all()
    keys = session.exec(select(SmsMessage.dedupe_key).where(SmsMessage.alert_id == alert_id)).all()
    assert any(":s2:" in k for k in keys)  # step 2 paged now, not in 5 minutes
    events = session.exec(select(AlertEvent.detail).where(AlertEvent.kind == "escalated")).all()
    assert f"to step 2 by {s.manager.username}" in events
    again = client.post(f"/api/v1/alerts/{alert_id}/escalate", json={"step": 1}, headers=manager)
    assert again.status_code == 422  # already paged
    assert client.post(f"/api/v1/alerts/{alert_id}/escalate", json={"step": 9}, headers=manager).status_code == 422


def test_the_board_offers_the_later_steps(app: FastAPI, client: TestClient, session: Session, clock: Clock) -> None:
    s = build(session, clock.now)
    alert_id = s.post(client, clock.now, "sos").json()["alert_id"]
    csrf = web_login(client, s.manager.username)
    board = client.get("/board").text
    assert f'action="/alerts/{alert_id}/escalate"' in board
    sent = client.post(
        f"/alerts/{alert_id}/escalate", data={"csrf": csrf, "step": "2", "next": "/board"}, follow_redirects=False
    )
    assert sent.status_code == 303
    sweep(app, clock.now)
    session.expire_all()
    messages = session.exec(select(SmsMessage).where(SmsMessage.alert_id == alert_id).order_by(col(SmsMessage.id)))
    assert s.daughter.phone in [m.to_phone for m in messages]
