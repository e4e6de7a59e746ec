"""`python main.py gateway` as a district runs it: a real process, killed between an alarm frame and its commit.

For both listener protocols (a 4G watch's text frames, a GT06 pendant's packets): the device
hears no answer for an alarm that was not stored, so it sends it again; once the gateway is
back, the resent alarm makes exactly one alert, and a further resend is a duplicate. SQLite
makes "between the frame and the commit" exact: the test holds the database's write lock while
the alarm arrives, so the gateway's transaction is still waiting when it is killed.
"""

import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Protocol

import pytest
from sqlmodel import Session, func, select

from carecenter.access import Role
from carecenter.alerts.models import Alert
from carecenter.db import make_engine
from carecenter.devices.models import DeviceProtocol
from carecenter.health.models import ProcessBeat
from carecenter.health.watch import SelfWatch
from carecenter.messaging.outbound import AlertMessaging
from carecenter.migrate import upgrade_to_head
from carecenter.settings.health import HealthSettings
from notifications.fake_twilio_api import FakeTwilioApi
from notifications.models import SmsMessage
from notifications.settings import SmsSettings
from tests.carecenter.devices import gt06_client as gt06
from tests.carecenter.devices.gt06_client import Tracker, answer_to
from tests.carecenter.devices.watch_client import Watch, position
from tests.conftest import TEST_SECRET
from tests.factories import make_center, make_device, make_resident, make_shift, make_staff

ROOT = Path(__file__).resolve().parents[2]
IMEI = "358688000000771"
PENDANT = "359339075000772"
ON_DUTY = "+8613700000002"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Gateway:
    """A production start: Twilio through its SDK, pointed at the local fake of its API."""

    def __init__(
        self,
        database_url: str,
        port: int,
        twilio: FakeTwilioApi,
        protocol: str = "watch",
        extra_env: dict[str, str] | None = None,
    ) -> None:
        env = (
            os.environ
            | (extra_env or {})
            | {
                "CARECENTER_DATABASE_URL": database_url,
                f"CARECENTER_{protocol.upper()}_PORT": str(port),
                f"CARECENTER_{protocol.upper()}_HOST": "127.0.0.1",
                "CARECENTER_SECRET_KEY": TEST_SECRET,
                "CARECENTER_SMS_PROVIDER": "twilio",
                "CARECENTER_TWILIO_ACCOUNT_SID": twilio.account_sid,
                "CARECENTER_TWILIO_AUTH_TOKEN": twilio.auth_token,
                "CARECENTER_TWILIO_FROM_NUMBER": "+15005550006",
                "CARECENTER_TWILIO_API_BASE": twilio.base_url,
            }
        )
        env.pop("CARECENTER_MQTT_URL", None)
        self.port = port
        self.process = subprocess.Popen(
            [sys.executable, str(ROOT / "main.py"), "gateway"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                return
            except OSError:
                assert self.process.poll() is None, self.process.communicate()[0]
                time.sleep(0.1)
        pytest.fail("the gateway did not listen within 30 s")

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)

    def stop(self) -> str:
        self.process.send_signal(signal.SIGTERM)
        output, _ = self.process.communicate(timeout=20)
        return output


@pytest.fixture
def database(tmp_path: Path) -> Iterator[str]:
    url = f"sqlite:///{tmp_path / 'gateway.db'}"
    upgrade_to_head(url)
    engine = make_engine(url, sqlite_write_lock=False)
    with Session(engine) as session:
        center = make_center(session)
        resident = make_resident(session, center=center)
        make_device(session, center=center, resident=resident, serial=IMEI, protocol=DeviceProtocol.watch_tcp)
        make_device(session, center=center, resident=resident, serial=PENDANT, protocol=DeviceProtocol.gt06)
        on_duty = make_staff(session, center=center, phone=ON_DUTY)
        make_shift(session, center=center, staff=[on_duty], starts_at=datetime.now(UTC) - timedelta(hours=1))
    engine.dispose()
    yield url


def alert_count(url: str) -> int:
    engine = make_engine(url, sqlite_write_lock=False)
    with Session(engine) as session:
        count = int(session.exec(select(func.count()).select_from(Alert)).one())
    engine.dispose()
    return count


class Device(Protocol):
    def alarm(self) -> None: ...
    def answered(self) -> bool: ...
    def nothing_within(self, seconds: float) -> bool: ...
    def close(self) -> None: ...


class WatchDevice:
    def __init__(self, port: int, at: datetime) -> None:
        self.watch = Watch(port, IMEI)
        self.watch.send("LK")
        assert self.watch.receive().content == b"LK"  # known and connected
        self.frame = position("AL", at, status=1 << 16)

    def alarm(self) -> None:
        self.watch.send(self.frame)

    def answered(self) -> bool:
        return self.watch.receive().content == b"AL"

    def nothing_within(self, seconds: float) -> bool:
        return self.watch.nothing_within(seconds)

    def close(self) -> None:
        self.watch.close()


class PendantDevice:
    def __init__(self, port: int, at: datetime) -> None:
        self.tracker = Tracker(port)
        self.tracker.send(gt06.login(PENDANT))
        assert answer_to(self.tracker.receive())[0] == 0x01  # known and logged in
        self.at, self.serial = at, 10

    def alarm(self) -> None:
        self.serial += 1  # a resent packet has a new serial number, the same content
        self.tracker.send(gt06.alarm(self.at, alarm=0x01, serial=self.serial))

    def answered(self) -> bool:
        return answer_to(self.tracker.receive()) == (0x16, self.serial)

    def nothing_within(self, seconds: float) -> bool:
        return self.tracker.nothing_within(seconds)

    def close(self) -> None:
        self.tracker.close()


DEVICES: dict[str, Callable[[int, datetime], Device]] = {"watch": WatchDevice, "gt06": PendantDevice}


@pytest.mark.parametrize("protocol", ["watch", "gt06"])
def test_a_gateway_killed_before_the_commit_loses_no_alarm_and_makes_no_second_alert(
    database: str, twilio_api: FakeTwilioApi, protocol: str
) -> None:
    port = free_port()
    at = datetime.now(UTC).replace(microsecond=0)
    gateway = Gateway(database, port, twilio_api, protocol)
    device = DEVICES[protocol](port, at)

    lock = sqlite3.connect(database.removeprefix("sqlite:///"), isolation_level=None)
    lock.execute("BEGIN IMMEDIATE")  # the gateway's transaction for the alarm now waits
    device.alarm()
    assert device.nothing_within(1.5)  # not committed, so not answered
    gateway.kill()
    lock.execute("ROLLBACK")
    lock.close()
    device.close()
    assert alert_count(database) == 0  # nothing half-stored

    gateway = Gateway(database, port, twilio_api, protocol)
    try:
        device = DEVICES[protocol](port, at)  # the device reconnects and sends what was never answered
        device.alarm()
        assert device.answered()
        assert alert_count(database) == 1
        device.alarm()  # and once more, as if our answer had been lost
        assert device.answered()
        assert alert_count(database) == 1
        device.close()
        # The SOS reached the on-duty worker through the Twilio SDK, once.
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and not twilio_api.received:
            time.sleep(0.1)
        assert [m.to for m in twilio_api.received] == [ON_DUTY], gateway.stop()
    finally:
        output = gateway.stop()
    assert "gateway stopped" in output


def gateway_beats(url: str) -> dict[str, datetime]:
    engine = make_engine(url, sqlite_write_lock=False)
    with Session(engine) as session:
        beats = {b.name: b.beat_at for b in session.exec(select(ProcessBeat)).all()}
    engine.dispose()
    return beats


def test_a_gateway_that_died_is_noticed_and_reported_once_one_stopped_on_purpose_is_not(
    database: str, twilio_api: FakeTwilioApi
) -> None:
    fast = {"CARECENTER_SELF_CHECK_SECONDS": "0.5"}
    gateway = Gateway(database, free_port(), twilio_api, extra_env=fast)
    deadline = time.monotonic() + 60  # a process starting beside the suite's other workers
    while time.monotonic() < deadline and not gateway_beats(database):
        time.sleep(0.2)
    [name] = gateway_beats(database)
    assert name.startswith("gateway@")
    gateway.kill()

    engine = make_engine(database, sqlite_write_lock=False)
    with Session(engine) as session:
        make_staff(session, center=None, role=Role.admin, phone="+8613700009999")
    checker = SelfWatch(
        engine=engine,
        messaging=AlertMessaging(sms=SmsSettings(), public_url="http://127.0.0.1", link_secret=b"k" * 32),
        settings=HealthSettings(beat_stale_seconds=3),
        role="web",
        clock=lambda: datetime.now(UTC),
        name="checker@test",
    )
    assert checker.check_once() == []
    time.sleep(3.5)
    assert [p.key for p in checker.check_once()] == [f"process:{name}"]
    checker.check_once()
    with Session(engine) as session:
        told = session.exec(select(SmsMessage).where(SmsMessage.kind == "system.down")).all()
    assert [m.to_phone for m in told] == ["+8613700009999"]

    again = Gateway(database, free_port(), twilio_api, extra_env=fast)  # restarted: recovered
    deadline = time.monotonic() + 60
    while checker.check_once() != []:  # once the new process beats
        assert time.monotonic() < deadline, "the restarted gateway was never seen again"
        time.sleep(0.5)
    again.stop()  # stopped on purpose: its beat is gone, nothing to report
    time.sleep(3.5)
    assert checker.check_once() == []
    engine.dispose()
