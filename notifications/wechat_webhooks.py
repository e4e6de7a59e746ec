"""The service account's server URL: WeChat's URL check, scans of binding codes, unfollows and
"unbind" replies, and whether each template message reached the phone (TEMPLATESENDJOBFINISH).

Every request carries WeChat's signature (SHA-1 of the server token, timestamp and nonce), checked
with wechatpy; the account runs in plain-text mode (the README says how to set it). A request whose
timestamp is more than ten minutes away is refused: a captured event cannot be replayed later.
"""

import logging
import time
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import PlainTextResponse, Response
from sqlmodel import Session
from wechatpy import parse_message
from wechatpy.exceptions import InvalidSignatureException
from wechatpy.replies import TextReply
from wechatpy.utils import check_signature

from carecommon.clock import get_now
from notifications.channel import SmsChannel, get_channel
from notifications.models import MessageChannel, MessageStatus
from notifications.receipts import delivered, find_message, not_delivered, seen_before
from notifications.webhooks import ForbiddenWebhook

log = logging.getLogger(__name__)
router = APIRouter(tags=["sms webhooks"])
ChannelDep = Annotated[SmsChannel, Depends(get_channel)]
NowDep = Annotated[datetime, Depends(get_now)]
WECHAT_PATH = "/webhooks/wechat"
FRESH_SECONDS = 600
UNBIND_WORDS = {"解绑", "取消绑定", "UNBIND"}


def signed(request: Request, channel: ChannelDep) -> None:
    token = channel.settings.wechat_token
    query = request.query_params
    timestamp = query.get("timestamp", "")
    try:
        if token is None:
            raise InvalidSignatureException()
        check_signature(token.get_secret_value(), query.get("signature", ""), timestamp, query.get("nonce", ""))
    except InvalidSignatureException:
        raise ForbiddenWebhook("invalid WeChat signature") from None
    if not timestamp.isdigit() or abs(time.time() - int(timestamp)) > FRESH_SECONDS:
        raise ForbiddenWebhook("stale WeChat request")


Signed = Annotated[None, Depends(signed)]


@router.get(WECHAT_PATH, response_class=PlainTextResponse)
def wechat_check(_signed: Signed, request: Request) -> str:
    """WeChat's check of the server URL when it is saved in the console: echo `echostr`."""
    return request.query_params.get("echostr", "")[:128]


@router.post(WECHAT_PATH, response_class=Response)
async def wechat_event(_signed: Signed, request: Request, channel: ChannelDep, now: NowDep) -> Response:
    """WeChat's events and messages: scans, unfollows, "解绑", template messages' delivery."""
    message = parse_message(await request.body())
    reply = handle(channel, message, now)
    if reply is None:
        return PlainTextResponse("success")  # WeChat's "received, nothing to say"
    return Response(TextReply(content=reply, message=message).render(), media_type="application/xml")


def handle(channel: SmsChannel, message: object, now: datetime) -> str | None:
    kind = f"{getattr(message, 'type', '')}:{getattr(message, 'event', '')}"
    openid = str(getattr(message, "source", "") or "")[:64]
    with Session(channel.engine) as session:
        reply: str | None = None
        if kind in ("event:subscribe_scan", "event:scan"):
            scene = str(getattr(message, "scene_id", "") or "")
            reply = channel.events.wechat_scanned(session=session, openid=openid, scene=scene, now=now)
        elif kind == "event:unsubscribe":
            channel.events.wechat_unbind(session=session, openid=openid, now=now)
        elif kind.startswith("text:") and str(getattr(message, "content", "")).strip().upper() in UNBIND_WORDS:
            reply = channel.events.wechat_unbind(session=session, openid=openid, now=now)
        elif kind == "event:templatesendjobfinish":
            _finished(
                session,
                channel,
                msgid=str(getattr(message, "id", "")),
                status=str(getattr(message, "status", "")),
                now=now,
            )
        session.commit()
    return reply


def _finished(session: Session, channel: SmsChannel, *, msgid: str, status: str, now: datetime) -> None:
    """WeChat's word on a template message: `success`, or `failed:user block` / `failed: system failed`."""
    message = find_message(session, sid=msgid)
    if message is None or message.channel != MessageChannel.wechat:
        log.warning("TEMPLATESENDJOBFINISH for an unknown message %s", msgid)
        return
    ok = status == "success"
    state = "delivered" if ok else "undelivered"
    if seen_before(session, message, key=f"wechat:{msgid}", state=state, detail=status[:100], now=now):
        return
    if ok:
        delivered(session, message, now=now)
    else:
        not_delivered(
            session, channel.events, message, status=MessageStatus.undelivered, code=None, why=status[:100], now=now
        )
