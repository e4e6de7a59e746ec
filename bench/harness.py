"""A real server process for the benchmarks: its own database, a fake Twilio API, seeded data."""

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa
from sqlmodel import Session

from bench import progress
from carecenter.access import Role
from carecenter.alerts.models import EscalationPolicy
from carecenter.centers.models import Center
from carecenter.db import make_engine
from carecenter.devices.models import Device, DeviceKind
from carecenter.devices.service import key_hash, new_device_key
from carecenter.migrate import upgrade_to_head
from carecenter.passwords import hash_password
from carecenter.residents.models import FamilyContact, Gender, Relation, Resident
from carecenter.staff.models import Staff
from notifications.fake_twilio_api import FakeTwilioApi

ROOT = Path(__file__).resolve().parent.parent
SECRET = "bench-secret-key-0123456789-abcdefghijklmnop"
PASSWORD = "bench-password-1"  # the seeded managers'
LOG_DIR = Path(tempfile.gettempdir()) / "carecenter-bench-logs"  # the servers' own output, out of the way
PG_ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
PG_BENCH_DB = "carecenter_bench"


SMS_RATE = 150  # messages/s: the sender's rate limit the fan-out must respect


def database_url(kind: str, workdir: Path, name: str = PG_BENCH_DB) -> str:
    """A fresh, migrated database of the kind: a new SQLite file, or a recreated PostgreSQL database."""
    if kind == "sqlite":
        url = f"sqlite:///{workdir / f'{name}-{uuid.uuid4().hex[:8]}.db'}"
    else:
        admin = sa.create_engine(
            os.environ.get("CARECENTER_BENCH_PG_ADMIN_URL", PG_ADMIN_URL), isolation_level="AUTOCOMMIT"
        )
        with admin.connect() as conn:
            conn.execute(sa.text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            conn.execute(sa.text(f"CREATE DATABASE {name}"))
        admin.dispose()
        url = f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
    upgrade_to_head(url)
    return url


@dataclass
class Seeded:
    gateway_key: str
    serials: list[str]
    watch_keys: list[str]  # keys of the first devices, for single-reading posts
    center_id: int = 1  # the gateway's center: its MQTT topic names it


def seed(url: str, residents: int, now: datetime) -> Seeded:
    """One center, a care worker, a manager, `residents` residents each wearing a watch, one gateway."""
    engine = make_engine(url)
    with Session(engine) as session:
        center = Center(
            name="基准测试中心", town="基准镇", district="房山区", time_zone="Asia/Shanghai", created_at=now
        )
        session.add(center)
        session.flush()
        assert center.id is not None
        center_id = center.id
        worker = Staff(
            name="护理员",
            phone="+8613700009001",
            username="bench_worker",
            role=Role.care_worker,
            center_id=center.id,
            password_hash="-",
            created_at=now,
        )
        manager = Staff(
            name="站长",
            phone="+8613700009002",
            username="bench_manager",
            role=Role.manager,
            center_id=center.id,
            password_hash=hash_password(PASSWORD),
            created_at=now,
        )
        session.add_all([worker, manager])
        session.flush()
        people = [
            Resident(
                name=f"居民{n}",
                gender=Gender.female,
                birth_date=date(1940, 1, 1),
                center_id=center.id,
                primary_worker_id=worker.id,
                consent_health_data=True,
                created_at=now,
            )
            for n in range(residents)
        ]
        session.add_all(people)
        session.flush()
        watch_keys, serials = [], []
        with progress.phase(f"seed: {residents:,} residents with watches", residents) as advance:
            for n, person in enumerate(people):
                serial = f"BW-{n:06d}"
                key = _register(session, DeviceKind.watch, serial, center.id, person.id, now)
                serials.append(serial)
                if n < 1000:
                    watch_keys.append(key)
                advance(1)
        gateway_key = _register(session, DeviceKind.gateway, "BW-GATEWAY", center.id, None, now)
        session.commit()
    engine.dispose()
    return Seeded(gateway_key, serials, watch_keys, center_id)


def _register(
    session: Session, kind: DeviceKind, serial: str, center_id: int, resident_id: int | None, now: datetime
) -> str:
    """A device with a fresh key; returns the key."""
    key = new_device_key()
    device = Device(
        kind=kind,
        serial=serial,
        center_id=center_id,
        resident_id=resident_id,
        key_hash=key_hash(key),
        key_prefix=key[:10],
        key_rotated_at=now,
        created_at=now,
    )
    session.add(device)
    return key


@dataclass
class FanOut:
    watch_keys: list[str]  # one per resident; each resident's SOS pages 4 people nobody else pages
    phones: int


def seed_fanout(url: str, alerts: int, now: datetime) -> FanOut:
    """A center whose first escalation step pages the care worker and all family: 1 + 3 people per alert.

    Every resident has a care worker and family of their own, so no recipient's hourly budget
    folds messages together: `alerts` SOS must become 4 x `alerts` messages.
    """
    engine = make_engine(url)
    with Session(engine) as session:
        center = Center(name="扇出中心", town="扇出镇", district="房山区", time_zone="Asia/Shanghai", created_at=now)
        session.add(center)
        session.flush()
        assert center.id is not None
        policy = {"steps": [{"after_minutes": 0, "recipients": ["care_worker", "all_family"]}]}
        session.add(EscalationPolicy(center_id=center.id, policy=policy, updated_at=now))
        keys = []
        for n in range(alerts):
            worker = Staff(
                name=f"护理员{n}",
                phone=f"+861371{n:07d}",
                username=f"fanout_worker_{n}",
                role=Role.care_worker,
                center_id=center.id,
                password_hash="-",
                created_at=now,
            )
            session.add(worker)
            session.flush()
            resident = Resident(
                name=f"居民{n}",
                gender=Gender.male,
                birth_date=date(1938, 5, 1),
                center_id=center.id,
                primary_worker_id=worker.id,
                created_at=now,
            )
            session.add(resident)
            session.flush()
            assert resident.id is not None
            for k, relation in enumerate((Relation.son, Relation.daughter, Relation.spouse)):
                session.add(
                    FamilyContact(
                        name=f"家属{n}-{k}",
                        relation=relation,
                        phone=f"+86139{k}{n:07d}",
                        priority=k + 1,
                        resident_id=resident.id,
                        created_at=now,
                    )
                )
            keys.append(_register(session, DeviceKind.watch, f"FO-{n:06d}", center.id, resident.id, now))
        session.commit()
    engine.dispose()
    return FanOut(keys, phones=4 * alerts)


def _stat_cpu_seconds(stat: Path, *, children: bool = False) -> float:
    """User and system CPU time from a /proc `stat` file (a process's or one of its threads'),
    with `children` that of its ended children it has waited for as well."""
    fields = stat.read_text().rsplit(")", 1)[1].split()
    ticks = int(fields[11]) + int(fields[12]) + (int(fields[13]) + int(fields[14]) if children else 0)
    return ticks / os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float | None:
    """The CPU time (user and system) a process of this machine has used; None if it is not ours to read."""
    try:
        return _stat_cpu_seconds(Path(f"/proc/{pid}/stat"))
    except OSError:
        return None


def thread_cpu_seconds(pid: int, prefix: str) -> float:
    """The CPU time the threads of a process whose OS names start with `prefix` have used (the
    dispatcher names its threads: `carecommon/threads.py`); threads that ended are not counted."""
    total = 0.0
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            if (task / "comm").read_text().startswith(prefix):
                total += _stat_cpu_seconds(task / "stat")
        except OSError:  # gone meanwhile
            continue
    return total


def database_cpu_seconds() -> float:
    """The CPU time all PostgreSQL processes of this machine have used so far (its backends, WAL
    writer, checkpointer, autovacuum): what a load cost the database, read before and after.
    Backends that ended count too: the postmaster reaps them, and their time is its children's
    (`cutime`, `cstime`); a pool that closes a connection would otherwise take its time with it."""
    total = 0.0
    for stat in Path("/proc").glob("[0-9]*/comm"):
        try:
            if stat.read_text().strip() == "postgres":
                total += _stat_cpu_seconds(stat.parent / "stat", children=True)
        except OSError:  # gone meanwhile
            continue
    return total


def copy_rows(engine: sa.Engine, table: str, columns: list[str], rows: Iterable[Sequence[Any]]) -> float | None:
    """PostgreSQL COPY of rows into a table (names are our own, never input), in one transaction.
    Returns the CPU seconds the PostgreSQL backend spent on it (None when the server is not on
    this machine): what one row costs the database itself, whatever the machine's speed."""
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        cursor.execute("SELECT pg_backend_pid()")
        (backend,) = cursor.fetchone() or (0,)
        before = cpu_seconds(int(backend))
        with cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        raw.commit()
        after = cpu_seconds(int(backend))
    finally:
        raw.close()
    return after - before if after is not None and before is not None else None


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class Server:
    process: subprocess.Popen[bytes]
    url: str

    def pids(self) -> list[int]:
        """The server's processes: uvicorn and its workers."""
        pids = [self.process.pid]
        for task in Path(f"/proc/{self.process.pid}/task").iterdir():
            pids += [int(pid) for pid in (task / "children").read_text().split()]
        return pids

    def cpu_seconds(self) -> float:
        """CPU time the server's processes have used so far (user and system)."""
        return sum(cpu_seconds(pid) or 0.0 for pid in self.pids())

    def sending_cpu_seconds(self) -> float:
        """CPU time the SMS dispatcher's threads (claiming, the providers' SDKs, recording) have used so far."""
        return sum(thread_cpu_seconds(pid, "sms-") for pid in self.pids())

    def peak_rss_mb(self) -> float:
        """The largest peak resident memory (VmHWM) among the server's processes (uvicorn and its workers), in MB."""
        peaks = [0.0]
        for pid in self.pids():
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    peaks.append(int(line.split()[1]) / 1024)
        return max(peaks)

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()


def start_server(
    url: str, twilio: FakeTwilioApi, *, workers: int = 1, extra_env: dict[str, str] | None = None
) -> Server:
    """`main.py serve` (what production runs) as its own process, SMS through the real SDK to the fake API."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = (
        _environment()
        | {
            "CARECENTER_DATABASE_URL": url,
            "CARECENTER_SECRET_KEY": SECRET,
            "CARECENTER_PUBLIC_URL": base,
            "CARECENTER_SMS_PROVIDER": "twilio",
            "CARECENTER_TWILIO_ACCOUNT_SID": twilio.account_sid,
            "CARECENTER_TWILIO_AUTH_TOKEN": twilio.auth_token,
            "CARECENTER_TWILIO_FROM_NUMBER": "+15005550006",
            "CARECENTER_TWILIO_API_BASE": twilio.base_url,
            "CARECENTER_SCHEDULER_ENABLED": "false",
            "CARECENTER_SMS_BUDGET_PER_HOUR": "1000",
            "CARECENTER_ACCESS_LOG": "false",
        }
        | (extra_env or {})
    )
    command = ["main.py", "serve", "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers)]
    return _launch("serve", command, env, port)


def start_naive_peer(url: str, *, workers: int = 1) -> Server:
    """The naive peer of figure 2 (bench/naive_peer.py) on the same database, in its own table."""
    from bench.naive_peer import create_table

    create_table(url)  # before the workers start, so that they do not race to create it
    port = free_port()
    env = _environment() | {"NAIVE_DATABASE_URL": url}
    uvicorn = ["-m", "uvicorn", "--factory", "bench.naive_peer:app_factory", "--host", "127.0.0.1", "--port", str(port)]
    arguments = [*uvicorn, "--log-level", "warning", "--no-access-log", "--workers", str(workers)]
    return _launch("naive-peer", arguments, env, port)


def _environment() -> dict[str, str]:
    """This process's environment without its CARECENTER_ settings: a server gets only its own."""
    return {k: v for k, v in os.environ.items() if not k.startswith("CARECENTER_")}


def log_file(name: str) -> Path:
    """A file for a server's own output (its log lines would bury the progress bars)."""
    LOG_DIR.mkdir(exist_ok=True)
    return LOG_DIR / f"{name}-{time.strftime('%H%M%S')}-{uuid.uuid4().hex[:4]}.log"


READY_SECONDS = 60  # a server starting beside a test suite's other workers


def _launch(name: str, arguments: list[str], env: dict[str, str], port: int) -> Server:
    """`python ARGUMENTS` in the project root, once it answers /readyz on `port`; its output to a file."""
    base = f"http://127.0.0.1:{port}"
    log = log_file(name)
    with log.open("wb") as output:
        # Its own process group: a server that never came up is killed with its workers (killing
        # only the parent left `serve --workers` children running, holding the scheduler lock).
        process = subprocess.Popen(
            [sys.executable, *arguments], cwd=ROOT, env=env, stdout=output, stderr=output, start_new_session=True
        )
    deadline = time.monotonic() + READY_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            break
        try:
            if httpx.get(f"{base}/readyz", timeout=1).status_code == 200:
                return Server(process, base)
        except httpx.TransportError:
            time.sleep(0.1)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    tail = log.read_text(errors="replace")[-2000:]
    command = " ".join(arguments)
    raise RuntimeError(f"{command} did not become ready within {READY_SECONDS} s; its log ({log}) ends:\n{tail}")


def now() -> datetime:
    return datetime.now(UTC)


def percentile(values: list[float], share: float) -> float | None:
    """The value below which `share` of them lie (None for none)."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]
