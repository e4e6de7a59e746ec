"""The measurements. Each returns a dict of figures; the targets are checked by the caller."""

import asyncio
import json
import random
import statistics
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Any

import httpx
import sqlalchemy as sa

from bench import progress
from bench.harness import FanOut, Seeded, Server, copy_rows, database_cpu_seconds, now, percentile
from carecenter.readings.models import Reading
from notifications.fake_twilio_api import FakeTwilioApi


def _reading(serial: str, at: datetime, rng: random.Random) -> dict[str, Any]:
    return {
        "event_id": uuid.uuid4().hex,
        "device": serial,
        "kind": "vitals",
        "recorded_at": at.isoformat(),
        "heart_rate": rng.randint(60, 95),
        "spo2": rng.randint(95, 99),
        "battery_pct": rng.randint(40, 100),
    }


class BatchPoster:
    """`POST /api/v1/checkins/batch` with a device key from a thread pool: an HTTP client per thread,
    and a 503 (nothing saved) sent again after its Retry-After, as a gateway does. Returns how many
    readings each batch had accepted; `retries` counts the 503s."""

    def __init__(self, url: str, key: str) -> None:
        self.url, self.retries = url, 0
        self.headers = {"X-Device-Key": key, "Content-Type": "application/json"}
        self._local = threading.local()

    def __call__(self, body: dict[str, Any] | bytes) -> int:
        """Post a batch: a body given as bytes is sent as it is (encoded before the clock starts)."""
        if not hasattr(self._local, "client"):
            self._local.client = httpx.Client(base_url=self.url, timeout=120)
        content = body if isinstance(body, bytes) else json.dumps(body).encode()
        while True:
            response = self._local.client.post("/api/v1/checkins/batch", content=content, headers=self.headers)
            if response.status_code != 503:
                break
            self.retries += 1
            time.sleep(float(response.headers.get("Retry-After", "1")))
        response.raise_for_status()
        return int(response.json()["accepted"])


def batch_ingestion(server: Server, seeded: Seeded, *, batches: int, clients: int) -> dict[str, Any]:
    """Readings per second through POST /checkins/batch (1,000 each) from `clients` gateways at
    once, each posting the readings of its own share of the watches one batch after another, as a
    gateway forwards the readings of the devices it hears."""
    rng = random.Random(1)
    at = now()
    shares = [seeded.serials[n::clients] for n in range(clients)]
    # Encoded before the clock starts: the load generator shares the machine's two cores.
    bodies: list[list[bytes]] = [[] for _ in range(clients)]
    for n in range(batches):
        share = shares[n % clients]
        bodies[n % clients].append(
            json.dumps({"readings": [_reading(rng.choice(share), at, rng) for _ in range(1000)]}).encode()
        )
    send = BatchPoster(server.url, seeded.gateway_key)

    started, cpu_before, database_before = time.perf_counter(), server.cpu_seconds(), database_cpu_seconds()
    with progress.phase(f"load: {batches} batches of 1,000", batches) as advance, ThreadPoolExecutor(clients) as pool:

        def gateway(own: list[bytes]) -> int:
            accepted = 0
            for body in own:
                accepted += send(body)
                advance(1)
            return accepted

        accepted = sum(pool.map(gateway, bodies))
    elapsed, cpu = time.perf_counter() - started, server.cpu_seconds() - cpu_before
    database = database_cpu_seconds() - database_before
    return {
        "readings": accepted,
        "seconds": round(elapsed, 2),
        "readings_per_s": round(accepted / elapsed),
        "retries": send.retries,
        "server_cpu_us_per_reading": round(cpu * 1e6 / max(accepted, 1), 1),
        "database_cpu_us_per_reading": round(database * 1e6 / max(accepted, 1), 1),
    }


def single_readings(
    url: str,
    requests: list[tuple[str, dict[str, str], dict[str, Any]]],
    *,
    clients: int,
    label: str = "requests",
    connected: Callable[[], None] = lambda: None,
) -> dict[str, Any]:
    """Requests per second and latency for one reading per request, from `clients` concurrent clients.

    `requests` are (path, headers, body); async clients keep 64 connections busy from one
    thread, so the client's own cost stays small beside the server's. `connected` is called once
    every client has connected, just before the first request goes.
    """
    latencies: list[float] = []
    failures = 0

    async def client_loop(
        client: httpx.AsyncClient, queue: list[tuple[str, dict[str, str], dict[str, Any]]], advance: progress.Advance
    ) -> None:
        nonlocal failures
        while queue:
            path, headers, body = queue.pop()
            started = time.perf_counter()
            response = await client.post(path, json=body, headers=headers)
            latencies.append((time.perf_counter() - started) * 1000)
            advance(1)
            if response.status_code not in (200, 201):
                failures += 1

    async def run() -> float:
        queue = list(reversed(requests))
        # One client (one connection) per device, as in the field; httpx's shared pool is slow at 64.
        devices = [httpx.AsyncClient(base_url=url, timeout=60) for _ in range(clients)]
        try:
            await asyncio.gather(*(device.get("/readyz") for device in devices))  # connect before timing
            connected()
            with progress.phase(f"load: {len(requests):,} {label} from {clients} clients", len(requests)) as advance:
                started = time.perf_counter()
                await asyncio.gather(*(client_loop(device, queue, advance) for device in devices))
                return time.perf_counter() - started
        finally:
            for device in devices:
                await device.aclose()

    elapsed = asyncio.run(run())
    latencies.sort()
    return {
        "requests": len(requests),
        "failures": failures,
        "requests_per_s": round(len(requests) / elapsed),
        "p50_ms": round(statistics.median(latencies), 1),
        "p99_ms": round(percentile(latencies, 0.99) or 0, 1),
    }


def checkin_requests(seeded: Seeded, n: int) -> list[tuple[str, dict[str, str], dict[str, Any]]]:
    """Single heartbeats from the seeded watches, each with its own key."""
    rng = random.Random(4)
    requests = []
    for i in range(n):
        key = seeded.watch_keys[i % len(seeded.watch_keys)]
        body: dict[str, Any] = {"event_id": uuid.uuid4().hex, "kind": "heartbeat", "recorded_at": now().isoformat()}
        body["heart_rate"] = rng.randint(60, 95)
        requests.append(("/api/v1/checkins", {"X-Device-Key": key}, body))
    return requests


def naive_requests(seeded: Seeded, n: int) -> list[tuple[str, dict[str, str], dict[str, Any]]]:
    """The same readings for the naive peer."""
    rng = random.Random(4)
    return [
        (
            "/readings",
            {},
            {
                "device": seeded.serials[i % len(seeded.serials)],
                "event_id": uuid.uuid4().hex,
                "kind": "heartbeat",
                "recorded_at": now().isoformat(),
                "heart_rate": rng.randint(60, 95),
            },
        )
        for i in range(n)
    ]


def sms_fanout(server: Server, fanout: FanOut, twilio: FakeTwilioApi, *, rate_limit: float) -> dict[str, Any]:
    """Every watch presses SOS at once; until the provider has accepted all 4 messages of each alert."""
    already = len(twilio.received)
    requests = [
        (
            "/api/v1/checkins",
            {"X-Device-Key": key},
            {"event_id": uuid.uuid4().hex, "kind": "sos", "recorded_at": now().isoformat()},
        )
        for key in fanout.watch_keys
    ]
    # From the first SOS on: the clients' connecting (64 readiness checks) is neither time nor CPU of the alerts.
    started, cpu_before, sending_before = 0.0, 0.0, 0.0

    def first_sos() -> None:
        nonlocal started, cpu_before, sending_before
        started, cpu_before, sending_before = time.monotonic(), server.cpu_seconds(), server.sending_cpu_seconds()

    posted = single_readings(
        server.url, requests, clients=min(64, len(requests)), label="SOS at once", connected=first_sos
    )
    all_posted = time.monotonic() - started
    deadline = started + 60
    while len(twilio.received) - already < fanout.phones and time.monotonic() < deadline:
        time.sleep(0.01)
    received = twilio.received[already:]
    cpu = server.cpu_seconds() - cpu_before
    sending = server.sending_cpu_seconds() - sending_before
    times = sorted(m.received_at for m in received)
    busiest = max((sum(1 for t in times[i:] if t < start + 1) for i, start in enumerate(times)), default=0)
    return {
        "alerts": len(requests),
        "post_failures": posted["failures"],
        "messages": len(received),
        "expected": fanout.phones,
        "duplicates": len(received) - len({(m.to, m.body) for m in received}),
        "seconds": round((times[-1] if times else started) - started, 2),
        "posting_seconds": round(all_posted, 2),
        "first_message_seconds": round((times[0] if times else started) - started, 2),
        "rate_limit_per_s": rate_limit,
        "busiest_second": busiest,
        # The server's CPU for each SOS: its request, the alert, the recipients, the outbox rows and
        # the provider calls of its messages; and of that, what the dispatcher's threads spent
        # sending them (claiming the rows, the SDK's requests, recording the answers).
        "server_cpu_ms_per_sos": round(cpu * 1000 / max(len(requests), 1), 2),
        "sending_cpu_ms_per_sos": round(sending * 1000 / max(len(requests), 1), 2),
    }


def raw_insert(url: str, seeded: Seeded, *, rows: int) -> dict[str, Any]:
    """The same rows written straight into the table: COPY on PostgreSQL, one executemany on SQLite."""
    rng = random.Random(2)
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        devices: dict[str, int] = {row[0]: row[1] for row in conn.execute(sa.text("SELECT serial, id FROM device"))}
        residents: dict[int, int | None] = {
            row[0]: row[1] for row in conn.execute(sa.text("SELECT id, resident_id FROM device"))
        }
        center = conn.execute(sa.text("SELECT id FROM center LIMIT 1")).scalar()
    at = now()
    records = []
    for _ in range(rows):
        device = devices[rng.choice(seeded.serials)]
        records.append(
            (
                device,
                residents[device],
                center,
                uuid.uuid4().hex,
                "vitals",
                "device",
                at,
                at,
                rng.randint(60, 95),
                rng.randint(95, 99),
                rng.randint(40, 100),
            )
        )
    columns = (
        "device_id",
        "resident_id",
        "center_id",
        "event_id",
        "kind",
        "source",
        "recorded_at",
        "received_at",
        "heart_rate",
        "spo2",
        "battery_pct",
    )
    started, database_cpu = time.perf_counter(), None
    if url.startswith("postgresql"):
        database_cpu = copy_rows(engine, "reading", list(columns), records)
    else:
        with engine.begin() as conn:
            conn.execute(Reading.__table__.insert(), [dict(zip(columns, r, strict=True)) for r in records])  # type: ignore[attr-defined]
    elapsed = time.perf_counter() - started
    engine.dispose()
    per_row = round(database_cpu * 1e6 / rows, 1) if database_cpu is not None else None
    return {
        "rows": rows,
        "seconds": round(elapsed, 3),
        "rows_per_s": round(rows / elapsed),
        "db_cpu_us_per_row": per_row,
    }


def alert_latency(
    server: Server, seeded: Seeded, twilio: FakeTwilioApi, *, sos: int, background_per_s: int
) -> dict[str, Any]:
    """From posting an SOS to its first SMS reaching the (fake) Twilio API, with background readings."""
    stop = threading.Event()

    def background() -> None:
        rng = random.Random(3)
        with httpx.Client(base_url=server.url, timeout=60) as client:
            while not stop.is_set():
                tick = time.monotonic()
                body = {"readings": [_reading(rng.choice(seeded.serials), now(), rng) for _ in range(background_per_s)]}
                client.post("/api/v1/checkins/batch", json=body, headers={"X-Device-Key": seeded.gateway_key})
                stop.wait(max(0.0, 1.0 - (time.monotonic() - tick)))

    loader = threading.Thread(target=background, daemon=True)
    if background_per_s:
        loader.start()
    latencies = []
    with (
        progress.phase(f"load: {sos} SOS, {background_per_s} readings/s around", sos) as advance,
        httpx.Client(base_url=server.url, timeout=30) as client,
    ):
        for n in range(sos):
            advance(1)
            key = seeded.watch_keys[n % len(seeded.watch_keys)]
            already = len(twilio.received)
            posted = time.monotonic()
            response = client.post(
                "/api/v1/checkins",
                headers={"X-Device-Key": key},
                json={"event_id": uuid.uuid4().hex, "kind": "sos", "recorded_at": now().isoformat()},
            )
            response.raise_for_status()
            alert_id = response.json()["alert_id"]
            marker = f"#{alert_id}"
            deadline = posted + 10
            arrived = None
            while arrived is None and time.monotonic() < deadline:
                arrived = next((m.received_at for m in twilio.received[already:] if marker in m.body), None)
                if arrived is None:
                    time.sleep(0.002)
            if arrived is not None:
                latencies.append((arrived - posted) * 1000)
    stop.set()
    if background_per_s:
        loader.join(10)
    latencies.sort()
    return {
        "sos": sos,
        "delivered": len(latencies),
        "p50_ms": round(statistics.median(latencies), 1) if latencies else None,
        "p99_ms": round(p99, 1) if (p99 := percentile(latencies, 0.99)) is not None else None,
    }
