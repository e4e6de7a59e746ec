"""Twilio webhooks: delivery status, inbound SMS, keys pressed during calls and ends of calls.

All signed (Twilio's X-Twilio-Signature). The page behind a response link is the domain's
(`carecenter/web/pages/respond.py`): it tells the alert's whole story.
"""

import logging
import re
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import Response
from sqlmodel import Session, col, select
from twilio.request_validator import RequestValidator
from twilio.twiml.messaging_response import MessagingResponse

from carecommon.clock import get_now
from carecommon.i18n import DEFAULT_LANGUAGE, language_of
from notifications.channel import SmsChannel, get_channel
from notifications.dispatcher import mark_unreachable
from notifications.models import (
    FINAL,
    STATUS_RANK,
    MessageStatus,
    SmsMessage,
)
from notifications.outbox import set_opted_out
from notifications.receipts import find_message, key_pressed
from notifications.templates import render
from notifications.twilio_errors import Verdict, classify
from notifications.voice import CALL_STATUS_PATH, GATHER_PATH, call_twiml, closing_twiml

log = logging.getLogger(__name__)
router = APIRouter(tags=["sms webhooks"])
ChannelDep = Annotated[SmsChannel, Depends(get_channel)]
NowDep = Annotated[datetime, Depends(get_now)]

# Twilio's MessageStatus values that mean something to us; the others (queued, sending, …) change nothing.
CALLBACK_STATUS = {
    "sent": MessageStatus.sent,
    "delivered": MessageStatus.delivered,
    "undelivered": MessageStatus.undelivered,
    "failed": MessageStatus.failed,
}
OPT_OUT_WORDS = {"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "退订", "TD"}
OPT_IN_WORDS = {"START", "UNSTOP", "订阅"}
ACK_PATTERN = re.compile(r"^(?:1|OK|YES|收到|确认|ACK)(?:\s+(?P<code>[A-Z0-9-]{1,20}))?$")


class ForbiddenWebhook(Exception):
    def __init__(self, message: str = "invalid Twilio signature") -> None:
        super().__init__(message)


async def signed_form(request: Request, channel: ChannelDep) -> dict[str, str]:
    """The posted form, if `X-Twilio-Signature` matches CARECENTER_PUBLIC_URL + path; else 403."""
    token = channel.settings.twilio_auth_token
    form = await request.form()
    params = {key: str(value) for key, value in form.multi_items()}
    url = channel.public_url.rstrip("/") + request.url.path + (f"?{request.url.query}" if request.url.query else "")
    signature = request.headers.get("X-Twilio-Signature", "")
    if token is None or not RequestValidator(token.get_secret_value()).validate(url, params, signature):
        raise ForbiddenWebhook()
    return params


SignedForm = Annotated[dict[str, str], Depends(signed_form)]


@router.post("/webhooks/twilio/status", response_class=Response)
def twilio_status(params: SignedForm, request: Request, channel: ChannelDep, now: NowDep) -> Response:
    """Twilio delivery status callback: moves a message forward, never back."""
    new_status = CALLBACK_STATUS.get(params.get("MessageStatus", "").lower())
    sid = params.get("MessageSid") or params.get("SmsSid")
    if new_status is None or not sid:
        return Response(status_code=204)
    with Session(channel.engine) as session:
        message = _find_message(session, request.query_params.get("m"), sid)
        if message is None:
            log.warning("status callback for unknown message %s", sid)
            return Response(status_code=204)
        if STATUS_RANK[new_status] <= STATUS_RANK[MessageStatus(message.status)]:
            return Response(status_code=204)  # late or repeated: already there or further
        message.status, message.updated_at = new_status, now
        message.provider_sid = message.provider_sid or sid
        if new_status == MessageStatus.delivered:
            message.delivered_at = now
        if new_status in (MessageStatus.undelivered, MessageStatus.failed):
            code = int(params["ErrorCode"]) if params.get("ErrorCode", "").isdigit() else None
            error = classify(code, None)
            message.error_code, message.error_message = code, error.meaning
            if error.verdict == Verdict.unreachable:
                mark_unreachable(session, phone=message.to_phone, code=code, now=now)
            channel.events.message_not_reached(session=session, message=message, now=now)
        session.add(message)
        session.commit()
    return Response(status_code=204)


# A call that ended without anyone pressing 1 or 2: what it becomes, and why (for the timeline).
CALL_NOT_ANSWERED = {
    "no-answer": (MessageStatus.undelivered, "no answer"),
    "busy": (MessageStatus.undelivered, "busy"),
    "failed": (MessageStatus.failed, "the call failed"),
    "canceled": (MessageStatus.failed, "the call was cancelled"),
    "completed": (MessageStatus.undelivered, "answered, but no key was pressed"),
}
CALL_ANSWERS = {"1": "call_thanks_going", "2": "call_thanks_cannot", "5": "call_thanks_escalate"}


def _twiml(content: str) -> Response:
    return Response(content=content, media_type="application/xml")


@router.post(GATHER_PATH, response_class=Response)
def twilio_gather(params: SignedForm, request: Request, channel: ChannelDep, now: NowDep) -> Response:
    """The key pressed during an alert call: 1 takes charge, 2 cannot (the next person is called), 5 calls
    the next step now, 9 repeats; each is confirmed aloud."""
    digit = params.get("Digits", "")[:1]
    with Session(channel.engine) as session:
        message = _find_message(session, request.query_params.get("m"), params.get("CallSid", ""))
        if message is None:
            log.warning("key pressed on an unknown call %s", params.get("CallSid"))
            return _twiml(closing_twiml("call_goodbye", DEFAULT_LANGUAGE))
        if digit not in CALL_ANSWERS:  # 9, or any other key: say it again
            gather = f"{channel.public_url.rstrip('/')}{GATHER_PATH}?m={message.id}"
            return _twiml(call_twiml(message.body, message.language, gather))
        if message.digits is None:  # the first answer counts; a second key on the same call changes nothing
            message.provider_sid = message.provider_sid or params.get("CallSid")
            key_pressed(session, channel.events, message, digit=digit, now=now)
            session.commit()
        return _twiml(closing_twiml(CALL_ANSWERS[message.digits or digit], message.language))


@router.post(CALL_STATUS_PATH, response_class=Response)
def twilio_call_status(params: SignedForm, request: Request, channel: ChannelDep, now: NowDep) -> Response:
    """A call ended: not answered (no answer, busy, failed, or no key) moves on to the next person at once."""
    status, sid = params.get("CallStatus", "").lower(), params.get("CallSid", "")
    with Session(channel.engine) as session:
        message = _find_message(session, request.query_params.get("m"), sid)
        if message is None or status not in CALL_NOT_ANSWERED:
            return Response(status_code=204)
        if message.digits is not None or message.status in FINAL:
            return Response(status_code=204)  # answered with a key, or already settled
        new_status, why = CALL_NOT_ANSWERED[status]
        if params.get("AnsweredBy", "").startswith(("machine", "fax")):
            new_status, why = MessageStatus.undelivered, "voicemail answered"
        message.status, message.updated_at = new_status, now
        message.provider_sid = message.provider_sid or sid
        code = int(params["ErrorCode"]) if params.get("ErrorCode", "").isdigit() else None
        message.error_code, message.error_message = code, why
        if code is not None and classify(code, None).verdict == Verdict.unreachable:
            mark_unreachable(session, phone=message.to_phone, code=code, now=now)
        session.add(message)
        channel.events.message_not_reached(session=session, message=message, now=now)
        session.commit()
    return Response(status_code=204)


def _find_message(session: Session, message_id: str | None, sid: str) -> SmsMessage | None:
    return find_message(session, sid=sid, message_id=message_id)


def _reply_language(session: Session, phone: str, body: str) -> str:
    if any("\u4e00" <= ch <= "\u9fff" for ch in body):
        return "zh-CN"
    last = session.exec(
        select(SmsMessage.language).where(SmsMessage.to_phone == phone).order_by(col(SmsMessage.id).desc())
    ).first()
    return language_of(last)


@router.post("/webhooks/twilio/inbound", response_class=Response)
def twilio_inbound(params: SignedForm, channel: ChannelDep, now: NowDep) -> Response:
    """Inbound SMS: 1/OK/收到 acknowledges, STOP/退订 opts out, START/订阅 back in; TwiML reply."""
    phone = params.get("From", "")
    text = params.get("Body", "").strip()
    word = text.upper()
    with Session(channel.engine) as session:
        language = _reply_language(session, phone, text)
        if word in OPT_OUT_WORDS or word in OPT_IN_WORDS:
            opted_out = word in OPT_OUT_WORDS
            set_opted_out(session, phone=phone, opted_out=opted_out, now=now)
            reply = render("reply_opted_out" if opted_out else "reply_opted_in", language)
        elif match := ACK_PATTERN.match(word):
            answer = channel.events.acknowledge_by_sms(session=session, phone=phone, code=match["code"], now=now)
            reply = answer or render("reply_nothing_pending", language)
        else:
            reply = render("reply_help", language)
        session.commit()
    twiml = MessagingResponse()
    twiml.message(reply)
    return Response(content=str(twiml), media_type="application/xml")


def install_webhook_errors(app: FastAPI) -> None:
    """A bad or missing signature (or callback key) is a 403 with a plain message."""

    @app.exception_handler(ForbiddenWebhook)
    async def _forbidden(_request: Request, exc: ForbiddenWebhook) -> Response:
        return Response(str(exc), status_code=403, media_type="text/plain")
