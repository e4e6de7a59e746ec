"""The real `twilio` SDK against the local fake of the Twilio API."""

import pytest

from notifications.fake_twilio_api import Failure, FakeTwilioApi
from notifications.senders import SendError, TwilioSender
from notifications.settings import SmsProvider, SmsSettings
from notifications.twilio_errors import Verdict


def twilio_settings(api: FakeTwilioApi, **overrides: object) -> SmsSettings:
    values: dict[str, object] = {
        "sms_provider": "twilio",
        "twilio_account_sid": api.account_sid,
        "twilio_auth_token": api.auth_token,
        "twilio_from_number": "+15005550006",
        "twilio_api_base": api.base_url,
        "twilio_timeout_seconds": 0.5,
    }
    return SmsSettings(**(values | overrides))  # type: ignore[arg-type]


def test_a_message_goes_through_the_sdk(twilio_api: FakeTwilioApi) -> None:
    result = TwilioSender(twilio_settings(twilio_api)).send(
        to="+8613800138000", body="【长阳镇】测试", status_callback="https://cc.test/webhooks/twilio/status?m=7"
    )
    [received] = twilio_api.received
    assert result.provider_sid == received.sid and received.sid.startswith("SM")
    assert received.form == {
        "To": "+8613800138000",
        "From": "+15005550006",
        "Body": "【长阳镇】测试",
        "StatusCallback": "https://cc.test/webhooks/twilio/status?m=7",
    }


def test_a_messaging_service_replaces_the_from_number(twilio_api: FakeTwilioApi) -> None:
    settings = twilio_settings(twilio_api, twilio_from_number=None, twilio_messaging_service_sid="MG" + "a" * 32)
    TwilioSender(settings).send(to="+8613800138000", body="hi", status_callback=None)
    assert twilio_api.received[0].form["MessagingServiceSid"] == "MG" + "a" * 32
    assert "From" not in twilio_api.received[0].form


@pytest.mark.parametrize(
    ("failure", "verdict", "code"),
    [
        (Failure(status=500), Verdict.retry, 500),
        (Failure(status=503), Verdict.retry, 503),
        (Failure(status=429, code=20429), Verdict.retry, 20429),
        (Failure(status=400, code=21211), Verdict.unreachable, 21211),
        (Failure(status=400, code=21610), Verdict.unreachable, 21610),
        (Failure(status=400, code=21614), Verdict.unreachable, 21614),
        (Failure(status=400, code=21408), Verdict.give_up, 21408),
        (Failure(stall_seconds=1.5), Verdict.retry, None),  # longer than the 0.5 s timeout
    ],
)
def test_vendor_errors_become_verdicts(
    twilio_api: FakeTwilioApi, failure: Failure, verdict: Verdict, code: int | None
) -> None:
    twilio_api.fail_next(failure)
    with pytest.raises(SendError) as raised:
        TwilioSender(twilio_settings(twilio_api)).send(to="+8613800138000", body="x", status_callback=None)
    assert (raised.value.verdict, raised.value.code) == (verdict, code)


def test_wrong_credentials_give_up(twilio_api: FakeTwilioApi) -> None:
    sender = TwilioSender(twilio_settings(twilio_api, twilio_auth_token="wrong"))
    with pytest.raises(SendError) as raised:
        sender.send(to="+8613800138000", body="x", status_callback=None)
    assert (raised.value.verdict, raised.value.code) == (Verdict.give_up, 20003)


def test_an_unreachable_api_is_a_retry() -> None:
    api = FakeTwilioApi().start()
    settings = twilio_settings(api)
    api.stop()  # nothing listens there any more
    with pytest.raises(SendError) as raised:
        TwilioSender(settings).send(to="+8613800138000", body="x", status_callback=None)
    assert raised.value.verdict == Verdict.retry
    assert "network error" in raised.value.message


def test_incomplete_configuration_is_refused_with_what_is_missing() -> None:
    with pytest.raises(ValueError, match="CARECENTER_TWILIO_AUTH_TOKEN is not set"):
        TwilioSender(SmsSettings(sms_provider=SmsProvider.twilio, twilio_account_sid="AC" + "1" * 32))
