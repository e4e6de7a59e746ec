import logging
import time
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from carecenter.access import Role
from carecenter.app import create_app
from notifications.dispatcher import Dispatcher
from notifications.fake_twilio_api import FakeTwilioApi
from tests.conftest import Clock, make_app, make_settings, make_sms_settings
from tests.factories import login, make_center, make_contact, make_resident, make_staff
from tests.fakes import FakeSender


def wait_for_status(client: TestClient, headers: dict[str, str], message_id: int, status: str) -> dict[str, Any]:
    deadline = time.monotonic() + 10
    row: dict[str, Any] = {}
    while time.monotonic() < deadline:
        items: list[dict[str, Any]] = client.get("/api/v1/notifications", headers=headers).json()["items"]
        row = next(m for m in items if m["id"] == message_id)
        if row["status"] == status:
            return row
        time.sleep(0.05)
    raise AssertionError(f"message {message_id} never reached {status}: {row}")


def test_a_test_sms_goes_through_twilio_and_reaches_sent(
    session: Session, database_url: str, twilio_api: FakeTwilioApi
) -> None:
    """CARECENTER_SMS_PROVIDER=twilio, the real SDK, the stand-in API, the dispatcher thread."""
    sms = make_sms_settings(
        sms_provider="twilio",
        sms_dispatcher_enabled=True,
        twilio_account_sid=twilio_api.account_sid,
        twilio_auth_token=twilio_api.auth_token,
        twilio_from_number="+15005550006",
        twilio_api_base=twilio_api.base_url,
    )
    manager = make_staff(session, center=make_center(session), role=Role.manager)
    with TestClient(make_app(make_settings(database_url, sms=sms))) as client:
        headers = login(client, manager)
        response = client.post("/api/v1/notifications/test", json={"to": "138 0013 8000"}, headers=headers)
        assert response.status_code == 201, response.text
        queued = response.json()
        assert (queued["to_phone"], queued["purpose"], queued["status"]) == ("+8613800138000", "test", "queued")
        row = wait_for_status(client, headers, queued["id"], "sent")
        [request] = twilio_api.received
        assert row["provider_sid"] == request.sid
        assert request.to == "+8613800138000" and "测试短信" in request.body
        # The provider reports delivery to the callback URL it was given, signed.
        assert twilio_api.deliver_status(request.sid, "delivered", post=client.post).status_code == 204
        assert wait_for_status(client, headers, queued["id"], "delivered")["delivered_at"] is not None


def test_the_console_sender_shows_messages_in_the_log(
    session: Session, database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    sms = make_sms_settings(sms_provider="console", sms_dispatcher_enabled=True)
    manager = make_staff(session, center=make_center(session), role=Role.manager)
    with (
        caplog.at_level(logging.WARNING, logger="notifications.senders"),
        TestClient(create_app(make_settings(database_url, sms=sms))) as client,  # the real console sender
    ):
        headers = login(client, manager)
        queued = client.post(
            "/api/v1/notifications/test", json={"to": "13800138000", "language": "en"}, headers=headers
        ).json()
        row = wait_for_status(client, headers, queued["id"], "sent")
    assert row["provider_sid"].startswith("CONSOLE")
    assert "SMS to +8613800138000" in caplog.text and "Test message: the SMS channel works." in caplog.text


def test_the_log_filters_and_stays_within_the_center(
    client: TestClient, session: Session, dispatcher: Dispatcher, sender: FakeSender, clock: Clock
) -> None:
    mine, other = make_center(session), make_center(session)
    manager = make_staff(session, center=mine, role=Role.manager)
    headers = login(client, manager)
    first = client.post("/api/v1/notifications/test", json={"to": "13800138000"}, headers=headers).json()
    client.post("/api/v1/notifications/test", json={"to": "13800138001"}, headers=headers)
    other_headers = login(client, make_staff(session, center=other, role=Role.manager))
    client.post("/api/v1/notifications/test", json={"to": "13800138002"}, headers=other_headers)
    dispatcher.dispatch_due(now=clock.now)

    log = client.get("/api/v1/notifications", headers=headers).json()
    assert log["total"] == 2
    assert {m["status"] for m in log["items"]} == {"sent"}
    by_phone = client.get("/api/v1/notifications", params={"to": "+8613800138000"}, headers=headers).json()
    assert [m["id"] for m in by_phone["items"]] == [first["id"]]
    assert client.get("/api/v1/notifications", params={"status": "failed"}, headers=headers).json()["total"] == 0
    assert client.get("/api/v1/notifications", params={"status": "nonsense"}, headers=headers).status_code == 422
    assert len(sender.sent) == 3


def test_care_workers_cannot_read_the_log_or_send_tests(client: TestClient, session: Session) -> None:
    headers = login(client, make_staff(session, center=make_center(session)))
    assert client.get("/api/v1/notifications", headers=headers).status_code == 403
    assert client.post("/api/v1/notifications/test", json={"to": "13800138000"}, headers=headers).status_code == 403


def test_a_test_sms_needs_a_valid_number(client: TestClient, session: Session) -> None:
    headers = login(client, make_staff(session, center=make_center(session), role=Role.manager))
    response = client.post("/api/v1/notifications/test", json={"to": "12"}, headers=headers)
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "to"]


def test_test_messages_go_only_to_this_country_or_known_numbers_and_a_few_an_hour(
    client: TestClient, session: Session
) -> None:
    center = make_center(session)
    resident = make_resident(session, center=center)
    make_contact(session, resident=resident, phone="+447911123456")  # a daughter abroad
    headers = login(client, make_staff(session, center=center, role=Role.manager)) | {"Accept-Language": "zh-CN"}
    premium = client.post(
        "/api/v1/notifications/test", json={"to": "+882 1600 0000", "channel": "voice"}, headers=headers
    )
    assert premium.status_code == 422 and "本国号码" in premium.text
    abroad = client.post("/api/v1/notifications/test", json={"to": "+44 7911 123457"}, headers=headers)
    assert abroad.status_code == 422
    family = client.post("/api/v1/notifications/test", json={"to": "+447911123456"}, headers=headers)
    assert family.status_code == 201, family.text
    for n in range(4):
        sent = client.post(
            "/api/v1/notifications/test", json={"to": f"1380013800{n}", "channel": "voice"}, headers=headers
        )
        assert sent.status_code == 201
    sixth = client.post("/api/v1/notifications/test", json={"to": "13800138009"}, headers=headers)
    assert sixth.status_code == 429 and sixth.headers["retry-after"] == "3600"
