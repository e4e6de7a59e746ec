"""The `mqtt` case of `python -m bench` (`--case mqtt`).

MQTT ingestion against the HTTP batch path it shares (#30, part 5): the same batched payloads (a
gateway's message holds B readings of its devices, QoS 1) published to the local Mosquitto and
stored by one `python main.py gateway` process (acknowledged after the commit), then by two on a
shared subscription; and the same bodies posted to `POST /api/v1/checkins/batch` of one
`python main.py serve` process, then two (`--workers 2`, PostgreSQL only), with as many
requests in flight as the broker lets a subscriber have unacknowledged messages (Mosquitto's
`max_inflight_messages`, 20 by default). Figures: readings/s for each, and MQTT against HTTP with
the same number of processes. Target: at least 0.9 with one process and with two. A bare
subscriber of the same broker (paho, parsing each message's JSON) is measured too, as the
broker's own ceiling (its earlier target, half of it, is withdrawn).
"""

import json
import os
import random
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import sqlalchemy as sa
from paho.mqtt.enums import CallbackAPIVersion

from bench.cases import BatchPoster, _reading
from bench.harness import ROOT, SECRET, database_url, log_file, seed, start_server
from carecenter.db import make_engine
from notifications.fake_twilio_api import FakeTwilioApi

BROKER = ("127.0.0.1", 1883)
IN_FLIGHT = 20  # Mosquitto's max_inflight_messages: QoS 1 messages a subscriber has unacknowledged


def payloads(gateway_key: str, serials: list[str], *, messages: int, batch: int, seed_no: int) -> list[bytes]:
    rng = random.Random(seed_no)
    now = datetime.now(UTC)
    return [
        json.dumps(
            {"key": gateway_key, "readings": [_reading(rng.choice(serials), now, rng) for _ in range(batch)]}
        ).encode()
        for _ in range(messages)
    ]


def client(client_id: str) -> mqtt.Client:
    made = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv311)
    made.max_inflight_messages_set(100)
    made.connect(*BROKER)
    made.loop_start()
    return made


def publish(topic: str, bodies: list[bytes]) -> float:
    """Publish every body at QoS 1 as fast as the broker takes them; returns when the first went out."""
    publisher = client(f"bench-pub-{uuid.uuid4().hex[:8]}")
    started = time.perf_counter()
    sent = [publisher.publish(topic, body, qos=1) for body in bodies]
    for info in sent:
        info.wait_for_publish(timeout=120)
    publisher.loop_stop()
    publisher.disconnect()
    return started


def bare_subscriber(topic_filter: str, topic: str, bodies: list[bytes]) -> float:
    """Readings/s a minimal subscriber of the same broker receives (it parses each message's JSON)."""
    got = threading.Event()
    received = {"messages": 0, "readings": 0, "last": 0.0}

    def on_message(_c: Any, _u: Any, message: mqtt.MQTTMessage) -> None:
        received["readings"] += len(json.loads(message.payload)["readings"])
        received["messages"] += 1
        if received["messages"] == len(bodies):
            received["last"] = time.perf_counter()
            got.set()

    subscriber = client(f"bench-bare-{uuid.uuid4().hex[:8]}")
    subscriber.on_message = on_message
    subscriber.subscribe(topic_filter, qos=1)
    time.sleep(0.5)
    started = publish(topic, bodies)
    got.wait(300)
    subscriber.loop_stop()
    subscriber.disconnect()
    return received["readings"] / (received["last"] - started)


def start_gateway(url: str, twilio: FakeTwilioApi, prefix: str, group: str) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CARECENTER_")} | {
        "CARECENTER_DATABASE_URL": url,
        "CARECENTER_SECRET_KEY": SECRET,
        "CARECENTER_MQTT_URL": f"mqtt://{BROKER[0]}:{BROKER[1]}",
        "CARECENTER_MQTT_CLIENT_ID": f"bench-cc-{uuid.uuid4().hex[:8]}",
        "CARECENTER_MQTT_TOPIC_PREFIX": prefix,
        "CARECENTER_MQTT_SHARE_GROUP": group,
        "CARECENTER_SMS_PROVIDER": "twilio",
        "CARECENTER_TWILIO_ACCOUNT_SID": twilio.account_sid,
        "CARECENTER_TWILIO_AUTH_TOKEN": twilio.auth_token,
        "CARECENTER_TWILIO_FROM_NUMBER": "+15005550006",
        "CARECENTER_TWILIO_API_BASE": twilio.base_url,
    }
    return subprocess.Popen(
        [sys.executable, "main.py", "gateway"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=log_file("gateway").open("w"),
    )


def stored(engine: sa.Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(sa.text("SELECT count(*) FROM reading")).scalar_one())


def wait_for(engine: sa.Engine, count: int, timeout: float = 600) -> float:
    deadline = time.monotonic() + timeout
    while (now := stored(engine)) < count:
        if time.monotonic() > deadline:
            raise RuntimeError(f"only {now} of {count} readings stored")
        time.sleep(0.05)
    return time.perf_counter()


def carecenter(url: str, topic: str, bodies: list[bytes], warmup: bytes, processes: int) -> float:
    """Readings/s stored by `processes` gateway processes on one shared subscription."""
    engine = make_engine(url)
    twilio = FakeTwilioApi().start()
    prefix = topic.split("/")[0]
    group = f"g{uuid.uuid4().hex[:6]}"
    gateways = [start_gateway(url, twilio, prefix, group) for _ in range(processes)]
    try:
        before = stored(engine)
        deadline = time.monotonic() + 60
        while stored(engine) == before:  # until a gateway is subscribed and storing
            assert time.monotonic() < deadline, "the gateway never stored the warm-up message"
            publish(topic, [warmup])
            time.sleep(0.5)
        time.sleep(1.0)  # the others subscribe too
        base = stored(engine)
        readings = sum(len(json.loads(b)["readings"]) for b in bodies)
        started = publish(topic, bodies)
        return readings / (wait_for(engine, base + readings) - started)
    finally:
        for gateway in gateways:
            gateway.terminate()
        for gateway in gateways:
            gateway.wait(30)
        twilio.stop()
        engine.dispose()


def http_batch(url: str, bodies: list[bytes], warmup: bytes, processes: int) -> float:
    """Readings/s answered 2xx by `POST /api/v1/checkins/batch` of a server with `processes`
    processes, IN_FLIGHT requests at a time: the MQTT messages' bodies, the key as its header."""
    twilio = FakeTwilioApi().start()
    server = start_server(url, twilio, workers=processes)
    batches = [json.loads(payload) for payload in [warmup, *bodies]]
    send = BatchPoster(server.url, batches[0]["key"])
    for batch in batches:
        del batch["key"]
    try:
        with ThreadPoolExecutor(IN_FLIGHT) as pool:
            # Every client connected first (the warm-up is a duplicate after its first post).
            list(pool.map(send, batches[:1] * IN_FLIGHT))
            started = time.perf_counter()
            accepted = sum(pool.map(send, batches[1:]))
            return accepted / (time.perf_counter() - started)
    finally:
        server.stop()
        twilio.stop()


def run(kind: str, messages: int, batch: int, residents: int = 2000) -> dict[str, Any]:
    workdir = Path(tempfile.mkdtemp(prefix="carecenter-mqtt-"))
    url = database_url(kind, workdir)
    seeded = seed(url, residents=residents, now=datetime.now(UTC))
    prefix = f"bench{uuid.uuid4().hex[:6]}"
    topic = f"{prefix}/{seeded.center_id}/BW-GATEWAY/readings"  # the gateway's own topic (its key is checked)
    warm = payloads(seeded.gateway_key, seeded.serials, messages=20, batch=1, seed_no=0)

    def bodies(seed_no: int) -> list[bytes]:  # new event ids each time: nothing is a duplicate
        return payloads(seeded.gateway_key, seeded.serials, messages=messages, batch=batch, seed_no=seed_no)

    figures: dict[str, Any] = {"database": kind, "messages": messages, "batch": batch}
    figures["bare_readings_per_s"] = round(bare_subscriber(f"{prefix}/+/+/readings", topic, bodies(1)))
    figures["one_process_readings_per_s"] = round(carecenter(url, topic, bodies(2), warm[0], 1))
    figures["http_one_process_readings_per_s"] = round(http_batch(url, bodies(4), warm[2], 1))
    figures["one_process_vs_http"] = round(
        figures["one_process_readings_per_s"] / figures["http_one_process_readings_per_s"], 3
    )
    figures["two_processes_readings_per_s"] = round(carecenter(url, topic, bodies(3), warm[1], 2))
    if kind == "postgresql":  # `serve --workers` is PostgreSQL's
        figures["http_two_processes_readings_per_s"] = round(http_batch(url, bodies(5), warm[3], 2))
        figures["two_processes_vs_http"] = round(
            figures["two_processes_readings_per_s"] / figures["http_two_processes_readings_per_s"], 3
        )
    figures["one_process_vs_bare"] = round(figures["one_process_readings_per_s"] / figures["bare_readings_per_s"], 3)
    return figures
