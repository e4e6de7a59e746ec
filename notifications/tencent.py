"""Tencent Cloud SMS (`SendSms`) and voice notifications (`SendTtsVoice`) through the official SDKs.

Templates are positional ({1}, {2}, …), numbers E.164 with the "+". `SessionContext` carries our
message id. A refused SMS comes back inside `SendStatusSet` with its own code (not as an error);
a refused call as an SDK exception. Codes: the SDK's errorcodes modules and
https://cloud.tencent.com/document/api/382/55981 (SMS), https://cloud.tencent.com/document/api/1128/51560 (VMS).
"""

from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from tencentcloud.common import credential
from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException
from tencentcloud.common.profile.client_profile import ClientProfile
from tencentcloud.common.profile.http_profile import HttpProfile
from tencentcloud.sms.v20210111 import models as sms_models
from tencentcloud.sms.v20210111.sms_client import SmsClient
from tencentcloud.vms.v20200902 import models as voice_models
from tencentcloud.vms.v20200902.vms_client import VmsClient

from notifications.models import MessageChannel
from notifications.senders import Outgoing, ProviderError, SendError, SendResult, no_template, template_values
from notifications.settings import SmsSettings
from notifications.twilio_errors import Verdict

PLAY_TIMES = 2


TENCENT_ERRORS: dict[str, ProviderError] = {
    "LimitExceeded.PhoneNumberThirtySecondLimit": ProviderError(Verdict.throttled, "one SMS per 30 s to this number"),
    "LimitExceeded.PhoneNumberOneHourLimit": ProviderError(Verdict.throttled, "this number's hourly cap"),
    "LimitExceeded.PhoneNumberDailyLimit": ProviderError(Verdict.throttled, "this number's daily cap"),
    "LimitExceeded.PhoneNumberSameContentDailyLimit": ProviderError(Verdict.throttled, "same text, daily cap"),
    "LimitExceeded.DeliveryFrequencyLimit": ProviderError(Verdict.throttled, "Tencent's cap for this number"),
    "LimitExceeded.AppDailyLimit": ProviderError(Verdict.give_up, "the application's daily limit is reached"),
    "LimitExceeded.DailyLimit": ProviderError(Verdict.give_up, "the account's daily limit is reached"),
    "InvalidParameterValue.IncorrectPhoneNumber": ProviderError(Verdict.unreachable, "not a valid mobile number"),
    "InvalidParameterValue.CalledNumberVerifyFail": ProviderError(Verdict.unreachable, "not a valid number to call"),
    "FailedOperation.PhoneNumberInBlacklist": ProviderError(
        Verdict.unreachable, "the number refused messages (T/退订)"
    ),
    "FailedOperation.TemplateIncorrectOrUnapproved": ProviderError(Verdict.give_up, "the template is not approved"),
    "FailedOperation.SignatureIncorrectOrUnapproved": ProviderError(Verdict.give_up, "the signature is not approved"),
    "InvalidParameterValue.TemplateParameterFormatError": ProviderError(Verdict.give_up, "a parameter is refused"),
    "InvalidParameterValue.TemplateParameterLengthLimit": ProviderError(Verdict.give_up, "a parameter is too long"),
    "FailedOperation.InsufficientBalanceInSmsPackage": ProviderError(Verdict.give_up, "the SMS package is used up"),
    "FailedOperation.InsufficientBalanceInVoicePackage": ProviderError(Verdict.give_up, "the voice package is used up"),
    "FailedOperation.PhonenumberUnappliedOrExpired": ProviderError(Verdict.give_up, "no voice number (or it expired)"),
    "AuthFailure.SecretIdNotFound": ProviderError(Verdict.give_up, "authentication failed: check the SecretId"),
    "AuthFailure.SignatureFailure": ProviderError(Verdict.give_up, "authentication failed: check the SecretKey"),
    "RequestLimitExceeded": ProviderError(Verdict.retry, "too many requests"),
    "InternalError": ProviderError(Verdict.retry, "Tencent's internal error"),
    "FailedOperation.AccessUpstreamTimeout": ProviderError(Verdict.retry, "Tencent's upstream timed out"),
}


def classify(code: str | None) -> ProviderError:
    if code in TENCENT_ERRORS:
        return TENCENT_ERRORS[code]
    if code is None or code.startswith(("InternalError", "RequestLimitExceeded", "ClientNetworkError")):
        return ProviderError(Verdict.retry, f"Tencent answered {code}")
    return ProviderError(Verdict.give_up, f"Tencent refused the request: {code}")


def _profile(settings: SmsSettings) -> ClientProfile:
    http = HttpProfile(reqTimeout=int(settings.provider_timeout_seconds))
    if settings.tencent_api_base:
        base = urlsplit(settings.tencent_api_base)
        http = HttpProfile(endpoint=base.netloc, protocol=base.scheme or "https", reqTimeout=http.reqTimeout)
    return ClientProfile(httpProfile=http)


class TencentSender:
    name = "tencent"

    def __init__(self, settings: SmsSettings) -> None:
        problems = settings.tencent_problems()
        if problems:
            raise ValueError("Tencent Cloud is not configured: " + "; ".join(problems))
        assert settings.tencent_secret_key is not None
        cred = credential.Credential(settings.tencent_secret_id, settings.tencent_secret_key.get_secret_value())
        self.sms = SmsClient(cred, settings.tencent_region, _profile(settings))
        self.voice = VmsClient(cred, settings.tencent_region, _profile(settings))
        self.sms_app_id, self.sign_name = settings.tencent_sms_app_id, settings.tencent_sign_name
        self.voice_app_id = settings.tencent_voice_app_id

    def deliver(self, message: Outgoing) -> SendResult:
        if message.template is None:
            raise no_template(self.name, message.kind)
        values = [value for _variable, value in template_values(message)]
        if message.channel == MessageChannel.voice:
            if not self.voice_app_id:
                raise SendError(Verdict.give_up, "CARECENTER_TENCENT_VOICE_APP_ID is not set: no calls")
            call = voice_models.SendTtsVoiceRequest()
            call.TemplateId, call.TemplateParamSet = message.template.code, values
            call.CalledNumber, call.VoiceSdkAppid = message.to, self.voice_app_id
            call.PlayTimes, call.SessionContext = PLAY_TIMES, str(message.id)
            response = _answer(lambda: self.voice.SendTtsVoice(call))
            sid = response.SendStatus.CallId if response.SendStatus else None
        else:
            sms = sms_models.SendSmsRequest()
            sms.PhoneNumberSet, sms.SmsSdkAppId, sms.SignName = [message.to], self.sms_app_id, self.sign_name
            sms.TemplateId, sms.TemplateParamSet = message.template.code, values
            sms.SessionContext = str(message.id)
            response = _answer(lambda: self.sms.SendSms(sms))
            status = (response.SendStatusSet or [None])[0]
            if status is None:
                raise SendError(Verdict.retry, "Tencent answered without a send status")
            if status.Code != "Ok":
                error = classify(status.Code)
                raise SendError(error.verdict, f"{status.Code}: {error.meaning}")
            sid = status.SerialNo
        if not sid:
            raise SendError(Verdict.retry, "Tencent answered without an id")
        return SendResult(provider_sid=str(sid), template_code=message.template.code)


def _answer(call: Callable[[], Any]) -> Any:
    try:
        return call()
    except TencentCloudSDKException as exc:
        code = exc.get_code()
        error = classify(code)
        raise SendError(error.verdict, f"{code}: {error.meaning}") from exc
    except OSError as exc:
        raise SendError(Verdict.retry, f"network error talking to Tencent: {type(exc).__name__}") from exc
