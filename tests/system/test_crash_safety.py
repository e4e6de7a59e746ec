"""Crash safety: a real server on PostgreSQL, killed with SIGKILL at random moments under load.

Devices post SOS and vitals the way real ones do (on a connection error or a 503 they send the
same reading again). After the kills: every reading that got a 2xx is stored, every SOS has its
alert, every alert's first step reached the (fake) provider, the second step came on time after
the restarts, and no message went out twice except in the one window that cannot be closed
(handed to the provider, process killed before recording it) — the test prints how many.

CI runs 4 kills (CARECENTER_CRASH_KILLS, 10 for the full run). PostgreSQL only: it is what a
multi-process deployment runs, and the scheduler's leadership moves through its advisory lock.
"""

import os
import random
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from sqlmodel import Session, col, select

from bench.harness import Seeded, database_url, seed, start_server
from carecenter.alerts.models import Alert, EscalationPolicy
from carecenter.centers.models import Center
from carecenter.db import make_engine
from carecenter.devices.models import Device
from carecenter.readings.models import Reading
from notifications.fake_twilio_api import FakeTwilioApi
from notifications.models import SmsMessage

pytestmark = pytest.mark.skipif(
    not os.environ.get("CARECENTER_TEST_DATABASE_URL", "").startswith("postgresql"),
    reason="the crash test runs on PostgreSQL",
)
KILLS = int(os.environ.get("CARECENTER_CRASH_KILLS", "4"))
SERVER_ENV = {
    "CARECENTER_SCHEDULER_ENABLED": "true",  # escalations must resume in whichever process leads
    "CARECENTER_SMS_LEASE_SECONDS": "10",  # a row a killed process was sending is retried after this
}


@dataclass
class Devices:
    """Simulated wearables: they keep posting, retrying the same reading until it gets a 2xx."""

    seeded: Seeded
    url: str
    stop: threading.Event = field(default_factory=threading.Event)
    stored: list[tuple[str, str]] = field(default_factory=list)  # (serial, event_id) answered 2xx
    sos_answered: int = 0
    retries: int = 0

    def post(self, path: str, body: dict[str, Any], key: str) -> dict[str, Any]:
        while True:
            try:
                response = httpx.post(self.url + path, json=body, headers={"X-Device-Key": key}, timeout=10)
                if response.status_code < 300:
                    answer: dict[str, Any] = response.json()
                    return answer
                assert response.status_code == 503, response.text  # never a 500, never a 4xx
            except httpx.TransportError:
                pass  # the server is down: like a device, wait and send the same reading again
            self.retries += 1
            time.sleep(0.2)

    def sos(self, until: float) -> None:
        n = 0
        while time.monotonic() < until and not self.stop.is_set():
            key = self.seeded.watch_keys[n % len(self.seeded.watch_keys)]
            event_id = f"sos-{uuid.uuid4().hex}"
            at = datetime.now(UTC).isoformat()
            answer = self.post("/api/v1/checkins", {"event_id": event_id, "kind": "sos", "recorded_at": at}, key)
            # A retry of an SOS stored before the kill is answered "duplicate", without the alert.
            assert answer["alert_id"] or answer["result"] == "duplicate", answer
            self.sos_answered += 1
            self.stored.append((self.seeded.serials[n % len(self.seeded.serials)], event_id))
            n += 1
            time.sleep(0.25)

    def vitals(self) -> None:
        rng = random.Random(7)
        while not self.stop.is_set():
            at = datetime.now(UTC).isoformat()
            readings = [
                {
                    "event_id": f"v-{uuid.uuid4().hex}",
                    "device": serial,
                    "kind": "vitals",
                    "recorded_at": at,
                    "heart_rate": rng.randint(60, 90),
                }
                for serial in rng.sample(self.seeded.serials, 20)
            ]
            answer = self.post("/api/v1/checkins/batch", {"readings": readings}, self.seeded.gateway_key)
            assert answer["rejected"] == 0
            self.stored += [(str(r["device"]), str(r["event_id"])) for r in readings]
            time.sleep(0.1)


def test_killed_servers_lose_nothing_and_resend_little(tmp_path: Path) -> None:
    url = database_url("postgresql", tmp_path, name="carecenter_crash")
    seeded = seed(url, residents=40, now=datetime.now(UTC))
    engine = make_engine(url)
    with Session(engine) as session:  # step 2 a minute in: it must come on time across the kills
        center_id = session.exec(select(Center.id)).one()
        assert center_id is not None
        steps = [{"after_minutes": 0, "recipients": ["care_worker"]}, {"after_minutes": 1, "recipients": ["manager"]}]
        policy = {"steps": steps}
        session.add(EscalationPolicy(center_id=center_id, policy=policy, updated_at=datetime.now(UTC)))
        session.commit()
    twilio = FakeTwilioApi().start()
    servers = [start_server(url, twilio, extra_env=SERVER_ENV)]
    devices = Devices(seeded, servers[0].url)
    started = time.monotonic()
    posters = [
        threading.Thread(target=devices.sos, args=(started + 12,)),
        threading.Thread(target=devices.vitals),
    ]
    for thread in posters:
        thread.start()
    rng = random.Random(11)
    try:
        for _ in range(KILLS):
            time.sleep(rng.uniform(0.8, 2.5))
            servers[-1].process.kill()  # SIGKILL: no shutdown hook runs
            servers[-1].process.wait()
            servers.append(start_server(url, twilio, extra_env=SERVER_ENV))
            devices.url = servers[-1].url
        time.sleep(2)
        devices.stop.set()
        for thread in posters:
            thread.join(60)
        report = _wait_and_check(engine, devices, twilio, started)
    finally:
        servers[-1].stop()
        twilio.stop()
        engine.dispose()
    print(
        f"\ncrash test: {KILLS} kills, {len(devices.stored)} readings answered 2xx, {report['lost']} lost, "
        f"{devices.sos_answered} SOS -> {report['alerts']} alerts, {report['messages']} messages at the provider, "
        f"{report['duplicates']} sent twice (the provider-accepted-then-killed window), "
        f"{devices.retries} device retries, step 2 at most {report['step2_late_s']:.1f} s late"
    )


def _wait_and_check(engine: sa.Engine, devices: Devices, twilio: FakeTwilioApi, started: float) -> dict[str, Any]:
    with Session(engine) as session:
        serial_of = dict(session.exec(select(Device.id, Device.serial)).all())
        stored = {(serial_of[d], e) for d, e in session.exec(select(Reading.device_id, Reading.event_id)).all()}
    lost = [r for r in devices.stored if r not in stored]
    assert lost == [], f"{len(lost)} readings answered 2xx are not stored"
    with Session(engine) as session:  # every stored SOS has its alert: opened by it, or open before it
        sos = session.exec(select(Reading).where(Reading.kind == "sos")).all()
        sos_alerts = session.exec(select(Alert).where(Alert.kind == "sos")).all()
    for reading in sos:
        assert any(a.resident_id == reading.resident_id and a.opened_at <= reading.received_at for a in sos_alerts)
    alert_ids = {a.id for a in sos_alerts}

    # Everyone the first step named hears it, and the second step comes a minute after the first.
    deadline = started + 12 + 60 + 40
    while time.monotonic() < deadline:
        with Session(engine) as session:
            messages = session.exec(select(SmsMessage).where(col(SmsMessage.alert_id).in_(alert_ids))).all()
        first = [m for m in messages if ":s1:" in m.dedupe_key]
        second = [m for m in messages if ":s2:" in m.dedupe_key]
        if (
            {m.alert_id for m in first} == alert_ids
            and {m.alert_id for m in second} == alert_ids
            and all(m.status == "sent" for m in messages)
        ):
            break
        time.sleep(1)
    with Session(engine) as session:
        alerts = {a.id: a for a in session.exec(select(Alert).where(col(Alert.id).in_(alert_ids))).all()}
    assert {m.alert_id for m in first} == alert_ids, "an alert has no first-step message"
    assert {m.alert_id for m in second} == alert_ids, "an alert's second step never came"
    assert all(m.status == "sent" for m in messages), Counter(m.status for m in messages)
    late = [
        (
            m.created_at - (alerts[m.alert_id].escalation_started_at or m.created_at) - timedelta(minutes=1)
        ).total_seconds()
        for m in second
        if m.alert_id is not None
    ]
    assert max(late) < 30, f"step 2 came {max(late):.0f} s late"  # a 10 s sweep, 15 s to take over the lead

    received = Counter((m.to, m.body) for m in twilio.received)
    wanted = {(m.to_phone, m.body) for m in messages}
    assert wanted <= set(received), "a message recorded as sent never reached the provider"
    duplicates = sum(n - 1 for n in received.values())
    assert duplicates <= KILLS * 8  # at most the messages in flight at each kill (8 sent at once)
    return {
        "lost": len(lost),
        "alerts": len(alerts),
        "messages": len(wanted),
        "duplicates": duplicates,
        "step2_late_s": max(late),
    }
