"""Readings that do not grow without end: roll-ups, retention, partitions, alerts keeping their
readings, and the in-place conversion of an existing table (migration 0011)."""

import random
import re
import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import sqlalchemy as sa
from alembic import command
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlmodel import Session, col, select

from carecenter.alerts.models import Alert
from carecenter.context import app_context
from carecenter.db import make_engine
from carecenter.devices.models import Device, DeviceKind
from carecenter.ingest import bulk, service, upkeep
from carecenter.migrate import alembic_config, upgrade_to_head
from carecenter.readings import partitions
from carecenter.readings.models import Reading, ReadingHourly, ReadingKey, hour_of, reading_hourly_pending
from carecenter.readings.queries import hourly_totals, vital_series
from carecenter.residents.models import Resident
from tests.carecenter.alerts.scenario import build
from tests.carecenter.web.test_pages import web_login
from tests.conftest import Clock
from tests.factories import login, make_center, make_device, make_resident
from tests.waiting import eventually


def hourly(session: Session, vital: str) -> list[tuple[datetime, float, float, float, int]]:
    """The hourly roll-ups of a vital sign, once the pending ones are added (as the check-in
    writer does within about a second: `test_the_writer_adds_pending_roll_ups_by_itself`)."""
    if session.get_bind().dialect.name == "postgresql":
        bulk.fold_pending(session.connection())
        session.commit()
    rows = session.exec(
        select(ReadingHourly).where(ReadingHourly.vital == vital).order_by(col(ReadingHourly.hour)),
        execution_options={"populate_existing": True},
    ).all()
    return [(r.hour, r.minimum, r.maximum, r.total, r.samples) for r in rows]


def test_vital_signs_roll_up_by_hour_once_each(client: TestClient, session: Session, clock: Clock) -> None:
    s = build(session, clock.now)
    hour = hour_of(clock.now - timedelta(hours=2))
    for minute, rate in ((5, 60), (20, 100), (40, 80)):
        at = hour + timedelta(minutes=minute)
        assert s.post(client, at, "vitals", event_id=f"hr-{minute}", heart_rate=rate).status_code == 201
    again = s.post(client, hour + timedelta(minutes=5), "vitals", event_id="hr-5", heart_rate=60)
    assert again.json()["result"] == "duplicate"
    # A batch big enough for PostgreSQL's COPY path, with a repeat inside it.
    items = [
        {
            "event_id": f"ox-{i}",
            "kind": "vitals",
            "recorded_at": (clock.now - timedelta(seconds=i)).isoformat(),
            "spo2": 90 + i % 10,
        }
        for i in range(60)
    ]
    answer = client.post(
        "/api/v1/checkins/batch", json={"readings": items + items[:1]}, headers={"X-Device-Key": s.key}
    )
    assert (answer.json()["accepted"], answer.json()["duplicate"]) == (60, 1)
    # A small batch (PostgreSQL: one statement over arrays), a repeat inside it and one stored before.
    small = [
        {"event_id": f"t-{i}", "kind": "vitals", "recorded_at": (hour + timedelta(minutes=i)).isoformat()}
        | ({"temperature": 36.0 + i / 10} if i % 2 else {})
        for i in range(6)
    ]
    answer = client.post(
        "/api/v1/checkins/batch", json={"readings": [*small, small[1]]}, headers={"X-Device-Key": s.key}
    )
    assert (answer.json()["accepted"], answer.json()["duplicate"]) == (6, 1)
    answer = client.post("/api/v1/checkins/batch", json={"readings": small[:2]}, headers={"X-Device-Key": s.key})
    assert (answer.json()["accepted"], answer.json()["duplicate"]) == (0, 2)
    [(at, low, high, total, samples)] = hourly(session, "temperature")
    assert (at, low, high, round(total, 6), samples) == (hour, 36.1, 36.5, 108.9, 3)
    assert hourly(session, "heart_rate") == [(hour, 60, 100, 240, 3)]
    oxygen = hourly(session, "spo2")
    assert sum(row[4] for row in oxygen) == 60
    assert sum(row[3] for row in oxygen) == sum(90 + i % 10 for i in range(60))
    assert (min(r[1] for r in oxygen), max(r[2] for r in oxygen)) == (90, 99)
    # Rebuilt from the stored readings (as a benchmark's seed is), the roll-ups are the same.
    upkeep.roll_up_stored(session.connection())
    session.commit()
    assert hourly(session, "heart_rate") == [(hour, 60, 100, 240, 3)] and hourly(session, "spo2") == oxygen
    assert hourly(session, "temperature")[0][4] == 3


def test_without_consent_nothing_is_rolled_up(client: TestClient, session: Session, clock: Clock) -> None:
    s = build(session, clock.now)
    s.resident.consent_health_data = False
    session.add(s.resident)
    session.commit()
    assert s.post(client, clock.now, "vitals", event_id="v", heart_rate=70).status_code == 201
    assert hourly(session, "heart_rate") == []


def test_the_chart_reads_roll_ups_before_the_last_day_and_outlives_the_raw(
    client: TestClient, session: Session, clock: Clock
) -> None:
    s = build(session, clock.now)
    old_hour = hour_of(clock.now - timedelta(days=3))
    for minute, rate in ((10, 70), (50, 90)):
        s.post(client, old_hour + timedelta(minutes=minute), "vitals", event_id=f"old-{minute}", heart_rate=rate)
    s.post(client, clock.now - timedelta(minutes=1), "vitals", event_id="new", heart_rate=75)
    expected = [(old_hour + timedelta(minutes=30), 80), (clock.now - timedelta(minutes=1), 75)]
    series = vital_series(
        session, resident_id=s.resident.id or 0, vital="heart_rate", since=clock.now - timedelta(days=30), now=clock.now
    )
    assert series == expected
    # The raw readings of that day are gone, as after the retention period.
    session.execute(sa.delete(Reading).where(col(Reading.recorded_at) < clock.now - timedelta(days=1)))
    session.commit()
    series = vital_series(
        session, resident_id=s.resident.id or 0, vital="heart_rate", since=clock.now - timedelta(days=30), now=clock.now
    )
    assert series == expected
    web_login(client, s.manager.username)
    page = client.get(f"/residents/{s.resident.id}")
    assert page.status_code == 200 and f"/residents/{s.resident.id}/vitals/heart_rate.svg" in page.text
    table = re.search(r'id="chart-heart_rate".*?<tbody>(.*?)</tbody>', page.text, re.S)
    assert table is not None and len(re.findall(r"<tr>", table.group(1))) == 2  # the old hour's day and today
    assert client.get(f"/residents/{s.resident.id}/vitals/heart_rate.svg").status_code == 200


def test_the_chart_reads_its_hours_from_the_key_alone(session: Session, clock: Clock) -> None:
    """PostgreSQL: a month of a resident's hourly roll-ups is read from the primary key's index,
    which carries each hour's total and count (an hour's rows of every resident are written
    together, so one resident's month would otherwise be a heap page per hour)."""
    if session.get_bind().dialect.name != "postgresql":
        pytest.skip("SQLite has no INCLUDE: its key holds no values")
    stmt = hourly_totals(1, "heart_rate", clock.now - timedelta(days=30), clock.now).compile(
        dialect=session.get_bind().dialect, compile_kwargs={"literal_binds": True}
    )
    session.execute(sa.text("SET LOCAL enable_seqscan = off"))  # the empty test table would be read whole
    session.execute(sa.text("SET LOCAL enable_bitmapscan = off"))
    plan = "\n".join(row[0] for row in session.execute(sa.text(f"EXPLAIN {stmt}")))
    session.rollback()
    assert "Index Only Scan using pk_reading_hourly on reading_hourly" in plan, plan


def test_the_writer_adds_pending_roll_ups_by_itself_and_the_chart_counts_them_before(
    client: TestClient, session: Session, clock: Clock
) -> None:
    s = build(session, clock.now)
    hour = hour_of(clock.now - timedelta(days=2))  # charted from the roll-ups, not the raw readings
    items = [
        {"event_id": f"p-{i}", "kind": "vitals", "recorded_at": (hour + timedelta(seconds=i)).isoformat()}
        | {"heart_rate": 60 + i % 30}
        for i in range(bulk.COPY_FROM + 10)
    ]
    answer = client.post("/api/v1/checkins/batch", json={"readings": items}, headers={"X-Device-Key": s.key})
    assert answer.json()["accepted"] == len(items)
    mean = sum(60 + i % 30 for i in range(len(items))) / len(items)
    series = vital_series(
        session, resident_id=s.resident.id or 0, vital="heart_rate", since=clock.now - timedelta(days=30), now=clock.now
    )
    [(at, value)] = series  # folded or not yet
    assert (at, round(value, 6)) == (hour + timedelta(minutes=30), round(mean, 6))
    stored = sa.select(col(ReadingHourly.samples)).where(col(ReadingHourly.vital) == "heart_rate")

    def folded() -> bool:
        session.rollback()  # a new snapshot each look
        waiting = session.exec(select(sa.func.count()).select_from(reading_hourly_pending)).one()
        return waiting == 0 and session.execute(stored).scalars().all() == [len(items)]

    assert eventually(folded), "the check-in writer never added the pending roll-ups"


def test_batches_for_the_same_residents_at_once_roll_up_every_reading_once(app: FastAPI, session: Session) -> None:
    """Writers of the same residents and hours, and folds running meanwhile (several processes do
    both): every reading is counted once, nobody deadlocks."""
    center = make_center(session)
    serials = []
    for _ in range(8):
        resident = make_resident(session, center=center, consent_health_data=True)
        watch, _key = make_device(session, center=center, resident=resident)
        serials.append(watch.serial)
    _gateway, gateway_key = make_device(session, center=center, kind=DeviceKind.gateway)
    engine = app_context(app).engine
    now = datetime.now(UTC)
    rng = random.Random(7)
    batches: list[list[dict[str, Any]]] = [
        [
            {
                "event_id": f"b{n}-{i}",
                "device": rng.choice(serials),
                "kind": "vitals",
                "recorded_at": (now - timedelta(hours=rng.randint(0, 3), minutes=rng.randint(0, 59))).isoformat(),
                "heart_rate": rng.randint(50, 120),
                "spo2": rng.randint(88, 100),
            }
            for i in range(bulk.COPY_FROM + rng.randint(0, 30))
        ]
        for n in range(12)
    ]
    on_postgresql = engine.dialect.name == "postgresql"
    posting = threading.Event()

    def post(batch: list[dict[str, Any]]) -> int:
        with Session(engine) as own:
            poster = service.poster_of(own, gateway_key)
            ingested = service.ingest(
                session=own, messaging=app_context(app).alert_messaging, posts=[(poster, r) for r in batch], now=now
            )
            own.commit()
        return sum(a.result == "accepted" for a in ingested.answers)

    def fold_meanwhile() -> None:
        while posting.is_set():
            with engine.begin() as connection:
                bulk.fold_pending(connection)

    posting.set()
    with ThreadPoolExecutor(1) as folding, ThreadPoolExecutor(3) as posters:
        folder = folding.submit(fold_meanwhile) if on_postgresql else None
        try:
            accepted = list(posters.map(post, batches))
        finally:
            posting.clear()
        if folder is not None:
            folder.result(timeout=30)
    assert accepted == [len(b) for b in batches]
    expected: dict[tuple[str, str, datetime], list[float]] = {}
    for item in (item for batch in batches for item in batch):
        for vital in ("heart_rate", "spo2"):
            at = hour_of(datetime.fromisoformat(item["recorded_at"]))
            bucket = expected.setdefault((item["device"], vital, at), [])
            bucket.append(item[vital])
    by_serial: dict[str, int] = {
        serial: resident_id
        for serial, resident_id in session.execute(sa.select(col(Device.serial), col(Device.resident_id)))
    }
    want = {
        (by_serial[serial], vital, at): (min(v), max(v), sum(v), len(v)) for (serial, vital, at), v in expected.items()
    }
    if on_postgresql:
        bulk.fold_pending(session.connection())  # what the last batches left
        session.commit()
    rows = session.exec(select(ReadingHourly), execution_options={"populate_existing": True}).all()
    got = {(r.resident_id, r.vital, r.hour): (r.minimum, r.maximum, r.total, r.samples) for r in rows}
    assert got == want


def test_a_process_does_not_wait_for_another_s_fold(
    client: TestClient, session: Session, db: sa.Engine, clock: Clock
) -> None:
    """The check-in writer folds between groups of readings: waiting for another process's fold
    would keep its watches' answers waiting. It skips its turn; the other takes every row."""
    if session.get_bind().dialect.name != "postgresql":
        pytest.skip("SQLite adds the roll-ups in the batch's transaction")
    s = build(session, clock.now)
    s.post(client, clock.now - timedelta(minutes=1), "vitals", event_id="v-1", heart_rate=71)
    with db.connect() as folding, db.connect() as other:
        assert bulk.fold_pending(folding) is not None  # holds the turn until it commits
        other.exec_driver_sql("SET lock_timeout = '1s'")  # a wait would fail the test, not hang it
        started = time.monotonic()
        assert bulk.fold_pending(other) is None
        assert time.monotonic() - started < 0.5
        other.rollback()
        s.post(client, clock.now, "vitals", event_id="v-2", heart_rate=73)
        folding.commit()
        assert bulk.fold_pending(other) is not None  # its turn now: it takes what was left
        other.commit()
    assert session.exec(select(sa.func.count()).select_from(reading_hourly_pending)).one() == 0
    rows = hourly(session, "heart_rate")
    assert (sum(row[3] for row in rows), sum(row[4] for row in rows)) == (144, 2)


def test_a_consent_withdrawn_behind_a_process_s_back_still_keeps_the_vitals_out(
    app: FastAPI, client: TestClient, session: Session, clock: Clock
) -> None:
    """A big batch writes its rows before it locks the residents, with the consent the process
    last read; when the lock finds it withdrawn since, the rows are written again without."""
    s = build(session, clock.now)

    def batch(prefix: str) -> list[dict[str, Any]]:
        at = clock.now - timedelta(minutes=1)
        return [
            {"event_id": f"{prefix}-{i}", "kind": "vitals", "recorded_at": (at + timedelta(seconds=i)).isoformat()}
            | {"heart_rate": 70, "latitude": 39.76, "longitude": 116.21}
            for i in range(bulk.COPY_FROM)
        ]

    first = client.post("/api/v1/checkins/batch", json={"readings": batch("a")}, headers={"X-Device-Key": s.key})
    assert first.json()["accepted"] == bulk.COPY_FROM  # the process now knows the resident as consenting
    session.execute(sa.update(Resident).where(col(Resident.id) == s.resident.id).values(consent_health_data=False))
    session.commit()
    second = client.post("/api/v1/checkins/batch", json={"readings": batch("b")}, headers={"X-Device-Key": s.key})
    assert second.json()["accepted"] == bulk.COPY_FROM
    kept = session.execute(
        sa.select(col(Reading.heart_rate), col(Reading.latitude)).where(col(Reading.event_id).startswith("b-"))
    ).all()
    assert len(kept) == bulk.COPY_FROM and {tuple(row) for row in kept} == {(None, 39.76)}
    assert [row[4] for row in hourly(session, "heart_rate")] == [bulk.COPY_FROM]  # the first batch only
    # Written again, the rows are still under the resident's lock until the commit: the rules
    # that follow are the only ones running for this resident (a rollback to before the rows
    # were written lets go of the locks taken since, and so of the one the rules need).
    session.execute(sa.update(Resident).where(col(Resident.id) == s.resident.id).values(consent_health_data=True))
    session.commit()
    engine = app_context(app).engine
    with Session(engine) as own:
        poster = service.poster_of(own, s.key)
        service.ingest(
            session=own,
            messaging=app_context(app).alert_messaging,
            posts=[(poster, raw) for raw in batch("c")],
            now=clock.now,
        )
        if engine.dialect.name == "postgresql":
            with engine.connect() as other, pytest.raises(sa.exc.OperationalError, match="could not obtain lock"):
                other.execute(
                    sa.text("SELECT id FROM resident WHERE id = :id FOR NO KEY UPDATE NOWAIT"), {"id": s.resident.id}
                )
        own.rollback()


def test_an_alert_keeps_the_reading_that_opened_it(client: TestClient, session: Session, clock: Clock) -> None:
    s = build(session, clock.now)
    s.post(client, clock.now, "sos", event_id="sos-1", latitude=39.7601, longitude=116.2102, battery_pct=55)
    s.post(client, clock.now + timedelta(seconds=30), "sos", event_id="sos-2", battery_pct=54)
    session.execute(sa.delete(Reading))  # the raw readings are gone
    session.commit()
    alert = session.exec(select(Alert)).one()
    answer = client.get(f"/api/v1/alerts/{alert.id}", headers=login(client, s.manager)).json()
    assert answer["first_reading"] == {
        "recorded_at": clock.now.isoformat(),
        "kind": "sos",
        "latitude": 39.7601,
        "longitude": 116.2102,
        "battery_pct": 55,
    }
    assert answer["last_reading"]["battery_pct"] == 54 and answer["trigger_count"] == 2


# -- on a database of the test's own (the upkeep changes partitions, which other tests rely on) --
@pytest.fixture
def own_url(database_url: str, tmp_path: Path) -> Iterator[str]:
    """An empty database of the suite's kind: a new SQLite file, or a new PostgreSQL schema."""
    if database_url.startswith("sqlite"):
        yield f"sqlite:///{tmp_path / 'own.db'}"
        return
    schema = f"own_{uuid.uuid4().hex[:12]}"
    admin = make_engine(database_url)
    with admin.begin() as conn:
        conn.exec_driver_sql(f"CREATE SCHEMA {schema}")
    separator = "&" if "?" in database_url else "?"
    yield f"{database_url}{separator}options=-csearch_path%3D{schema}"
    with admin.begin() as conn:
        conn.exec_driver_sql(f"DROP SCHEMA {schema} CASCADE")
    admin.dispose()


@dataclass(frozen=True)
class Worn:
    """A resident's watch, by ids: what the readings below are rows of."""

    center_id: int
    resident_id: int
    device_id: int

    def row(self, event_id: str, at: datetime, rate: int) -> bulk.Row:
        values = {
            "device_id": self.device_id,
            "resident_id": self.resident_id,
            "center_id": self.center_id,
            "event_id": event_id,
            "kind": "vitals",
            "source": "device",
            "recorded_at": at,
            "received_at": at,
            "heart_rate": rate,
        }
        return tuple(values.get(name) for name in bulk.READING_COLUMNS)


def a_worn_watch(session: Session) -> Worn:
    center = make_center(session)
    resident = make_resident(session, center=center)
    device, _ = make_device(session, center=center, resident=resident)
    assert center.id and resident.id and device.id
    return Worn(center.id, resident.id, device.id)


def an_old_worn_watch(session: Session) -> Worn:
    """A worn watch in a database at an older revision: the center and device rows written with the
    columns that revision has (the models have more since)."""
    now = datetime.now(UTC)
    at = sa.bindparam("at", type_=Reading.__table__.c.recorded_at.type)  # type: ignore[attr-defined]
    center_id = session.execute(
        sa.text(
            "INSERT INTO center (name, town, district, address, time_zone, welfare_visit_age, welfare_visit_days,"
            " photo_retention_days, created_at) VALUES (:name, '旧镇', '房山区', '', 'Asia/Shanghai', 80, 7, 365, :at)"
            " RETURNING id"
        ).bindparams(at),
        {"name": f"旧镇养老服务中心{now.timestamp()}", "at": now},
    ).scalar_one()
    resident_id = session.execute(
        sa.text(
            "INSERT INTO resident (name, gender, birth_date, address, care_level, living_situation, conditions,"
            " allergies, medications, mobility, dementia, wander_risk, notes, status, consent_health_data,"
            " consent_location_data, consent_family_sharing, consent_service_photos, daily_ok_checkin,"
            " watch_removed_alert, access_notes, center_id, created_at) VALUES ('旧居民', 'female', '1940-05-01', '',"
            " 'self_care', 'alone', '', '', '', 'independent', false, false, '', 'active', true, true, false, false,"
            " false, false, '', :c, :at) RETURNING id"
        ).bindparams(at),
        {"c": center_id, "at": now},
    ).scalar_one()
    resident: Any = SimpleNamespace(id=resident_id)  # not read back: the model has columns this revision lacks
    assert center_id and resident.id
    device_id = session.execute(
        sa.text(
            "INSERT INTO device (kind, serial, model, protocol, reporting_interval_seconds, resident_id, center_id,"
            " key_hash, key_prefix, key_rotated_at, created_at)"
            " VALUES ('watch', :serial, '', 'http', 300, :r, :c, :hash, 'dk_', :at, :at) RETURNING id"
        ).bindparams(sa.bindparam("at", type_=Reading.__table__.c.recorded_at.type)),  # type: ignore[attr-defined]
        {"serial": f"OLD-{resident.id}", "r": resident.id, "c": center_id, "hash": f"{resident.id:064d}", "at": now},
    ).scalar_one()
    session.commit()
    return Worn(center_id, resident.id, device_id)


def where_stored(session: Session) -> dict[str, str]:
    """Each reading's event id and the partition holding it (the table's name on SQLite)."""
    if session.get_bind().dialect.name != "postgresql":
        return {e: "reading" for e in session.exec(select(Reading.event_id)).all()}
    rows = session.execute(sa.text("SELECT event_id, tableoid::regclass::text FROM reading")).all()
    return {event_id: table for event_id, table in rows}


def test_the_upkeep_drops_what_is_past_retention_and_makes_partitions_ahead(own_url: str) -> None:
    upgrade_to_head(own_url)
    engine = make_engine(own_url, sqlite_write_lock=False)
    on_postgresql = engine.dialect.name == "postgresql"
    installed = datetime.now(UTC)
    now = partitions.month_start(installed) + timedelta(days=600)  # the district has run for ~20 months
    with Session(engine) as session:
        watch = a_worn_watch(session)
        times = {
            "installed": installed,
            "month-2": partitions.month_start(installed) + timedelta(days=40),
            "kept-old": now - timedelta(days=399),  # inside the retention period
            "today": now - timedelta(hours=1),
        }
        rows = [watch.row(name, at, 70) for name, at in times.items()]
        bulk.insert_new(session, rows)
        session.commit()
        if on_postgresql:
            bulk.fold_pending(session.connection())
            session.commit()
        before = where_stored(session)
        removed = upkeep.keep_readings(session, now=now, retention_days=400)
        session.commit()
        after = where_stored(session)
        assert set(after) == {"kept-old", "today"}
        assert removed >= 2
        # The hourly roll-ups stay for years.
        assert session.exec(select(sa.func.count()).select_from(ReadingHourly)).one() == 4
        if on_postgresql:
            assert before["installed"] == partitions.partition_name(partitions.month_start(installed))
            assert before["today"] == "reading_default"  # no month partition was made that far ahead
            assert after["today"] == partitions.partition_name(partitions.month_start(now))  # moved on attach
            names = {p.name for p in partitions.partitions(session.connection())}
            assert partitions.partition_name(partitions.month_start(installed)) not in names
            assert partitions.partition_name(partitions.month_start(now + timedelta(days=80))) in names
            # A second night has nothing more to do, and the next reading lands in its month.
            assert upkeep.keep_readings(session, now=now, retention_days=400) == 0
            bulk.insert_new(session, [watch.row("next", now, 71)])
            assert where_stored(session)["next"] == partitions.partition_name(partitions.month_start(now))
        else:
            assert removed == 2 + 3  # two readings, three idempotency keys
    engine.dispose()


def test_old_idempotency_keys_go_and_the_acceptance_window_stays(own_url: str) -> None:
    upgrade_to_head(own_url)
    engine = make_engine(own_url, sqlite_write_lock=False)
    now = datetime.now(UTC)
    with Session(engine) as session:
        watch = a_worn_watch(session)
        ages = {"fresh": timedelta(hours=1), "week": timedelta(days=7, minutes=-5), "stale": timedelta(days=9)}
        rows = [watch.row(name, now - age, 70) for name, age in ages.items()]
        bulk.insert_new(session, rows)
        session.commit()
        upkeep.keep_readings(session, now=now, retention_days=400)
        keys = set(session.exec(select(ReadingKey.event_id)).all())
        assert keys == {"fresh", "week"}
        # A resend inside the acceptance window is still a duplicate.
        assert bulk.insert_new(session, rows[:2]) == {}
    engine.dispose()


def test_an_existing_table_is_converted_in_place(own_url: str) -> None:
    """0011 on a database holding readings (as a district upgrading would): nothing lost,
    recent keys kept (a resend is a duplicate), the history rolled up, partitions on PostgreSQL."""
    config = alembic_config(own_url)
    command.upgrade(config, "0010")
    engine = make_engine(own_url, sqlite_write_lock=False)
    now = datetime.now(UTC)
    with Session(engine) as session:
        watch = an_old_worn_watch(session)
    seeded = 0
    with engine.begin() as conn:
        for day in range(0, 90, 3):
            for n in range(4):
                at = now - timedelta(days=day, minutes=10 * n)
                conn.execute(
                    sa.text(
                        "INSERT INTO reading (device_id, resident_id, center_id, event_id, kind, source,"
                        " recorded_at, received_at, heart_rate)"
                        " VALUES (:d, :r, :c, :e, 'vitals', 'device', :at, :at, :hr)"
                    ).bindparams(sa.bindparam("at", type_=Reading.__table__.c.recorded_at.type)),  # type: ignore[attr-defined]
                    {
                        "d": watch.device_id,
                        "r": watch.resident_id,
                        "c": watch.center_id,
                        "e": f"seed-{day}-{n}",
                        "at": at,
                        "hr": 60 + n,
                    },
                )
                seeded += 1
    command.upgrade(config, "head")
    with Session(engine) as session:
        assert session.exec(select(sa.func.count()).select_from(Reading)).one() == seeded
        keys = set(session.exec(select(ReadingKey.event_id)).all())
        assert keys == {f"seed-{day}-{n}" for day in (0, 3, 6) for n in range(4)}
        totals = session.exec(
            select(sa.func.sum(ReadingHourly.samples), sa.func.sum(ReadingHourly.total)).where(
                ReadingHourly.vital == "heart_rate"
            )
        ).one()
        assert totals == (seeded, sum(60 + n for _ in range(30) for n in range(4)))
        assert bulk.insert_new(session, [watch.row("seed-0-0", now, 60)]) == {}
        if engine.dialect.name == "postgresql":
            assert partitions.is_partitioned(session.connection())
            assert set(where_stored(session).values()) == {"reading_legacy"}
            made = partitions.create_ahead(session.connection(), now, months=5)  # the migration made 4
            fifth = partitions.month_start(now)
            for _ in range(5):
                fifth = partitions.next_month(fifth)
            assert made == [partitions.partition_name(fifth)]
        session.commit()
    command.downgrade(config, "0010")  # and back: one plain table with its unique rule
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM reading")).scalar_one() == seeded
        uniques = sa.inspect(conn).get_unique_constraints("reading")
        assert [u["column_names"] for u in uniques] == [["device_id", "event_id"]]
    engine.dispose()
