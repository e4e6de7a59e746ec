"""Phone calls for critical alerts, through the real Twilio SDK to the local fake of its API.

The call speaks in the recipient's language and asks for one key; the key and the end of the
call come back to our signed webhooks: 1 takes charge (and stops the calls not yet placed),
2 and no answer move on to the next person at once.
"""

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlmodel import Session, col, select

from carecenter.alerts.models import Alert, AlertEvent
from carecenter.context import app_context
from carecommon.clock import get_now
from notifications.dispatcher import Dispatcher
from notifications.fake_twilio_api import FakeTwilioApi
from notifications.models import SmsMessage, SmsRecipient
from tests.carecenter.alerts.scenario import Scenario, build
from tests.carecenter.alerts.test_alert_lifecycle import sweep
from tests.conftest import PUBLIC_URL, Clock, make_app, make_settings, twilio_sms_settings
from tests.factories import login


@pytest.fixture
def twilio_app(database_url: str, twilio_api: FakeTwilioApi, clock: Clock) -> Iterator[tuple[FastAPI, TestClient]]:
    sms = twilio_sms_settings(twilio_api)
    app = make_app(make_settings(database_url, sms=sms))
    app.dependency_overrides[get_now] = lambda: clock.now
    with TestClient(app, base_url=PUBLIC_URL) as client:
        yield app, client
    app_context(app).engine.dispose()


@pytest.fixture
def s(session: Session, clock: Clock, db: object) -> Scenario:
    return build(session, clock.now)


def dispatch(app: FastAPI, now: datetime) -> None:
    dispatcher: Dispatcher = app_context(app).sms.dispatcher
    dispatcher.dispatch_due(now)


def alert_of(session: Session, alert_id: int) -> Alert:
    session.expire_all()
    alert = session.get(Alert, alert_id)
    assert alert is not None
    return alert


def calls_to(twilio_api: FakeTwilioApi, phone: str) -> list[str]:
    return [c.sid for c in twilio_api.calls if c.to == phone]


def test_an_sos_calls_the_one_on_duty_in_their_language_and_1_takes_charge(
    twilio_app: tuple[FastAPI, TestClient], twilio_api: FakeTwilioApi, s: Scenario, session: Session, clock: Clock
) -> None:
    app, client = twilio_app
    alert_id = s.post(client, clock.now, "sos").json()["alert_id"]
    dispatch(app, clock.now)
    [call] = twilio_api.calls
    assert call.to == s.on_duty.phone and call.sender == "+15005550006"  # the care worker is texted, not called
    assert '<Say language="en-US">' in call.twiml and "王秀英" in call.twiml  # the on-duty worker reads English
    assert "Press 1" in call.twiml and f"{PUBLIC_URL}/webhooks/twilio/voice/gather?m=" in call.twiml
    assert sorted(m.to for m in twilio_api.received) == sorted([s.worker.phone, s.on_duty.phone])  # and texted

    again = twilio_api.press(call.sid, "9", post=client.post)  # say it again
    assert again.status_code == 200 and "<Gather" in again.text
    answer = twilio_api.press(call.sid, "1", post=client.post)
    assert answer.status_code == 200 and "You have taken the alert" in answer.text  # confirmed aloud
    alert = alert_of(session, alert_id)
    assert (alert.status, alert.acknowledged_by, alert.acknowledged_via) == ("acknowledged", s.on_duty.id, "call")
    twilio_api.end_call(call.sid, "completed", post=client.post)  # the end of an answered call changes nothing
    message = session.exec(select(SmsMessage).where(SmsMessage.provider_sid == call.sid)).one()
    assert (message.status, message.digits) == ("delivered", "1")
    # Nothing else rings: the next step does not run for an acknowledged alert.
    sweep(app, clock.advance(minutes=6))
    dispatch(app, clock.now)
    assert len(twilio_api.calls) == 1


def test_calls_not_yet_placed_are_cancelled_when_someone_answers(
    twilio_app: tuple[FastAPI, TestClient], twilio_api: FakeTwilioApi, s: Scenario, session: Session, clock: Clock
) -> None:
    app, client = twilio_app
    alert_id = s.post(client, clock.now, "sos").json()["alert_id"]
    dispatch(app, clock.now)
    sweep(app, clock.advance(minutes=5))  # step 2 queues the daughter's SMS and call
    queued = session.exec(select(SmsMessage).where(SmsMessage.channel == "voice", SmsMessage.status == "queued")).all()
    assert [m.to_phone for m in queued] == [s.daughter.phone]
    twilio_api.press(twilio_api.calls[0].sid, "1", post=client.post)  # the one on duty takes charge now
    dispatch(app, clock.now)
    assert calls_to(twilio_api, s.daughter.phone) == []  # never placed
    events = session.exec(select(AlertEvent.kind).where(AlertEvent.alert_id == alert_id)).all()
    assert "calls_cancelled" in events


def test_2_and_no_answer_move_on_to_the_next_person_at_once(
    twilio_app: tuple[FastAPI, TestClient], twilio_api: FakeTwilioApi, s: Scenario, session: Session, clock: Clock
) -> None:
    app, client = twilio_app
    alert_id = s.post(client, clock.now, "sos").json()["alert_id"]
    dispatch(app, clock.now)
    twilio_api.end_call(twilio_api.calls[0].sid, "no-answer", post=client.post)
    assert alert_of(session, alert_id).next_escalation_at == clock.now  # the next step, now
    sweep(app, clock.advance(seconds=5))
    dispatch(app, clock.now)
    [daughter_call] = calls_to(twilio_api, s.daughter.phone)
    assert '<Say language="zh-CN">' in twilio_api.calls[-1].twiml  # the family's language
    twilio_api.press(daughter_call, "2", post=client.post)  # she cannot go: her brother is called at once
    dispatch(app, clock.advance(seconds=5))
    assert len(calls_to(twilio_api, s.son.phone)) == 1
    assert alert_of(session, alert_id).status == "open"
    twilio_api.end_call(calls_to(twilio_api, s.son.phone)[0], "completed", post=client.post)  # answered, no key
    message = session.exec(
        select(SmsMessage).where(SmsMessage.to_phone == s.son.phone, SmsMessage.channel == "voice")
    ).one()
    assert (message.status, message.error_message) == ("undelivered", "answered, but no key was pressed")


def test_a_number_that_cannot_be_called_is_marked_like_an_unreachable_sms_number(
    twilio_app: tuple[FastAPI, TestClient], twilio_api: FakeTwilioApi, s: Scenario, session: Session, clock: Clock
) -> None:
    app, client = twilio_app
    s.post(client, clock.now, "sos")
    dispatch(app, clock.now)
    twilio_api.end_call(twilio_api.calls[0].sid, "failed", error_code=13224, post=client.post)
    session.expire_all()
    recipient = session.get(SmsRecipient, s.on_duty.phone)
    assert recipient is not None and recipient.unreachable_code == 13224


def test_call_webhooks_want_twilios_signature(
    twilio_app: tuple[FastAPI, TestClient], twilio_api: FakeTwilioApi, s: Scenario, clock: Clock
) -> None:
    app, client = twilio_app
    s.post(client, clock.now, "sos")
    dispatch(app, clock.now)
    call = twilio_api.calls[0]
    forged = client.post(
        "/webhooks/twilio/voice/gather?m=1",
        data={"CallSid": call.sid, "Digits": "1"},
        headers={"X-Twilio-Signature": "x"},
    )
    assert forged.status_code == 403
    unsigned = client.post("/webhooks/twilio/voice/status?m=1", data={"CallSid": call.sid, "CallStatus": "busy"})
    assert unsigned.status_code == 403


def test_non_critical_alerts_never_call_and_quiet_hours_never_hold_a_critical_call(
    twilio_app: tuple[FastAPI, TestClient], twilio_api: FakeTwilioApi, s: Scenario, session: Session, clock: Clock
) -> None:
    app, client = twilio_app
    for n in range(3):  # a sustained high heart rate: an alert, but not one that wakes people
        s.post(client, clock.advance(minutes=1), "vitals", event_id=f"hr{n}", heart_rate=150)
    sweep(app, clock.advance(minutes=10))
    dispatch(app, clock.now)
    assert session.exec(select(Alert.kind)).all() == ["heart_rate_high"]
    assert twilio_api.calls == []
    # 23:30 in Beijing, inside the daughter's quiet hours (22:00-07:00): her call goes at once.
    night = datetime(2026, 11, 24, 15, 30, tzinfo=UTC)
    clock.now = night
    alert_id = s.post(client, night, "fall").json()["alert_id"]
    sweep(app, night + timedelta(minutes=5))
    dispatch(app, night + timedelta(minutes=5))
    assert calls_to(twilio_api, s.daughter.phone)
    held = session.exec(
        select(SmsMessage.hold_reason).where(SmsMessage.alert_id == alert_id, col(SmsMessage.channel) == "voice")
    ).all()
    assert set(held) == {None}


def test_the_test_endpoint_places_a_test_call(
    twilio_app: tuple[FastAPI, TestClient], twilio_api: FakeTwilioApi, s: Scenario, clock: Clock
) -> None:
    app, client = twilio_app
    answer = client.post(
        "/api/v1/notifications/test", json={"to": "13800138000", "channel": "voice"}, headers=login(client, s.manager)
    )
    assert answer.status_code in (200, 201, 202), answer.text
    dispatch(app, clock.now)
    [call] = twilio_api.calls
    assert (call.to == "+8613800138000" and "test call" in call.twiml.lower()) or "测试电话" in call.twiml


def test_a_dispatcher_that_dies_after_claiming_a_call_leaves_it_to_be_placed_once(
    twilio_app: tuple[FastAPI, TestClient], twilio_api: FakeTwilioApi, s: Scenario, session: Session, clock: Clock
) -> None:
    """Claimed (under a lease) and never placed: after the lease another pass places it, once."""
    app, client = twilio_app
    s.post(client, clock.now, "sos")
    dispatcher: Dispatcher = app_context(app).sms.dispatcher
    claimed = dispatcher._claim(clock.now, 50)  # the process dies here, before any provider call
    assert [c.channel for c in claimed].count("voice") == 1
    dispatch(app, clock.advance(seconds=30))
    assert twilio_api.calls == []  # the lease still holds
    lease = app_context(app).settings.sms.sms_lease_seconds
    dispatch(app, clock.advance(seconds=lease))
    dispatch(app, clock.advance(seconds=lease))
    assert [c.to for c in twilio_api.calls] == [s.on_duty.phone]
    call = session.exec(select(SmsMessage).where(SmsMessage.channel == "voice")).one()
    session.refresh(call)
    assert (call.status, call.attempts) == ("sent", 2)


def test_5_calls_the_next_step_now_and_a_voicemail_is_not_an_answer(
    twilio_app: tuple[FastAPI, TestClient], twilio_api: FakeTwilioApi, s: Scenario, session: Session, clock: Clock
) -> None:
    app, client = twilio_app
    alert_id = s.post(client, clock.now, "sos").json()["alert_id"]
    dispatch(app, clock.now)
    [call] = twilio_api.calls
    assert "Press 5" in call.twiml and call.form.get("MachineDetection") == "Enable"
    answer = twilio_api.press(call.sid, "5", post=client.post)
    assert "The next people are being called now" in answer.text
    alert = alert_of(session, alert_id)
    assert alert.status == "open" and alert.next_escalation_at == clock.now  # the next step, now
    events = session.exec(select(AlertEvent.kind).where(AlertEvent.alert_id == alert_id)).all()
    assert "escalated" in events
    sweep(app, clock.now)
    dispatch(app, clock.now)
    assert calls_to(twilio_api, s.daughter.phone)  # step 2 rang without waiting its 5 minutes

    [daughter_call] = [c for c in twilio_api.calls if c.to == s.daughter.phone]
    twilio_api.end_call(daughter_call.sid, "completed", post=client.post)  # … picked up by her voicemail?
    session.expire_all()
    message = session.exec(select(SmsMessage).where(SmsMessage.provider_sid == daughter_call.sid)).one()
    assert message.status == "undelivered"


def test_a_voicemail_that_answers_is_not_an_answer(
    twilio_app: tuple[FastAPI, TestClient], twilio_api: FakeTwilioApi, s: Scenario, session: Session, clock: Clock
) -> None:
    app, client = twilio_app
    alert_id = s.post(client, clock.now, "sos").json()["alert_id"]
    dispatch(app, clock.now)
    [call] = twilio_api.calls
    params = {"CallSid": call.sid, "CallStatus": "completed", "AnsweredBy": "machine_end_beep", "To": call.to}
    url = call.status_callback
    assert url
    client.post(
        url,
        data=params | {"AccountSid": twilio_api.account_sid},
        headers=twilio_api.signed_callback(url, params | {"AccountSid": twilio_api.account_sid}),
    )
    session.expire_all()
    message = session.exec(select(SmsMessage).where(SmsMessage.provider_sid == call.sid)).one()
    assert (message.status, message.error_message) == ("undelivered", "voicemail answered")
    alert = alert_of(session, alert_id)
    assert alert.next_escalation_at is not None and alert.next_escalation_at <= clock.now  # moves on at once
