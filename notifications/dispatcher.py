"""Sending what is due in the outbox, SMS and calls alike: claim, send outside any transaction, record.

Any number of dispatchers may share one PostgreSQL outbox: rows are claimed with
`FOR UPDATE SKIP LOCKED` (and a guarded UPDATE on top, for SQLite) and carry a lease, so a
row left in `sending` by a crashed process is sent again once the lease runs out. The one
window that cannot be closed: the provider accepted the message and the process died before
recording it; that message goes out twice.
"""

import logging
import random
import threading
import time
import weakref
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any, Literal

import sqlalchemy as sa
from sqlalchemy import event
from sqlmodel import Session, col, or_, select

from carecommon.sqltypes import upsert_insert
from carecommon.threads import name_os_thread
from notifications.caps import CAPS, over_cap
from notifications.events import NoEvents, SmsEvents
from notifications.kinds import CALL_KEYS, TOKEN, kind_of, render_text
from notifications.models import (
    MessageChannel,
    MessageEvent,
    MessageStatus,
    ProviderTemplate,
    SmsMessage,
    SmsPace,
    SmsRecipient,
)
from notifications.outbox import WAKE_KEY, release_held
from notifications.senders import ApprovedTemplate, Outgoing, SendError, SendResult, SmsSender, TemplateSender
from notifications.settings import SmsSettings
from notifications.twilio_errors import Verdict
from notifications.voice import CALL_STATUS_PATH, GATHER_PATH, call_twiml

log = logging.getLogger(__name__)
STATUS_CALLBACK_PATH = "/webhooks/twilio/status"


Outcome = Literal["sent", "retrying", "failed", "gone"]
PACE_HORIZON = timedelta(seconds=2)  # send slots are booked at most this far ahead
# Slots are spaced for 85% of the limit, and a message later than LATE_FOR_SLOT for its slot
# takes a new one: any second then holds the sends of at most 1.1 s of slots, 94% of the limit
# ((1 + LATE_FOR_SLOT) x PACE_HEADROOM), however late a busy process starts them; the rest is
# room for the network's jitter on the way to the provider. (0.9 and 0.25 s let 151 of 150 through.)
PACE_HEADROOM = 0.85
LATE_FOR_SLOT = 0.1  # seconds


@dataclass
class DispatchReport:
    sent: int = 0
    retrying: int = 0
    failed: int = 0

    @property
    def handled(self) -> int:
        return self.sent + self.retrying + self.failed

    def add(self, outcome: Outcome) -> None:
        if outcome != "gone":
            setattr(self, outcome, getattr(self, outcome) + 1)


class WriteTurns:
    """Lets the dispatcher's writes go between another thread's back-to-back transactions.

    SQLite has one write lock and gives it to whichever waiting connection polls first; its
    waiters poll every 25-100 ms, and a thread that writes back to back (the check-in writer
    during a burst of SOS) takes the lock again the moment it commits. The dispatcher could then
    wait out the whole burst with the burst's first SMS in the outbox. Its writes say so
    (`writing()`); such a thread calls `give_way()` before each transaction, which waits
    (bounded) until no dispatcher write is pending.
    """

    def __init__(self) -> None:
        self._pending = 0
        self._changed = threading.Condition()

    @contextmanager
    def writing(self) -> Iterator[None]:
        with self._changed:
            self._pending += 1
        try:
            yield
        finally:
            with self._changed:
                self._pending -= 1
                self._changed.notify_all()

    def give_way(self, timeout: float = 0.5) -> None:
        with self._changed:
            self._changed.wait_for(lambda: self._pending == 0, timeout)


_OUTBOX = SmsMessage.__table__  # type: ignore[attr-defined]
_SENDING = _OUTBOX.c.status == MessageStatus.sending
# A status callback may have arrived first and moved the row on: then it only needs the SID, if
# it has none yet.
_NEEDS_SID = _SENDING | _OUTBOX.c.provider_sid.is_(None)


def _when(condition: sa.ColumnElement[bool], value: Any, column: sa.Column[Any]) -> sa.Case[Any]:
    """`value` where `condition` holds, else the column as it is (a parameter's name, or None)."""
    new = sa.null() if value is None else sa.bindparam(value, type_=column.type)
    return sa.case((condition, new), else_=column)


# A message handed to the provider, in one statement built once (it runs for every message sent).
_RECORD_SENT = (
    sa.update(_OUTBOX)
    .where(_OUTBOX.c.id == sa.bindparam("message_id"), _NEEDS_SID)
    .values(
        status=sa.case((_SENDING, sa.literal(MessageStatus.sent, _OUTBOX.c.status.type)), else_=_OUTBOX.c.status),
        provider_sid=_when(_NEEDS_SID, "new_sid", _OUTBOX.c.provider_sid),
        provider=_when(_NEEDS_SID, "new_provider", _OUTBOX.c.provider),
        sent_at=_when(_NEEDS_SID, "at", _OUTBOX.c.sent_at),
        template_code=_when(_SENDING, "template", _OUTBOX.c.template_code),
        body=_when(_SENDING, "text", _OUTBOX.c.body),
        lease_expires_at=_when(_SENDING, None, _OUTBOX.c.lease_expires_at),
        error_code=_when(_SENDING, None, _OUTBOX.c.error_code),
        error_message=_when(_SENDING, None, _OUTBOX.c.error_message),
        updated_at=_when(_SENDING, "at", _OUTBOX.c.updated_at),
    )
)


@dataclass(frozen=True)
class Claimed:
    id: int
    to_phone: str
    body: str
    attempts: int
    channel: str = MessageChannel.sms
    language: str = "zh-CN"
    kind: str = "text"
    params: dict[str, str] | None = None
    provider: str | None = None
    fallback_provider: str | None = None
    to_openid: str | None = None
    critical: bool = False
    not_before: float = 0.0  # time.monotonic() before which it may not go out (the sender's rate limit)


AnySender = SmsSender | TemplateSender
TEMPLATES_FRESH = timedelta(seconds=30)  # an admin's new template is used within this long


class Dispatcher:
    """Sends due outbox rows through one sender. `dispatch_due(now)` is one pass; `start()` runs passes in a thread."""

    def __init__(
        self,
        *,
        engine: sa.Engine,
        sender: "AnySender",
        settings: SmsSettings,
        public_url: str | None,
        events: SmsEvents | None = None,
        clock: Callable[[], datetime],
        rng: random.Random | None = None,
        senders: Mapping[str, AnySender] | None = None,
    ) -> None:
        self.engine = engine
        self.sender = sender  # for rows that name no provider (and the rate limit's pacing)
        self.senders: dict[str, AnySender] = {**(senders or {}), sender.name: sender}
        self._templates: dict[tuple[str, str], ApprovedTemplate | None] = {}
        self._templates_read_at = datetime.min.replace(tzinfo=clock().tzinfo)
        self._templates_lock = threading.Lock()
        self.settings = settings
        self.public_url = public_url.rstrip("/") if public_url else None
        self.events: SmsEvents = events or NoEvents()
        self.clock = clock
        self.rng = rng or random.Random()  # noqa: S311 - jitter, not secrets
        self.turns = WriteTurns()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._pool: ThreadPoolExecutor | None = None
        self._pool_lock = threading.Lock()
        _register(self)

    # -- one pass ------------------------------------------------------------------------------
    def dispatch_due(self, now: datetime | None = None, batch: int = 50) -> DispatchReport:
        """Send every row that is due at `now`, batch by batch, until none is left.

        Up to `sms_send_concurrency` messages are with the provider at once (each call waits
        for its answer, ~0.1-0.5 s with Twilio); under a rate limit each waits for its slot.
        """
        report = DispatchReport()
        while True:
            claimed = self._claim(now or self.clock(), batch)
            if not claimed:
                return report

            def send(message: Claimed) -> Outcome:
                wait = message.not_before - time.monotonic()
                if self.settings.sms_rate_per_second and -wait > LATE_FOR_SLOT:
                    # Its slot went by while it waited for a thread (a busy machine): a new slot,
                    # rather than going out bunched with the messages of the next ones.
                    message = self._rebook(message)
                    wait = message.not_before - time.monotonic()
                if wait > 0:
                    time.sleep(wait)
                return self._send_one(message, now or self.clock())

            if self.settings.sms_send_concurrency == 1 or len(claimed) == 1:
                outcomes = [send(message) for message in claimed]
            else:
                outcomes = list(self._senders().map(send, claimed))
            for outcome in outcomes:
                report.add(outcome)

    def _senders(self) -> ThreadPoolExecutor:
        with self._pool_lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(
                    self.settings.sms_send_concurrency, thread_name_prefix="sms-send", initializer=name_os_thread
                )
            return self._pool

    def _claim(self, now: datetime, batch: int) -> list[Claimed]:
        lease_until = now + timedelta(seconds=self.settings.sms_lease_seconds)
        due = or_(
            sa.and_(
                col(SmsMessage.status).in_([MessageStatus.queued, MessageStatus.retrying]),
                col(SmsMessage.next_attempt_at) <= now,
            ),
            sa.and_(col(SmsMessage.status) == MessageStatus.sending, col(SmsMessage.lease_expires_at) <= now),
        )
        with self.turns.writing(), Session(self.engine) as session:
            if self.settings.sms_rate_per_second:
                batch = min(batch, self._room(session))
            order = session.exec(
                select(SmsMessage.id)
                .where(due)
                .order_by(col(SmsMessage.critical).desc(), col(SmsMessage.next_attempt_at), col(SmsMessage.id))
                .limit(batch)
                .with_for_update(skip_locked=True)
            ).all()
            if not order:
                return []
            # One UPDATE for the batch; `due` again, for SQLite, where another process may have
            # claimed a row between the SELECT and this UPDATE (PostgreSQL has them locked).
            outbox = SmsMessage.__table__  # type: ignore[attr-defined]
            rows = session.execute(
                sa.update(outbox)
                .where(outbox.c.id.in_(order), due)
                .values(
                    status=MessageStatus.sending,
                    lease_expires_at=lease_until,
                    attempts=outbox.c.attempts + 1,
                    updated_at=now,
                )
                .returning(
                    outbox.c.id,
                    outbox.c.to_phone,
                    outbox.c.body,
                    outbox.c.attempts,
                    outbox.c.channel,
                    outbox.c.language,
                    outbox.c.kind,
                    outbox.c.params,
                    outbox.c.provider,
                    outbox.c.fallback_provider,
                    outbox.c.to_openid,
                    outbox.c.critical,
                )
            ).all()
            position = {message_id: n for n, message_id in enumerate(order)}
            claimed = sorted((Claimed(*row) for row in rows), key=lambda m: position[m.id])
            if self.settings.sms_rate_per_second and claimed:
                claimed = self._book_slots(session, claimed)
            session.commit()
        return claimed

    # -- the sender's rate limit ------------------------------------------------------------------
    def _room(self, session: Session) -> int:
        """How many slots are free before the booking horizon (at least one, so that work moves on)."""
        now = self.clock()
        booked = session.exec(select(SmsPace.next_slot_at).where(SmsPace.sender == self.sender.name)).first()
        start = max(now, booked or now)
        free = (now + PACE_HORIZON - start).total_seconds() * self.settings.sms_rate_per_second * PACE_HEADROOM
        return max(1, int(free))

    def _book_slots(self, session: Session, claimed: list[Claimed]) -> list[Claimed]:
        """Give each claimed message the next free slot of the sender, under the pacing row's lock.

        Done last in the claim, with the clock read once the lock is held, so that neither the
        wait for the lock nor the claim itself eats into the first slots (which would bunch them).
        """
        insert = upsert_insert(self.engine.dialect)
        session.execute(
            insert(SmsPace).values(sender=self.sender.name, next_slot_at=self.clock()).on_conflict_do_nothing()
        )
        pace = session.exec(select(SmsPace).where(SmsPace.sender == self.sender.name).with_for_update()).one()
        now, at = self.clock(), time.monotonic()
        interval = 1 / (self.settings.sms_rate_per_second * PACE_HEADROOM)
        first = max(0.0, (pace.next_slot_at - now).total_seconds())
        booked = [replace(m, not_before=at + first + n * interval) for n, m in enumerate(claimed)]
        pace.next_slot_at = now + timedelta(seconds=first + len(claimed) * interval)
        session.add(pace)
        return booked

    def _rebook(self, message: Claimed) -> Claimed:
        with self.turns.writing(), Session(self.engine) as session:
            [booked] = self._book_slots(session, [message])
            session.commit()
        return booked

    def _send_one(self, message: Claimed, now: datetime) -> Outcome:
        provider = message.provider or self.sender.name
        text = self._text(message)
        try:
            result = self._hand_over(message, provider, now, text)
        except SendError as exc:
            return self._record_failure(message, exc, now, provider)
        except Exception as exc:  # a sender bug must not stop the dispatcher or lose the row
            log.exception("sender %s crashed on message %s", provider, message.id)
            return self._record_failure(
                message, SendError(Verdict.retry, f"sender error: {exc!r}"[:200]), now, provider
            )
        return self._record_sent(message, result, now, provider, text)

    def _hand_over(self, message: Claimed, provider: str, now: datetime, text: str) -> SendResult:
        """To the row's provider: a template provider gets the kind, its parameters and the approved
        template; Twilio and the console the text (a call: TwiML whose key comes back to our webhook)."""
        sender = self.senders.get(provider)
        if sender is None:
            raise SendError(Verdict.give_up, f"provider '{provider}' is not set up on this server")
        if (provider, message.channel) in CAPS:
            with self.engine.connect() as connection:
                capped = over_cap(
                    connection,
                    provider=provider,
                    channel=message.channel,
                    to=message.to_phone,
                    kind=message.kind,
                    body=message.body,
                    now=now,
                    allowlist=self.settings.cap_allowlist,
                )
            if capped is not None:
                raise SendError(Verdict.throttled, f"throttled here: {capped}")
        base = self.public_url or ""
        if isinstance(sender, TemplateSender):
            kind = kind_of(message.kind)
            params = message.params or {}
            link = f"{base}{kind.link}{params[TOKEN]}" if kind.link and TOKEN in params else None
            outgoing = Outgoing(
                id=message.id,
                channel=message.channel,
                to=message.to_phone,
                language=message.language,
                kind=message.kind,
                params=params,
                text=text,
                template=self._template(provider, message.kind),
                link=link,
                to_openid=message.to_openid,
                key_templates=self._key_templates(provider, message.kind),
            )
            return sender.deliver(outgoing)
        if message.channel == MessageChannel.voice:
            gather = f"{base}{GATHER_PATH}?m={message.id}"
            return sender.call(
                to=message.to_phone,
                script=text,
                twiml=call_twiml(text, message.language, gather),
                status_callback=f"{base}{CALL_STATUS_PATH}?m={message.id}" if self.public_url else None,
            )
        if message.channel == MessageChannel.wechat:
            raise SendError(Verdict.give_up, f"'{provider}' does not send WeChat messages")
        callback = f"{base}{STATUS_CALLBACK_PATH}?m={message.id}" if self.public_url else None
        return sender.send(to=message.to_phone, body=text, status_callback=callback)

    def _text(self, message: Claimed) -> str:
        """The full text, put into words now from the kind and its parameters (free text as it is)."""
        if message.kind == "text":
            return message.body
        return render_text(kind_of(message.kind), message.params or {}, message.language, self.public_url or "")

    def _template(self, provider: str, kind: str) -> ApprovedTemplate | None:
        """The template an admin entered for this provider and kind (read again every half minute)."""
        with self._templates_lock:
            now = self.clock()
            if now - self._templates_read_at > TEMPLATES_FRESH:
                with Session(self.engine) as session:
                    rows = session.exec(select(ProviderTemplate)).all()
                self._templates = {(r.provider, r.kind): approved(r) for r in rows}
                self._templates_read_at = now
            return self._templates.get((provider, kind))

    def _key_templates(self, provider: str, kind: str) -> tuple[tuple[str, ApprovedTemplate], ...]:
        """An alert call's confirmations, when the provider approved all of them (else none: no menu)."""
        if not kind.startswith("alert.call"):
            return ()
        found = [(key, self._template(provider, answer)) for key, answer in CALL_KEYS.items()]
        return tuple((key, t) for key, t in found if t is not None) if all(t for _, t in found) else ()

    def forget_templates(self) -> None:
        """Read the template table again at the next message (an admin changed it in this process)."""
        with self._templates_lock:
            self._templates_read_at = datetime.min.replace(tzinfo=self._templates_read_at.tzinfo)

    def _record_sent(self, message: Claimed, result: SendResult, now: datetime, provider: str, text: str) -> Outcome:
        """Sent: the row keeps the provider's id and the words as they went out (put into words at
        send time, with this server's public URL: the log shows what the recipient got)."""
        values = {
            "message_id": message.id,
            "new_sid": result.provider_sid,
            "new_provider": provider,
            "template": result.template_code,
            "text": text,
            "at": now,
        }
        with self.turns.writing(), self.engine.begin() as conn:  # Core, not the ORM
            conn.execute(_RECORD_SENT, values)
        return "sent"

    def _record_failure(self, message: Claimed, error: SendError, now: datetime, provider: str) -> Outcome:
        """A critical message switches at once to its second provider (never back to the first);
        a throttled one is given up so that the escalation moves on; others retry with backoff."""
        fallback = message.fallback_provider if message.critical and message.fallback_provider != provider else None
        switch = fallback is not None and error.verdict != Verdict.unreachable
        give_up = not switch and (error.verdict != Verdict.retry or message.attempts >= self.settings.sms_max_attempts)
        with self.turns.writing(), Session(self.engine) as session:
            row = session.get(SmsMessage, message.id)
            if row is None or row.status != MessageStatus.sending:
                return "gone"
            row.error_code, row.error_message = error.code, error.message[:500]
            row.lease_expires_at, row.updated_at = None, now
            state = "retrying"
            if switch:
                assert fallback is not None
                row.provider, row.fallback_provider = fallback, None
                row.status, row.next_attempt_at = MessageStatus.retrying, now
                state = "switched"
            elif give_up:
                row.status = MessageStatus.failed
                state = "throttled" if error.verdict == Verdict.throttled else "failed"
                if error.verdict == Verdict.throttled:
                    row.hold_reason = "throttled"
                if error.verdict == Verdict.retry:
                    row.error_message = f"gave up after {message.attempts} attempts: {error.message}"[:500]
                if error.verdict == Verdict.unreachable and row.channel != MessageChannel.wechat:
                    mark_unreachable(session, phone=row.to_phone, code=error.code, now=now)
                if row.channel == MessageChannel.wechat and release_held(session, message_id=row.id or 0, now=now):
                    pass  # the SMS that waited on this WeChat message goes now, to the same person
                else:
                    self.events.message_not_reached(session=session, message=row, now=now)
            else:
                row.status = MessageStatus.retrying
                row.next_attempt_at = now + self.backoff(message.attempts)
            detail = f"{error.message} (then through {fallback})" if switch else error.message
            session.add(
                MessageEvent(message_id=message.id, at=now, state=state, provider=provider, detail=detail[:300])
            )
            session.add(row)
            session.commit()
        log.warning("message %s to %s through %s %s: %s", message.id, message.to_phone, provider, state, error.message)
        if switch:
            self.wake()
        return "retrying" if switch or not give_up else "failed"

    def backoff(self, attempts: int) -> timedelta:
        """Exponential, capped, with jitter (half to all of the step) so retries do not stampede."""
        step = min(self.settings.sms_retry_max_seconds, self.settings.sms_retry_base_seconds * 2 ** (attempts - 1))
        return timedelta(seconds=step * self.rng.uniform(0.5, 1.0))

    # -- the thread -----------------------------------------------------------------------------
    def wake(self) -> None:
        """Send now rather than at the next sweep (called after a commit that queued messages)."""
        self._wake.set()

    def start(self) -> None:
        if self._thread is None:
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, name="sms-dispatcher", daemon=True)
            self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
        with self._pool_lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True)

    def _run(self) -> None:
        name_os_thread()
        while not self._stop.is_set():
            self._wake.clear()
            try:
                self.dispatch_due()
            except sa.exc.OperationalError as exc:  # the database is away: one line, the next sweep tries again
                log.warning(
                    "SMS dispatch pass failed, database unreachable: %s", str(exc.orig or exc).partition("\n")[0]
                )
            except Exception:  # a bug: the whole traceback
                log.exception("SMS dispatch pass failed")
            self._wake.wait(self.settings.sms_sweep_seconds)


def approved(row: ProviderTemplate) -> ApprovedTemplate:
    """A template row as the senders use it: its variables paired with the kind's parameters."""
    pairs = [part.split("=", 1) for part in row.fields.split(",") if "=" in part]
    if pairs:
        fields = tuple((variable.strip(), param.strip()) for variable, param in pairs)
    else:
        fields = tuple((param, param) for param in kind_of(row.kind).params)
    return ApprovedTemplate(code=row.code, fields=fields)


def mark_unreachable(session: Session, *, phone: str, code: int | None, now: datetime) -> None:
    recipient = session.get(SmsRecipient, phone) or SmsRecipient(phone=phone)
    recipient.unreachable_at, recipient.unreachable_code = now, code
    session.add(recipient)


# Sessions that queued messages wake the dispatcher of their engine right after they commit.
_dispatchers: "weakref.WeakKeyDictionary[sa.Engine, Dispatcher]" = weakref.WeakKeyDictionary()


def _register(dispatcher: Dispatcher) -> None:
    _dispatchers[dispatcher.engine] = dispatcher


@event.listens_for(Session, "after_rollback")
def _forget_after_rollback(session: Session) -> None:
    session.info.pop(WAKE_KEY, None)


@event.listens_for(Session, "after_commit")
def _wake_after_commit(session: Session) -> None:
    if session.info.pop(WAKE_KEY, False):
        bind = session.get_bind()
        dispatcher = _dispatchers.get(bind if isinstance(bind, sa.Engine) else bind.engine)
        if dispatcher is not None:
            dispatcher.wake()
