"""A local stand-in for Tencent Cloud's SMS (`SendSms`) and voice (`SendTtsVoice`) APIs and their callbacks.

It checks the TC3-HMAC-SHA256 signature (Tencent Cloud API 3.0 signing:
https://cloud.tencent.com/document/api/382/52071), the application and signature, an approved
template with the right number of positional parameters and no link in them, E.164 numbers, and
the default per-number caps (SMS: the same text once in 30 s, 10 a day; voice: 1 in 30 s, 2 in
10 minutes, 3 a day). A refused SMS comes back in `SendStatusSet` with its code, a refused call as
`Response.Error`, as Tencent answers. Callbacks: the SMS status report (a JSON array), and the
voice key press, prompt and failure callbacks (JSON objects), as Tencent posts them.
"""

import hashlib
import hmac
import json
import re
import secrets
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler
from typing import Any

import httpx

from notifications.fake_aliyun_api import LINK
from notifications.fake_api import LocalApi

JSON = "application/json"  # exactly: the SDK reads `Response.Error` only under this Content-Type
E164 = re.compile(r"^\+[1-9]\d{6,14}$")
VOICE_CAPS = ((30, 1), (600, 2), (86400, 3))


@dataclass
class TencentSms:
    to: str
    template_id: str
    params: list[str]
    session_context: str | None
    serial_no: str
    received_at: float = field(default_factory=time.monotonic)


@dataclass
class TencentCall:
    to: str
    template_id: str
    params: list[str]
    session_context: str | None
    call_id: str
    received_at: float = field(default_factory=time.monotonic)


def tc3_signature(
    secret_key: str, *, service: str, timestamp: str, host: str, content_type: str, payload: bytes
) -> str:
    """Tencent Cloud's TC3-HMAC-SHA256 signature of a POST, computed as the documentation describes."""
    canonical = "\n".join(
        [
            "POST",
            "/",
            "",
            f"content-type:{content_type}\nhost:{host}\n",
            "content-type;host",
            hashlib.sha256(payload).hexdigest(),
        ]
    )
    day = datetime.fromtimestamp(int(timestamp), UTC).strftime("%Y-%m-%d")
    scope = f"{day}/{service}/tc3_request"
    to_sign = f"TC3-HMAC-SHA256\n{timestamp}\n{scope}\n" + hashlib.sha256(canonical.encode()).hexdigest()

    def sign(key: bytes, message: str) -> bytes:
        return hmac.new(key, message.encode(), hashlib.sha256).digest()

    signing = sign(sign(sign(("TC3" + secret_key).encode(), day), service), "tc3_request")
    return hmac.new(signing, to_sign.encode(), hashlib.sha256).hexdigest()


class FakeTencentApi(LocalApi):
    thread_name = "fake-tencent"

    def __init__(
        self,
        *,
        sms_app_id: str = "1400000001",
        voice_app_id: str = "1400000002",
        sign_name: str = "长阳照护",
        sms_templates: dict[str, int] | None = None,
        voice_templates: dict[str, int] | None = None,
    ) -> None:
        super().__init__()
        self.secret_id = "AKIDFakeForTests"  # noqa: S105 - made up
        self.secret_key = "fake-tencent-secret"  # noqa: S105 - the stand-in's own made-up secret
        self.sms_app_id, self.voice_app_id, self.sign_name = sms_app_id, voice_app_id, sign_name
        self.sms_templates = sms_templates or {}  # template id -> how many parameters
        self.voice_templates = voice_templates or {}
        self.sms: list[TencentSms] = []
        self.calls: list[TencentCall] = []
        self.refused: list[tuple[str, str]] = []
        self.sms_callback_url: str | None = None  # set "in the console"
        self.voice_callback_url: str | None = None
        self._sent_at: dict[tuple[str, str], list[float]] = {}

    # -- callbacks -------------------------------------------------------------------------------
    def report_sms(self, serial_no: str, *, success: bool = True, post: Callable[..., Any] = httpx.post) -> Any:
        sms = next(s for s in self.sms if s.serial_no == serial_no)
        assert self.sms_callback_url, "no SMS status callback URL set in the console"
        report = {
            "user_receive_time": datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S"),
            "nationcode": "86",
            "mobile": sms.to.removeprefix("+86"),
            "report_status": "SUCCESS" if success else "FAIL",
            "errmsg": "DELIVRD" if success else "MK:0001",
            "description": "用户短信送达成功" if success else "用户短信接收失败",
            "sid": serial_no,
        }
        return post(self.sms_callback_url, json=[report])

    def press(self, call_id: str, key: str, *, post: Callable[..., Any] = httpx.post) -> Any:
        """The called person presses `key`: Tencent's voice key press callback."""
        call = next(c for c in self.calls if c.call_id == call_id)
        assert self.voice_callback_url, "no voice callback URL set in the console"
        body = {
            "voicekey_callback": {
                "call_from": "",
                "callid": call_id,
                "keypress": key,
                "mobile": call.to.removeprefix("+86"),
                "nationcode": "86",
            }
        }
        return post(self.voice_callback_url, json=body)

    def end_call(self, call_id: str, *, result: str = "0", post: Callable[..., Any] = httpx.post) -> Any:
        """The call's status callback: result 0 answered, 1 not answered, 2 failed."""
        call = next(c for c in self.calls if c.call_id == call_id)
        assert self.voice_callback_url, "no voice callback URL set in the console"
        now = str(int(time.time()))
        body = {
            "voiceprompt_callback": {
                "result": result,
                "accept_time": now if result == "0" else "0",
                "call_from": "",
                "callid": call_id,
                "end_calltime": now,
                "fee": "1" if result == "0" else "0",
                "mobile": call.to.removeprefix("+86"),
                "nationcode": "86",
                "start_calltime": now,
            }
        }
        return post(self.voice_callback_url, json=body)

    # -- the API ---------------------------------------------------------------------------------
    def handle(self, request: BaseHTTPRequestHandler, method: str) -> None:
        payload = self.body_of(request)
        action = request.headers.get("X-TC-Action", "")
        if self.down:
            return self._error(request, "InternalError", "An internal error has occurred.")
        problem = self._unauthenticated(request, payload)
        if problem is not None:
            return self._error(request, problem, "The provided credentials could not be validated.")
        try:
            body = json.loads(payload or b"{}")
        except ValueError:
            return self._error(request, "FailedOperation.JsonParseFail", "The request body is not JSON.")
        if action == "SendSms":
            return self._send_sms(request, body)
        if action == "SendTtsVoice":
            return self._call(request, body)
        return self._error(request, "InvalidAction", f"The action {action} does not exist.")

    def _unauthenticated(self, request: BaseHTTPRequestHandler, payload: bytes) -> str | None:
        match = re.match(
            r"TC3-HMAC-SHA256 Credential=([^/]+)/\d{4}-\d{2}-\d{2}/(\w+)/tc3_request, "
            r"SignedHeaders=content-type;host, Signature=([0-9a-f]+)$",
            request.headers.get("Authorization", ""),
        )
        if match is None:
            return "AuthFailure.InvalidAuthorization"
        if match[1] != self.secret_id:
            return "AuthFailure.SecretIdNotFound"
        expected = tc3_signature(
            self.secret_key,
            service=match[2],
            timestamp=request.headers.get("X-TC-Timestamp", "0"),
            host=request.headers.get("Host", ""),
            content_type=request.headers.get("Content-Type", ""),
            payload=payload,
        )
        return None if hmac.compare_digest(expected, match[3]) else "AuthFailure.SignatureFailure"

    def _over_cap(self, key: tuple[str, str], caps: tuple[tuple[int, int], ...]) -> bool:
        now = time.time()
        with self.lock:
            times = [t for t in self._sent_at.get(key, []) if t > now - 86400]
            if any(sum(1 for t in times if t > now - window) >= limit for window, limit in caps):
                return True
            self._sent_at[key] = [*times, now]
        return False

    def _status(self, to: str, code: str, message: str, serial: str = "", context: str = "") -> dict[str, Any]:
        return {
            "SerialNo": serial,
            "PhoneNumber": to,
            "Fee": 1 if code == "Ok" else 0,
            "SessionContext": context,
            "Code": code,
            "Message": message,
            "IsoCode": "CN" if to.startswith("+86") else "",
        }

    def _send_sms(self, request: BaseHTTPRequestHandler, body: dict[str, Any]) -> None:
        if body.get("SmsSdkAppId") != self.sms_app_id:
            return self._error(request, "InvalidParameterValue.SdkAppIdNotExist", "SdkAppId does not exist.")
        numbers, params = body.get("PhoneNumberSet") or [], [str(p) for p in body.get("TemplateParamSet") or []]
        template, context = str(body.get("TemplateId", "")), str(body.get("SessionContext", ""))
        statuses = []
        for to in numbers:
            code = ""
            if body.get("SignName") != self.sign_name:
                code = "FailedOperation.SignatureIncorrectOrUnapproved"
            elif template not in self.sms_templates:
                code = "FailedOperation.TemplateIncorrectOrUnapproved"
            elif len(params) != self.sms_templates[template] or any(LINK.search(p) for p in params):
                code = "InvalidParameterValue.TemplateParameterFormatError"
            elif not E164.match(to):
                code = "InvalidParameterValue.IncorrectPhoneNumber"
            elif self._over_cap((to, "sms:" + "|".join([template, *params])), ((30, 1),)):
                code = "LimitExceeded.PhoneNumberThirtySecondLimit"
            elif self._over_cap((to, "sms"), ((86400, 10),)):
                code = "LimitExceeded.PhoneNumberDailyLimit"
            if code:
                with self.lock:
                    self.refused.append(("SendSms", code))
                statuses.append(self._status(to, code, code, context=context))
                continue
            serial = f"2433:{secrets.randbelow(10**28):028d}"
            with self.lock:
                self.sms.append(TencentSms(to, template, params, context or None, serial))
            self.received(f"Tencent SendSms to {to}: template {template} {params}")
            if self.auto_report and self.sms_callback_url:
                self.later(lambda serial=serial: self.report_sms(serial))  # type: ignore[misc]
            statuses.append(self._status(to, "Ok", "send success", serial, context))
        self.reply(request, 200, {"Response": {"SendStatusSet": statuses, "RequestId": str(uuid.uuid4())}}, JSON)

    def _call(self, request: BaseHTTPRequestHandler, body: dict[str, Any]) -> None:
        to, template = str(body.get("CalledNumber", "")), str(body.get("TemplateId", ""))
        params = [str(p) for p in body.get("TemplateParamSet") or []]
        code = ""
        if body.get("VoiceSdkAppid") != self.voice_app_id:
            code = "InvalidParameterValue.SdkAppIdNotExist"
        elif template not in self.voice_templates or len(params) != self.voice_templates[template]:
            code = "FailedOperation.TemplateIncorrectOrUnapproved"
        elif not E164.match(to):
            code = "InvalidParameterValue.CalledNumberVerifyFail"
        elif self._over_cap((to, "voice"), VOICE_CAPS):
            code = "LimitExceeded.DeliveryFrequencyLimit"
        if code:
            with self.lock:
                self.refused.append(("SendTtsVoice", code))
            return self._error(request, code, "The call was refused.")
        call_id = str(uuid.uuid4())
        with self.lock:
            self.calls.append(TencentCall(to, template, params, body.get("SessionContext"), call_id))
        self.received(f"Tencent SendTtsVoice to {to}: template {template} {params}")
        answer = {"SendStatus": {"CallId": call_id, "SessionContext": body.get("SessionContext", "")}}
        self.reply(request, 200, {"Response": answer | {"RequestId": str(uuid.uuid4())}}, JSON)

    def _error(self, request: BaseHTTPRequestHandler, code: str, message: str) -> None:
        """Tencent Cloud answers errors with HTTP 200 and `Response.Error`."""
        error = {"Error": {"Code": code, "Message": message}, "RequestId": str(uuid.uuid4())}
        self.reply(request, 200, {"Response": error}, JSON)
