import sqlite3
import sys
import threading
import time as time_module
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlmodel import Session

from carecenter.context import app_context
from carecenter.residents.service import contacts_public
from carecommon.clock import utcnow
from notifications.dispatcher import Dispatcher
from notifications.events import NoEvents
from notifications.models import MessageStatus, Purpose, SmsMessage, SmsRecipient
from notifications.outbox import enqueue_sms
from notifications.senders import SendError, SendResult
from notifications.twilio_errors import Verdict
from tests.conftest import PUBLIC_URL, Clock, make_sms_settings
from tests.factories import make_center, make_contact, make_resident
from tests.fakes import FakeSender


def queue(session: Session, now: Any, n: int = 1, to: str = "+8613900001111", critical: bool = True) -> list[int]:
    ids = []
    for i in range(n):
        message = enqueue_sms(
            session=session,
            settings=make_sms_settings(),
            to=to,
            body=f"告警{i}",
            language="zh-CN",
            purpose=Purpose.alert,
            dedupe_key=f"{to}:{i}:{now.isoformat()}",
            now=now,
            critical=critical,
        )
        assert message.id is not None
        ids.append(message.id)
    session.commit()
    return ids


def status_of(session: Session, message_id: int) -> SmsMessage:
    session.expire_all()
    message = session.get(SmsMessage, message_id)
    assert message is not None
    return message


def test_due_messages_are_sent_with_a_status_callback(
    session: Session, dispatcher: Dispatcher, sender: FakeSender, clock: Clock
) -> None:
    [message_id] = queue(session, clock.now)
    report = dispatcher.dispatch_due(now=clock.now)
    assert (report.sent, report.failed) == (1, 0)
    message = status_of(session, message_id)
    assert (message.status, message.provider_sid, message.attempts) == (MessageStatus.sent, "FAKE00000001", 1)
    assert sender.sent[0].status_callback == f"{PUBLIC_URL}/webhooks/twilio/status?m={message_id}"
    assert dispatcher.dispatch_due(now=clock.now).handled == 0  # nothing is sent twice


def test_transient_errors_retry_with_backoff_then_succeed(
    session: Session, dispatcher: Dispatcher, sender: FakeSender, clock: Clock
) -> None:
    [message_id] = queue(session, clock.now)
    sender.fail_next(SendError(Verdict.retry, "HTTP 503"), SendError(Verdict.retry, "timeout"))
    dispatcher.dispatch_due(now=clock.now)
    first = status_of(session, message_id)
    assert (first.status, first.attempts, first.error_message) == (MessageStatus.retrying, 1, "HTTP 503")
    delay = first.next_attempt_at - clock.now
    assert timedelta(seconds=2.5) <= delay <= timedelta(seconds=5)  # base 5 s, jittered
    assert dispatcher.dispatch_due(now=clock.now).handled == 0  # not due yet
    dispatcher.dispatch_due(now=clock.advance(seconds=5))
    second = status_of(session, message_id)
    assert second.status == MessageStatus.retrying
    assert timedelta(seconds=5) <= second.next_attempt_at - clock.now <= timedelta(seconds=10)  # doubled
    dispatcher.dispatch_due(now=clock.advance(seconds=10))
    final = status_of(session, message_id)
    assert (final.status, final.attempts, final.error_message) == (MessageStatus.sent, 3, None)
    assert len(sender.sent) == 1


def test_retries_stop_at_the_limit(session: Session, dispatcher: Dispatcher, sender: FakeSender, clock: Clock) -> None:
    [message_id] = queue(session, clock.now)
    sender.fail_next(*[SendError(Verdict.retry, "HTTP 500")] * 10)
    for _ in range(10):
        dispatcher.dispatch_due(now=clock.advance(seconds=400))
    message = status_of(session, message_id)
    assert (message.status, message.attempts) == (MessageStatus.failed, 10)
    assert message.error_message == "gave up after 10 attempts: HTTP 500"


def test_a_permanent_error_fails_the_message_and_marks_the_contact_unreachable(
    client: TestClient, session: Session, dispatcher: Dispatcher, sender: FakeSender, clock: Clock
) -> None:
    contact = make_contact(session, resident=make_resident(session, center=make_center(session)))
    [message_id] = queue(session, clock.now, to=contact.phone)
    sender.fail_next(SendError(Verdict.unreachable, "invalid 'To' phone number", code=21211))
    report = dispatcher.dispatch_due(now=clock.now)
    assert (report.failed, report.retrying) == (1, 0)
    message = status_of(session, message_id)
    assert (message.status, message.error_code, message.attempts) == (MessageStatus.failed, 21211, 1)
    assert session.get(SmsRecipient, contact.phone).unreachable_code == 21211  # type: ignore[union-attr]
    shown = contacts_public(session, [contact])[0]  # the contact shows its number's state
    assert (shown.unreachable_code, shown.unreachable_at) == (21211, clock.now)


def test_a_row_left_in_sending_by_a_crash_is_sent_after_the_lease(
    session: Session, dispatcher: Dispatcher, sender: FakeSender, clock: Clock
) -> None:
    [message_id] = queue(session, clock.now)
    dispatcher._claim(clock.now, 10)  # claimed, then the process "dies" before sending
    assert status_of(session, message_id).status == MessageStatus.sending
    assert dispatcher.dispatch_due(now=clock.advance(seconds=60)).handled == 0  # the lease still holds
    assert dispatcher.dispatch_due(now=clock.advance(seconds=61)).sent == 1
    message = status_of(session, message_id)
    assert (message.status, message.attempts) == (MessageStatus.sent, 2)
    assert len(sender.sent) == 1


class TransactionCheckingSender(FakeSender):
    """Fails the test if any of our connections holds an open transaction while sending."""

    def __init__(self, engine: sa.Engine) -> None:
        super().__init__()
        self.engine = engine
        self.checked = 0

    def send(self, *, to: str, body: str, status_callback: str | None) -> SendResult:
        if self.engine.dialect.name == "postgresql":
            with self.engine.connect() as conn:
                open_transactions = conn.execute(
                    sa.text(
                        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                        "AND state LIKE 'idle in transaction%' AND pid <> pg_backend_pid()"
                    )
                ).scalar()
                assert open_transactions == 0
        if self.engine.dialect.name == "sqlite":  # a writer elsewhere would make this wait, then fail
            probe = sqlite3.connect(str(self.engine.url.database), timeout=0.1, isolation_level=None)
            try:
                probe.execute("BEGIN IMMEDIATE")
                probe.execute("ROLLBACK")
            finally:
                probe.close()
        self.checked += 1
        return super().send(to=to, body=body, status_callback=status_callback)


def test_sends_never_happen_inside_a_transaction(session: Session, db: sa.Engine, clock: Clock) -> None:
    queue(session, clock.now, n=3)
    sender = TransactionCheckingSender(db)
    settings = make_sms_settings(sms_send_concurrency=1)  # parallel sends record their outcomes meanwhile
    dispatcher = Dispatcher(engine=db, sender=sender, settings=settings, public_url=None, clock=utcnow)
    assert dispatcher.dispatch_due(now=clock.now).sent == 3
    assert sender.checked == 3


def test_two_dispatchers_never_send_the_same_row(session: Session, database_url: str, clock: Clock) -> None:
    ids = queue(session, clock.now, n=120)
    from carecenter.db import make_engine

    sender = FakeSender()
    engines = [make_engine(database_url), make_engine(database_url)]
    dispatchers = [
        Dispatcher(engine=e, sender=sender, settings=make_sms_settings(), public_url=None, clock=utcnow)
        for e in engines
    ]
    errors: list[BaseException] = []

    def run(d: Dispatcher) -> None:
        try:
            d.dispatch_due(now=clock.now, batch=5)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(d,)) for d in dispatchers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    for engine in engines:
        engine.dispose()
    assert not errors
    bodies = [m.body for m in sender.sent]
    assert len(bodies) == len(set(bodies)) == len(ids)
    assert {status_of(session, i).status for i in ids} == {MessageStatus.sent}


def test_a_commit_that_queues_messages_wakes_the_dispatcher(db: sa.Engine, session: Session) -> None:
    sender = FakeSender()
    slow_sweep = make_sms_settings(sms_sweep_seconds=60)
    dispatcher = Dispatcher(engine=db, sender=sender, settings=slow_sweep, public_url=None, clock=utcnow)
    dispatcher.start()
    try:
        time_module.sleep(0.2)  # let the first (empty) sweep pass
        queue(session, utcnow())
        deadline = time_module.monotonic() + 5
        while not sender.sent and time_module.monotonic() < deadline:
            time_module.sleep(0.02)
        assert len(sender.sent) == 1  # long before the 60 s sweep
    finally:
        dispatcher.stop()


class CallbackFirstSender(FakeSender):
    """The provider's delivery report reaches the webhook before its answer reaches the dispatcher."""

    def __init__(self, db: sa.Engine, *, webhook_knew_sid: bool) -> None:
        super().__init__()
        self.db, self.webhook_knew_sid = db, webhook_knew_sid

    def send(self, *, to: str, body: str, status_callback: str | None) -> SendResult:
        result = super().send(to=to, body=body, status_callback=status_callback)
        sid = result.provider_sid if self.webhook_knew_sid else None
        with Session(self.db) as other:  # as the webhook's own transaction writes it
            other.execute(
                sa.update(SmsMessage).values(status=MessageStatus.delivered, provider_sid=sid, body="as delivered")
            )
            other.commit()
        return result


@pytest.mark.parametrize("webhook_knew_sid", [True, False])
def test_a_delivery_report_that_came_first_is_not_undone_and_the_row_keeps_the_sid(
    session: Session, db: sa.Engine, clock: Clock, webhook_knew_sid: bool
) -> None:
    sender = CallbackFirstSender(db, webhook_knew_sid=webhook_knew_sid)
    dispatcher = Dispatcher(
        engine=db, sender=sender, settings=make_sms_settings(), public_url=None, clock=lambda: clock.now
    )
    [message_id] = queue(session, clock.now)
    assert dispatcher.dispatch_due(now=clock.now).sent == 1
    message = status_of(session, message_id)
    assert (message.status, message.provider_sid, message.body) == (
        MessageStatus.delivered,  # not back to "sent"
        "FAKE00000001",
        "as delivered",  # the rest of what the dispatcher writes is for a row still sending
    )
    assert message.sent_at == (None if webhook_knew_sid else clock.now)  # written with the SID, if it had none


@pytest.mark.parametrize("verdict", [Verdict.give_up, Verdict.unreachable])
def test_give_up_verdicts_do_not_retry(
    session: Session, dispatcher: Dispatcher, sender: FakeSender, clock: Clock, verdict: Verdict
) -> None:
    [message_id] = queue(session, clock.now)
    sender.fail_next(SendError(verdict, "no", code=21610))
    dispatcher.dispatch_due(now=clock.now)
    assert status_of(session, message_id).status == MessageStatus.failed
    dispatcher.dispatch_due(now=clock.advance(hours=1))
    assert status_of(session, message_id).attempts == 1


class RecordingEvents(NoEvents):
    def __init__(self) -> None:
        self.not_reached: list[tuple[int | None, str]] = []

    def message_not_reached(self, *, session: Session, message: SmsMessage, now: Any) -> None:
        self.not_reached.append((message.id, message.status))


def test_the_caller_is_told_when_a_message_will_not_arrive(
    client: TestClient, session: Session, db: sa.Engine, clock: Clock, app: Any
) -> None:
    """Permanent failures and undelivered callbacks reach SmsEvents, so escalation can try the next contact."""
    from tests.notifications.test_webhooks import post_signed

    events = RecordingEvents()
    sender = FakeSender()
    local = Dispatcher(
        engine=db, sender=sender, settings=make_sms_settings(), public_url=None, events=events, clock=utcnow
    )
    failing, undelivered = queue(session, clock.now, n=2)
    sender.fail_next(SendError(Verdict.give_up, "blocked", code=30004))
    local.dispatch_due(now=clock.now)
    assert events.not_reached == [(failing, "failed")]

    app_context(app).sms.events, original = events, app_context(app).sms.events
    try:
        sid = status_of(session, undelivered).provider_sid or ""
        post_signed(
            client, f"/webhooks/twilio/status?m={undelivered}", {"MessageSid": sid, "MessageStatus": "undelivered"}
        )
    finally:
        app_context(app).sms.events = original
    assert events.not_reached == [(failing, "failed"), (undelivered, "undelivered")]


class TimedSender(FakeSender):
    """Records when each send started; takes `seconds` per send like a real provider call."""

    def __init__(self, seconds: float = 0.0) -> None:
        super().__init__()
        self.seconds = seconds
        self.started: list[float] = []

    def send(self, *, to: str, body: str, status_callback: str | None) -> SendResult:
        self.started.append(time_module.monotonic())
        time_module.sleep(self.seconds)
        return super().send(to=to, body=body, status_callback=status_callback)


def test_several_messages_are_with_the_provider_at_once(session: Session, db: sa.Engine, clock: Clock) -> None:
    queue(session, clock.now, n=16)
    sender = TimedSender(seconds=0.1)
    settings = make_sms_settings(sms_send_concurrency=8)
    dispatcher = Dispatcher(engine=db, sender=sender, settings=settings, public_url=None, clock=utcnow)
    started = time_module.monotonic()
    try:
        assert dispatcher.dispatch_due(now=clock.now).sent == 16
    finally:
        dispatcher.stop()
    assert time_module.monotonic() - started < 0.8  # one after another would take 1.6 s


def test_the_rate_limit_holds_across_dispatchers(session: Session, database_url: str, clock: Clock) -> None:
    """Two processes' dispatchers share the sender's slots: never more than the limit in any second."""
    from carecenter.db import make_engine

    ids = queue(session, clock.now, n=40)
    sender = TimedSender()
    settings = make_sms_settings(sms_rate_per_second=20, sms_send_concurrency=4)
    engines = [make_engine(database_url), make_engine(database_url)]
    dispatchers = [
        Dispatcher(engine=e, sender=sender, settings=settings, public_url=None, clock=utcnow) for e in engines
    ]
    threads = [threading.Thread(target=d.dispatch_due, kwargs={"batch": 10}) for d in dispatchers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    for d, e in zip(dispatchers, engines, strict=True):
        d.stop()
        e.dispose()
    assert {status_of(session, i).status for i in ids} == {"sent"}
    assert len(sender.sent) == len({m.body for m in sender.sent}) == 40  # each exactly once
    times = sorted(sender.started)
    busiest = max(sum(1 for t in times if start <= t < start + 1) for start in times)
    assert busiest <= 20  # the limit: slots for 85 % of it, and a send over 0.1 s late for its slot takes a new one
    assert times[-1] - times[0] >= 39 / 20 * 0.9


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="thread names through /proc are Linux's")
def test_the_dispatchers_threads_carry_their_names_outside_python(session: Session, db: sa.Engine) -> None:
    """`top -H` and the benchmark tell the sending threads from the rest of the process by name."""
    queue(session, utcnow(), n=2)  # two due at once: they go through the pool of senders
    sender = FakeSender()
    dispatcher = Dispatcher(engine=db, sender=sender, settings=make_sms_settings(), public_url=None, clock=utcnow)
    dispatcher.start()
    try:
        deadline = time_module.monotonic() + 10
        while len(sender.sent) < 2 and time_module.monotonic() < deadline:
            time_module.sleep(0.01)
        names = {task.joinpath("comm").read_text().strip() for task in Path("/proc/self/task").iterdir()}
    finally:
        dispatcher.stop()
    assert len(sender.sent) == 2
    assert "sms-dispatcher" in names
    assert any(name.startswith("sms-send_") for name in names)
