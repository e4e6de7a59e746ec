"""`python main.py gateway` as a district runs it: a real process, killed between an alarm frame and its commit.

The watch hears no answer for an alarm that was not stored, so it sends it again; once the
gateway is back, the resent frame makes exactly one alert, and a further resend is a duplicate.
SQLite makes "between the frame and the commit" exact: the test holds the database's write lock
while the alarm arrives, so the gateway's transaction is still waiting when it is killed.
"""

import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlmodel import Session, func, select

from carecenter.alerts.models import Alert
from carecenter.db import make_engine
from carecenter.devices.models import DeviceProtocol
from carecenter.migrate import upgrade_to_head
from notifications.fake_twilio_api import FakeTwilioApi
from tests.carecenter.devices.watch_client import Watch, position
from tests.conftest import TEST_SECRET
from tests.factories import make_center, make_device, make_resident, make_shift, make_staff

ROOT = Path(__file__).resolve().parents[2]
IMEI = "358688000000771"
ON_DUTY = "+8613700000002"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Gateway:
    """A production start: Twilio through its SDK, pointed at the local fake of its API."""

    def __init__(self, database_url: str, port: int, twilio: FakeTwilioApi) -> None:
        env = os.environ | {
            "CARECENTER_DATABASE_URL": database_url,
            "CARECENTER_WATCH_PORT": str(port),
            "CARECENTER_WATCH_HOST": "127.0.0.1",
            "CARECENTER_SECRET_KEY": TEST_SECRET,
            "CARECENTER_SMS_PROVIDER": "twilio",
            "CARECENTER_TWILIO_ACCOUNT_SID": twilio.account_sid,
            "CARECENTER_TWILIO_AUTH_TOKEN": twilio.auth_token,
            "CARECENTER_TWILIO_FROM_NUMBER": "+15005550006",
            "CARECENTER_TWILIO_API_BASE": twilio.base_url,
        }
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


def test_a_gateway_killed_before_the_commit_loses_no_alarm_and_makes_no_second_alert(
    database: str, twilio_api: FakeTwilioApi
) -> None:
    port = free_port()
    gateway = Gateway(database, port, twilio_api)
    watch = Watch(port, IMEI)
    watch.send("LK")
    assert watch.receive().content == b"LK"  # known and connected
    alarm = position("AL", datetime.now(UTC).replace(microsecond=0), status=1 << 16)

    lock = sqlite3.connect(database.removeprefix("sqlite:///"), isolation_level=None)
    lock.execute("BEGIN IMMEDIATE")  # the gateway's transaction for the alarm now waits
    watch.send(alarm)
    assert watch.nothing_within(1.5)  # not committed, so not answered
    gateway.kill()
    lock.execute("ROLLBACK")
    lock.close()
    watch.close()
    assert alert_count(database) == 0  # nothing half-stored

    gateway = Gateway(database, port, twilio_api)
    try:
        watch = Watch(port, IMEI)  # the watch reconnects and sends what was never answered
        watch.send(alarm)
        assert watch.receive().content == b"AL"
        assert alert_count(database) == 1
        watch.send(alarm)  # and once more, as if our answer had been lost
        assert watch.receive().content == b"AL"
        assert alert_count(database) == 1
        watch.close()
        # The SOS reached the on-duty worker through the Twilio SDK, once.
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and not twilio_api.received:
            time.sleep(0.1)
        assert [m.to for m in twilio_api.received] == [ON_DUTY], gateway.stop()
    finally:
        output = gateway.stop()
    assert "gateway stopped" in output
