"""Queueing one message for a recipient: the one way visits and alerts write to the outbox."""

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import Session

from carecenter.centers.models import Center
from carecenter.messaging.recipients import Recipient
from notifications.models import MessageChannel, Provider, Purpose, SmsMessage
from notifications.outbox import compose_sms, written_at_once
from notifications.settings import SmsSettings


@dataclass(frozen=True)
class AlertMessaging:
    """What composing SMS needs from the app's settings."""

    sms: SmsSettings
    public_url: str
    link_secret: bytes


def providers(settings: SmsSettings, center: Center | None, channel: MessageChannel) -> tuple[str | None, str | None]:
    """Who carries a message of this center on this channel, and the second path for critical ones.
    None stands for the deployment's own provider (CARECENTER_SMS_PROVIDER), which the dispatcher holds."""
    if channel == MessageChannel.wechat:
        first: str = Provider.wechat
    elif channel == MessageChannel.voice:
        first = (center.voice_provider if center else None) or settings.voice()
    else:
        first = (center.sms_provider if center else None) or settings.sms_provider
    second = (center.fallback_provider if center else None) or settings.fallback_provider
    if channel == MessageChannel.wechat:
        second = None  # WeChat's second path is the SMS held back for it, not another provider
    return (None if first == settings.sms_provider else first), (None if second == first else second)


def compose(
    session: Session,
    messaging: AlertMessaging,
    recipient: Recipient,
    *,
    kind: str,
    params: Mapping[str, str],
    purpose: Purpose,
    dedupe_key: str,
    now: datetime,
    center_id: int | None,
    alert_id: int | None = None,
    visit_id: int | None = None,
    critical: bool = False,
    opted_out: bool | None = None,
    channel: MessageChannel = MessageChannel.sms,
    held_by: SmsMessage | None = None,
    second_first: bool = False,
) -> SmsMessage:
    """One message (an SMS, a call, a WeChat message) of `kind` for a recipient, through their
    center's provider (their quiet hours apply unless it is critical), for `write_messages` to
    queue with others (`send`: this one alone, at once). An SMS `held_by` a WeChat message waits
    for WeChat's delivery and goes only if WeChat did not deliver."""
    center = session.get(Center, center_id) if center_id is not None else None
    provider, fallback = providers(messaging.sms, center, channel)
    if second_first and fallback is not None:  # the platform reporting its own failure: the other path first
        provider, fallback = fallback, provider or messaging.sms.sms_provider.value
    wait = held_by is not None and held_by.id is not None and held_by.status != "suppressed"
    return compose_sms(
        session=session,
        settings=messaging.sms,
        to=recipient.phone,
        language=recipient.language,
        kind=kind,
        params=params,
        public_url=messaging.public_url,
        provider=provider,
        fallback_provider=fallback,
        to_openid=recipient.openid if channel == MessageChannel.wechat else None,
        held_by=held_by.id if wait and held_by is not None else None,
        hold_until=now + timedelta(seconds=messaging.sms.wechat_grace_seconds) if wait else None,
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


send = written_at_once(compose)
