"""Putting messages in the outbox, inside the caller's transaction.

Critical messages go out at once, whatever the hour or the volume. Other messages wait for the
end of the recipient's quiet hours, and past a per-recipient budget they are folded into one
summary message instead of flooding a phone (and tripping carrier spam filters).
"""

import functools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import ParamSpec
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, make_transient_to_detached
from sqlmodel import Session, col, func, select

from carecommon.sqltypes import RowsInsert
from notifications.kinds import kind_of, render_text
from notifications.models import MessageChannel, MessageStatus, Purpose, SmsMessage, SmsRecipient
from notifications.settings import SmsSettings

P = ParamSpec("P")
WAKE_KEY = "carecenter.sms_enqueued"  # set in Session.info; the dispatcher wakes after that commit


@dataclass(frozen=True)
class QuietHours:
    """A daily window in local time; `start` after `end` means it crosses midnight."""

    start: time
    end: time
    time_zone: str

    def release_at(self, now: datetime) -> datetime | None:
        """When a message held at `now` may go, or None if `now` is outside the window."""
        zone = ZoneInfo(self.time_zone)
        local = now.astimezone(zone)
        clock = local.time()
        crosses_midnight = self.start > self.end
        inside = (clock >= self.start or clock < self.end) if crosses_midnight else self.start <= clock < self.end
        if not inside:
            return None
        end_day = local.date() + timedelta(days=1) if crosses_midnight and clock >= self.start else local.date()
        return datetime.combine(end_day, self.end, tzinfo=zone).astimezone(now.tzinfo)


_MESSAGES = SmsMessage.__table__  # type: ignore[attr-defined]
_WRITE = RowsInsert(_MESSAGES, returning=("id", "dedupe_key"), skip_on_conflict=("dedupe_key",))


def write_messages(session: Session, messages: Sequence[SmsMessage]) -> list[SmsMessage]:
    """Write the rows `compose_sms` made, all in one INSERT … ON CONFLICT (dedupe_key) DO NOTHING;
    each comes back as the row with its key either way (one queued meanwhile by someone else
    stands), and a row `compose_sms` found already queued as it is. The dispatcher wakes after the
    commit if one is queued. The rows of one call are for different recipients: the budget each
    was counted against does not see the others."""
    composed = [message.id is None for message in messages]  # the others were found already queued
    fresh: dict[str, SmsMessage] = {}
    for message, new in zip(messages, composed, strict=True):
        if new:
            fresh.setdefault(message.dedupe_key, message)
    if not fresh:
        return list(messages)
    rows = [{name: getattr(message, name) for name in _WRITE.columns} for message in fresh.values()]
    ids = {key: new_id for new_id, key in _WRITE.execute(session.connection(), rows)}
    written: dict[str, SmsMessage] = {}
    for key, message in fresh.items():
        if key in ids:
            message.id = ids[key]
            make_transient_to_detached(message)  # the row exists: attach this object as it, no second INSERT
            session.add(message)
            written[key] = message
    theirs = [key for key in fresh if key not in ids]
    if theirs:
        found = session.exec(select(SmsMessage).where(col(SmsMessage.dedupe_key).in_(theirs)))
        written |= {row.dedupe_key: row for row in found}
    if any(row.status == MessageStatus.queued for row in written.values()):
        session.info[WAKE_KEY] = True
    return [written[m.dedupe_key] if new else m for m, new in zip(messages, composed, strict=True)]


def set_opted_out(session: Session, *, phone: str, opted_out: bool, now: datetime) -> None:
    """Record that a number opted out (STOP, or the family told the center) or back in."""
    recipient = session.get(SmsRecipient, phone) or SmsRecipient(phone=phone)
    recipient.opted_out_at = (recipient.opted_out_at or now) if opted_out else None
    session.add(recipient)


def clear_unreachable(session: Session, *, phone: str) -> None:
    """The number works again (the family changed carrier, the phone is back on): SMS and calls may go to it."""
    recipient = session.get(SmsRecipient, phone)
    if recipient is not None:
        recipient.unreachable_at, recipient.unreachable_code = None, None
        session.add(recipient)


def number_states(session: Session, phones: Sequence[str]) -> dict[str, SmsRecipient]:
    """What is known about these numbers (opted out, unreachable), in one query; unknown numbers are absent."""
    if not phones:
        return {}
    return {r.phone: r for r in session.exec(select(SmsRecipient).where(col(SmsRecipient.phone).in_(list(phones))))}


def reachable_number(phone: sa.ColumnElement[str] | Mapped[str]) -> sa.ColumnElement[bool]:
    """A filter: the number in `phone` has neither opted out nor been found unreachable."""
    blocked = select(SmsRecipient.phone).where(
        SmsRecipient.phone == phone,
        sa.or_(col(SmsRecipient.opted_out_at).is_not(None), col(SmsRecipient.unreachable_at).is_not(None)),
    )
    return ~blocked.exists()


def opted_out_among(session: Session, phones: Sequence[str]) -> set[str]:
    """Which of these numbers opted out, in one query (callers that queue several messages ask once)."""
    if not phones:
        return set()
    rows = session.exec(
        select(SmsRecipient.phone).where(
            col(SmsRecipient.phone).in_(phones), col(SmsRecipient.opted_out_at).is_not(None)
        )
    )
    return set(rows)


def _over_budget(session: Session, message: SmsMessage, settings: SmsSettings, now: datetime) -> str | None:
    sent_statuses = [s for s in MessageStatus if s != MessageStatus.suppressed]
    recent = select(func.count()).where(
        SmsMessage.to_phone == message.to_phone,
        col(SmsMessage.status).in_(sent_statuses),
        col(SmsMessage.channel) == MessageChannel.sms,
    )
    last_hour = session.exec(recent.where(col(SmsMessage.created_at) > now - timedelta(hours=1))).one()
    if last_hour >= settings.sms_budget_per_hour:
        return "budget"
    same_text = session.exec(
        recent.where(SmsMessage.body == message.body, col(SmsMessage.created_at) > now - timedelta(hours=24))
    ).one()
    if same_text >= settings.sms_identical_per_day:
        return "repeated_text"
    return None


def compose_sms(
    *,
    session: Session,
    settings: SmsSettings,
    to: str,
    language: str,
    purpose: Purpose,
    dedupe_key: str,
    now: datetime,
    critical: bool = False,
    quiet_hours: QuietHours | None = None,
    center_id: int | None = None,
    alert_id: int | None = None,
    visit_id: int | None = None,
    recipient_ref: str | None = None,
    opted_out: bool | None = None,
    channel: MessageChannel = MessageChannel.sms,
    kind: str = "text",
    params: Mapping[str, str] | None = None,
    body: str | None = None,
    public_url: str = "",
    provider: str | None = None,
    fallback_provider: str | None = None,
    to_openid: str | None = None,
    held_by: int | None = None,
    hold_until: datetime | None = None,
) -> SmsMessage:
    """One message (an SMS, a call, a WeChat message) for the outbox, for `write_messages` to write
    in the caller's transaction with others (`enqueue_sms`: this one alone); the same dedupe key is
    never queued twice.

    The message is a `kind` with its `params` (free text: kind "text" and `body`); `body` is
    stored as its full text in the recipient's language, for the log and the text providers.
    `provider` carries it (None: the dispatcher's own sender); a critical message switches to
    `fallback_provider` when the first fails. An SMS `held_by` a WeChat message waits until
    `hold_until` and goes only if WeChat did not deliver.

    The returned row says what will happen: `queued` (maybe held until `next_attempt_at`), or
    `suppressed` with `hold_reason` (opted_out, budget, repeated_text) - the caller may then try
    someone else. A critical message is suppressed only for a number that opted out (`opted_out`:
    the caller has looked that up with `opted_out_among`; None: looked up here). A call is
    never suppressed by an SMS opt-out (STOP is about texts; calls are for critical alerts).
    """
    if not critical:  # a repeat must not count against the budget or queue a summary
        existing = session.exec(select(SmsMessage).where(SmsMessage.dedupe_key == dedupe_key)).first()
        if existing is not None:
            return existing
    params = dict(params or {})
    if kind != "text":
        message_kind = kind_of(kind)
        message_kind.check(params)
        body = body or render_text(message_kind, params, language, public_url)
    if body is None:
        raise ValueError("a free-text message needs a body")
    message = SmsMessage(
        dedupe_key=dedupe_key,
        channel=channel,
        to_phone=to,
        language=language,
        body=body,
        kind=kind,
        params=params,
        provider=provider,
        fallback_provider=fallback_provider if critical and fallback_provider != provider else None,
        to_openid=to_openid,
        held_by=held_by,
        purpose=purpose,
        critical=critical,
        center_id=center_id,
        alert_id=alert_id,
        visit_id=visit_id,
        recipient_ref=recipient_ref,
        status=MessageStatus.queued,
        next_attempt_at=now,
        created_at=now,
        updated_at=now,
    )
    if channel != MessageChannel.sms:  # STOP is about texts; calls are for critical alerts; WeChat is unbound
        opted_out = False
    elif opted_out is None:
        opted_out = to in opted_out_among(session, [to])
    if opted_out:
        message.status, message.hold_reason = MessageStatus.suppressed, "opted_out"
    elif not critical:
        reason = _over_budget(session, message, settings, now)
        if reason is not None:
            message.status, message.hold_reason = MessageStatus.suppressed, reason
            if reason == "budget":
                _queue_summary(session=session, settings=settings, message=message, now=now)
        elif quiet_hours is not None and (release := quiet_hours.release_at(now)) is not None:
            message.next_attempt_at, message.hold_reason = release, "quiet_hours"
    if hold_until is not None and message.status == MessageStatus.queued:
        message.next_attempt_at, message.hold_reason = max(message.next_attempt_at, hold_until), "wechat_first"
    return message


def written_at_once(compose: Callable[P, SmsMessage]) -> Callable[P, SmsMessage]:
    """A function that composes one message (taking the session first or as `session`) as one that
    also writes it (`write_messages`) before it returns: for callers with one message to queue."""

    @functools.wraps(compose)
    def enqueue(*args: P.args, **kwargs: P.kwargs) -> SmsMessage:
        session = args[0] if args else kwargs["session"]
        assert isinstance(session, Session)
        return write_messages(session, [compose(*args, **kwargs)])[0]

    return enqueue


enqueue_sms = written_at_once(compose_sms)


def _queue_summary(*, session: Session, settings: SmsSettings, message: SmsMessage, now: datetime) -> None:
    """One summary per recipient and hour, sent when the hour's budget frees up."""
    oldest = session.exec(
        select(sa.func.min(SmsMessage.created_at)).where(
            SmsMessage.to_phone == message.to_phone, col(SmsMessage.created_at) > now - timedelta(hours=1)
        )
    ).one()
    release = (oldest or now) + timedelta(hours=1)
    bucket = release.strftime("%Y%m%d%H")
    summary = SmsMessage(
        dedupe_key=f"summary:{message.to_phone}:{bucket}",
        to_phone=message.to_phone,
        language=message.language,
        body=render_text(kind_of("budget.summary"), {}, message.language, ""),
        kind="budget.summary",
        provider=message.provider,
        purpose=Purpose.summary,
        center_id=message.center_id,
        recipient_ref=message.recipient_ref,
        status=MessageStatus.queued,
        hold_reason="budget",
        next_attempt_at=release,
        created_at=now,
        updated_at=now,
    )
    write_messages(session, [summary])


def cancel_queued_calls(session: Session, *, alert_id: int, now: datetime) -> int:
    """Calls for this alert not yet placed are not placed (someone answered); ringing ones are left alone."""
    result = session.execute(
        sa.update(SmsMessage)
        .where(
            col(SmsMessage.alert_id) == alert_id,
            col(SmsMessage.channel) == MessageChannel.voice,
            col(SmsMessage.status).in_([MessageStatus.queued, MessageStatus.retrying]),
        )
        .values(status=MessageStatus.suppressed, hold_reason="answered", updated_at=now)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


def release_held(session: Session, *, message_id: int, now: datetime) -> bool:
    """WeChat did not deliver message `message_id`: the SMS that waited on it goes now. Whether one did."""
    result = session.execute(
        sa.update(SmsMessage)
        .where(
            col(SmsMessage.held_by) == message_id,
            col(SmsMessage.status).in_([MessageStatus.queued, MessageStatus.retrying]),
        )
        .values(next_attempt_at=now, hold_reason=None, updated_at=now)
    )
    if result.rowcount:  # type: ignore[attr-defined]
        session.info[WAKE_KEY] = True
    return bool(result.rowcount)  # type: ignore[attr-defined]


def settle_held(session: Session, *, message_id: int, now: datetime) -> int:
    """WeChat delivered message `message_id`: the SMS that waited on it is not sent."""
    result = session.execute(
        sa.update(SmsMessage)
        .where(col(SmsMessage.held_by) == message_id, col(SmsMessage.status) == MessageStatus.queued)
        .values(status=MessageStatus.suppressed, hold_reason="wechat_delivered", updated_at=now)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]
