"""The platform watching itself: heartbeats, late sweeps, critical messages that do not leave,
centers whose devices all went quiet, a scheduler lock nobody holds.

Every long-running process (web, scheduler, gateway) runs a `SelfWatch`: it records its own
heartbeat, looks for problems, and tells the admins about a new one (once, through the second
provider where one is set, at most CARECENTER_SYSTEM_MESSAGES_PER_HOUR) and again when it
recovers. Which process tells is settled in the database: the first to record the problem.
`/readyz` and `/metrics` show the same problems. What nothing inside can report (every process
down, the database gone) is for the dead-man's switch: the scheduler pings
CARECENTER_HEARTBEAT_URL every minute while all is well.
"""

import contextlib
import logging
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import httpx
import sqlalchemy as sa
from sqlmodel import Session, col, func, select

from carecenter.access import Role
from carecenter.centers.models import Center
from carecenter.devices.models import Device, DeviceKind
from carecenter.health.models import ProcessBeat, SweepRun, SystemProblem
from carecenter.messaging.outbound import AlertMessaging, send
from carecenter.messaging.recipients import staff_recipient
from carecenter.settings.health import HealthSettings
from carecenter.staff.models import Staff
from carecommon.i18n import N_, gettext
from carecommon.sqltypes import upsert_insert
from notifications.dispatcher import Dispatcher
from notifications.models import MessageStatus, Purpose, SmsMessage

log = logging.getLogger(__name__)
LEADER = "scheduler-leader"
LATE_INTERVALS = 3  # a sweep this many intervals overdue is late


@dataclass(frozen=True)
class Problem:
    key: str
    what: str  # an English msgid with {placeholders}, put into each admin's language
    params: dict[str, str] = field(default_factory=dict)

    def words(self, language: str | None = None) -> str:
        return gettext(self.what, language).format(**self.params)


# -- what the processes record --------------------------------------------------------------------
def process_name(settings: HealthSettings, role: str) -> str:
    """This process in the heartbeats (and on the device connections a gateway holds)."""
    return settings.process_name or f"{role}@{socket.gethostname()}"


def live_processes(session: Session, *, now: datetime, settings: HealthSettings) -> set[str]:
    """The processes whose heartbeat is fresh."""
    fresh = col(ProcessBeat.beat_at) > now - timedelta(seconds=settings.beat_stale_seconds)
    return set(session.exec(select(ProcessBeat.name).where(fresh)).all())


def beat(engine: sa.Engine, *, name: str, role: str, now: datetime) -> None:
    table = ProcessBeat.__table__  # type: ignore[attr-defined]
    with engine.begin() as conn:
        stmt = upsert_insert(conn.dialect)(table).values(name=name, role=role, started_at=now, beat_at=now)
        conn.execute(stmt.on_conflict_do_update(index_elements=["name"], set_={"role": role, "beat_at": now}))


def forget_beat(engine: sa.Engine, name: str) -> None:
    """A process that stops on purpose is not a process that died."""
    with engine.begin() as conn:
        conn.execute(sa.delete(ProcessBeat.__table__).where(ProcessBeat.__table__.c.name == name))  # type: ignore[attr-defined]


def sweep_started(engine: sa.Engine, job_id: str, interval_seconds: int | None, now: datetime) -> None:
    table = SweepRun.__table__  # type: ignore[attr-defined]
    with engine.begin() as conn:
        stmt = upsert_insert(conn.dialect)(table).values(
            job_id=job_id, interval_seconds=interval_seconds, started_at=now, finished_at=None, seconds=None
        )
        conn.execute(
            stmt.on_conflict_do_update(
                index_elements=["job_id"], set_={"interval_seconds": interval_seconds, "started_at": now}
            )
        )


def sweep_finished(engine: sa.Engine, job_id: str, now: datetime, seconds: float) -> None:
    table = SweepRun.__table__  # type: ignore[attr-defined]
    with engine.begin() as conn:
        conn.execute(sa.update(table).where(table.c.job_id == job_id).values(finished_at=now, seconds=seconds))


# -- what is wrong ---------------------------------------------------------------------------------
SWEEP_LATE = N_("the {job} sweep has not finished a run for {minutes} minutes")
NO_LEADER = N_("no scheduler holds the lock: no sweep runs (escalations, silent devices)")
PROCESS_DOWN = N_("the {name} process stopped {minutes} minutes ago")
CRITICAL_WAITING = N_("a critical message has waited {seconds} s without reaching the provider")
NO_FRAMES = N_("no device of {center} has reported for {minutes} minutes")


def _minutes(delta: timedelta) -> str:
    return str(max(1, int(delta.total_seconds() // 60)))


def find_problems(session: Session, *, now: datetime, settings: HealthSettings) -> list[Problem]:
    stale = timedelta(seconds=settings.beat_stale_seconds)
    problems: list[Problem] = []
    for run in session.exec(select(SweepRun).where(col(SweepRun.interval_seconds).is_not(None))):
        assert run.interval_seconds is not None
        last = run.finished_at or run.started_at
        if now - last > timedelta(seconds=LATE_INTERVALS * run.interval_seconds):
            problems.append(
                Problem(f"sweep:{run.job_id}", SWEEP_LATE, {"job": run.job_id, "minutes": _minutes(now - last)})
            )
    for process in session.exec(select(ProcessBeat)):
        if now - process.beat_at <= stale:
            continue
        if process.name == LEADER:
            problems.append(Problem("scheduler:leader", NO_LEADER))
        else:
            minutes = _minutes(now - process.beat_at)
            problems.append(
                Problem(f"process:{process.name}", PROCESS_DOWN, {"name": process.name, "minutes": minutes})
            )
    oldest = session.exec(
        select(func.min(SmsMessage.created_at)).where(
            col(SmsMessage.critical),
            col(SmsMessage.status).in_([MessageStatus.queued, MessageStatus.retrying, MessageStatus.sending]),
            col(SmsMessage.next_attempt_at) <= now - timedelta(seconds=settings.critical_wait_seconds),
        )
    ).one()
    if oldest is not None:
        waited = str(int((now - oldest).total_seconds()))
        problems.append(Problem("outbox:critical", CRITICAL_WAITING, {"seconds": waited}))
    problems.extend(_quiet_centers(session, now=now, settings=settings))
    return problems


def _quiet_centers(session: Session, *, now: datetime, settings: HealthSettings) -> list[Problem]:
    """Centers where some devices always report (enough of them in use today) but none has lately."""
    in_use = session.exec(
        select(Device.center_id, func.count(), func.max(Device.last_seen_at))
        .where(
            col(Device.revoked_at).is_(None),
            col(Device.resident_id).is_not(None),
            Device.kind != DeviceKind.gateway,
            col(Device.last_seen_at) > now - timedelta(days=1),
        )
        .group_by(col(Device.center_id))
    ).all()
    quiet = [
        (center_id, last)
        for center_id, count, last in in_use
        if last is not None
        and count >= settings.frames_min_devices
        and now - last > timedelta(minutes=settings.frames_expected_minutes)
    ]
    problems = []
    for center_id, last in quiet:
        center = session.get(Center, center_id)
        name = center.name if center else str(center_id)
        problems.append(Problem(f"frames:{center_id}", NO_FRAMES, {"center": name, "minutes": _minutes(now - last)}))
    return problems


# -- telling the admins ------------------------------------------------------------------------------
def report(
    session: Session, messaging: AlertMessaging, problems: list[Problem], *, now: datetime, settings: HealthSettings
) -> int:
    """Record new problems and cleared ones; tell the admins of each, once. Returns messages queued."""
    open_rows = {r.key: r for r in session.exec(select(SystemProblem).where(col(SystemProblem.cleared_at).is_(None)))}
    found = {p.key: p for p in problems}
    queued = 0
    for key, problem in found.items():
        if key in open_rows or not _claim(session, problem, now):
            continue  # known, or another process recorded it first and tells
        log.error("platform problem: %s", problem.words("en"))
        queued += _tell_admins(session, messaging, "system.down", problem, key=key, now=now, settings=settings)
    for key, row in open_rows.items():
        if key in found:
            continue
        cleared = session.execute(
            sa.update(SystemProblem)
            .where(col(SystemProblem.key) == key, col(SystemProblem.cleared_at).is_(None))
            .values(cleared_at=now)
        )
        if cleared.rowcount:  # type: ignore[attr-defined]
            log.warning("platform problem cleared: %s", row.detail)
            recovered = Problem(key, row.detail)
            queued += _tell_admins(
                session, messaging, "system.recovered", recovered, key=key, now=now, settings=settings
            )
    return queued


def _claim(session: Session, problem: Problem, now: datetime) -> bool:
    """Record the problem as this process's to tell; False if another process already did."""
    table = SystemProblem.__table__  # type: ignore[attr-defined]
    detail = problem.words("en")[:300]
    inserted = session.execute(
        upsert_insert(session.get_bind().dialect)(table)
        .values(key=problem.key, detail=detail, since=now, reported_at=now, cleared_at=None)
        .on_conflict_do_nothing(index_elements=["key"])
    )
    if inserted.rowcount:  # type: ignore[attr-defined]
        return True
    reopened = session.execute(  # it happened before and had cleared: it is back
        sa.update(table)
        .where(table.c.key == problem.key, table.c.cleared_at.is_not(None))
        .values(detail=detail, since=now, reported_at=now, cleared_at=None)
    )
    return bool(reopened.rowcount)  # type: ignore[attr-defined]


def _tell_admins(
    session: Session,
    messaging: AlertMessaging,
    kind: str,
    problem: Problem,
    *,
    key: str,
    now: datetime,
    settings: HealthSettings,
) -> int:
    recent = session.exec(
        select(func.count())
        .select_from(SmsMessage)
        .where(col(SmsMessage.purpose) == Purpose.system, col(SmsMessage.created_at) > now - timedelta(hours=1))
    ).one()
    room = settings.system_messages_per_hour - recent
    admins = session.exec(
        select(Staff).where(Staff.role == Role.admin, col(Staff.active)).order_by(col(Staff.id))
    ).all()
    if room <= 0 or not admins:
        log.error("platform problem not messaged (%s): %s", "no admin" if not admins else "hourly limit", key)
        return 0
    for admin in admins[:room]:
        recipient = staff_recipient(admin)
        send(
            session,
            messaging,
            recipient,
            kind=kind,
            params={"what": problem.words(recipient.language)[:120]},
            purpose=Purpose.system,
            dedupe_key=f"{kind}:{key}:{now.isoformat()}:{recipient.ref}",
            now=now,
            center_id=None,
            critical=True,
            second_first=True,
        )
    return min(len(admins), room)


# -- the thread in each process ----------------------------------------------------------------------
@dataclass
class SelfWatch:
    """Beats for its process, checks, reports; the scheduler's also pings the dead-man's switch."""

    engine: sa.Engine
    messaging: AlertMessaging
    settings: HealthSettings
    role: str
    clock: Callable[[], datetime]
    dispatcher: Dispatcher | None = None
    leads: Callable[[], bool] | None = None  # the scheduler: whether it holds the lock (then it pings)
    name: str = ""
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None
    _last_ping: datetime | None = None

    def __post_init__(self) -> None:
        self.name = self.name or process_name(self.settings, self.role)

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name=f"self-watch-{self.role}", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(10)
        with contextlib.suppress(sa.exc.OperationalError):
            forget_beat(self.engine, self.name)

    def _run(self) -> None:
        while True:
            try:
                self.check_once()
            except sa.exc.OperationalError as exc:  # the database is away: the dead-man's switch tells
                log.warning("self-check: database unreachable: %s", str(exc.orig or exc).partition("\n")[0])
            except Exception:
                log.exception("self-check failed")
            if self._stop.wait(self.settings.self_check_seconds):
                return

    def check_once(self) -> list[Problem]:
        now = self.clock()
        beat(self.engine, name=self.name, role=self.role, now=now)
        with Session(self.engine) as session:
            problems = find_problems(session, now=now, settings=self.settings)
            queued = report(session, self.messaging, problems, now=now, settings=self.settings)
            session.commit()
        if queued and self.dispatcher is not None:
            self.dispatcher.wake()
        if self.leads is not None and self.leads() and not problems:
            self._ping(now)
        return problems

    def _ping(self, now: datetime) -> None:
        url = self.settings.heartbeat_url
        if not url or (self._last_ping is not None and now - self._last_ping < timedelta(seconds=55)):
            return
        try:
            httpx.get(url, timeout=5)
            self._last_ping = now
        except httpx.HTTPError as exc:
            log.warning("heartbeat ping to the dead-man's switch failed: %s", type(exc).__name__)
