"""APScheduler 3 running the fixed jobs, only in the process that holds the leader lock.

The jobs keep no state: everything they act on (`next_escalation_at`, reminder times, dedupe
keys) is in the database, so a restart or a job run twice loses or repeats nothing. Missed runs
after downtime are caught up once (coalesce) within a deliberate misfire grace time;
APScheduler's default of one second would silently skip them.
"""

import logging
from collections.abc import Callable
from datetime import UTC, datetime

import sqlalchemy as sa
from apscheduler.schedulers.background import BackgroundScheduler

from carecenter.health import watch
from carecenter.media.store import MediaStore
from carecenter.messaging.outbound import AlertMessaging
from carecenter.settings.visits import VisitRules
from schedules import jobs
from schedules.leader import LeaderLock
from schedules.settings import ScheduleSettings

log = logging.getLogger(__name__)


class SweepScheduler:
    def __init__(
        self,
        *,
        engine: sa.Engine,
        messaging: AlertMessaging,
        rules: VisitRules,
        settings: ScheduleSettings,
        clock: Callable[[], datetime],
        media: MediaStore | None = None,
    ) -> None:
        self.engine = engine
        self.clock = clock
        self.leader = LeaderLock(engine)
        self.sweeps = jobs.all_sweeps(messaging, rules, media, settings.reading_retention_days)
        self.intervals = {job.id: job.when.interval(settings) for job in jobs.JOBS}
        self.scheduler = BackgroundScheduler(
            timezone=UTC,
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": settings.misfire_grace_seconds},
        )
        for job in jobs.JOBS:
            self.scheduler.add_job(self._run, job.when.trigger(settings), args=[job.id], id=job.id, name=job.id)
        self.scheduler.add_job(
            self._check_leader,
            "interval",
            seconds=settings.leader_check_seconds,
            id="leader-check",
            next_run_time=datetime.now(UTC),
        )

    def run_now(self, job_id: str) -> int:
        """Run one job at once, if this process leads."""
        if not self.leader.is_leader:
            return 0
        return jobs.run_sweep(
            job_id, self.sweeps[job_id], engine=self.engine, now=self.clock(), interval_seconds=self.intervals[job_id]
        )

    def _check_leader(self) -> None:
        """Take or keep the lock; the holder says so (the self-check notices when nobody holds it)."""
        self.leader.check()
        if self.leader.is_leader:
            try:
                watch.beat(self.engine, name=watch.LEADER, role="scheduler", now=self.clock())
            except sa.exc.OperationalError as exc:
                log.warning(
                    "leader heartbeat failed, database unreachable: %s", str(exc.orig or exc).partition("\n")[0]
                )

    def _run(self, job_id: str) -> None:
        try:
            self.run_now(job_id)
        except sa.exc.OperationalError as exc:  # the database is away: one line, the next run tries again
            log.warning(
                "scheduled job %s failed, database unreachable: %s", job_id, str(exc.orig or exc).partition("\n")[0]
            )
        except Exception:  # a bug: the whole traceback; the state is in the database, the next run tries again
            log.exception("scheduled job %s failed", job_id)

    def start(self) -> None:
        self.scheduler.start()

    def stop(self) -> None:
        # Not waiting for a job in flight: jobs are idempotent, an interrupted one just rolls back.
        self.scheduler.shutdown(wait=False)
        self.leader.release()
