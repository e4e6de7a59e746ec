"""Readings at two table sizes an order of magnitude apart (#18 part 4): batch ingestion, the
resident's 30-day chart and the silent-device sweep, on a table seeded with COPY (executemany on
SQLite) to N readings and then to 10 N. The readings spread over the last 13 months, as a
district's would after a year, in the monthly partitions a year of upkeep would have made; the
cost should stay flat. The chart is drawn for a few residents whose watches report every 10 minutes
(their month is the 720 hourly means a chart can hold), the same month at both sizes; the other
readings fill the table around them, so the chart's figure measures the table, not a denser month."""

import random
import time
from collections.abc import Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa

from bench import cases, district, progress
from bench.harness import Seeded, database_url, now, percentile, seed, start_server
from carecenter.db import make_engine
from carecenter.ingest import upkeep
from carecenter.readings import partitions
from carecenter.readings.models import Reading
from carecenter.web.session import COOKIE
from notifications.fake_twilio_api import FakeTwilioApi

HISTORY = timedelta(days=395)
RESIDENTS = 2000
WARM_UP_BATCHES = 5
BATCHES = 40  # of 1,000 readings, at each size
CHART_REQUESTS = 100
CHARTED = 20  # residents whose last 30 days are a watch's every 10 minutes, at both sizes
CHARTED_EVERY = timedelta(minutes=10)


def run(kind: str, workdir: Path, sizes: tuple[int, int]) -> dict[str, Any]:
    url = database_url(kind, workdir, name="carecenter_bench_scale")
    at = now()
    seeded = seed(url, residents=RESIDENTS, now=at)
    engine = make_engine(url)
    if kind == "postgresql":
        with engine.begin() as conn:  # the months a year of nightly upkeep would have made
            partitions.ensure_months(conn, at - HISTORY, 14)
    figures: dict[str, Any] = {}
    with engine.connect() as conn:
        devices = conn.execute(
            sa.text("SELECT id, resident_id, center_id FROM device WHERE resident_id IS NOT NULL ORDER BY id")
        ).all()
    # At most a fifth of the smaller table (the quick run's is small)
    charting = max(1, min(CHARTED, sizes[0] // 5 // int(timedelta(days=30) / CHARTED_EVERY)))
    charted, others = devices[:charting], devices[charting:]
    try:
        loaded = seed_charted_month(engine, charted, at=at)
        for label, size in zip(("small", "large"), sizes, strict=True):
            loaded += seed_readings(engine, others, size - loaded, offset=loaded, at=at)
            figures[f"scale_{label}_readings"] = loaded
            measured = measure(url, seeded, engine, at, charted=[resident for _, resident, _ in charted])
            figures |= {f"scale_{label}_{name}": value for name, value in measured.items()}
        figures["scale_bytes_per_reading"] = bytes_per_reading(engine, loaded)
    finally:
        engine.dispose()
    for name in ("batch_readings_per_s", "batch_db_cpu_us_per_reading", "chart_p95_ms", "silent_sweep_ms"):
        small, large = figures[f"scale_small_{name}"], figures[f"scale_large_{name}"]
        figures[f"scale_{name}_change"] = round(large / small - 1, 3) if small and large is not None else None
    return figures


def _row(device: Any, k: int, event_id: str, recorded: datetime) -> dict[str, Any]:
    """The `k`th seeded reading of a (device, resident, center) row."""
    device_id, resident_id, center_id = device
    return {
        "device_id": device_id,
        "resident_id": resident_id,
        "center_id": center_id,
        "event_id": event_id,
        "kind": "vitals",
        "source": "device",
        "recorded_at": recorded,
        "received_at": recorded,
        "heart_rate": 60 + (k * 7) % 35,
        "spo2": 95 + k % 5,
        "battery_pct": 80,
    }


def seed_charted_month(engine: sa.Engine, devices: Sequence[Any], *, at: datetime) -> int:
    """The charted residents' last 30 days: a reading every 10 minutes from each of their watches."""
    per_device = int(timedelta(days=30) / CHARTED_EVERY)

    def rows() -> Any:
        for device_id, resident_id, center_id in devices:
            for k in range(per_device):
                yield _row((device_id, resident_id, center_id), k, f"charted-{k}", at - CHARTED_EVERY * (k + 1))

    with progress.phase(
        f"seed: a month of {len(devices)} watches every 10 minutes", len(devices) * per_device
    ) as advance:
        return district.load_rows(engine, Reading.__table__, rows(), advance)  # type: ignore[attr-defined]


def seed_readings(engine: sa.Engine, devices: Sequence[Any], count: int, *, offset: int, at: datetime) -> int:
    """`count` readings of the other seeded watches, spread over the history; then the roll-ups."""
    rng = random.Random(offset)
    step = HISTORY / count

    def rows() -> Any:
        for k in range(count):
            recorded = at - step * (k + rng.random()) - timedelta(days=1)
            yield _row(devices[k % len(devices)], k, f"scale-{offset + k}", recorded)

    with progress.phase(f"seed: {count:,} readings", count) as advance:
        written = district.load_rows(engine, Reading.__table__, rows(), advance)  # type: ignore[attr-defined]
    with progress.phase("seed: hourly roll-ups", None), engine.begin() as conn:
        upkeep.roll_up_stored(conn)
    # What autovacuum does to a table that grew (PostgreSQL): the statistics, and the visibility
    # map an index-only scan reads (a rebuilt roll-up table is otherwise read row by row from the heap).
    with engine.connect() as conn:
        after_load = "VACUUM ANALYZE" if engine.dialect.name == "postgresql" else "ANALYZE"
        conn.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql(after_load)
    return written


def measure(url: str, seeded: Seeded, engine: sa.Engine, at: datetime, *, charted: list[int]) -> dict[str, Any]:
    twilio = FakeTwilioApi().start()
    server = start_server(url, twilio)
    try:
        # The fresh server's first batches warm its caches and prepared statements, which is the
        # process's cost and not the table's; then enough batches that one slow second is not 10 %.
        cases.batch_ingestion(server, seeded, batches=WARM_UP_BATCHES, clients=1)
        batch = cases.batch_ingestion(server, seeded, batches=BATCHES, clients=1)
        chart = chart_p95_ms(server.url, charted, repeats=CHART_REQUESTS)
    finally:
        server.stop()
        twilio.stop()
    return {
        "batch_readings_per_s": batch["readings_per_s"],
        # PostgreSQL's own processes; SQLite runs inside the server's
        "batch_db_cpu_us_per_reading": batch["database_cpu_us_per_reading"]
        if engine.dialect.name == "postgresql"
        else None,
        "chart_p95_ms": chart,
        "silent_sweep_ms": silent_sweep_ms(url, at),
    }


def chart_p95_ms(base: str, residents: list[int], *, repeats: int) -> float:
    rng = random.Random(7)
    times = []
    with httpx.Client(base_url=base, timeout=60) as client:
        client.cookies.set(COOKIE, district.api_token(client, "bench_manager"))
        with progress.phase("chart: the resident page", repeats + 2) as advance:
            for _ in range(repeats + 2):
                started = time.perf_counter()
                client.get(f"/residents/{rng.choice(residents)}").raise_for_status()
                times.append((time.perf_counter() - started) * 1000)
                advance(1)
    return round(percentile(times[2:], 0.95) or 0, 1)  # the first two warm the caches


def silent_sweep_ms(url: str, at: datetime) -> float:
    job = "detect-silent-devices"
    return float(district.sweep_times(url, repeats=5, now=at, jobs=(job,))[f"{job}_ms"])


def bytes_per_reading(engine: sa.Engine, readings: int) -> int:
    """Disk per raw reading with its indexes and idempotency key (what sizing multiplies)."""
    with engine.connect() as conn:
        if engine.dialect.name == "postgresql":
            size = conn.execute(
                sa.text("SELECT sum(pg_total_relation_size(relid)) FROM pg_partition_tree('reading') WHERE isleaf")
            ).scalar_one()
            size += conn.execute(sa.text("SELECT pg_total_relation_size('reading_key')")).scalar_one()
        else:
            pages = conn.exec_driver_sql("PRAGMA page_count").scalar_one()
            size = pages * conn.exec_driver_sql("PRAGMA page_size").scalar_one()  # the whole file: an upper bound
    return round(int(size) / max(1, readings))
