"""The platform reports its own failure: a stopped dispatcher, a hung sweep, a dead gateway, no
scheduler leader, a center whose devices all went quiet; each noticed in its window, told to the
admins once (and once more when it recovers), shown by /readyz and /metrics; the dead-man's switch
is pinged only while all is well."""

import threading
from collections.abc import Iterator
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlmodel import Session, col, select

from carecenter.access import Role
from carecenter.context import app_context
from carecenter.health import watch
from carecenter.health.watch import SelfWatch
from carecenter.settings.health import HealthSettings
from carecenter.staff.models import Staff
from carecommon.clock import get_now
from notifications.dispatcher import Dispatcher
from notifications.models import SmsMessage
from notifications.outbox import enqueue_sms
from tests.conftest import Clock, make_sms_settings
from tests.factories import make_center, make_device, make_resident, make_staff

SETTINGS = HealthSettings(self_check_seconds=15, beat_stale_seconds=60, critical_wait_seconds=60)


@pytest.fixture
def admin(session: Session) -> Staff:
    return make_staff(session, center=None, role=Role.admin, phone="+8613700009999")


@pytest.fixture
def self_watch(app: FastAPI, db: sa.Engine, clock: Clock) -> SelfWatch:
    return SelfWatch(
        engine=db,
        messaging=app_context(app).alert_messaging,
        settings=SETTINGS,
        role="web",
        clock=lambda: clock.now,
        name="web@test",
    )


def told(session: Session, kind: str) -> list[SmsMessage]:
    session.expire_all()
    return list(session.exec(select(SmsMessage).where(SmsMessage.kind == kind).order_by(col(SmsMessage.id))))


def queue_critical(session: Session, now: datetime) -> None:
    enqueue_sms(
        session=session,
        settings=make_sms_settings(),
        to="+8613900000001",
        body="SOS",
        language="zh-CN",
        purpose="alert",  # type: ignore[arg-type]
        dedupe_key=f"sos:{now.isoformat()}",
        now=now,
        critical=True,
    )
    session.commit()


def test_a_stopped_dispatcher_is_noticed_told_once_and_its_recovery_too(
    app: FastAPI, client: TestClient, session: Session, self_watch: SelfWatch, admin: Staff, clock: Clock
) -> None:
    queue_critical(session, clock.now)
    assert self_watch.check_once() == []  # waiting 0 s: nothing yet
    clock.advance(seconds=61)
    [problem] = self_watch.check_once()
    assert problem.key == "outbox:critical" and "61 s" in problem.words("en")
    [down] = told(session, "system.down")
    assert down.to_phone == admin.phone and down.critical and "61" in down.params["what"]  # in the admin's language
    self_watch.check_once()
    clock.advance(seconds=30)
    self_watch.check_once()
    assert len(told(session, "system.down")) == 1  # once, however often it is seen
    app.dependency_overrides[get_now] = lambda: clock.now
    ready = client.get("/readyz")
    assert ready.status_code == 503 and ready.json()["problems"] == ["outbox:critical"]
    assert 'carecenter_platform_problems{key="outbox:critical"} 1.0' in client.get("/metrics").text

    dispatcher: Dispatcher = app_context(app).sms.dispatcher
    dispatcher.dispatch_due(clock.now)  # it runs again: everything queued goes
    assert self_watch.check_once() == []
    [recovered] = told(session, "system.recovered")
    assert "critical message" in recovered.params["what"] or "紧急" in recovered.params["what"]
    dispatcher.dispatch_due(clock.now)


def test_a_hung_sweep_is_noticed_after_three_intervals(
    db: sa.Engine, session: Session, self_watch: SelfWatch, admin: Staff, clock: Clock
) -> None:
    watch.sweep_started(db, "escalate-alerts", 10, clock.now)  # started, never finished: it hangs
    clock.advance(seconds=25)
    assert self_watch.check_once() == []  # two intervals and a half: not yet
    clock.advance(seconds=10)
    [problem] = self_watch.check_once()
    assert problem.key == "sweep:escalate-alerts"
    assert len(told(session, "system.down")) == 1
    watch.sweep_finished(db, "escalate-alerts", clock.now, 35.0)  # it finished at last
    assert self_watch.check_once() == []


def test_a_dead_gateway_is_noticed_and_a_stopped_one_is_not(
    db: sa.Engine, session: Session, self_watch: SelfWatch, admin: Staff, clock: Clock
) -> None:
    watch.beat(db, name="gateway@box1", role="gateway", now=clock.now)
    watch.beat(db, name="gateway@box2", role="gateway", now=clock.now)
    watch.forget_beat(db, "gateway@box2")  # stopped on purpose
    clock.advance(seconds=59)
    assert self_watch.check_once() == []
    clock.advance(seconds=2)
    [problem] = self_watch.check_once()
    assert problem.key == "process:gateway@box1"
    assert len(told(session, "system.down")) == 1
    watch.beat(db, name="gateway@box1", role="gateway", now=clock.now)  # restarted
    assert self_watch.check_once() == []
    assert len(told(session, "system.recovered")) == 1


def test_no_scheduler_holding_the_lock_is_noticed(db: sa.Engine, self_watch: SelfWatch, clock: Clock) -> None:
    watch.beat(db, name=watch.LEADER, role="scheduler", now=clock.now)
    clock.advance(minutes=2)
    assert [p.key for p in self_watch.check_once()] == ["scheduler:leader"]


def test_a_center_whose_devices_all_went_quiet(
    session: Session, self_watch: SelfWatch, admin: Staff, clock: Clock
) -> None:
    center = make_center(session, name="长阳镇养老服务中心")
    devices = []
    for _ in range(5):
        resident = make_resident(session, center=center)
        device, _key = make_device(session, center=center, resident=resident)
        device.last_seen_at = clock.now
        session.add(device)
        devices.append(device)
    session.commit()
    clock.advance(minutes=14)
    assert self_watch.check_once() == []
    clock.advance(minutes=2)
    [problem] = self_watch.check_once()
    assert problem.key == f"frames:{center.id}" and "长阳镇养老服务中心" in problem.words("zh-CN")
    devices[0].last_seen_at = clock.now
    session.add(devices[0])
    session.commit()
    assert self_watch.check_once() == []


def test_the_admins_hear_at_most_the_hourly_limit(
    db: sa.Engine, session: Session, self_watch: SelfWatch, admin: Staff, clock: Clock
) -> None:
    for n in range(10):
        watch.beat(db, name=f"gateway@box{n}", role="gateway", now=clock.now)
    clock.advance(minutes=2)
    assert len(self_watch.check_once()) == 10
    assert len(told(session, "system.down")) == SETTINGS.system_messages_per_hour


class Pings(BaseHTTPRequestHandler):
    count = 0

    def do_GET(self) -> None:
        Pings.count += 1
        self.send_response(200)
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        return None


@pytest.fixture
def switch() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Pings)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    Pings.count = 0
    yield f"http://127.0.0.1:{server.server_address[1]}/ping/abc"
    server.shutdown()


def test_the_dead_mans_switch_is_pinged_only_while_all_is_well(
    app: FastAPI, db: sa.Engine, session: Session, admin: Staff, clock: Clock, switch: str
) -> None:
    leader = SelfWatch(
        engine=db,
        messaging=app_context(app).alert_messaging,
        settings=SETTINGS.model_copy(update={"heartbeat_url": switch}),
        role="scheduler",
        clock=lambda: clock.now,
        leads=lambda: True,
        name="scheduler@test",
    )
    leader.check_once()
    assert Pings.count == 1
    clock.advance(seconds=30)
    leader.check_once()
    assert Pings.count == 1  # once a minute
    clock.advance(seconds=30)
    leader.check_once()
    assert Pings.count == 2
    queue_critical(session, clock.now)
    clock.advance(minutes=2)
    leader.check_once()
    assert Pings.count == 2  # something is wrong: the switch is left to fire
