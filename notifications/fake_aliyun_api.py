"""A local stand-in for Aliyun's SMS (`SendSms`) and voice (`SingleCallByTts`, `IvrCall`) APIs and their receipts.

It checks what Aliyun checks: the request's ACS3-HMAC-SHA256 signature (Aliyun's V3 signature:
https://help.aliyun.com/zh/sdk/product-overview/v3-request-structure-and-signature), the signature
name, an approved template with exactly its variables, no link in a variable (Aliyun refuses a URL
as a variable value), a mainland number of 11 digits, and the per-number caps (voice 1 a minute,
5 an hour, 20 a day; SMS 50 a day per template). It answers with Aliyun's JSON and codes, and
pushes receipts as Aliyun's HTTP batch push does: SmsReport and VoiceReport as JSON arrays.
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
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qsl, quote, urlsplit

import httpx

from notifications.fake_api import LocalApi

MAINLAND = re.compile(r"^1\d{10}$")
LINK = re.compile(r"https?://|www\.|\.(com|cn|net|org)\b", re.IGNORECASE)
CHINA = timezone(timedelta(hours=8))  # Aliyun's receipts carry Beijing time
VOICE_CAPS = ((60, 1, "分钟级"), (3600, 5, "小时级"), (86400, 20, "天级"))
SMS_DAILY_CAP = 50


@dataclass
class AliyunSms:
    to: str
    sign_name: str
    template_code: str
    params: dict[str, str]
    out_id: str | None
    biz_id: str
    received_at: float = field(default_factory=time.monotonic)


@dataclass
class AliyunCall:
    to: str
    tts_code: str
    params: dict[str, str]
    out_id: str | None
    call_id: str
    show_number: str | None
    received_at: float = field(default_factory=time.monotonic)
    menu: dict[str, str] = field(default_factory=dict)  # an IVR call's key -> the template it plays
    heard: list[str] = field(default_factory=list)  # the templates the callee heard after a key


def _encode(value: str) -> str:
    return quote(value, safe="-_.~")


def acs3_signature(secret: str, method: str, path: str, query: str, headers: dict[str, str], signed: str) -> str:
    """Aliyun's V3 signature of a request, computed as the documentation describes."""
    pairs = sorted(parse_qsl(query, keep_blank_values=True))
    canonical_query = "&".join(f"{_encode(k)}={_encode(v)}" for k, v in pairs)
    lower = {k.lower(): v.strip() for k, v in headers.items()}
    names = signed.split(";")
    canonical_headers = "".join(f"{name}:{lower.get(name, '')}\n" for name in names)
    canonical = "\n".join(
        [method, path or "/", canonical_query, canonical_headers, signed, lower.get("x-acs-content-sha256", "")]
    )
    to_sign = "ACS3-HMAC-SHA256\n" + hashlib.sha256(canonical.encode()).hexdigest()
    return hmac.new(secret.encode(), to_sign.encode(), hashlib.sha256).hexdigest()


class FakeAliyunApi(LocalApi):
    thread_name = "fake-aliyun"

    def __init__(
        self,
        *,
        sign_name: str = "长阳照护",
        sms_templates: dict[str, set[str]] | None = None,
        tts_templates: dict[str, set[str]] | None = None,
    ) -> None:
        super().__init__()
        self.access_key_id = "LTAI5tFakeKeyForTests"
        self.access_key_secret = "fake-aliyun-secret"  # noqa: S105 - the stand-in's own made-up secret
        self.sign_name = sign_name
        self.sms_templates = sms_templates or {}
        self.tts_templates = tts_templates or {}
        self.sms: list[AliyunSms] = []
        self.calls: list[AliyunCall] = []
        self.refused: list[tuple[str, str]] = []  # (action, code) of every request refused
        self.sms_report_url: str | None = None  # set "in the console": where receipts are pushed
        self.voice_report_url: str | None = None
        self._sent_at: dict[tuple[str, str], list[float]] = {}

    # -- receipts --------------------------------------------------------------------------------
    def report_sms(
        self, biz_id: str, *, success: bool = True, err_code: str = "DELIVERED", post: Callable[..., Any] = httpx.post
    ) -> Any:
        """Push one SmsReport (a JSON array, as Aliyun's HTTP batch push sends it)."""
        sms = next(s for s in self.sms if s.biz_id == biz_id)
        assert self.sms_report_url, "no SmsReport URL set in the console"
        now = datetime.now(CHINA).strftime("%Y-%m-%d %H:%M:%S")
        report = {
            "phone_number": sms.to,
            "send_time": now,
            "report_time": now,
            "success": success,
            "err_code": err_code if not success or err_code != "DELIVERED" else "DELIVERED",
            "err_msg": "用户接收成功" if success else "用户接收失败",
            "sms_size": "1",
            "biz_id": biz_id,
            "out_id": sms.out_id or "",
        }
        return post(self.sms_report_url, json=[report])

    def report_call(
        self,
        call_id: str,
        *,
        dtmf: str | None = None,
        status_code: str = "200000",
        post: Callable[..., Any] = httpx.post,
    ) -> Any:
        """Push one VoiceReport at the end of a call: its status, and the keys pressed (`dtmf`)."""
        call = next(c for c in self.calls if c.call_id == call_id)
        assert self.voice_report_url, "no VoiceReport URL set in the console"
        call.heard.extend(call.menu[key] for key in dtmf or "" if key in call.menu)
        now = datetime.now(CHINA).strftime("%Y-%m-%d %H:%M:%S")
        answered = status_code == "200000"
        report = {
            "call_id": call_id,
            "start_time": now if answered else "",
            "end_time": now if answered else "",
            "duration": "20" if answered else "0",
            "status_code": status_code,
            "status_msg": "用户接听" if answered else "未接通",
            "out_id": call.out_id or "",
            "callee": call.to,
            "caller": call.show_number or "",
            "dtmf": dtmf or "",
            "hangup_direction": "用户",
            "voice_type": "voice",
        }
        return post(self.voice_report_url, json=[report])

    # -- the API ---------------------------------------------------------------------------------
    def handle(self, request: BaseHTTPRequestHandler, method: str) -> None:
        self.body_of(request)
        url = urlsplit(request.path)
        params = dict(parse_qsl(url.query, keep_blank_values=True))
        action = request.headers.get("x-acs-action", "")
        if self.down:
            return self._error(request, 503, "ServiceUnavailable", "The request has failed due to a temporary failure.")
        problem = self._unauthenticated(request, method, url.path, url.query)
        if problem is not None:
            return self._error(
                request, problem[0], problem[1], "Specified signature is not matched with our calculation."
            )
        if action == "SendSms":
            return self._send_sms(request, params)
        if action == "SingleCallByTts":
            return self._call(request, params)
        if action == "IvrCall":
            return self._ivr_call(request, params)
        return self._error(request, 404, "InvalidAction.NotFound", f"Specified api is not found: {action}")

    def _unauthenticated(
        self, request: BaseHTTPRequestHandler, method: str, path: str, query: str
    ) -> tuple[int, str] | None:
        header = request.headers.get("Authorization", "")
        match = re.match(r"ACS3-HMAC-SHA256 Credential=([^,]+),SignedHeaders=([^,]+),Signature=([0-9a-f]+)$", header)
        if match is None:
            return 400, "MissingAuthorization"
        if match[1] != self.access_key_id:
            return 404, "InvalidAccessKeyId.NotFound"
        headers = {k: v for k, v in request.headers.items()}
        expected = acs3_signature(self.access_key_secret, method, path, query, headers, match[2])
        return None if hmac.compare_digest(expected, match[3]) else (400, "SignatureDoesNotMatch")

    def _template_problem(
        self, templates: dict[str, set[str]], code: str, raw: str | None
    ) -> tuple[str, dict[str, str]]:
        """("", params) when the template and its parameters pass; else (the error code, {})."""
        if code not in templates:
            return "isv.SMS_TEMPLATE_ILLEGAL", {}
        try:
            params = json.loads(raw or "{}")
        except ValueError:
            return "isv.INVALID_JSON_PARAM", {}
        if not isinstance(params, dict) or set(params) != templates[code]:
            return "isv.TEMPLATE_MISSING_PARAMETERS", {}
        values = {str(k): str(v) for k, v in params.items()}
        if any(LINK.search(v) for v in values.values()):
            return "isv.TEMPLATE_PARAMS_ILLEGAL", {}
        if any(len(v) > 35 for v in values.values()):
            return "isv.PARAM_LENGTH_LIMIT", {}
        return "", values

    def _over_cap(self, key: tuple[str, str], caps: tuple[tuple[int, int, str], ...]) -> str | None:
        now = time.time()
        with self.lock:
            times = [t for t in self._sent_at.get(key, []) if t > now - 86400]
            for window, limit, name in caps:
                if sum(1 for t in times if t > now - window) >= limit:
                    return f"触发{name}流控Permits:{limit}"
            self._sent_at[key] = [*times, now]
        return None

    def _send_sms(self, request: BaseHTTPRequestHandler, params: dict[str, str]) -> None:
        to = params.get("PhoneNumbers", "")
        if not MAINLAND.match(to):
            return self._refuse(request, "SendSms", "isv.MOBILE_NUMBER_ILLEGAL", "非法手机号")
        if params.get("SignName") != self.sign_name:
            return self._refuse(request, "SendSms", "isv.SMS_SIGNATURE_ILLEGAL", "签名不合法")
        code, values = self._template_problem(
            self.sms_templates, params.get("TemplateCode", ""), params.get("TemplateParam")
        )
        if code:
            return self._refuse(request, "SendSms", code, "模板或参数不合法")
        capped = self._over_cap((to, params["TemplateCode"]), ((86400, SMS_DAILY_CAP, "天级"),))
        if capped:
            return self._refuse(request, "SendSms", "isv.BUSINESS_LIMIT_CONTROL", capped)
        biz_id = f"{secrets.randbelow(10**15):015d}^0"
        with self.lock:
            self.sms.append(
                AliyunSms(to, params["SignName"], params["TemplateCode"], values, params.get("OutId"), biz_id)
            )
        self.received(f"Aliyun SendSms to {to}: {params['TemplateCode']} {json.dumps(values, ensure_ascii=False)}")
        if self.auto_report and self.sms_report_url:
            self.later(lambda: self.report_sms(biz_id))
        self.reply(
            request, 200, {"Code": "OK", "Message": "OK", "BizId": biz_id, "RequestId": str(uuid.uuid4()).upper()}
        )

    def _call(self, request: BaseHTTPRequestHandler, params: dict[str, str]) -> None:
        to = params.get("CalledNumber", "")
        if not MAINLAND.match(to):
            return self._refuse(request, "SingleCallByTts", "isv.MOBILE_NUMBER_ILLEGAL", "被叫号码不合法")
        code, values = self._template_problem(self.tts_templates, params.get("TtsCode", ""), params.get("TtsParam"))
        if code:
            code = "isv.TTS_TEMPLATE_ILLEGAL" if code == "isv.SMS_TEMPLATE_ILLEGAL" else code
            return self._refuse(request, "SingleCallByTts", code, "模板或参数不合法")
        capped = self._over_cap((to, "voice"), VOICE_CAPS)  # failed calls count too: counted on asking
        if capped:
            return self._refuse(request, "SingleCallByTts", "isv.BUSINESS_LIMIT_CONTROL", capped)
        call_id = f"{secrets.randbelow(10**12):012d}^{secrets.randbelow(10**11):011d}"
        with self.lock:
            self.calls.append(
                AliyunCall(to, params["TtsCode"], values, params.get("OutId"), call_id, params.get("CalledShowNumber"))
            )
        self.received(f"Aliyun SingleCallByTts to {to}: {params['TtsCode']} {json.dumps(values, ensure_ascii=False)}")
        self.reply(request, 200, {"Code": "OK", "Message": "OK", "CallId": call_id, "RequestId": str(uuid.uuid4())})

    def _ivr_call(self, request: BaseHTTPRequestHandler, params: dict[str, str]) -> None:
        """`IvrCall`: the start template, then each key of `MenuKeyMap.N.Key` plays `MenuKeyMap.N.Code`."""
        to = params.get("CalledNumber", "")
        if not MAINLAND.match(to):
            return self._refuse(request, "IvrCall", "isv.MOBILE_NUMBER_ILLEGAL", "被叫号码不合法")
        start = params.get("StartCode", "")
        code, values = self._template_problem(self.tts_templates, start, params.get("StartTtsParams"))
        menu: dict[str, str] = {}
        n = 1
        while f"MenuKeyMap.{n}.Key" in params and not code:
            key, played = params[f"MenuKeyMap.{n}.Key"], params.get(f"MenuKeyMap.{n}.Code", "")
            if len(key) != 1 or key not in "0123456789*#" or key in menu:
                code = "isv.INVALID_PARAMETERS"
            else:
                code = self._template_problem(self.tts_templates, played, params.get(f"MenuKeyMap.{n}.TtsParams"))[0]
                menu[key] = played
            n += 1
        if code:
            code = "isv.TTS_TEMPLATE_ILLEGAL" if code == "isv.SMS_TEMPLATE_ILLEGAL" else code
            return self._refuse(request, "IvrCall", code, "模板或参数不合法")
        capped = self._over_cap((to, "voice"), VOICE_CAPS)
        if capped:
            return self._refuse(request, "IvrCall", "isv.BUSINESS_LIMIT_CONTROL", capped)
        call_id = f"{secrets.randbelow(10**12):012d}^{secrets.randbelow(10**11):011d}"
        call = AliyunCall(to, start, values, params.get("OutId"), call_id, params.get("CalledShowNumber"), menu=menu)
        with self.lock:
            self.calls.append(call)
        self.received(f"Aliyun IvrCall to {to}: {start} {json.dumps(values, ensure_ascii=False)} keys {sorted(menu)}")
        self.reply(request, 200, {"Code": "OK", "Message": "OK", "CallId": call_id, "RequestId": str(uuid.uuid4())})

    def _refuse(self, request: BaseHTTPRequestHandler, action: str, code: str, message: str) -> None:
        """A business error: HTTP 200 with the code, as Aliyun answers SendSms and SingleCallByTts."""
        with self.lock:
            self.refused.append((action, code))
        self.reply(request, 200, {"Code": code, "Message": message, "RequestId": str(uuid.uuid4())})

    def _error(self, request: BaseHTTPRequestHandler, status: int, code: str, message: str) -> None:
        self.reply(request, status, {"Code": code, "Message": message, "RequestId": str(uuid.uuid4())})
