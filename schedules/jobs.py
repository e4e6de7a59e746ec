"""The scheduled jobs, each declared once: its id, its schedule (from settings) and the one service
call it makes. A job is a thin wrapper that opens a session, calls the service with `now`, commits."""

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from sqlmodel import Session

from carecenter import metrics
from carecenter.alerts import answers
from carecenter.alerts import service as alerts
from carecenter.health import watch
from carecenter.ingest import upkeep
from carecenter.media.store import MediaStore
from carecenter.messaging.outbound import AlertMessaging
from carecenter.settings.visits import VisitRules
from carecenter.visits import proof
from carecenter.visits import service as visits
from carecenter.visits import sweeps as visit_sweeps
from schedules.settings import ScheduleSettings

log = logging.getLogger(__name__)
Sweep = Callable[[Session, datetime], int]


@dataclass(frozen=True)
class JobContext:
    """What the jobs' services need from the app."""

    messaging: AlertMessaging
    rules: VisitRules
    media: MediaStore | None = None  # None: no photos to purge here (a benchmark, a test)
    reading_retention_days: int = 400


@dataclass(frozen=True)
class Every:
    """Every N seconds, N from the named setting."""

    setting: str

    def trigger(self, settings: ScheduleSettings) -> BaseTrigger:
        return IntervalTrigger(seconds=self.interval(settings))

    def interval(self, settings: ScheduleSettings) -> int | None:
        return int(getattr(settings, self.setting))


@dataclass(frozen=True)
class Nightly:
    """Once a night at a local time of the district's zone."""

    hour: int
    minute: int

    def trigger(self, settings: ScheduleSettings) -> BaseTrigger:
        return CronTrigger(hour=self.hour, minute=self.minute, timezone=settings.timezone)

    def interval(self, _settings: ScheduleSettings) -> int | None:
        return None  # not watched for lateness


@dataclass(frozen=True)
class Job:
    id: str
    when: Every | Nightly
    run: Callable[[Session, datetime, JobContext], int]


def every(setting: str) -> Every:
    return Every(setting)


def nightly(hour: int, minute: int) -> Nightly:
    return Nightly(hour, minute)


JOBS: tuple[Job, ...] = (
    Job(
        "escalate-alerts",
        every("escalation_sweep_seconds"),
        lambda s, now, c: alerts.escalate_due_alerts(s, c.messaging, now=now),
    ),
    Job(
        "page-until-answered",
        every("escalation_sweep_seconds"),
        lambda s, now, c: answers.page_until_answered(s, c.messaging, now=now),
    ),
    Job(
        "detect-silent-devices",
        every("silent_sweep_seconds"),
        lambda s, now, c: alerts.detect_silent_devices(s, c.messaging, now=now),
    ),
    Job(
        "detect-missed-ok-checkins",
        every("missed_ok_sweep_seconds"),
        lambda s, now, c: alerts.detect_missed_ok_checkins(s, c.messaging, now=now),
    ),
    Job(
        "visit-reminders",
        every("visit_sweep_seconds"),
        lambda s, now, c: visit_sweeps.send_visit_reminders(s, c.messaging, now=now, rules=c.rules),
    ),
    Job(
        "late-and-missed-visits",
        every("visit_sweep_seconds"),
        lambda s, now, c: visit_sweeps.detect_late_and_missed(s, c.messaging, now=now, rules=c.rules),
    ),
    Job(
        "worker-digests",
        every("digest_sweep_seconds"),
        lambda s, now, c: visit_sweeps.send_daily_digests(s, c.messaging, now=now, rules=c.rules),
    ),
    Job(
        "manager-summaries",
        every("digest_sweep_seconds"),
        lambda s, now, c: visit_sweeps.send_manager_summaries(s, c.messaging, now=now, rules=c.rules),
    ),
    # Nightly: extend every plan's visits to the horizon (plans also generate when saved).
    Job("generate-visits", nightly(1, 30), lambda s, now, c: visits.generate_all_visits(s, now=now, rules=c.rules)),
    # Nightly: service photos past their center's retention period are deleted (audited).
    Job(
        "purge-expired-photos",
        nightly(2, 15),
        lambda s, now, c: proof.purge_expired_photos(s, store=c.media, now=now) if c.media else 0,
    ),
    # Nightly: reading partitions made ahead, raw readings past retention and old idempotency keys removed.
    Job(
        "keep-readings",
        nightly(3, 40),
        lambda s, now, c: upkeep.keep_readings(s, now=now, retention_days=c.reading_retention_days),
    ),
)


def all_sweeps(
    messaging: AlertMessaging, rules: VisitRules, media: MediaStore | None = None, reading_retention_days: int = 400
) -> dict[str, Sweep]:
    """Every job by its id, bound to the app's messaging, rules and media (for running one by hand)."""
    context = JobContext(messaging, rules, media, reading_retention_days)
    return {job.id: _bound(job, context) for job in JOBS}


def _bound(job: Job, context: JobContext) -> Sweep:
    return lambda session, now: job.run(session, now, context)


def run_sweep(
    job_id: str, sweep: Sweep, *, engine: sa.Engine, now: datetime, interval_seconds: int | None = None
) -> int:
    """One run of a job in its own transaction; when it started and finished is kept (the self-check
    notices a sweep that stopped running, or hangs)."""
    started = time.monotonic()
    watch.sweep_started(engine, job_id, interval_seconds, now)
    with metrics.SWEEP_SECONDS.labels(job_id).time(), Session(engine) as session:
        done = sweep(session, now)
        session.commit()
    elapsed = time.monotonic() - started
    watch.sweep_finished(engine, job_id, now + timedelta(seconds=elapsed), elapsed)
    if done:
        log.info("%s: %d", job_id, done)
    return done
