"""Aliyun SMS (`SendSms`) and voice (`IvrCall`, `SingleCallByTts`) through the official SDKs.

An alert call is an IVR call (交互式语音应答) when the confirmations are approved: each key plays
its template back ("您已接警…") and 9 plays the alert again; the keys pressed come back in the
VoiceReport's `dtmf`. Without them it is a plain TTS notification, whose keys come back the same way.

Both take an approved template and its parameters as JSON, never free text; `OutId` carries our
message id, which Aliyun's receipts (SmsReport, VoiceReport) send back. Numbers go as Aliyun
wants them: a mainland number as its 11 digits, any other with its country code and no "+".
Error codes: https://help.aliyun.com/document_detail/101346.html (SMS API error codes) and the
voice service's own; what we do about each is the table below.
"""

import json
from typing import Any
from urllib.parse import urlsplit

from alibabacloud_dysmsapi20170525 import models as sms_models
from alibabacloud_dysmsapi20170525.client import Client as SmsClient
from alibabacloud_dyvmsapi20170525 import models as voice_models
from alibabacloud_dyvmsapi20170525.client import Client as VoiceClient
from alibabacloud_tea_openapi import models as openapi_models
from darabonba.runtime import RuntimeOptions
from Tea.exceptions import TeaException

from notifications.kinds import REPEAT_KEY
from notifications.models import MessageChannel
from notifications.senders import Outgoing, ProviderError, SendError, SendResult, no_template, template_values
from notifications.settings import SmsSettings
from notifications.twilio_errors import Verdict

# Aliyun's notification template variables: at most 35 characters each (其他 type), and the TTS
# template's the same; a longer value is cut with an ellipsis rather than refused.
PARAM_LIMIT = 35
PLAY_TIMES = 2  # the call speaks the template twice (the caller then presses a key)
KEY_TIMEOUT_MS = 10_000  # an IVR call waits this long for a key after the alert was spoken


ALIYUN_ERRORS: dict[str, ProviderError] = {
    "isv.BUSINESS_LIMIT_CONTROL": ProviderError(Verdict.throttled, "Aliyun's cap for this number is reached (流控)"),
    "isv.DAY_LIMIT_CONTROL": ProviderError(Verdict.give_up, "the account's daily limit set in the console is reached"),
    "isv.MONTH_LIMIT_CONTROL": ProviderError(Verdict.give_up, "the account's monthly limit is reached"),
    "isv.MOBILE_NUMBER_ILLEGAL": ProviderError(Verdict.unreachable, "not a valid mobile number"),
    "isv.MOBILE_COUNT_OVER_LIMIT": ProviderError(Verdict.give_up, "too many numbers in one request"),
    "isv.TEMPLATE_MISSING_PARAMETERS": ProviderError(Verdict.give_up, "the template expects other parameters"),
    "isv.TEMPLATE_PARAMS_ILLEGAL": ProviderError(Verdict.give_up, "a parameter breaks the template's rules"),
    "isv.INVALID_JSON_PARAM": ProviderError(Verdict.give_up, "the parameters are not valid JSON"),
    "isv.PARAM_LENGTH_LIMIT": ProviderError(Verdict.give_up, "a parameter is too long"),
    "isv.SMS_TEMPLATE_ILLEGAL": ProviderError(Verdict.give_up, "the template code is not approved for this account"),
    "isv.SMS_SIGNATURE_ILLEGAL": ProviderError(Verdict.give_up, "the signature is not approved for this account"),
    "isv.SMS_SIGNATURE_SCENE_ILLEGAL": ProviderError(Verdict.give_up, "the signature may not send this template"),
    "isv.SMS_CONTENT_ILLEGAL": ProviderError(Verdict.give_up, "the text holds words Aliyun refuses"),
    "isv.BLACK_KEY_CONTROL_LIMIT": ProviderError(Verdict.give_up, "the text holds words Aliyun refuses"),
    "isv.OUT_OF_SERVICE": ProviderError(Verdict.give_up, "the account is suspended (balance)"),
    "isv.AMOUNT_NOT_ENOUGH": ProviderError(Verdict.give_up, "the account's balance is too low"),
    "isv.PRODUCT_UN_SUBSCRIPT": ProviderError(Verdict.give_up, "the account has not opened this service"),
    "isv.TTS_TEMPLATE_ILLEGAL": ProviderError(Verdict.give_up, "the TTS template is not approved for this account"),
    "isv.DISPLAYNUMBER_ILLEGAL": ProviderError(Verdict.give_up, "the number calls show is not this account's"),
    "InvalidAccessKeyId.NotFound": ProviderError(Verdict.give_up, "authentication failed: check the AccessKey ID"),
    "SignatureDoesNotMatch": ProviderError(Verdict.give_up, "authentication failed: check the AccessKey secret"),
    "Throttling.User": ProviderError(Verdict.retry, "too many requests from this account"),
    "Throttling": ProviderError(Verdict.retry, "too many requests"),
    "isp.SYSTEM_ERROR": ProviderError(Verdict.retry, "Aliyun's system error"),
    "ServiceUnavailable": ProviderError(Verdict.retry, "Aliyun is unavailable"),
}


def classify(code: str | None, status: int | None) -> ProviderError:
    """A known code by the table; an unknown one by its HTTP status (5xx: try again; else give up)."""
    if code in ALIYUN_ERRORS:
        return ALIYUN_ERRORS[code]
    if status is None or status >= 500:
        return ProviderError(Verdict.retry, f"Aliyun answered {code or status}")
    return ProviderError(Verdict.give_up, f"Aliyun refused the request: {code or status}")


def aliyun_number(e164: str) -> str:
    """+8613800138000 -> 13800138000; +85261234567 -> 85261234567 (Aliyun's PhoneNumbers format)."""
    return e164[3:] if e164.startswith("+86") else e164.lstrip("+")


def _config(settings: SmsSettings, api_base: str) -> openapi_models.Config:
    assert settings.aliyun_access_key_secret is not None
    base = urlsplit(api_base)
    return openapi_models.Config(
        access_key_id=settings.aliyun_access_key_id,
        access_key_secret=settings.aliyun_access_key_secret.get_secret_value(),
        endpoint=base.netloc,
        protocol=base.scheme or "https",
    )


class AliyunSender:
    name = "aliyun"

    def __init__(self, settings: SmsSettings) -> None:
        problems = settings.aliyun_problems()
        if problems:
            raise ValueError("Aliyun is not configured: " + "; ".join(problems))
        self.sign_name = settings.aliyun_sign_name
        self.show_number = settings.aliyun_called_show_number
        self.sms = SmsClient(_config(settings, settings.aliyun_api_base))
        self.voice = VoiceClient(_config(settings, settings.aliyun_voice_api_base))
        timeout_ms = int(settings.provider_timeout_seconds * 1000)
        # One attempt per call: the dispatcher retries, with backoff, and may switch provider.
        self.runtime = RuntimeOptions(read_timeout=timeout_ms, connect_timeout=timeout_ms, autoretry=False)

    def deliver(self, message: Outgoing) -> SendResult:
        if message.template is None:
            raise no_template(self.name, message.kind)
        params = json.dumps(dict(template_values(message, PARAM_LIMIT)), ensure_ascii=False)
        if message.channel == MessageChannel.voice and message.key_templates:
            Key = voice_models.IvrCallRequestMenuKeyMap
            ivr = voice_models.IvrCallRequest(
                called_number=aliyun_number(message.to),
                called_show_number=self.show_number,
                start_code=message.template.code,
                start_tts_params=params,
                menu_key_map=[
                    *(Key(key=k, code=t.code) for k, t in message.key_templates),
                    Key(key=REPEAT_KEY, code=message.template.code, tts_params=params),
                ],
                play_times=PLAY_TIMES,
                timeout=KEY_TIMEOUT_MS,
                out_id=str(message.id),
            )
            body = self._answer(lambda: self.voice.ivr_call_with_options(ivr, self.runtime))
            sid = body.get("CallId")
        elif message.channel == MessageChannel.voice:
            call = voice_models.SingleCallByTtsRequest(
                called_number=aliyun_number(message.to),
                called_show_number=self.show_number,
                tts_code=message.template.code,
                tts_param=params,
                play_times=PLAY_TIMES,
                out_id=str(message.id),
            )
            body = self._answer(lambda: self.voice.single_call_by_tts_with_options(call, self.runtime))
            sid = body.get("CallId")
        else:
            sms = sms_models.SendSmsRequest(
                phone_numbers=aliyun_number(message.to),
                sign_name=self.sign_name,
                template_code=message.template.code,
                template_param=params,
                out_id=str(message.id),
            )
            body = self._answer(lambda: self.sms.send_sms_with_options(sms, self.runtime))
            sid = body.get("BizId")
        if not sid:
            raise SendError(Verdict.retry, "Aliyun answered OK without an id")
        return SendResult(provider_sid=str(sid), template_code=message.template.code)

    @staticmethod
    def _answer(call: Any) -> dict[str, Any]:
        """The response body when its Code is OK; otherwise a SendError with the code's verdict."""
        try:
            response = call()
        except TeaException as exc:
            status = getattr(exc, "status_code", None) or getattr(exc, "statusCode", None)
            code = getattr(exc, "code", None)
            if status is None and code is None:  # never reached Aliyun: refused connection, timeout
                raise SendError(Verdict.retry, f"network error talking to Aliyun: {type(exc).__name__}") from exc
            error = classify(str(code) if code else None, int(status) if status else None)
            raise SendError(error.verdict, f"{code}: {error.meaning}") from exc
        except OSError as exc:
            raise SendError(Verdict.retry, f"network error talking to Aliyun: {type(exc).__name__}") from exc
        body: dict[str, Any] = response.body.to_map()
        if body.get("Code") != "OK":
            error = classify(body.get("Code"), 200)
            raise SendError(error.verdict, f"{body.get('Code')}: {error.meaning}")
        return body
