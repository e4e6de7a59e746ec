"""Single check-ins share transactions: one commit for many, answers only after it, faults kept apart."""

import asyncio
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlmodel import Session, col, func, select

from carecenter.access import Role
from carecenter.alerts.models import Alert, EscalationPolicy
from carecenter.context import app_context
from carecenter.errors import NotAuthenticated
from carecenter.ingest import batcher as batcher_module
from carecenter.ingest import service as readings_service
from carecenter.ingest.batcher import CheckinBatcher, _Pending
from carecenter.readings.models import Reading
from carecenter.settings.devices import DeviceSettings
from notifications.dispatcher import WriteTurns
from notifications.models import ResponseLink, SmsMessage
from tests.conftest import Clock, make_app, make_settings
from tests.factories import make_center, make_contact, make_device, make_resident, make_staff


def watches(session: Session, n: int) -> list[tuple[Any, str]]:
    center = make_center(session)
    return [make_device(session, center=center, resident=make_resident(session, center=center)) for _ in range(n)]


def reading(event_id: str, clock: Clock, kind: str = "heartbeat") -> dict[str, Any]:
    return {"event_id": event_id, "kind": kind, "recorded_at": clock.now.isoformat()}


def run_queued(batcher: CheckinBatcher, pending: list[_Pending]) -> None:
    """Queue everything before the writer starts, so that it finds them together."""
    for p in pending:
        batcher._queue.put(p)
    batcher._ensure_running()
    for p in pending:
        waited(p).exception(timeout=30)
    batcher.stop()


def waited(pending: _Pending) -> Future[Any]:
    """The answer a thread waits on (a `_Pending` made here has a concurrent future)."""
    assert isinstance(pending.answer, Future)
    return pending.answer


def test_readings_queued_together_are_committed_together(
    app: FastAPI, session: Session, db: sa.Engine, clock: Clock
) -> None:
    devices = watches(session, 20)
    commits: list[Any] = []

    def count(conn: Any) -> None:
        commits.append(conn)

    batcher = CheckinBatcher(app_context(app).engine, app_context(app).alert_messaging)
    sa.event.listen(app_context(app).engine, "commit", count)
    pending = [_Pending(key, None, [reading(f"e{n}", clock)], clock.now) for n, (_, key) in enumerate(devices)]
    pending.append(_Pending("dk_not_a_key", None, [reading("stranger", clock)], clock.now))
    try:
        for p in pending:
            batcher._queue.put(p)
        batcher._ensure_running()
        for p in pending:
            waited(p).exception(timeout=30)
    finally:
        sa.event.remove(app_context(app).engine, "commit", count)  # before the stop's own chore commits
        batcher.stop()
    answers = [p.answer.result()[0] for p in pending[:-1]]
    assert {a.result for a in answers} == {"accepted"}
    assert isinstance(pending[-1].answer.exception(), NotAuthenticated)  # one bad key costs only itself
    assert len(commits) == 1
    assert session.exec(select(func.count()).select_from(Reading)).one() == 20


def test_a_failing_reading_does_not_fail_its_neighbours(
    app: FastAPI, session: Session, db: sa.Engine, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    devices = watches(session, 5)
    real_ingest = readings_service.ingest

    def ingest(**kwargs: Any) -> Any:
        if any(raw.get("event_id") == "poison" for _, raw in kwargs["posts"]):
            raise RuntimeError("a bug triggered by one reading")
        return real_ingest(**kwargs)

    monkeypatch.setattr(batcher_module, "ingest", ingest)
    batcher = CheckinBatcher(app_context(app).engine, app_context(app).alert_messaging)
    pending = [_Pending(key, None, [reading(f"ok{n}", clock)], clock.now) for n, (_, key) in enumerate(devices)]
    pending.insert(2, _Pending(devices[0][1], None, [reading("poison", clock)], clock.now))
    run_queued(batcher, pending)
    assert isinstance(pending[2].answer.exception(), RuntimeError)
    assert [p.answer.result()[0].result for n, p in enumerate(pending) if n != 2] == ["accepted"] * 5
    assert session.exec(select(func.count()).select_from(Reading)).one() == 5


def test_many_devices_posting_at_once_all_get_stored(client: TestClient, session: Session, clock: Clock) -> None:
    devices = watches(session, 24)
    barrier = threading.Barrier(24)

    def post(n: int) -> int:
        _, key = devices[n]
        barrier.wait()
        kind = "sos" if n == 0 else "heartbeat"
        response = client.post("/api/v1/checkins", json=reading(f"p{n}", clock, kind), headers={"X-Device-Key": key})
        return int(response.status_code)

    with ThreadPoolExecutor(24) as pool:
        codes = list(pool.map(post, range(24)))
    assert codes == [201] * 24
    assert session.exec(select(func.count()).select_from(Reading)).one() == 24
    assert session.exec(select(Alert.kind)).all() == ["sos"]


def test_on_sqlite_the_writer_lets_a_waiting_dispatcher_write_go_first(
    client: TestClient, app: FastAPI, session: Session, clock: Clock, database_url: str
) -> None:
    """SQLite hands its one write lock to whoever polls first; in a burst of SOS the check-in
    writer would keep the dispatcher (and the burst's first SMS) waiting until the burst is stored."""
    turns = app_context(app).sms.dispatcher.turns
    if not database_url.startswith("sqlite"):
        assert app_context(app).checkins.give_way is None  # PostgreSQL: row locks, writers do not queue
        return
    [(_, key)] = watches(session, 1)
    answers: list[int] = []
    with turns.writing():  # as the dispatcher does while it claims or records
        poster = threading.Thread(
            target=lambda: answers.append(
                client.post(
                    "/api/v1/checkins", json=reading("w-1", clock, "sos"), headers={"X-Device-Key": key}
                ).status_code
            )
        )
        poster.start()
        poster.join(0.5)
        assert answers == [], "the writer waits while a dispatcher write is pending"
    poster.join(10)
    assert answers == [201]


def test_giving_way_is_bounded() -> None:
    turns = WriteTurns()
    with turns.writing():
        started = time.monotonic()
        turns.give_way(timeout=0.2)
        assert 0.15 < time.monotonic() - started < 2, "a stuck dispatcher cannot stop check-ins"
    started = time.monotonic()
    turns.give_way(timeout=5)
    assert time.monotonic() - started < 0.1, "nothing pending: no wait"


def test_a_deadlock_the_database_breaks_costs_a_retry_not_the_readings(
    app: FastAPI, session: Session, db: sa.Engine, clock: Clock, database_url: str
) -> None:
    """PostgreSQL aborts one of two transactions that wait on each other; when that is the
    writer's, its group is stored on the next try instead of failing every watch in it."""
    if database_url.startswith("sqlite"):
        pytest.skip("SQLite has one writer at a time: no deadlocks")
    (first, first_key), (second, second_key) = watches(session, 2)
    low, high = sorted([first.resident_id, second.resident_id])
    # PostgreSQL aborts the transaction that looks for the deadlock, and each waiter looks once,
    # deadlock_timeout after it began to wait. The writer's connections look after 5 s (the test
    # closes the circle well within that, even on a loaded machine), the test's own after 60.
    database = db.url.database
    with db.connect() as admin:
        admin.execute(sa.text(f"ALTER DATABASE \"{database}\" SET deadlock_timeout = '5s'"))
        admin.commit()
    app_context(app).engine.dispose()  # the writer's next connection takes the setting
    batcher = CheckinBatcher(app_context(app).engine, app_context(app).alert_messaging)
    other = db.connect()
    other.execute(sa.text("SET deadlock_timeout = '60s'"))
    other.commit()
    # Whatever happens below, the lock is let go: a test that fails holding it would leave the
    # writer, and the next test's cleanup, waiting for ever.
    try:
        other_tx = other.begin()
        lock = "SELECT id FROM resident WHERE id = :id FOR UPDATE"
        other.execute(sa.text(lock), {"id": high})  # the writer will lock `low`, then wait for `high`
        pending = [
            _Pending(key, None, [reading(f"d{n}", clock)], clock.now) for n, key in enumerate([first_key, second_key])
        ]
        for p in pending:
            batcher._queue.put(p)
        batcher._ensure_running()
        # A backend of this database waiting for a lock: the writer (other workers' databases run too).
        waiting = (
            "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
            " AND datname = current_database() AND pid <> pg_backend_pid()"
        )
        deadline = time.monotonic() + 30
        with db.connect() as watcher:
            # pg_stat_activity is read once per transaction (a snapshot): each look is its own
            # transaction, or a first look taken before the writer waited would be seen for ever.
            while watcher.execute(sa.text(waiting)).scalar_one() == 0:
                watcher.rollback()
                assert time.monotonic() < deadline, "the writer never waited for the resident"
                time.sleep(0.05)
        # The circle closes; the writer looks first (5 s after it began to wait) and is aborted.
        other.execute(sa.text(lock), {"id": low})
        other_tx.commit()
    finally:
        other.close()  # rolls back whatever is still open
    try:
        answers = [waited(p).result(timeout=30)[0] for p in pending]
    finally:
        batcher.stop()
        with db.connect() as admin:
            admin.execute(sa.text(f'ALTER DATABASE "{database}" RESET deadlock_timeout'))
            admin.commit()
    assert [a.result for a in answers] == ["accepted", "accepted"]
    assert session.exec(select(func.count()).select_from(Reading)).one() == 2


def test_a_caller_that_gives_up_does_not_stop_the_others_and_its_reading_stays(
    app: FastAPI, session: Session, db: sa.Engine, clock: Clock
) -> None:
    """An HTTP client or a watch that goes away while its reading is being stored: the reading is
    committed all the same (the device sends it again and hears `duplicate`), the others are answered."""
    (_, first_key), (_, second_key) = watches(session, 2)
    batcher = CheckinBatcher(app_context(app).engine, app_context(app).alert_messaging)

    async def post_both() -> list[Any]:
        leaving = asyncio.create_task(batcher.store(raw=[reading("gone", clock)], now=clock.now, key=first_key))
        staying = asyncio.create_task(batcher.store(raw=[reading("here", clock)], now=clock.now, key=second_key))
        await asyncio.sleep(0)
        leaving.cancel()
        return [await staying, await asyncio.gather(leaving, return_exceptions=True)]

    try:
        staying, (leaving,) = asyncio.run(post_both())
    finally:
        batcher.stop()
    assert [a.result for a in staying] == ["accepted"]
    assert isinstance(leaving, asyncio.CancelledError)
    assert sorted(session.exec(select(Reading.event_id)).all()) == ["gone", "here"]


def test_on_sqlite_a_chore_also_lets_a_waiting_dispatcher_write_go_first(app: FastAPI, database_url: str) -> None:
    """The watch listener's bookkeeping runs in the writer: it is a write, and waits its turn too."""
    if not database_url.startswith("sqlite"):
        pytest.skip("PostgreSQL: row locks, writers do not queue")
    turns = app_context(app).sms.dispatcher.turns
    ran: list[float] = []
    with turns.writing():
        done = app_context(app).checkins.run_between(lambda _session: ran.append(time.monotonic()))
        time.sleep(0.2)  # give_way waits up to 0.5 s
        assert ran == [], "the chore waits while a dispatcher write is pending"
    done.result(timeout=10)
    assert len(ran) == 1


def test_the_writer_outlives_a_caller_who_gave_up_and_an_error_of_its_own(
    app: FastAPI, session: Session, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A chore whose caller cancelled it, then a group whose store fails unexpectedly: neither ends
    the writer thread, so the SOS queued behind them is still stored and answered (a writer that
    died left every later check-in, and the HTTP request behind it, waiting for ever)."""
    (_, key), (_, sos_key) = watches(session, 2)
    batcher = CheckinBatcher(app_context(app).engine, app_context(app).alert_messaging)
    given_up = batcher_module._Chore(lambda _session: None)
    given_up.done.cancel()
    failing = _Pending(key, None, [reading("boom", clock)], clock.now)
    real_store = batcher._store
    calls: list[int] = []

    def store_failing_once(batch: list[_Pending]) -> None:
        calls.append(len(batch))
        if len(calls) == 1:
            raise RuntimeError("a bug in the writer")
        real_store(batch)

    monkeypatch.setattr(batcher, "_store", store_failing_once)
    try:
        batcher._queue.put(given_up)
        batcher._queue.put(failing)
        batcher._ensure_running()
        assert isinstance(waited(failing).exception(timeout=10), RuntimeError)  # its caller hears of it
        sos = batcher.enqueue(raw=[reading("sos-after", clock, kind="sos")], now=clock.now, key=sos_key)
        assert [a.result for a in sos.result(timeout=10)] == ["accepted"]
    finally:
        batcher.stop()


def test_a_stop_left_in_the_queue_does_not_stop_the_next_writer(app: FastAPI, session: Session, clock: Clock) -> None:
    """A stop meant for an earlier writer (stopped while it was gone) is not taken by the next one."""
    ((_, key),) = watches(session, 1)
    batcher = CheckinBatcher(app_context(app).engine, app_context(app).alert_messaging)
    dead = threading.Thread(target=lambda: None)
    dead.start()
    dead.join()
    batcher._thread = dead  # a writer that is gone
    batcher.stop()
    batcher._queue.put(None)  # and a stale stop, however it got there
    try:
        answer = batcher.enqueue(raw=[reading("after-stale-stop", clock)], now=clock.now, key=key)
        assert [a.result for a in answer.result(timeout=10)] == ["accepted"]
    finally:
        batcher.stop()
    assert batcher._thread is None


def test_a_watch_frame_waits_for_others_and_an_sos_ends_the_wait(app: FastAPI, session: Session, clock: Clock) -> None:
    """A listener's frame (a device already identified) waits `gather_seconds` for company, so that
    a few hundred frames a second are not a transaction each; an SOS arriving meanwhile is stored at
    once with whatever waits; a reading posted by key (an HTTP client) never waits."""
    (first, _), (second, _), (_, key) = watches(session, 3)
    engine = app_context(app).engine
    commits: list[Any] = []

    def count(conn: Any) -> None:
        commits.append(conn)

    batcher = CheckinBatcher(engine, app_context(app).alert_messaging, gather_seconds=0.4)
    sa.event.listen(engine, "commit", count)
    try:
        started = time.monotonic()
        early = batcher.enqueue(raw=[reading("w1", clock)], now=clock.now, device_id=first.id)
        time.sleep(0.05)
        late = batcher.enqueue(raw=[reading("w2", clock)], now=clock.now, device_id=second.id)
        assert [a.result for a in early.result(timeout=10) + late.result(timeout=10)] == ["accepted"] * 2
        assert time.monotonic() - started >= 0.35  # it waited out the window
        assert len(commits) == 1  # and the frame that came meanwhile shared its transaction

        batcher.gather_seconds = 60.0
        commits.clear()
        started = time.monotonic()
        slow = batcher.enqueue(raw=[reading("w3", clock)], now=clock.now, device_id=first.id)
        time.sleep(0.05)
        sos = batcher.enqueue(raw=[reading("sos", clock, kind="sos")], now=clock.now, device_id=second.id)
        assert [a.result for a in slow.result(timeout=10) + sos.result(timeout=10)] == ["accepted"] * 2
        assert time.monotonic() - started < 10  # not the minute
        assert len(commits) == 1

        started = time.monotonic()
        posted = batcher.enqueue(raw=[reading("http", clock)], now=clock.now, key=key)
        assert [a.result for a in posted.result(timeout=10)] == ["accepted"]
        assert time.monotonic() - started < 10
    finally:
        sa.event.remove(engine, "commit", count)
        batcher.stop()
    assert session.exec(select(Alert.resident_id)).all() == [second.resident_id]
    assert session.exec(select(func.count()).select_from(Reading)).one() == 5


def test_the_gather_window_is_the_setting_and_the_default_is_short(database_url: str) -> None:
    """CARECENTER_DEVICE_GATHER_MS reaches the process's check-in writer; unset, a frame waits 60 ms."""
    assert DeviceSettings().device_gather_ms == 60
    app = make_app(make_settings(database_url, devices=DeviceSettings(device_gather_ms=40)))
    try:
        assert app_context(app).checkins.gather_seconds == pytest.approx(0.04)
    finally:
        app_context(app).engine.dispose()


def test_a_burst_of_sos_reads_its_residents_once(app: FastAPI, session: Session, clock: Clock) -> None:
    """Five residents press SOS at once (a power cut, a quake): their five alerts open in one group,
    and the rows the alerts need of the residents, their care workers and their center are read in
    one query each, not one per alert."""
    center = make_center(session)
    make_staff(session, center=center, role=Role.manager)  # on duty, with no shift planned
    keys = []
    for _ in range(5):
        worker = make_staff(session, center=center)
        resident = make_resident(session, center=center, primary_worker_id=worker.id)
        keys.append(make_device(session, center=center, resident=resident)[1])
    engine = app_context(app).engine
    reads: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if statement.lstrip().startswith(("SELECT resident.name", "SELECT staff.name", "SELECT center.name")):
            where = statement.split("WHERE")[-1]
            if where.lstrip().startswith(("resident.id", "staff.id", "center.id")):  # by id: rows built as objects
                reads.append(statement.split(",")[0])

    batcher = CheckinBatcher(engine, app_context(app).alert_messaging)
    pending = [_Pending(key, None, [reading(f"sos{n}", clock, "sos")], clock.now) for n, key in enumerate(keys)]
    sa.event.listen(engine, "before_cursor_execute", count)
    try:
        run_queued(batcher, pending)
    finally:
        sa.event.remove(engine, "before_cursor_execute", count)
    assert [p.answer.result()[0].result for p in pending] == ["accepted"] * 5
    assert len(session.exec(select(Alert.resident_id)).all()) == 5
    paged = session.exec(select(SmsMessage.recipient_ref).where(col(SmsMessage.recipient_ref).like("staff:%")))
    assert len(set(paged.all())) == 6  # each care worker, and the manager on duty
    assert sorted(reads) == ["SELECT center.name", "SELECT resident.name", "SELECT staff.name"]


def test_a_burst_of_sos_opens_its_alerts_together(app: FastAPI, session: Session, clock: Clock) -> None:
    """Five residents press SOS in one group: each alert opens with its own messages and links, each
    SOS is answered with its own alert, and the family, the opt-outs, the links and the outbox rows
    are one statement each for all five, not one per alert. A sixth press by a resident already in
    the group folds into that resident's alert; a fall cancelled by the OK button later in the same
    group is cancelled."""
    center = make_center(session)
    first_step = {"after_minutes": 0, "recipients": ["care_worker", "all_family", "on_duty"]}
    policy = {"steps": [first_step], "fall_cancel_seconds": 60}
    session.add(EscalationPolicy(center_id=center.id or 0, policy=policy, updated_at=clock.now))
    session.commit()
    make_staff(session, center=center, role=Role.manager)  # on duty, with no shift planned
    keys, families = [], []
    for n in range(6):
        worker = make_staff(session, center=center)
        resident = make_resident(session, center=center, primary_worker_id=worker.id)
        by_wechat = {"wechat_openid": f"o-family-{n}", "wechat_alerts": True}
        families.append(
            [
                make_contact(session, resident=resident, priority=1),
                make_contact(session, resident=resident, priority=2, **by_wechat),
            ]
        )
        keys.append(make_device(session, center=center, resident=resident)[1])
    writes: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        words = statement.split()
        if words[:2] == ["INSERT", "INTO"] or words[:1] == ["SELECT"]:
            writes.append(" ".join(words[:3]) if words[0] == "INSERT" else statement.split("FROM")[1].split()[0])

    engine = app_context(app).engine
    batcher = CheckinBatcher(engine, app_context(app).alert_messaging)
    pending = [_Pending(key, None, [reading(f"sos{n}", clock, "sos")], clock.now) for n, key in enumerate(keys[:5])]
    pending.append(_Pending(keys[0], None, [reading("sos-again", clock, "sos")], clock.now))
    pending.append(_Pending(keys[5], None, [reading("fall", clock, "fall")], clock.now))
    pending.append(_Pending(keys[5], None, [reading("ok", clock, "ok_button")], clock.now))
    sa.event.listen(engine, "before_cursor_execute", count)
    try:
        run_queued(batcher, pending)
    finally:
        sa.event.remove(engine, "before_cursor_execute", count)
    answers = [p.answer.result()[0] for p in pending]
    assert [a.result for a in answers] == ["accepted"] * 8
    alerts = {a.id: a for a in session.exec(select(Alert).order_by(col(Alert.id)))}
    by_resident = {alert.resident_id: alert for alert in alerts.values()}
    assert len(alerts) == 6 and all(a.alert_id in alerts for a in answers[:7])
    assert answers[5].alert_id == answers[0].alert_id and alerts[answers[0].alert_id].trigger_count == 2
    assert len({a.alert_id for a in answers[:5]}) == 5
    for n, family in enumerate(families[:5]):
        alert = alerts[answers[n].alert_id]
        assert alert.resident_id == family[0].resident_id and alert.kind == "sos"
        texted = session.exec(select(SmsMessage).where(SmsMessage.alert_id == alert.id)).all()
        assert {m.to_phone for m in texted} >= {c.phone for c in family}
        assert all(f"{alert.id}" in m.body and "/r/" in m.body for m in texted if m.channel == "sms")
        [wechat] = [m for m in texted if m.channel == "wechat"]
        [waits] = [m for m in texted if m.channel == "sms" and m.to_phone == family[1].phone]
        assert wechat.to_openid == f"o-family-{n}" and waits.held_by == wechat.id  # the SMS waits on WeChat
    fall = by_resident[families[5][0].resident_id]
    assert fall.kind == "fall" and fall.status == "cancelled" and answers[6].alert_id == fall.id
    assert not session.exec(select(SmsMessage).where(SmsMessage.alert_id == fall.id)).all()  # never paged
    links = session.exec(select(ResponseLink)).all()
    assert len({(link.alert_id, link.phone) for link in links}) == len(links) >= 5 * 4
    assert writes.count("family_contact") == 1
    assert writes.count("sms_recipient") == 1  # the opt-outs
    assert writes.count("INSERT INTO response_link") == 1
    assert writes.count("INSERT INTO sms_message") == 2, writes  # WeChat first, the SMS that wait on it next
