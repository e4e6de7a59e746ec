"""A provider outage: Twilio answers 503, 429 and nothing at all (timeouts) for a stretch.

Through the real SDK to the local fake API. Nothing is lost: the board and the message log
show the messages as retrying meanwhile, and each one is delivered exactly once afterwards.
"""

from fastapi.testclient import TestClient
from sqlmodel import Session, col, select

from carecenter.context import app_context
from carecommon.clock import get_now
from notifications.dispatcher import Dispatcher
from notifications.fake_twilio_api import Failure, FakeTwilioApi
from notifications.models import SmsMessage
from tests.carecenter.alerts.scenario import build
from tests.carecenter.web.test_pages import web_login
from tests.conftest import PUBLIC_URL, Clock, make_app, make_settings, twilio_sms_settings
from tests.factories import login

OUTAGE = [Failure(status=503), Failure(status=429, code=20429), Failure(stall_seconds=0.8)]


def test_an_outage_delays_alerts_but_loses_none(
    session: Session, database_url: str, twilio_api: FakeTwilioApi, clock: Clock
) -> None:
    sms = twilio_sms_settings(
        twilio_api,
        twilio_timeout_seconds=0.4,  # the stalls above outlast it: a timeout, as when the API hangs
        sms_send_concurrency=1,  # the scripted failures then meet the messages in a known order
    )
    app = make_app(make_settings(database_url, sms=sms))
    app.dependency_overrides[get_now] = lambda: clock.now
    s = build(session, clock.now)
    with TestClient(app, base_url=PUBLIC_URL) as client:
        dispatcher: Dispatcher = app_context(app).sms.dispatcher
        twilio_api.fail_next(*OUTAGE * 2)
        alert_id = s.post(client, clock.now, "sos", event_id="help").json()["alert_id"]
        first = dispatcher.dispatch_due(clock.now)
        # SMS to the worker and the one on duty, and the call to the one on duty.
        assert (first.sent, first.retrying, first.failed) == (0, 3, 0)

        # Meanwhile: the board and the message log say so.
        web_login(client, s.manager.username)
        board = client.get("/board/rows").text
        assert board.count('class="msg-retrying">重试中') == 3
        headers = login(client, s.manager)
        log = client.get("/api/v1/notifications", params={"alert_id": alert_id}, headers=headers).json()["items"]
        assert {m["status"] for m in log} == {"retrying"} and all(m["error_message"] for m in log)

        # The outage lasts for a few more attempts, then the provider is back.
        for _ in range(6):
            dispatcher.dispatch_due(clock.advance(minutes=5))
        messages = session.exec(select(SmsMessage).where(col(SmsMessage.alert_id) == alert_id)).all()
        for message in messages:
            session.refresh(message)
        assert {m.status for m in messages} == {"sent"}
        assert all(m.attempts >= 2 for m in messages)
        assert twilio_api.failures == []  # every scripted failure was met
        delivered = [(m.to, m.body) for m in twilio_api.received]
        texts = {(m.to_phone, m.body) for m in messages if m.channel == "sms"}
        assert sorted(delivered) == sorted(texts)  # each exactly once
        assert [c.to for c in twilio_api.calls] == [s.on_duty.phone]  # the call too, once
        assert "重试中" not in client.get("/board/rows").text
