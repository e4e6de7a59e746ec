"""Home gateways through the real Mosquitto on this machine: readings in, errors out, nothing lost or doubled."""

import json
import os
import shutil
import socket
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from paho.mqtt.enums import CallbackAPIVersion
from sqlmodel import Session, func, select

from carecenter.alerts.models import Alert
from carecenter.context import app_context
from carecenter.devices.models import DeviceKind
from carecenter.gateway.mqtt_subscriber import MqttSubscriber, errors_topic, readings_topic
from carecenter.readings.models import Reading
from carecenter.settings.devices import DeviceSettings
from notifications.dispatcher import Dispatcher
from tests.carecenter.alerts.scenario import Scenario, build
from tests.conftest import Clock
from tests.factories import make_center, make_device
from tests.fakes import FakeSender
from tests.waiting import eventually

BROKER = ("127.0.0.1", 1883)


def broker_running() -> bool:
    try:
        socket.create_connection(BROKER, timeout=1).close()
    except OSError:
        return False
    return True


pytestmark = pytest.mark.skipif(not broker_running(), reason="no MQTT broker on 127.0.0.1:1883 (.ci/run starts one)")


class Gateway:
    """A gateway publishing with QoS 1, and a listener on the error topic."""

    def __init__(self, prefix: str, center: str, serial: str) -> None:
        self.topic, self.errors_topic = readings_topic(prefix, center, serial), errors_topic(prefix, center, serial)
        self.errors: list[dict[str, Any]] = []
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"gw-{uuid.uuid4().hex[:8]}")
        self.client.on_message = lambda _c, _u, m: self.errors.append(json.loads(m.payload))
        self.client.connect(*BROKER)
        self.client.loop_start()
        self.client.subscribe(self.errors_topic, qos=1)
        time.sleep(0.2)

    def publish(self, body: Any) -> None:
        payload = body if isinstance(body, bytes) else json.dumps(body)
        self.client.publish(self.topic, payload, qos=1).wait_for_publish(5)

    def close(self) -> None:
        self.client.loop_stop()
        self.client.disconnect()


@pytest.fixture
def prefix() -> str:
    return f"cc-test-{uuid.uuid4().hex[:10]}"


def subscriber(app: FastAPI, clock: Clock, prefix: str, client_id: str) -> MqttSubscriber:
    settings = DeviceSettings(
        mqtt_url="mqtt://127.0.0.1:1883", mqtt_client_id=client_id, mqtt_topic_prefix=prefix, mqtt_share_group=prefix
    )
    running = MqttSubscriber(checkins=app_context(app).checkins, settings=settings, clock=lambda: clock.now)
    running.start()
    assert running.connected.wait(5), "the subscriber did not connect to the broker"
    time.sleep(0.2)  # the SUBSCRIBE is on its way
    return running


@pytest.fixture
def running(app: FastAPI, client: TestClient, clock: Clock, prefix: str) -> Iterator[MqttSubscriber]:
    sub = subscriber(app, clock, prefix, f"cc-{prefix}")
    yield sub
    sub.stop()


@pytest.fixture
def s(session: Session, clock: Clock) -> Scenario:
    return build(session, clock.now)


@pytest.fixture
def gateway(session: Session, s: Scenario, prefix: str) -> Iterator[tuple[Gateway, str]]:
    device, key = make_device(session, center=s.center, kind=DeviceKind.gateway, protocol="mqtt")
    gateway = Gateway(prefix, str(s.center.id), device.serial)
    yield gateway, key
    gateway.close()


def count(session: Session, model: Any) -> int:
    session.expire_all()
    return int(session.exec(select(func.count()).select_from(model)).one())


def reading(s: Scenario, clock: Clock, event_id: str, kind: str = "heartbeat", **values: Any) -> dict[str, Any]:
    body = {"event_id": event_id, "device": s.watch.serial, "kind": kind, "recorded_at": clock.now.isoformat()}
    return body | values


def test_an_sos_published_by_a_gateway_pages_the_right_people(
    running: MqttSubscriber,
    gateway: tuple[Gateway, str],
    s: Scenario,
    session: Session,
    clock: Clock,
    dispatcher: Dispatcher,
    sender: FakeSender,
) -> None:
    gw, key = gateway
    gw.publish({"key": key, **reading(s, clock, "sos-1", "sos")})
    assert eventually(lambda: count(session, Alert) == 1)
    alert = session.exec(select(Alert)).one()
    assert (alert.kind, alert.resident_id) == ("sos", s.resident.id)
    dispatcher.dispatch_due(clock.now)
    assert s.on_duty.phone in [m.to for m in sender.sent]  # the SOS reached the on-duty worker by SMS
    gw.publish({"key": key, **reading(s, clock, "sos-1", "sos")})  # redelivered: a duplicate
    gw.publish({"key": key, "readings": [reading(s, clock, f"b{n}", heart_rate=70 + n) for n in range(20)]})
    assert eventually(lambda: count(session, Reading) == 21)
    assert gw.errors == []


def test_refused_messages_go_to_the_error_topic_with_the_reason(
    running: MqttSubscriber, gateway: tuple[Gateway, str], s: Scenario, session: Session, clock: Clock
) -> None:
    gw, key = gateway
    gw.publish(b"\xff not json")
    gw.publish({"key": "dk_not-a-key", **reading(s, clock, "x1")})
    gw.publish(reading(s, clock, "x2"))  # no key at all
    gw.publish({"key": key, "readings": [reading(s, clock, "ok"), reading(s, clock, "bad", heart_rate=999)]})
    assert eventually(lambda: len(gw.errors) == 4)
    # Refusals found before the writer (not JSON, no key) come back at once, the others after
    # the writer's batch: the order between them is not fixed.
    whole = sorted(e["reason"] for e in gw.errors if "event_id" not in e)
    assert whole == sorted(
        [
            "the message is not JSON",
            "unknown or revoked device key",
            'send the device key as "key" in the message',
        ]
    )
    (item,) = [e for e in gw.errors if "event_id" in e]
    assert item["event_id"] == "bad" and "heart_rate" in item["reason"]
    assert count(session, Reading) == 1


def test_a_subscriber_restarted_mid_stream_loses_nothing_and_doubles_nothing(
    app: FastAPI,
    client: TestClient,
    gateway: tuple[Gateway, str],
    s: Scenario,
    session: Session,
    clock: Clock,
    prefix: str,
) -> None:
    gw, key = gateway
    client_id = f"cc-{prefix}"
    first = subscriber(app, clock, prefix, client_id)
    stop_at = threading.Event()

    def publish_all() -> None:
        for n in range(300):
            gw.publish({"key": key, **reading(s, clock, f"r{n}", steps=n)})
            if n == 100:
                stop_at.set()

    publisher = threading.Thread(target=publish_all)
    publisher.start()
    stop_at.wait(10)
    first.stop()  # mid-stream: some received and not acknowledged, the rest queued by the broker
    time.sleep(0.5)
    second = subscriber(app, clock, prefix, client_id)
    try:
        publisher.join(30)
        assert eventually(lambda: count(session, Reading) == 300, 20)
        time.sleep(0.5)
        assert count(session, Reading) == 300
        steps = sorted(session.exec(select(Reading.steps)).all())  # type: ignore[type-var]
        assert steps == list(range(300))
    finally:
        second.stop()


def mosquitto_binary() -> str | None:
    found = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
    return found if os.access(found, os.X_OK) else None


class PrivateBroker:
    """A Mosquitto of the test's own, on a free port, that the test can stop and start again."""

    def __init__(self, tmp_path: Path) -> None:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = int(sock.getsockname()[1])
        self.config = tmp_path / "mosquitto.conf"
        self.config.write_text(f"listener {self.port} 127.0.0.1\nallow_anonymous true\npersistence false\n")
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        binary = mosquitto_binary()
        assert binary is not None
        self.process = subprocess.Popen([binary, "-c", str(self.config)], stderr=subprocess.DEVNULL)
        assert eventually(lambda: _listening(self.port), 5), "the private broker did not start"

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(5)


def _listening(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
    except OSError:
        return False
    return True


@pytest.mark.skipif(mosquitto_binary() is None, reason="no mosquitto binary to run a private broker")
def test_the_subscriber_reconnects_when_the_broker_comes_back(
    app: FastAPI, client: TestClient, s: Scenario, session: Session, clock: Clock, prefix: str, tmp_path: Path
) -> None:
    device, key = make_device(session, center=s.center, kind=DeviceKind.gateway, protocol="mqtt")
    broker = PrivateBroker(tmp_path)
    broker.start()
    settings = DeviceSettings(
        mqtt_url=f"mqtt://127.0.0.1:{broker.port}", mqtt_client_id=f"cc-{prefix}", mqtt_topic_prefix=prefix
    )
    running = MqttSubscriber(checkins=app_context(app).checkins, settings=settings, clock=lambda: clock.now)
    running.start()
    try:
        assert running.connected.wait(5)
        broker.stop()  # the broker goes away (a restart, a network cut)
        assert eventually(lambda: not running.connected.is_set(), 5)
        broker.start()
        assert running.connected.wait(15), "the subscriber did not reconnect"
        time.sleep(0.3)
        publisher = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"gw-{prefix}")
        publisher.connect("127.0.0.1", broker.port)
        publisher.loop_start()
        topic = readings_topic(prefix, str(s.center.id), device.serial)
        publisher.publish(topic, json.dumps({"key": key, **reading(s, clock, "after")}), qos=1).wait_for_publish(5)
        assert eventually(lambda: count(session, Reading) == 1)
        publisher.loop_stop()
        publisher.disconnect()
    finally:
        running.stop()
        broker.stop()


def test_a_key_is_refused_on_another_gateway_s_topic(
    running: MqttSubscriber, gateway: tuple[Gateway, str], s: Scenario, session: Session, clock: Clock, prefix: str
) -> None:
    """The probe: a center's key published on another center's topic."""
    gw, key = gateway
    elsewhere = make_center(session)
    stranger = Gateway(prefix, str(elsewhere.id), gw.topic.split("/")[-2])  # its serial, another center's topic
    try:
        stranger.publish({"key": key, **reading(s, clock, "wrong-topic", "sos")})
        assert eventually(lambda: len(stranger.errors) == 1)
        assert "another topic" in stranger.errors[0]["reason"]
        gw.publish({"key": key, **reading(s, clock, "right-topic")})  # its own topic still works
        assert eventually(lambda: count(session, Reading) == 1)
        assert count(session, Alert) == 0
    finally:
        stranger.close()
