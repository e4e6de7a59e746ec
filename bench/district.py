"""Figures 5 and 6: the pages people wait for and the sweeps, on a district's worth of data.

The seed is a district: 20 centers, 20,000 residents (each with a watch and a family contact),
400 care workers, 4 weeks of visits (two a week per resident: two weeks back, two ahead),
5 million readings over the last 30 days, alerts past and open. Model rows go through the
models (so their defaults apply); visits and readings, the bulk, are written set-wise.
"""

import json
import random
import statistics
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
import sqlalchemy as sa
from sqlmodel import Session

from bench import progress
from bench.harness import PASSWORD, Server, copy_rows, percentile
from carecenter.access import Role
from carecenter.alerts.models import Alert
from carecenter.centers.models import Center
from carecenter.db import make_engine
from carecenter.devices.models import Device, DeviceKind
from carecenter.ingest import upkeep
from carecenter.passwords import hash_password
from carecenter.readings.models import Reading
from carecenter.residents.models import FamilyContact, Gender, Relation, Resident
from carecenter.staff.models import Staff
from carecenter.visits.models import Visit
from carecenter.web.session import COOKIE
from schedules.jobs import all_sweeps

ZONE = "Asia/Shanghai"
SURNAMES = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗"
GIVEN = "秀英桂英玉兰凤英建国志强淑珍德明桂兰文华"


@dataclass
class District:
    centers: int
    residents: int
    readings: int
    visits: int
    manager: str  # usernames in the first center
    worker: str
    resident_ids: list[int]  # of the first center


def seed_district(
    url: str, *, centers: int, residents_per_center: int, workers_per_center: int, readings: int, now: datetime
) -> District:
    rng = random.Random(5)
    engine = make_engine(url)
    password_hash = hash_password(PASSWORD)
    with Session(engine) as session:
        center_rows = [
            Center(
                name=f"{n + 1}号中心", town=f"镇{n + 1}", district="房山区", time_zone="Asia/Shanghai", created_at=now
            )
            for n in range(centers)
        ]
        session.add_all(center_rows)
        session.flush()
        staff: list[Staff] = []
        for c in center_rows:
            staff.append(_staff(c, Role.manager, f"mgr{c.id}", len(staff), password_hash, now))
            for n in range(workers_per_center):
                staff.append(_staff(c, Role.care_worker, f"w{c.id}_{n}", len(staff), password_hash, now))
        session.add_all(staff)
        session.commit()
        workers: dict[int, list[int]] = {}
        for s in staff:
            if s.role == Role.care_worker and s.id is not None and s.center_id is not None:
                workers.setdefault(s.center_id, []).append(s.id)
        people = []
        for c in center_rows:
            assert c.id is not None
            for n in range(residents_per_center):
                people.append(
                    Resident(
                        name=rng.choice(SURNAMES) + rng.choice(GIVEN) + str(n % 97),
                        gender=Gender.female if n % 2 else Gender.male,
                        birth_date=date(1930 + n % 25, 1 + n % 12, 1 + n % 28),
                        center_id=c.id,
                        primary_worker_id=workers[c.id][n % workers_per_center],
                        consent_health_data=True,
                        address=f"{c.town}{n}号",
                        created_at=now,
                    )
                )
        resident_ids = _insert_models(session, people)
        by_center = [(p.center_id, rid, p.primary_worker_id) for p, rid in zip(people, resident_ids, strict=True)]
        _insert_models(
            session,
            [
                FamilyContact(
                    name=f"家属{rid}", relation=Relation.son, phone=f"+86139{rid:08d}", resident_id=rid, created_at=now
                )
                for _, rid, _ in by_center
            ],
        )
        device_ids = _insert_models(
            session,
            [
                Device(
                    kind=DeviceKind.watch,
                    serial=f"D-{rid:07d}",
                    center_id=center_id,
                    resident_id=rid,
                    key_hash=f"bench-{rid:058d}",
                    key_prefix="dk_bench",
                    key_rotated_at=now,
                    # Most report every few minutes; one in a hundred has gone quiet.
                    last_seen_at=now - timedelta(minutes=rng.randint(0, 8) if rid % 100 else 90),
                    battery_pct=80,
                    created_at=now,
                )
                for center_id, rid, _ in by_center
            ],
        )
        _insert_models(session, list(_alerts(by_center, now, rng)))
        session.commit()
        with progress.phase("seed: 4 weeks of visits", None):
            visits = load_rows(engine, Visit.__table__, _visits(by_center, now))  # type: ignore[attr-defined]
        devices = list(zip(device_ids, by_center, strict=True))
        with progress.phase(f"seed: {readings:,} readings", readings) as advance:
            load_rows(engine, Reading.__table__, _readings(devices, readings, now, rng), advance)  # type: ignore[attr-defined]
        with progress.phase("seed: hourly roll-ups", None), engine.begin() as conn:
            upkeep.roll_up_stored(conn)  # as the check-in writer would have
        first = center_rows[0].id
        manager = next(s.username for s in staff if s.center_id == first and s.role == Role.manager)
        worker = next(s.username for s in staff if s.center_id == first and s.role == Role.care_worker)
    with engine.begin() as conn:  # fresh statistics, as autovacuum would give a live system
        conn.exec_driver_sql("ANALYZE")
    engine.dispose()
    return District(
        centers=centers,
        residents=len(people),
        readings=readings,
        visits=visits,
        manager=manager,
        worker=worker,
        resident_ids=[rid for center_id, rid, _ in by_center if center_id == first],
    )


def _staff(center: Center, role: Role, username: str, n: int, password_hash: str, now: datetime) -> Staff:
    return Staff(
        name=f"员工{username}",
        phone=f"+86137{n:08d}",
        username=username,
        role=role,
        center_id=center.id,
        password_hash=password_hash,
        created_at=now,
    )


def _insert_models(session: Session, rows: list[Any]) -> list[int]:
    """Insert model instances in one executemany; their new ids, in order."""
    if not rows:
        return []
    table = type(rows[0]).__table__
    values = [row.model_dump(exclude={"id"}) for row in rows]
    ids: list[int] = []
    for start in range(0, len(values), 5000):
        result = session.execute(
            table.insert().returning(table.c.id, sort_by_parameter_order=True), values[start : start + 5000]
        )
        ids += [row[0] for row in result]
    session.commit()
    return ids


def _alerts(residents: list[tuple[int, int, int | None]], now: datetime, rng: random.Random) -> Iterator[Alert]:
    for n, (center_id, rid, _) in enumerate(residents[:: max(1, len(residents) // 5000)]):
        open_now = n % 250 == 0
        # Open ones opened in the last minutes and are due for their next step: the escalation sweep's work.
        opened = now - timedelta(minutes=1 + n % 4 if open_now else rng.randint(1, 30 * 24 * 60))
        yield Alert(
            center_id=center_id,
            resident_id=rid,
            kind="heart_rate_high" if n % 3 else "sos",
            severity="high" if n % 3 else "critical",
            status="open" if open_now else "resolved",
            opened_at=opened,
            last_triggered_at=opened,
            resolved_at=None if open_now else opened + timedelta(minutes=12),
            escalation_started_at=opened if open_now else None,
            next_escalation_at=now - timedelta(seconds=30) if open_now else None,
        )


def _visits(residents: list[tuple[int, int, int | None]], now: datetime) -> Iterator[dict[str, Any]]:
    """Two visits a week per resident, from two weeks back to two weeks ahead; and, as a live
    system has at any moment, some about to start (reminders due) and some late (not begun)."""
    monday = (now - timedelta(days=now.weekday())).replace(hour=1, minute=0, second=0, microsecond=0)
    for week in range(-2, 2):
        for n, (center_id, rid, worker_id) in enumerate(residents):
            starts = [monday + timedelta(weeks=week, days=day, minutes=30 * (n % 16)) for day in (n % 3, 3 + n % 3)]
            if week == 0 and n % 50 in (0, 1):
                starts.append(now + timedelta(minutes=15) if n % 50 == 0 else now - timedelta(minutes=20))
            for start in starts:
                done = start + timedelta(hours=1) < now
                yield {
                    "center_id": center_id,
                    "resident_id": rid,
                    "worker_id": worker_id,
                    "scheduled_start": start,
                    "scheduled_end": start + timedelta(hours=1),
                    "status": "completed" if done else "scheduled",
                    "tasks": [{"service": "bathing", "done": done}],
                    "notes": "",
                    "far_from_home": False,
                    "concern": False,
                    "time_corrected": False,
                    "checked_in_at": start if done else None,
                    "checked_out_at": start + timedelta(minutes=50) if done else None,
                    "created_at": now,
                }


def _readings(
    devices: list[tuple[int, tuple[int, int, int | None]]], total: int, now: datetime, rng: random.Random
) -> Iterator[dict[str, Any]]:
    """`total` vitals spread evenly over the devices and the last 30 days."""
    per_device = max(1, total // len(devices))
    step = timedelta(days=30) / per_device
    for device_id, (center_id, rid, _) in devices:
        for k in range(per_device):
            at = now - step * (k + rng.random())
            yield {
                "device_id": device_id,
                "resident_id": rid,
                "center_id": center_id,
                "event_id": f"{device_id}-{k}",
                "kind": "vitals",
                "source": "device",
                "recorded_at": at,
                "received_at": at,
                "heart_rate": 60 + (k * 7 + rid) % 35,
                "spo2": 95 + k % 5,
                "battery_pct": 80,
            }


def load_rows(
    engine: sa.Engine, table: sa.Table, rows: Iterator[dict[str, Any]], advance: Callable[[float], None] | None = None
) -> int:
    """Write rows in chunks: COPY on PostgreSQL, executemany on SQLite. Returns how many."""
    count = 0
    chunk: list[dict[str, Any]] = []
    for row in rows:
        chunk.append(row)
        if len(chunk) == 50_000:
            count += _write_chunk(engine, table, chunk)
            if advance:
                advance(len(chunk))
            chunk = []
    if chunk:
        count += _write_chunk(engine, table, chunk)
        if advance:
            advance(len(chunk))
    return count


def _write_chunk(engine: sa.Engine, table: sa.Table, chunk: list[dict[str, Any]]) -> int:
    columns = list(chunk[0])
    if engine.dialect.name == "postgresql":
        json_columns = {c.name: c.type for c in table.columns if isinstance(_stored_as(c.type), sa.JSON)}
        copy_rows(
            engine,
            table.name,
            columns,
            ([_for_copy(r[c], json_columns.get(c), engine.dialect) for c in columns] for r in chunk),
        )
    else:
        with engine.begin() as conn:
            conn.execute(table.insert(), chunk)
    return len(chunk)


def _stored_as(column_type: Any) -> Any:
    """A column's type as the database stores it (a typed JSON column is JSON underneath)."""
    return column_type.impl_instance if isinstance(column_type, sa.types.TypeDecorator) else column_type


def _for_copy(value: Any, json_type: Any, dialect: sa.Dialect) -> Any:
    """COPY takes JSON as text: what the column's own type would bind (a typed list validated), dumped."""
    if json_type is None:
        return value
    if isinstance(json_type, sa.types.TypeDecorator):
        value = json_type.process_bind_param(value, dialect)
    return json.dumps(value)


# -- figure 5: pages ---------------------------------------------------------------------------------
def page_times(server: Server, district: District, *, repeats: int, now: datetime) -> dict[str, Any]:
    """p95 of each page's response time, one request at a time (the server's own time, plus loopback)."""
    rng = random.Random(6)
    with httpx.Client(base_url=server.url, timeout=60) as client:
        manager = api_token(client, district.manager)
        worker = api_token(client, district.worker)
        week = (now.astimezone(UTC).date() - timedelta(days=now.weekday())).isoformat()
        pages: dict[str, tuple[str, Callable[[], str]]] = {
            "week_schedule": (manager, lambda: f"/schedule?week={week}"),
            "worker_today": (worker, lambda: "/"),
            "alert_board": (manager, lambda: "/board/rows"),
            "vitals_chart_30d": (manager, lambda: f"/residents/{rng.choice(district.resident_ids)}"),
            "resident_search": (manager, lambda: f"/manage/residents?q={rng.choice(SURNAMES)}{rng.choice(GIVEN)}"),
        }
        figures: dict[str, Any] = {}
        for name, (token, path) in pages.items():
            client.cookies.set(COOKIE, token)
            times = []
            with progress.phase(f"pages: {name.replace('_', ' ')}", repeats + 2) as advance:
                for _ in range(repeats + 2):
                    started = time.perf_counter()
                    response = client.get(path())
                    times.append((time.perf_counter() - started) * 1000)
                    response.raise_for_status()
                    advance(1)
            figures[f"{name}_p95_ms"] = round(percentile(times[2:], 0.95) or 0, 1)  # the first two warm the caches
            figures[f"{name}_kb"] = round(len(response.content) / 1024)
    return figures


def api_token(client: httpx.Client, username: str) -> str:
    response = client.post("/api/v1/auth/token", data={"username": username, "password": PASSWORD})
    response.raise_for_status()
    return str(response.json()["access_token"])


SWEEP_JOBS = ("visit-reminders", "late-and-missed-visits", "detect-silent-devices", "escalate-alerts")


# -- figure 6: sweeps --------------------------------------------------------------------------------
def sweep_times(url: str, *, repeats: int, now: datetime, jobs: tuple[str, ...] = SWEEP_JOBS) -> dict[str, Any]:
    """Each sweep's run time on the district (the first run does the work; later runs find little)."""
    from carecenter.messaging.outbound import AlertMessaging
    from carecenter.settings import Settings
    from notifications.settings import SmsSettings

    settings = Settings(database_url=url)
    messaging = AlertMessaging(sms=SmsSettings(), public_url="http://127.0.0.1", link_secret=b"bench" * 8)
    sweeps = all_sweeps(messaging, settings.visit_rules())
    engine = make_engine(url)
    figures: dict[str, Any] = {}
    try:
        for job in jobs:
            # The first runs catch up with the seeded backlog (and keep what they did): an alert
            # takes one escalation step a run, and seeding the district takes minutes, so an
            # alert seeded as due may be due again by then. The runs after that are what every
            # 10-60 s looks like on a live system.
            started, found = time.perf_counter(), 0
            for _ in range(10):
                with Session(engine) as session:
                    done = sweeps[job](session, now)
                    session.commit()
                found += done
                if not done:
                    break
            figures[f"{job}_first_found"] = found
            figures[f"{job}_first_ms"] = round((time.perf_counter() - started) * 1000, 1)
            runs = []
            for n in range(1, repeats + 1):
                started = time.perf_counter()
                with Session(engine) as session:
                    sweeps[job](session, now + timedelta(seconds=n))
                    session.rollback()
                runs.append((time.perf_counter() - started) * 1000)
            figures[f"{job}_ms"] = round(statistics.median(runs), 1)
    finally:
        engine.dispose()
    return figures


def outage_begins(url: str, *, now: datetime) -> dict[str, Any]:
    """A district-wide outage as it begins: every watch went quiet at once. The first silent-device
    sweep opens one incident per center and holds the silences under it: how long it takes, and
    how many messages it sends (before incidents: a page to each resident's people, per watch)."""
    from carecenter.messaging.outbound import AlertMessaging
    from carecenter.settings import Settings
    from notifications.settings import SmsSettings

    settings = Settings(database_url=url)
    messaging = AlertMessaging(sms=SmsSettings(), public_url="http://127.0.0.1", link_secret=b"bench" * 8)
    sweep = all_sweeps(messaging, settings.visit_rules())["detect-silent-devices"]
    engine = make_engine(url)
    message, incident = sa.table("sms_message"), sa.table("incident")
    count = sa.select(sa.func.count()).select_from(message)
    try:
        with engine.connect() as conn:
            before = conn.execute(count).scalar_one()
        started = time.perf_counter()
        with Session(engine) as session:
            silenced = sweep(session, now)
            session.commit()
        elapsed = time.perf_counter() - started
        with engine.connect() as conn:
            sent = conn.execute(count).scalar_one() - before
            incidents = conn.execute(sa.select(sa.func.count()).select_from(incident)).scalar_one()
    finally:
        engine.dispose()
    return {
        "outage_silenced": silenced,
        "outage_incidents": incidents,
        "outage_messages": sent,
        "outage_sweep_ms": round(elapsed * 1000, 1),
    }


def outage_sweep_ms(url: str, *, now: datetime) -> dict[str, Any]:
    """The silent-device sweep when every watch has gone quiet and been alerted (a network outage's
    steady state): each quiet device is a probe of the alerts, not a scan of them."""
    from carecommon.sqltypes import UTCDateTime

    engine = make_engine(url)
    at = sa.bindparam("at", type_=UTCDateTime)
    with engine.begin() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO alert (center_id, resident_id, device_id, kind, severity, status, opened_at,"
                " last_triggered_at, trigger_count, escalation_steps_done, reminders_sent)"
                " SELECT center_id, resident_id, id, 'device_silent', 'medium', 'resolved', :at, :at, 1, 0, 0"
                " FROM device WHERE resident_id IS NOT NULL"
            ).bindparams(at),
            {"at": now + timedelta(minutes=29)},
        )
    figures = sweep_times(url, repeats=5, now=now + timedelta(minutes=30), jobs=("detect-silent-devices",))
    engine.dispose()
    return {"silent_sweep_all_quiet_ms": figures["detect-silent-devices_ms"]}
