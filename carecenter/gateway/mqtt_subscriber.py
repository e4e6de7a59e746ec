"""Home gateways over MQTT: JSON readings from the broker, through the one ingestion path, acknowledged after commit.

Topics (the README's "Connecting devices" has the full layout):

    {prefix}/{center}/{serial}/readings   a gateway publishes; the body is that of POST /api/v1/checkins
                                          or /checkins/batch, plus "key": the device key
    {prefix}/{center}/{serial}/errors     CareCenter publishes why a message or a reading was refused

paho-mqtt (Eclipse's client) rather than aiomqtt: ingestion is the thread-based check-in writer,
and paho's `manual_ack` lets the PUBACK go out only once that writer has committed, from its
thread; its network loop also reconnects with backoff by itself. The session is persistent
(clean_session off, a stable client id), so QoS 1 messages that arrive while CareCenter is down,
or that were received but not acknowledged before a crash, are delivered again. Several
CareCenter processes share the load through a shared subscription (`$share/{group}/…`).
"""

import json
import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from prometheus_client import Counter
from sqlmodel import Session

from carecenter.errors import NotAuthenticated
from carecenter.ingest.batcher import CheckinBatcher
from carecenter.ingest.fast import ItemAnswer
from carecenter.ingest.targets import targets_by_key
from carecenter.readings.models import CheckinResult
from carecenter.settings.devices import DeviceSettings

log = logging.getLogger(__name__)

MESSAGES = Counter("carecenter_mqtt_messages", "MQTT messages from gateways, by outcome", ["result"])
MAX_READINGS = 1000  # as the HTTP batch
RETRY_SECONDS = (1, 2, 5, 10, 30)
OWNER_SECONDS = 60.0  # how long a key's topic is remembered
MAX_OWNERS = 10_000


def readings_topic(prefix: str, center: str, serial: str) -> str:
    return f"{prefix}/{center}/{serial}/readings"


def errors_topic(prefix: str, center: str, serial: str) -> str:
    return f"{prefix}/{center}/{serial}/errors"


class Refused(Exception):
    """A message that cannot be a reading: said on the error topic, acknowledged, not retried."""


def parse_message(payload: bytes) -> tuple[str, list[Any]]:
    """The key and the readings of a message: one reading's body, or {"readings": [...]}, plus "key"."""
    try:
        body = json.loads(payload)
    except (UnicodeDecodeError, ValueError):
        raise Refused("the message is not JSON") from None
    if not isinstance(body, dict):
        raise Refused("the message must be a JSON object")
    key = body.pop("key", None)
    if not isinstance(key, str) or not key:
        raise Refused('send the device key as "key" in the message')
    if "readings" in body:
        readings = body["readings"]
        if not isinstance(readings, list) or len(body) != 1:
            raise Refused('a batch is {"key": …, "readings": [ … ]} and nothing else')
        if len(readings) > MAX_READINGS:
            raise Refused(f"at most {MAX_READINGS} readings in one message")
        return key, readings
    return key, [body]


class MqttSubscriber:
    """`start()` connects (and keeps reconnecting) in paho's network thread; `stop()` disconnects."""

    def __init__(self, *, checkins: CheckinBatcher, settings: DeviceSettings, clock: Callable[[], datetime]) -> None:
        assert settings.mqtt_url
        self.checkins, self.settings, self.clock = checkins, settings, clock
        url = urlsplit(settings.mqtt_url)
        self.host, self.port = url.hostname or "127.0.0.1", url.port or (8883 if url.scheme == "mqtts" else 1883)
        self.subscription = f"$share/{settings.mqtt_share_group}/{settings.mqtt_topic_prefix}/+/+/readings"
        self.connected = threading.Event()
        self._stopping = threading.Event()
        self._owners: dict[str, tuple[tuple[str, str] | None, float]] = {}  # key -> (center, serial), when read
        self.client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=settings.mqtt_client_id,
            clean_session=False,
            manual_ack=True,
        )
        if url.scheme == "mqtts":
            self.client.tls_set()
        if settings.mqtt_username:
            self.client.username_pw_set(settings.mqtt_username, settings.mqtt_password)
        self.client.reconnect_delay_set(min_delay=1, max_delay=60)
        self.client.on_connect = self._on_connect
        self.client.on_disconnect = self._on_disconnect
        self.client.on_message = self._on_message

    def start(self) -> None:
        self.client.connect_async(self.host, self.port, keepalive=30)
        self.client.loop_start()

    def stop(self) -> None:
        self._stopping.set()
        self.client.disconnect()
        self.client.loop_stop()

    def _on_connect(self, client: mqtt.Client, _userdata: Any, _flags: Any, reason: Any, _props: Any) -> None:
        if reason.is_failure:
            log.warning("MQTT broker %s:%s refused the connection: %s", self.host, self.port, reason)
            return
        client.subscribe(self.subscription, qos=1)
        self.connected.set()
        log.info("MQTT: subscribed to %s on %s:%s", self.subscription, self.host, self.port)

    def _on_disconnect(self, _client: mqtt.Client, _userdata: Any, _flags: Any, reason: Any, _props: Any) -> None:
        self.connected.clear()
        if not self._stopping.is_set():
            log.warning("MQTT: disconnected from %s:%s (%s); reconnecting", self.host, self.port, reason)

    def _on_message(self, _client: mqtt.Client, _userdata: Any, message: mqtt.MQTTMessage) -> None:
        """In paho's network thread: hand the readings to the writer and return at once."""
        try:
            key, readings = parse_message(bytes(message.payload))
            self._check_topic(message.topic, key)
        except Refused as exc:
            self._refuse(message, str(exc))
            return
        self._submit(message, key, readings, attempt=0)

    def _check_topic(self, topic: str, key: str) -> None:
        """A key publishes only on its own gateway's topic (`<prefix>/<center id>/<serial>/readings`):
        a center's key on another center's topic is refused. Unknown keys are the writer's to refuse."""
        owner = self._owner_of(key)
        parts = topic.split("/")
        if owner is not None and (len(parts) < 3 or (parts[-3], parts[-2]) != owner):
            raise Refused("this key belongs to another topic: publish on your own gateway's")

    def _owner_of(self, key: str) -> tuple[str, str] | None:
        """(center id, serial) of a key's device, kept for a minute (one query per gateway, not per message)."""
        now = time.monotonic()
        cached = self._owners.get(key)
        if cached is not None and now - cached[1] < OWNER_SECONDS:
            return cached[0]
        with Session(self.checkins.engine) as session:
            target = targets_by_key(session, {key}).get(key)
        owner = (str(target.center_id), target.serial) if target is not None else None
        if len(self._owners) > MAX_OWNERS:
            self._owners.clear()
        self._owners[key] = (owner, now)
        return owner

    def _submit(self, message: mqtt.MQTTMessage, key: str, readings: list[Any], attempt: int) -> None:
        future = self.checkins.enqueue(raw=readings, now=self.clock(), key=key)
        future.add_done_callback(lambda done: self._stored(message, key, readings, attempt, done))

    def _stored(
        self,
        message: mqtt.MQTTMessage,
        key: str,
        readings: list[Any],
        attempt: int,
        done: "Future[list[ItemAnswer]]",
    ) -> None:
        """In the writer's thread, after its commit (or its failure)."""
        error = done.exception()
        if isinstance(error, NotAuthenticated):
            self._refuse(message, "unknown or revoked device key")
            return
        if error is not None:
            # Not stored (the database is away): keep it unacknowledged and try again; if this
            # process dies meanwhile, the broker delivers it again.
            if self._stopping.is_set():
                return
            delay = RETRY_SECONDS[min(attempt, len(RETRY_SECONDS) - 1)]
            log.warning("MQTT message on %s not stored (%s); again in %s s", message.topic, error, delay)
            timer = threading.Timer(delay, self._submit, (message, key, readings, attempt + 1))
            timer.daemon = True
            timer.start()
            return
        for answer in done.result():
            if answer.result == CheckinResult.rejected:
                self._say(message, {"event_id": answer.event_id, "index": answer.index, "reason": answer.reason})
        MESSAGES.labels("stored").inc()
        self.client.ack(message.mid, message.qos)

    def _refuse(self, message: mqtt.MQTTMessage, reason: str) -> None:
        MESSAGES.labels("refused").inc()
        log.info("MQTT message on %s refused: %s", message.topic, reason)
        self._say(message, {"reason": reason})
        self.client.ack(message.mid, message.qos)

    def _say(self, message: mqtt.MQTTMessage, body: dict[str, Any]) -> None:
        parts = message.topic.split("/")
        center, serial = (parts[-3], parts[-2]) if len(parts) >= 3 else ("-", "-")
        topic = errors_topic(self.settings.mqtt_topic_prefix, center, serial)
        self.client.publish(topic, json.dumps(body, ensure_ascii=False), qos=1)
