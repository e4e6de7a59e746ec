from datetime import UTC, datetime, time
from typing import Any

import pytest
import sqlalchemy as sa
from sqlmodel import Session, func, select

from notifications.models import MessageStatus, Purpose, SmsMessage, SmsRecipient
from notifications.outbox import WAKE_KEY, QuietHours, compose_sms, enqueue_sms, write_messages
from notifications.settings import SmsSettings
from tests.conftest import make_sms_settings

SHANGHAI = "Asia/Shanghai"
PHONE = "+8613900001234"


def at(local: str) -> datetime:
    """A Shanghai wall-clock time on 2026-11-24 as a UTC instant."""
    from zoneinfo import ZoneInfo

    return datetime.fromisoformat(f"2026-11-24T{local}").replace(tzinfo=ZoneInfo(SHANGHAI)).astimezone(UTC)


@pytest.mark.parametrize(
    ("now", "released"),
    [
        ("21:59", None),
        ("22:00", "2026-11-25T07:00"),
        ("23:30", "2026-11-25T07:00"),
        ("03:00", "2026-11-24T07:00"),
        ("06:59", "2026-11-24T07:00"),
        ("07:00", None),
    ],
)
def test_quiet_hours_across_midnight(now: str, released: str | None) -> None:
    window = QuietHours(start=time(22), end=time(7), time_zone=SHANGHAI)
    result = window.release_at(at(now))
    expected = None if released is None else datetime.fromisoformat(released + "+08:00")
    assert result == expected


def test_quiet_hours_within_one_day() -> None:
    window = QuietHours(start=time(12), end=time(14), time_zone=SHANGHAI)
    assert window.release_at(at("13:00")) == at("14:00")
    assert window.release_at(at("14:00")) is None


def _enqueue(session: Session, settings: SmsSettings, now: datetime, **overrides: object) -> SmsMessage:
    values: dict[str, object] = {
        "session": session,
        "settings": settings,
        "to": PHONE,
        "body": "测试",
        "language": "zh-CN",
        "purpose": Purpose.reminder,
        "dedupe_key": "k1",
        "now": now,
    }
    return enqueue_sms(**(values | overrides))  # type: ignore[arg-type]


def test_the_same_dedupe_key_is_queued_once(session: Session) -> None:
    settings = make_sms_settings()
    first = _enqueue(session, settings, at("10:00"))
    again = _enqueue(session, settings, at("10:01"), body="different")
    session.commit()
    assert first.id == again.id
    assert session.exec(select(func.count()).select_from(SmsMessage)).one() == 1


def test_reminders_wait_for_quiet_hours_but_critical_alerts_do_not(session: Session) -> None:
    settings = make_sms_settings()
    quiet = QuietHours(start=time(22), end=time(7), time_zone=SHANGHAI)
    reminder = _enqueue(session, settings, at("23:00"), quiet_hours=quiet, dedupe_key="r")
    alert = _enqueue(
        session,
        settings,
        at("23:00"),
        quiet_hours=quiet,
        dedupe_key="a",
        critical=True,
        purpose=Purpose.alert,
        body="紧急",
    )
    assert (reminder.status, reminder.hold_reason) == (MessageStatus.queued, "quiet_hours")
    assert reminder.next_attempt_at == datetime.fromisoformat("2026-11-25T07:00+08:00")
    assert (alert.status, alert.hold_reason, alert.next_attempt_at) == (MessageStatus.queued, None, at("23:00"))


def test_over_budget_messages_fold_into_one_summary(session: Session) -> None:
    settings = make_sms_settings(sms_budget_per_hour=3)
    for n in range(3):
        assert _enqueue(session, settings, at("10:00"), dedupe_key=f"m{n}", body=f"第{n}条").status == "queued"
    folded = [_enqueue(session, settings, at("10:10"), dedupe_key=f"x{n}", body=f"多余{n}") for n in range(3)]
    assert {(m.status, m.hold_reason) for m in folded} == {(MessageStatus.suppressed, "budget")}
    summaries = session.exec(select(SmsMessage).where(SmsMessage.purpose == Purpose.summary)).all()
    assert len(summaries) == 1
    assert summaries[0].next_attempt_at == at("11:00")  # when the hour's budget frees up
    critical = _enqueue(session, settings, at("10:20"), dedupe_key="sos", critical=True, body="紧急")
    assert critical.status == MessageStatus.queued  # a critical alert is never dropped


def test_identical_text_goes_out_at_most_twice_a_day(session: Session) -> None:
    settings = make_sms_settings()
    statuses = [_enqueue(session, settings, at("09:00"), dedupe_key=f"d{n}").status for n in range(3)]
    assert statuses == [MessageStatus.queued, MessageStatus.queued, MessageStatus.suppressed]


def test_numbers_that_opted_out_are_suppressed_even_for_alerts(session: Session) -> None:
    session.add(SmsRecipient(phone=PHONE, opted_out_at=at("08:00")))
    message = _enqueue(session, make_sms_settings(), at("10:00"), critical=True)
    assert (message.status, message.hold_reason) == (MessageStatus.suppressed, "opted_out")


def test_messages_composed_together_are_written_in_one_statement(session: Session, db: Any) -> None:
    """An alert's stage queues its rows together: one INSERT, each row back with its id, a key
    someone else queued meanwhile answered with their row, a key twice in the call written once."""
    settings = make_sms_settings()
    now = at("10:00")
    theirs = _enqueue(session, settings, now, dedupe_key="alert:1:s1:contact:2", critical=True)
    session.commit()
    session.info.pop(WAKE_KEY, None)

    def composed(key: str, to: str) -> SmsMessage:
        return compose_sms(
            session=session,
            settings=settings,
            to=to,
            body="紧急",
            language="zh-CN",
            purpose=Purpose.alert,
            dedupe_key=key,
            now=now,
            critical=True,
        )

    first, again = composed("alert:1:s1:staff:1", PHONE), composed("alert:1:s1:staff:1", PHONE)
    clash = composed("alert:1:s1:contact:2", "+8613900009999")
    inserts: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if statement.lstrip().upper().startswith("INSERT INTO SMS_MESSAGE"):
            inserts.append(statement)

    sa.event.listen(db, "before_cursor_execute", count)
    try:
        written = write_messages(session, [first, clash, again])
    finally:
        sa.event.remove(db, "before_cursor_execute", count)
    assert len(inserts) == 1
    assert written[0] is first and first.id is not None
    assert written[1].id == theirs.id and written[1].to_phone == PHONE  # theirs stands, not the clash
    assert written[2] is first
    assert session.info.get(WAKE_KEY) is True
    session.commit()
    assert session.exec(select(func.count()).select_from(SmsMessage)).one() == 2


@pytest.mark.parametrize("rows", [1, 3])
def test_what_is_written_is_read_back_exactly(session: Session, rows: int) -> None:
    """Quotes, braces, backslashes, commas, NULL-like words, emoji and JSON params go into the
    outbox and come back as they were, alone or several to a statement (on PostgreSQL the rows
    travel as one array a column, where such characters are the array syntax's own)."""
    settings = make_sms_settings()
    now = at("10:00")
    body = '他说"NULL", {1,2} \\ 路\'口 😀 %(x)s ?'
    params = {"who": 'O"Brien {x}', "where": "a,b\\c", "none": "NULL", "empty": ""}
    common: dict[str, Any] = {"session": session, "settings": settings, "language": "zh-CN", "now": now}
    common |= {"purpose": Purpose.alert, "critical": True, "params": params}
    composed = [
        compose_sms(to=f"+86139000{n:05d}", body=f"{body}{n}", dedupe_key=f"exact:{n}", **common) for n in range(rows)
    ]
    written = write_messages(session, composed)
    session.commit()
    session.expire_all()
    for n, message in enumerate(written):
        stored = session.get(SmsMessage, message.id)
        assert stored is not None
        assert (stored.body, stored.params, stored.to_phone) == (f"{body}{n}", params, f"+86139000{n:05d}")
        assert (stored.held_by, stored.provider, stored.critical, stored.next_attempt_at) == (None, None, True, now)
