"""The scheduler: leader election on PostgreSQL, and the sweeps really running in the app."""

import logging
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from carecenter.alerts.models import Alert
from carecenter.context import app_context
from carecenter.db import make_engine
from carecenter.messaging.outbound import AlertMessaging
from carecommon.clock import utcnow
from notifications.dispatcher import Dispatcher
from notifications.models import SmsMessage
from schedules.jobs import JOBS, all_sweeps, run_sweep
from schedules.leader import LeaderLock
from schedules.scheduler import SweepScheduler
from schedules.settings import ScheduleSettings
from tests.carecenter.alerts.scenario import build
from tests.conftest import Clock, Demo, make_app, make_settings, make_sms_settings
from tests.fakes import FakeSender


def test_only_one_process_leads_and_a_standby_takes_over(database_url: str) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("on SQLite the single process always leads")
    first_engine, second_engine = make_engine(database_url), make_engine(database_url)
    first, second = LeaderLock(first_engine), LeaderLock(second_engine)
    try:
        assert first.check() is True
        assert second.check() is False and not second.is_leader
        assert first.check() is True  # keeps the lead
        assert first._connection is not None
        first._connection.invalidate()  # the leader's process dies: PostgreSQL sees its connection close
        first._connection = None
        assert second.check() is True
    finally:
        first.release()
        second.release()
        first_engine.dispose()
        second_engine.dispose()


def test_sqlite_always_leads(tmp_sqlite_url: str) -> None:
    engine = make_engine(tmp_sqlite_url)
    assert LeaderLock(engine).check() is True
    engine.dispose()


def test_the_running_app_escalates_by_itself(session: Session, database_url: str, db: sa.Engine) -> None:
    """With the scheduler beside the app, a due alert is escalated within a sweep or two."""
    now = utcnow()
    s = build(session, now - timedelta(minutes=10))
    schedule = ScheduleSettings(escalation_sweep_seconds=1, leader_check_seconds=1)

    def scheduler(app):
        return SweepScheduler(
            engine=app_context(app).engine,
            messaging=app_context(app).alert_messaging,
            rules=app_context(app).visit_rules,
            settings=schedule,
            clock=utcnow,
        )

    app = make_app(make_settings(database_url), services=[scheduler])
    with TestClient(app) as client:
        alert_id = s.post(client, now).json()["alert_id"]
        with Session(db) as own:  # make its second step due right now
            alert = own.get(Alert, alert_id)
            assert alert is not None
            alert.next_escalation_at = datetime.now(UTC)
            own.add(alert)
            own.commit()
        deadline = time.monotonic() + 10
        stages: set[str] = set()
        while time.monotonic() < deadline and "s2" not in stages:
            time.sleep(0.2)
            keys = session.exec(select(SmsMessage.dedupe_key).where(SmsMessage.alert_id == alert_id)).all()
            stages = {key.split(":")[2] for key in keys}
    assert "s2" in stages


def test_an_unreachable_database_is_one_line_a_pass_not_a_traceback(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The person on call sees that the database is away and why, every pass, without a page of
    traceback each time (a bug still gets its traceback)."""
    engine = make_engine(f"sqlite:///{tmp_path / 'no-such-folder' / 'carecenter.db'}")
    settings = make_settings(str(engine.url))
    messaging = AlertMessaging(sms=settings.sms, public_url="http://127.0.0.1", link_secret=b"k" * 32)
    fast = make_sms_settings(sms_sweep_seconds=0.05)
    dispatcher = Dispatcher(engine=engine, sender=FakeSender(), settings=fast, public_url=None, clock=utcnow)
    scheduler = SweepScheduler(
        engine=engine, messaging=messaging, rules=settings.visit_rules(), settings=ScheduleSettings(), clock=utcnow
    )
    with caplog.at_level(logging.WARNING):
        dispatcher.start()
        time.sleep(0.3)
        dispatcher.stop()
        scheduler._run("escalate-alerts")  # what APScheduler calls
    engine.dispose()
    lines = [r for r in caplog.records if "database unreachable" in r.getMessage()]
    assert {r.name for r in lines} == {"notifications.dispatcher", "schedules.scheduler"}
    assert all(r.exc_info is None and "unable to open database file" in r.getMessage() for r in lines)
    assert not [r for r in caplog.records if r.exc_info], "no tracebacks for an outage"


def test_every_job_is_declared_once_and_scheduled(app: FastAPI) -> None:
    ids = [job.id for job in JOBS]
    assert len(ids) == len(set(ids))
    scheduler = SweepScheduler(
        engine=app_context(app).engine,
        messaging=app_context(app).alert_messaging,
        rules=app_context(app).visit_rules,
        settings=ScheduleSettings(escalation_sweep_seconds=7),
        clock=utcnow,
    )
    scheduled = {job.id: job for job in scheduler.scheduler.get_jobs()}
    assert set(ids) <= set(scheduled)
    assert scheduled["escalate-alerts"].trigger.interval.total_seconds() == 7  # the schedule comes from settings


def test_every_job_runs_on_an_empty_database_and_finds_nothing_to_do(app: FastAPI, clock: Clock) -> None:
    sweeps = all_sweeps(app_context(app).alert_messaging, app_context(app).visit_rules)
    assert set(sweeps) == {job.id for job in JOBS}
    for job_id, sweep in sweeps.items():
        assert run_sweep(job_id, sweep, engine=app_context(app).engine, now=clock.now) == 0, job_id


def test_every_job_runs_once_on_a_seeded_database(app: FastAPI, clock: Clock, demo: Demo) -> None:
    sweeps = all_sweeps(app_context(app).alert_messaging, app_context(app).visit_rules)
    demo()
    later = clock.now + timedelta(hours=2)
    done = {
        job_id: run_sweep(job_id, sweep, engine=app_context(app).engine, now=later) for job_id, sweep in sweeps.items()
    }
    assert done["detect-silent-devices"] > 0 or done["late-and-missed-visits"] > 0, done  # the seeded day has work
