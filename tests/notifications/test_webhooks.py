"""Twilio webhooks, signed for real with the SDK's RequestValidator."""

from urllib.parse import urlencode

from fastapi.testclient import TestClient
from sqlmodel import Session
from twilio.request_validator import RequestValidator

from carecenter.residents.models import SmsOptIn
from carecenter.residents.service import contacts_public
from notifications.dispatcher import Dispatcher
from notifications.models import MessageStatus, Purpose, SmsMessage, SmsRecipient
from notifications.outbox import enqueue_sms
from tests.conftest import PUBLIC_URL, TEST_TWILIO_TOKEN, Clock, make_sms_settings
from tests.factories import make_center, make_contact, make_resident
from tests.fakes import FakeSender
from tests.notifications.test_dispatcher import queue, status_of


def post_signed(client: TestClient, path: str, params: dict[str, str], token: str = TEST_TWILIO_TOKEN) -> object:
    signature = RequestValidator(token).compute_signature(PUBLIC_URL + path, params)
    return client.post(
        path,
        content=urlencode(params),
        headers={"X-Twilio-Signature": signature, "Content-Type": "application/x-www-form-urlencoded"},
    )


def sent_message(session: Session, dispatcher: Dispatcher, clock: Clock, to: str = "+8613900001111") -> SmsMessage:
    [message_id] = queue(session, clock.now, to=to)
    dispatcher.dispatch_due(now=clock.now)
    return status_of(session, message_id)


def test_delivery_callbacks_move_messages_forward_only(
    client: TestClient, session: Session, dispatcher: Dispatcher, clock: Clock
) -> None:
    message = sent_message(session, dispatcher, clock)
    path = f"/webhooks/twilio/status?m={message.id}"
    params = {"MessageSid": message.provider_sid or "", "MessageStatus": "delivered", "To": message.to_phone}
    assert post_signed(client, path, params).status_code == 204  # type: ignore[attr-defined]
    delivered = status_of(session, message.id or 0)
    assert (delivered.status, delivered.delivered_at) == (MessageStatus.delivered, clock.now)
    late = params | {"MessageStatus": "sent"}
    assert post_signed(client, path, late).status_code == 204  # type: ignore[attr-defined]
    assert post_signed(client, path, params).status_code == 204  # type: ignore[attr-defined]
    assert status_of(session, message.id or 0).status == MessageStatus.delivered


def test_a_callback_may_find_the_message_by_sid_alone(
    client: TestClient, session: Session, dispatcher: Dispatcher, clock: Clock
) -> None:
    message = sent_message(session, dispatcher, clock)
    params = {"MessageSid": message.provider_sid or "", "MessageStatus": "delivered"}
    post_signed(client, "/webhooks/twilio/status", params)
    assert status_of(session, message.id or 0).status == MessageStatus.delivered


def test_undelivered_counts_as_not_reached_and_marks_bad_numbers(
    client: TestClient, session: Session, dispatcher: Dispatcher, clock: Clock
) -> None:
    contact = make_contact(session, resident=make_resident(session, center=make_center(session)))
    message = sent_message(session, dispatcher, clock, to=contact.phone)
    params = {"MessageSid": message.provider_sid or "", "MessageStatus": "undelivered", "ErrorCode": "30003"}
    post_signed(client, f"/webhooks/twilio/status?m={message.id}", params)
    after = status_of(session, message.id or 0)
    assert (after.status, after.error_code) == (MessageStatus.undelivered, 30003)
    assert after.error_message == "unreachable destination handset"
    assert contacts_public(session, [contact])[0].unreachable_code == 30003


def test_bad_or_missing_signatures_are_403(
    client: TestClient, session: Session, dispatcher: Dispatcher, clock: Clock
) -> None:
    message = sent_message(session, dispatcher, clock)
    params = {"MessageSid": message.provider_sid or "", "MessageStatus": "delivered"}
    forged = post_signed(client, "/webhooks/twilio/status", params, token="not-our-token")
    assert forged.status_code == 403  # type: ignore[attr-defined]
    unsigned = client.post("/webhooks/twilio/status", data=params)
    assert unsigned.status_code == 403
    tampered_signature = RequestValidator(TEST_TWILIO_TOKEN).compute_signature(
        PUBLIC_URL + "/webhooks/twilio/status", params
    )
    tampered = client.post(
        "/webhooks/twilio/status",
        data=params | {"MessageStatus": "failed"},
        headers={"X-Twilio-Signature": tampered_signature},
    )
    assert tampered.status_code == 403
    assert status_of(session, message.id or 0).status == MessageStatus.sent


def test_stop_and_start_replies_change_the_opt_in(
    client: TestClient, session: Session, dispatcher: Dispatcher, sender: FakeSender, clock: Clock
) -> None:
    contact = make_contact(session, resident=make_resident(session, center=make_center(session)))
    stop = post_signed(client, "/webhooks/twilio/inbound", {"From": contact.phone, "Body": "退订"})
    assert stop.status_code == 200  # type: ignore[attr-defined]
    assert "application/xml" in stop.headers["content-type"]  # type: ignore[attr-defined]
    assert "<Message>CareCenter：您已退订短信通知。回复“订阅”可恢复。</Message>" in stop.text  # type: ignore[attr-defined]
    session.expire_all()
    assert session.get(SmsRecipient, contact.phone).opted_out_at == clock.now  # type: ignore[union-attr]
    assert contacts_public(session, [contact])[0].sms_opt_in == SmsOptIn.opted_out
    [suppressed] = queue(session, clock.now, to=contact.phone)
    assert status_of(session, suppressed).status == MessageStatus.suppressed

    start = post_signed(client, "/webhooks/twilio/inbound", {"From": contact.phone, "Body": "start"})
    assert "您已恢复接收短信通知" in start.text  # type: ignore[attr-defined]  # the language of its last message
    session.expire_all()
    assert session.get(SmsRecipient, contact.phone).opted_out_at is None  # type: ignore[union-attr]
    assert contacts_public(session, [contact])[0].sms_opt_in == SmsOptIn.opted_in


def test_acknowledgement_replies_reach_the_domain_hook(client: TestClient) -> None:
    for body in ("1", "ok", "收到", "ACK A12"):
        reply = post_signed(client, "/webhooks/twilio/inbound", {"From": "+8613900002222", "Body": body})
        assert "您目前没有待确认的告警" in reply.text  # type: ignore[attr-defined]
    other = post_signed(client, "/webhooks/twilio/inbound", {"From": "+8613900002222", "Body": "hello?"})
    assert "回复1或“收到”确认告警" in other.text  # type: ignore[attr-defined]


def test_replies_follow_the_language_of_the_last_message(client: TestClient, session: Session, clock: Clock) -> None:
    enqueue_sms(
        session=session,
        settings=make_sms_settings(),
        to="+14155550100",
        body="Visit at 10:00",
        language="en",
        purpose=Purpose.reminder,
        dedupe_key="en-1",
        now=clock.now,
    )
    session.commit()
    reply = post_signed(client, "/webhooks/twilio/inbound", {"From": "+14155550100", "Body": "hello?"})
    assert "reply 1 or OK to acknowledge" in reply.text  # type: ignore[attr-defined]
    chinese = post_signed(client, "/webhooks/twilio/inbound", {"From": "+14155550100", "Body": "你好"})
    assert "回复1或“收到”" in chinese.text  # type: ignore[attr-defined]
