"""What a provider reports after it accepted a message, whoever the provider: delivered or not, a
key pressed, a call nobody answered. One set of rules for Twilio, Aliyun, Tencent and WeChat.

Accepted by the provider (`sent`) is not delivered to the phone: only a receipt moves a message on,
and never back (a late or repeated receipt changes nothing). Receipts arrive twice: each is kept as
a `message_event` under a key, and a key seen before is ignored.
"""

from datetime import datetime

from sqlmodel import Session, select

from notifications.events import SmsEvents
from notifications.models import FINAL, STATUS_RANK, MessageChannel, MessageEvent, MessageStatus, SmsMessage
from notifications.outbox import release_held, settle_held


def find_message(session: Session, *, sid: str, message_id: str | None = None) -> SmsMessage | None:
    """The message a receipt is about: by our id when the provider echoes it (and the sid agrees), else by sid."""
    if message_id and message_id.isdigit():
        message = session.get(SmsMessage, int(message_id))
        if message is not None and message.provider_sid in (None, sid):
            return message
    if not sid:
        return None
    return session.exec(select(SmsMessage).where(SmsMessage.provider_sid == sid)).first()


def seen_before(session: Session, message: SmsMessage, *, key: str, state: str, detail: str, now: datetime) -> bool:
    """Keep the receipt on the message's story; True if the same receipt was kept already."""
    if session.exec(select(MessageEvent.id).where(MessageEvent.receipt_key == key)).first() is not None:
        return True
    event = MessageEvent(
        message_id=message.id or 0, at=now, state=state, provider=message.provider, detail=detail[:300], receipt_key=key
    )
    session.add(event)
    return False


def delivered(session: Session, message: SmsMessage, *, now: datetime) -> None:
    if STATUS_RANK[MessageStatus.delivered] <= STATUS_RANK[MessageStatus(message.status)]:
        return
    message.status, message.delivered_at, message.updated_at = MessageStatus.delivered, now, now
    session.add(message)
    if message.channel == MessageChannel.wechat:
        settle_held(session, message_id=message.id or 0, now=now)  # the SMS that waited is not needed


def not_delivered(
    session: Session,
    events: SmsEvents,
    message: SmsMessage,
    *,
    status: MessageStatus,
    code: int | None,
    why: str,
    now: datetime,
) -> None:
    """Undelivered or failed: the next person is tried (a WeChat message: the SMS that waited goes now)."""
    if message.status in FINAL or message.digits is not None:
        return
    message.status, message.updated_at = status, now
    message.error_code, message.error_message = code, why[:500]
    session.add(message)
    if message.channel == MessageChannel.wechat and release_held(session, message_id=message.id or 0, now=now):
        return
    events.message_not_reached(session=session, message=message, now=now)


def key_pressed(session: Session, events: SmsEvents, message: SmsMessage, *, digit: str, now: datetime) -> None:
    """A key on an alert call: the first one counts (1 takes charge, 2 cannot); a second changes nothing."""
    if message.digits is not None:
        return
    message.digits, message.updated_at = digit, now
    if STATUS_RANK[MessageStatus.delivered] > STATUS_RANK[MessageStatus(message.status)]:
        message.status, message.delivered_at = MessageStatus.delivered, now
    session.add(message)
    events.call_answered(session=session, message=message, digit=digit, now=now)
