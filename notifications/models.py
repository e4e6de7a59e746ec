"""The outbox (every SMS is a row before it is anything else), recipients' state, response links."""

from datetime import UTC, datetime
from enum import StrEnum

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from carecommon.sqltypes import UTCDateTime


def _now() -> datetime:
    return datetime.now(UTC)


class MessageStatus(StrEnum):
    queued = "queued"
    sending = "sending"  # claimed by a dispatcher, under a lease
    retrying = "retrying"  # a transient failure; next_attempt_at says when
    sent = "sent"  # accepted by the provider
    delivered = "delivered"
    undelivered = "undelivered"
    failed = "failed"
    suppressed = "suppressed"  # never sent: opted out, over budget, repeated text


NOT_REACHED = frozenset({MessageStatus.undelivered, MessageStatus.failed, MessageStatus.suppressed})
FINAL = frozenset({MessageStatus.delivered, MessageStatus.undelivered, MessageStatus.failed, MessageStatus.suppressed})
# How far along a message is; a status never moves to a lower rank (late callbacks are ignored).
STATUS_RANK = {
    MessageStatus.queued: 0,
    MessageStatus.retrying: 1,
    MessageStatus.sending: 1,
    MessageStatus.sent: 2,
    MessageStatus.delivered: 3,
    MessageStatus.undelivered: 3,
    MessageStatus.failed: 3,
    MessageStatus.suppressed: 3,
}


class MessageChannel(StrEnum):
    sms = "sms"
    voice = "voice"  # a phone call that speaks `body` and asks for a key
    wechat = "wechat"  # a WeChat template message to the contact's openid, with the page as its link


class Provider(StrEnum):
    """Who carries a message: the SMS and voice providers, and WeChat (for family contacts)."""

    console = "console"
    twilio = "twilio"
    aliyun = "aliyun"
    tencent = "tencent"
    wechat = "wechat"


class Purpose(StrEnum):
    alert = "alert"
    escalation = "escalation"
    reminder = "reminder"
    digest = "digest"
    outcome = "outcome"
    test = "test"
    summary = "summary"
    system = "system"  # the platform telling its admins that a part of it is down, or back


class SmsMessage(SQLModel, table=True):
    __tablename__ = "sms_message"
    __table_args__ = (sa.Index("ix_sms_message_due", "status", "next_attempt_at"),)

    id: int | None = Field(default=None, primary_key=True)
    dedupe_key: str = Field(max_length=200, unique=True)
    channel: str = Field(default=MessageChannel.sms, max_length=8)
    to_phone: str = Field(max_length=32, index=True)
    language: str = Field(max_length=8)
    body: str = Field(max_length=1600, description="The full text in the recipient's language (Twilio, console, log)")
    kind: str = Field(default="text", max_length=40, description="What the message is (notifications/kinds.py)")
    params: dict[str, str] = Field(default_factory=dict, sa_type=sa.JSON)
    provider: str | None = Field(default=None, max_length=16, description="None: the dispatcher's own sender")
    fallback_provider: str | None = Field(default=None, max_length=16, description="For a critical message")
    template_code: str | None = Field(default=None, max_length=64, description="The template the provider sent")
    to_openid: str | None = Field(default=None, max_length=64, description="WeChat: the contact's openid")
    held_by: int | None = Field(default=None, index=True, description="The WeChat message this SMS waits on")
    purpose: str = Field(max_length=20)
    critical: bool = False
    center_id: int | None = Field(default=None, index=True)
    alert_id: int | None = Field(default=None, index=True)
    visit_id: int | None = None
    recipient_ref: str | None = Field(default=None, max_length=40, description="Caller's name for the recipient")
    status: str = Field(default=MessageStatus.queued, max_length=20)
    hold_reason: str | None = Field(default=None, max_length=40)
    attempts: int = 0
    next_attempt_at: datetime = Field(default_factory=_now, sa_type=UTCDateTime)
    lease_expires_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    provider_sid: str | None = Field(default=None, max_length=64, index=True)
    error_code: int | None = None
    error_message: str | None = Field(default=None, max_length=500)
    created_at: datetime = Field(default_factory=_now, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=_now, sa_type=UTCDateTime)
    sent_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    delivered_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    digits: str | None = Field(default=None, max_length=8, description="The key a called person pressed")


class SmsMessagePublic(SQLModel):
    id: int
    channel: str
    to_phone: str
    language: str
    body: str
    kind: str
    params: dict[str, str]
    provider: str | None
    fallback_provider: str | None
    template_code: str | None
    purpose: str
    critical: bool
    center_id: int | None
    alert_id: int | None
    visit_id: int | None
    recipient_ref: str | None
    status: str
    hold_reason: str | None
    attempts: int
    next_attempt_at: datetime
    provider_sid: str | None
    error_code: int | None
    error_message: str | None
    created_at: datetime
    sent_at: datetime | None
    delivered_at: datetime | None
    digits: str | None


class MessageEvent(SQLModel, table=True):
    """What happened to a message besides being handed over: failures, a switch to the second
    provider, a provider's cap, receipts and keys. `receipt_key` makes a receipt sent twice count once."""

    __tablename__ = "message_event"

    id: int | None = Field(default=None, primary_key=True)
    message_id: int = Field(foreign_key="sms_message.id", index=True, ondelete="CASCADE")
    at: datetime = Field(sa_type=UTCDateTime)
    state: str = Field(max_length=20)
    provider: str | None = Field(default=None, max_length=16)
    detail: str = Field(default="", max_length=300)
    receipt_key: str | None = Field(default=None, max_length=160, unique=True)


class MessageEventPublic(SQLModel):
    at: datetime
    state: str
    provider: str | None
    detail: str


class ProviderTemplate(SQLModel, table=True):
    """The template a provider approved for one kind of message, filled in by an admin.

    `fields` maps the template's variables to the kind's parameters, "var=param" comma-separated
    (WeChat: "thing1=who,time2=when"); empty: the kind's parameters under their own names (Aliyun)
    or in their order (Tencent's {1}, {2}, …)."""

    __tablename__ = "provider_template"

    provider: str = Field(primary_key=True, max_length=16)
    kind: str = Field(primary_key=True, max_length=40)
    code: str = Field(max_length=64)
    fields: str = Field(default="", max_length=400)
    updated_at: datetime = Field(default_factory=_now, sa_type=UTCDateTime)
    updated_by: str = Field(default="", max_length=64)


class SmsRecipient(SQLModel, table=True):
    """What we know about a phone number: opted out by reply, or unreachable (bad number)."""

    __tablename__ = "sms_recipient"

    phone: str = Field(primary_key=True, max_length=32)
    opted_out_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    unreachable_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    unreachable_code: int | None = None


class SmsPace(SQLModel, table=True):
    """The next free send slot of a sender under a rate limit, shared by every dispatcher process."""

    __tablename__ = "sms_pace"

    sender: str = Field(primary_key=True, max_length=64)
    next_slot_at: datetime = Field(sa_type=UTCDateTime)


class LinkRole(StrEnum):
    staff = "staff"
    family = "family"


class LinkAnswer(StrEnum):
    acknowledge = "acknowledge"  # staff: I take charge
    on_site = "on_site"  # staff: I am with the resident
    resolve = "resolve"  # staff: it is over (with an outcome)
    going = "going"  # family: I'm going
    cannot_go = "cannot_go"
    call_me = "call_me"


ANSWERS_FOR_ROLE = {
    LinkRole.staff: (LinkAnswer.acknowledge, LinkAnswer.on_site, LinkAnswer.resolve),
    LinkRole.family: (LinkAnswer.going, LinkAnswer.cannot_go, LinkAnswer.call_me),
}


class ResponseLink(SQLModel, table=True):
    """A short link in an alert SMS: one alert, one recipient, one role, until it expires."""

    __tablename__ = "response_link"

    id: int | None = Field(default=None, primary_key=True)
    alert_id: int = Field(index=True)
    role: str = Field(max_length=10)
    phone: str = Field(max_length=32)
    language: str = Field(max_length=8)
    recipient_ref: str | None = Field(default=None, max_length=40)
    created_at: datetime = Field(sa_type=UTCDateTime)
    expires_at: datetime = Field(sa_type=UTCDateTime)


class ResponseLinkAnswer(SQLModel, table=True):
    __tablename__ = "response_link_answer"

    id: int | None = Field(default=None, primary_key=True)
    link_id: int = Field(foreign_key="response_link.id", index=True)
    answer: str = Field(max_length=20)
    answered_at: datetime = Field(sa_type=UTCDateTime)
