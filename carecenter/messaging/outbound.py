"""Queueing one message for a recipient: the one way visits and alerts write to the outbox."""

from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session

from carecenter.messaging.recipients import Recipient
from notifications.models import MessageChannel, Purpose, SmsMessage
from notifications.outbox import enqueue_sms
from notifications.settings import SmsSettings


@dataclass(frozen=True)
class AlertMessaging:
    """What composing SMS needs from the app's settings."""

    sms: SmsSettings
    public_url: str
    link_secret: bytes


def send(
    session: Session,
    messaging: AlertMessaging,
    recipient: Recipient,
    *,
    body: str,
    purpose: Purpose,
    dedupe_key: str,
    now: datetime,
    center_id: int | None,
    alert_id: int | None = None,
    visit_id: int | None = None,
    critical: bool = False,
    opted_out: bool | None = None,
    channel: MessageChannel = MessageChannel.sms,
) -> SmsMessage:
    """Queue one message (an SMS, or a call) for a recipient (their quiet hours apply unless it is critical)."""
    return enqueue_sms(
        session=session,
        settings=messaging.sms,
        to=recipient.phone,
        language=recipient.language,
        body=body,
        purpose=purpose,
        dedupe_key=dedupe_key,
        now=now,
        critical=critical,
        quiet_hours=recipient.quiet_hours,
        center_id=center_id,
        alert_id=alert_id,
        visit_id=visit_id,
        recipient_ref=str(recipient.ref),
        opted_out=opted_out,
        channel=channel,
    )
