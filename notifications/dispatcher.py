"""Sending what is due in the outbox: claim, send outside any transaction, record.

Any number of dispatchers may share one PostgreSQL outbox: rows are claimed with
`FOR UPDATE SKIP LOCKED` (and a guarded UPDATE on top, for SQLite) and carry a lease, so a
row left in `sending` by a crashed process is sent again once the lease runs out. The one
window that cannot be closed: the provider accepted the message and the process died before
recording it; that message goes out twice.
"""

import logging
import random
import threading
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy import event, update
from sqlmodel import Session, col, or_, select

from notifications.events import NoEvents, SmsEvents
from notifications.models import MessageStatus, SmsMessage, SmsRecipient
from notifications.outbox import WAKE_KEY
from notifications.senders import SendError, SendResult, SmsSender
from notifications.settings import SmsSettings
from notifications.twilio_errors import Verdict

log = logging.getLogger(__name__)
STATUS_CALLBACK_PATH = "/webhooks/twilio/status"


@dataclass
class DispatchReport:
    sent: int = 0
    retrying: int = 0
    failed: int = 0

    @property
    def handled(self) -> int:
        return self.sent + self.retrying + self.failed


@dataclass(frozen=True)
class Claimed:
    id: int
    to_phone: str
    body: str
    attempts: int


class Dispatcher:
    """Sends due outbox rows through one sender. `dispatch_due(now)` is one pass; `start()` runs passes in a thread."""

    def __init__(
        self,
        *,
        engine: sa.Engine,
        sender: SmsSender,
        settings: SmsSettings,
        public_url: str | None,
        events: SmsEvents | None = None,
        clock: Callable[[], datetime],
        rng: random.Random | None = None,
    ) -> None:
        self.engine = engine
        self.sender = sender
        self.settings = settings
        self.public_url = public_url.rstrip("/") if public_url else None
        self.events: SmsEvents = events or NoEvents()
        self.clock = clock
        self.rng = rng or random.Random()  # noqa: S311 - jitter, not secrets
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        _register(self)

    # -- one pass ------------------------------------------------------------------------------
    def dispatch_due(self, now: datetime | None = None, batch: int = 50) -> DispatchReport:
        """Send every row that is due at `now`, batch by batch, until none is left."""
        report = DispatchReport()
        while True:
            moment = now or self.clock()
            claimed = self._claim(moment, batch)
            if not claimed:
                return report
            for message in claimed:
                self._send_one(message, now or self.clock(), report)

    def _claim(self, now: datetime, batch: int) -> list[Claimed]:
        lease_until = now + timedelta(seconds=self.settings.sms_lease_seconds)
        due = or_(
            sa.and_(
                col(SmsMessage.status).in_([MessageStatus.queued, MessageStatus.retrying]),
                col(SmsMessage.next_attempt_at) <= now,
            ),
            sa.and_(col(SmsMessage.status) == MessageStatus.sending, col(SmsMessage.lease_expires_at) <= now),
        )
        claimed: list[Claimed] = []
        with Session(self.engine) as session:
            rows = session.exec(
                select(SmsMessage)
                .where(due)
                .order_by(col(SmsMessage.critical).desc(), col(SmsMessage.next_attempt_at), col(SmsMessage.id))
                .limit(batch)
                .with_for_update(skip_locked=True)
            ).all()
            # Plain values first: the ORM UPDATE below refreshes `row` in place.
            for message_id, to_phone, body, status, attempts in [
                (r.id, r.to_phone, r.body, r.status, r.attempts) for r in rows
            ]:
                assert message_id is not None
                result = session.execute(
                    update(SmsMessage)
                    .where(
                        col(SmsMessage.id) == message_id,
                        col(SmsMessage.status) == status,
                        col(SmsMessage.attempts) == attempts,
                    )
                    .values(
                        status=MessageStatus.sending,
                        lease_expires_at=lease_until,
                        attempts=attempts + 1,
                        updated_at=now,
                    )
                )
                if result.rowcount == 1:  # type: ignore[attr-defined]
                    claimed.append(Claimed(message_id, to_phone, body, attempts + 1))
            session.commit()
        return claimed

    def _send_one(self, message: Claimed, now: datetime, report: DispatchReport) -> None:
        callback = f"{self.public_url}{STATUS_CALLBACK_PATH}?m={message.id}" if self.public_url else None
        try:
            result = self.sender.send(to=message.to_phone, body=message.body, status_callback=callback)
        except SendError as exc:
            self._record_failure(message, exc, now, report)
        except Exception as exc:  # a sender bug must not stop the dispatcher or lose the row
            log.exception("sender %s crashed on message %s", self.sender.name, message.id)
            self._record_failure(message, SendError(Verdict.retry, f"sender error: {exc!r}"[:200]), now, report)
        else:
            self._record_sent(message, result, now, report)

    def _record_sent(self, message: Claimed, result: SendResult, now: datetime, report: DispatchReport) -> None:
        with Session(self.engine) as session:
            session.execute(
                update(SmsMessage)
                .where(col(SmsMessage.id) == message.id, col(SmsMessage.status) == MessageStatus.sending)
                .values(
                    status=MessageStatus.sent,
                    provider_sid=result.provider_sid,
                    sent_at=now,
                    lease_expires_at=None,
                    error_code=None,
                    error_message=None,
                    updated_at=now,
                )
            )
            # A status callback may have arrived first and moved the row on; it still needs the SID.
            session.execute(
                update(SmsMessage)
                .where(col(SmsMessage.id) == message.id, col(SmsMessage.provider_sid).is_(None))
                .values(provider_sid=result.provider_sid, sent_at=now)
            )
            session.commit()
        report.sent += 1

    def _record_failure(self, message: Claimed, error: SendError, now: datetime, report: DispatchReport) -> None:
        give_up = error.verdict != Verdict.retry or message.attempts >= self.settings.sms_max_attempts
        with Session(self.engine) as session:
            row = session.get(SmsMessage, message.id)
            if row is None or row.status != MessageStatus.sending:
                return
            row.error_code, row.error_message = error.code, error.message[:500]
            row.lease_expires_at, row.updated_at = None, now
            if give_up:
                row.status = MessageStatus.failed
                if error.verdict == Verdict.retry:
                    row.error_message = f"gave up after {message.attempts} attempts: {error.message}"[:500]
                if error.verdict == Verdict.unreachable:
                    mark_unreachable(session, phone=row.to_phone, code=error.code, now=now)
                    self.events.number_unreachable(session=session, phone=row.to_phone, code=error.code, now=now)
                self.events.message_not_reached(session=session, message=row, now=now)
                report.failed += 1
            else:
                row.status = MessageStatus.retrying
                row.next_attempt_at = now + self.backoff(message.attempts)
                report.retrying += 1
            session.add(row)
            session.commit()
        log.warning(
            "SMS %s to %s %s: %s",
            message.id,
            message.to_phone,
            "failed" if give_up else "will be retried",
            error.message,
        )

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

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.clear()
            try:
                self.dispatch_due()
            except Exception:  # the database may be down; the next sweep tries again
                log.exception("SMS dispatch pass failed")
            self._wake.wait(self.settings.sms_sweep_seconds)


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
