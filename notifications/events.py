"""What the messaging channel (SMS, calls, WeChat) tells the rest of the system, and asks of it.

`notifications` knows phone numbers, WeChat openids, message kinds and their parameters, never
residents or alerts; the domain core implements this interface (acknowledging alerts, moving on
to the next contact, binding a family member's WeChat) and hands it to the dispatcher and the
webhooks. What is known about a number (opted out, unreachable) is the channel's own, in
`sms_recipient`.
"""

from datetime import datetime
from typing import Protocol

from sqlmodel import Session

from notifications.models import SmsMessage


class SmsEvents(Protocol):
    def message_not_reached(self, *, session: Session, message: SmsMessage, now: datetime) -> None:
        """A message failed for good (or was undelivered): the next contact may be tried."""

    def acknowledge_by_sms(self, *, session: Session, phone: str, code: str | None, now: datetime) -> str | None:
        """A reply meaning "I take charge"; returns the reply text, or None if nothing was pending."""

    def call_answered(self, *, session: Session, message: SmsMessage, digit: str, now: datetime) -> None:
        """Someone pressed a key on an alert call: "1" takes charge, "2" cannot go, "5" calls the next step now."""

    def wechat_scanned(self, *, session: Session, openid: str, scene: str, now: datetime) -> str | None:
        """A family member scanned a binding code; returns the reply (the confirmation link)."""

    def wechat_unbind(self, *, session: Session, openid: str, now: datetime) -> str | None:
        """A family member unfollowed the account or asked to unbind; returns the reply."""


class NoEvents:
    """Used until the domain core registers its own: nothing reacts."""

    def message_not_reached(self, *, session: Session, message: SmsMessage, now: datetime) -> None:
        return None

    def acknowledge_by_sms(self, *, session: Session, phone: str, code: str | None, now: datetime) -> str | None:
        return None

    def call_answered(self, *, session: Session, message: SmsMessage, digit: str, now: datetime) -> None:
        return None

    def wechat_scanned(self, *, session: Session, openid: str, scene: str, now: datetime) -> str | None:
        return None

    def wechat_unbind(self, *, session: Session, openid: str, now: datetime) -> str | None:
        return None
