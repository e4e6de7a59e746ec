"""Receipts from Aliyun and Tencent Cloud: SMS delivery, the end of a call, the key pressed.

Neither provider signs these pushes, so each URL registered in their consoles carries a secret
(`?key=`, CARECENTER_PROVIDER_CALLBACK_KEY or one derived from the secret key); a request without
it is refused. Each answers as its provider expects (Aliyun `{"code": 0}`, Tencent `{"result": 0}`)
once the receipts are committed; a push we could not record gets a 5xx, and the provider retries.
"""

import hashlib
import hmac
import logging
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse
from sqlmodel import Session

from carecommon.clock import get_now
from notifications.channel import SmsChannel, get_channel
from notifications.kinds import CALL_KEYS
from notifications.models import MessageChannel, MessageStatus, SmsMessage
from notifications.receipts import delivered, find_message, key_pressed, not_delivered, seen_before
from notifications.settings import SmsSettings
from notifications.webhooks import ForbiddenWebhook

log = logging.getLogger(__name__)
router = APIRouter(tags=["sms webhooks"])
ChannelDep = Annotated[SmsChannel, Depends(get_channel)]
NowDep = Annotated[datetime, Depends(get_now)]

ALIYUN_SMS_REPORT = "/webhooks/aliyun/sms-report"
ALIYUN_VOICE_REPORT = "/webhooks/aliyun/voice-report"
TENCENT_SMS_STATUS = "/webhooks/tencent/sms-status"
TENCENT_VOICE = "/webhooks/tencent/voice"
MAX_REPORTS = 1000  # receipts in one push; more is not a provider


RECEIPT_PATHS = {
    "aliyun_sms": ALIYUN_SMS_REPORT,
    "aliyun_voice": ALIYUN_VOICE_REPORT,
    "tencent_sms": TENCENT_SMS_STATUS,
    "tencent_voice": TENCENT_VOICE,
}


def callback_key_of(settings: SmsSettings, link_secret: bytes) -> str:
    if settings.provider_callback_key is not None:
        return settings.provider_callback_key.get_secret_value()
    return hmac.new(link_secret, b"provider-callback", hashlib.sha256).hexdigest()[:32]


def callback_key(channel: SmsChannel) -> str:
    return callback_key_of(channel.settings, channel.link_secret)


def receipt_urls_of(public_url: str, key: str) -> dict[str, str]:
    """The URLs to register in the providers' consoles."""
    return {name: f"{public_url.rstrip('/')}{path}?key={key}" for name, path in RECEIPT_PATHS.items()}


def receipt_urls(channel: SmsChannel) -> dict[str, str]:
    return receipt_urls_of(channel.public_url, callback_key(channel))


async def keyed_json(request: Request, channel: ChannelDep) -> Any:
    """The pushed JSON, if the URL carries our key; else 403."""
    if not hmac.compare_digest(request.query_params.get("key", ""), callback_key(channel)):
        raise ForbiddenWebhook("missing or wrong callback key")
    try:
        return await request.json()
    except ValueError:
        return None


Pushed = Annotated[Any, Depends(keyed_json)]


def _reports(pushed: Any) -> list[dict[str, Any]]:
    """The receipts of a push: a JSON array of objects (anything else holds none)."""
    if not isinstance(pushed, list):
        return []
    return [item for item in pushed[:MAX_REPORTS] if isinstance(item, dict)]


def _text(report: dict[str, Any], name: str) -> str:
    value = report.get(name)
    return "" if value is None else str(value)[:200]


def aliyun_ok() -> JSONResponse:
    return JSONResponse({"code": 0, "msg": "接收成功"})


def tencent_ok() -> JSONResponse:
    return JSONResponse({"result": 0, "errmsg": "OK"})


@router.post(ALIYUN_SMS_REPORT)
def aliyun_sms_report(pushed: Pushed, channel: ChannelDep, now: NowDep) -> JSONResponse:
    """Aliyun's SmsReport: `success` true is delivered to the phone; false is not (err_code says why)."""
    with Session(channel.engine) as session:
        for report in _reports(pushed):
            sid = _text(report, "biz_id")
            message = find_message(session, sid=sid, message_id=_text(report, "out_id"))
            detail = f"{_text(report, 'err_code')} {_text(report, 'err_msg')}".strip()
            _sms_receipt(
                session, channel, message, f"aliyun:{sid}", ok=report.get("success") is True, detail=detail, now=now
            )
        session.commit()
    return aliyun_ok()


def _sms_receipt(
    session: Session, channel: SmsChannel, message: SmsMessage | None, key: str, *, ok: bool, detail: str, now: datetime
) -> None:
    """One SMS receipt: delivered, or not (the next person is tried); a repeated one changes nothing."""
    if message is None:
        log.warning("SMS receipt for an unknown message (%s)", key)
        return
    state = "delivered" if ok else "undelivered"
    if seen_before(session, message, key=f"{key}:{state}", state=state, detail=detail, now=now):
        return
    if ok:
        delivered(session, message, now=now)
    else:
        not_delivered(
            session, channel.events, message, status=MessageStatus.undelivered, code=None, why=detail, now=now
        )


KEYS = tuple(CALL_KEYS)  # take the alert, cannot go, call the next step now (9 repeats within the call)
ALIYUN_ANSWERED = "200000"  # VoiceReport status_code: the call was answered and ended normally


@router.post(ALIYUN_VOICE_REPORT)
def aliyun_voice_report(pushed: Pushed, channel: ChannelDep, now: NowDep) -> JSONResponse:
    """Aliyun's VoiceReport at the end of a call: the keys pressed (`dtmf`) or why nobody answered."""
    with Session(channel.engine) as session:
        for report in _reports(pushed):
            sid = _text(report, "call_id")
            message = find_message(session, sid=sid, message_id=_text(report, "out_id"))
            if message is None or message.channel != MessageChannel.voice:
                log.warning("Aliyun VoiceReport for an unknown call %s", sid)
                continue
            status, keys = _text(report, "status_code"), _text(report, "dtmf")
            digit = next((k for k in keys if k in KEYS), None)
            state = f"key {digit}" if digit else ("answered" if status == ALIYUN_ANSWERED else "not answered")
            detail = f"{status} {_text(report, 'status_msg')}".strip()
            if seen_before(session, message, key=f"aliyun:{sid}:call", state=state, detail=detail, now=now):
                continue
            _call_ended(session, channel, message, digit=digit, answered=status == ALIYUN_ANSWERED, why=detail, now=now)
        session.commit()
    return aliyun_ok()


def _call_ended(
    session: Session,
    channel: SmsChannel,
    message: SmsMessage,
    *,
    digit: str | None,
    answered: bool,
    why: str,
    now: datetime,
) -> None:
    if digit is not None:
        key_pressed(session, channel.events, message, digit=digit, now=now)
        return
    reason = "answered, but no key was pressed" if answered else f"not answered ({why})"
    not_delivered(session, channel.events, message, status=MessageStatus.undelivered, code=None, why=reason, now=now)


@router.post(TENCENT_SMS_STATUS)
def tencent_sms_status(pushed: Pushed, channel: ChannelDep, now: NowDep) -> JSONResponse:
    """Tencent's SMS status callback: report_status SUCCESS or FAIL, by the SerialNo (`sid`)."""
    with Session(channel.engine) as session:
        for report in _reports(pushed):
            sid = _text(report, "sid")
            ok = _text(report, "report_status") == "SUCCESS"
            detail = f"{_text(report, 'errmsg')} {_text(report, 'description')}".strip()
            _sms_receipt(
                session, channel, find_message(session, sid=sid), f"tencent:{sid}", ok=ok, detail=detail, now=now
            )
        session.commit()
    return tencent_ok()


@router.post(TENCENT_VOICE)
def tencent_voice(pushed: Pushed, channel: ChannelDep, now: NowDep) -> JSONResponse:
    """Tencent's voice callbacks: a key pressed, the call's end (result 0 answered, 1 not, 2 failed),
    or why it failed."""
    if not isinstance(pushed, dict):
        return tencent_ok()
    with Session(channel.engine) as session:
        if isinstance(key := pushed.get("voicekey_callback"), dict):
            sid, digit = _text(key, "callid"), _text(key, "keypress")[:1]
            message = find_message(session, sid=sid)
            if (
                message is not None
                and digit in KEYS
                and not seen_before(
                    session, message, key=f"tencent:{sid}:key", state=f"key {digit}", detail="", now=now
                )
            ):
                key_pressed(session, channel.events, message, digit=digit, now=now)
        elif isinstance(end := pushed.get("voiceprompt_callback"), dict):
            sid, result = _text(end, "callid"), _text(end, "result")
            message = find_message(session, sid=sid)
            state = {"0": "answered", "1": "not answered"}.get(result, "failed")
            if message is not None and not seen_before(
                session, message, key=f"tencent:{sid}:end", state=state, detail=f"result {result}", now=now
            ):
                _call_ended(session, channel, message, digit=None, answered=result == "0", why=state, now=now)
        elif isinstance(failure := pushed.get("voice_failure_callback"), dict):
            sid, reason = _text(failure, "callid"), _text(failure, "failure_reason")
            message = find_message(session, sid=sid)
            if message is not None and not seen_before(
                session, message, key=f"tencent:{sid}:failure", state="failed", detail=reason, now=now
            ):
                not_delivered(
                    session, channel.events, message, status=MessageStatus.failed, code=None, why=reason, now=now
                )
        session.commit()
    return tencent_ok()
