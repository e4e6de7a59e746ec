"""APScheduler 3 running the fixed sweeps, only in the process that holds the leader lock.

The jobs keep no state: everything they act on (`next_escalation_at`, last-seen times) is in
the database, so a restart or a job run twice loses or repeats nothing. Missed runs after
downtime are caught up once (coalesce) within a deliberate misfire grace time; APScheduler's
default of one second would silently skip them.
"""

import logging
from collections.abc import Callable
from datetime import UTC, datetime

import sqlalchemy as sa
from apscheduler.schedulers.background import BackgroundScheduler

from carecenter.alerts.notify import AlertMessaging
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
        settings: ScheduleSettings,
        clock: Callable[[], datetime],
    ) -> None:
        self.engine = engine
        self.messaging = messaging
        self.settings = settings
        self.clock = clock
        self.leader = LeaderLock(engine)
        self.scheduler = BackgroundScheduler(
            timezone=UTC,
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": settings.misfire_grace_seconds},
        )
        self._add(jobs.escalate_alerts, "escalate-alerts", settings.escalation_sweep_seconds)
        self._add(jobs.detect_silent_devices, "detect-silent-devices", settings.silent_sweep_seconds)
        self._add(jobs.detect_missed_ok_checkins, "detect-missed-ok-checkins", settings.missed_ok_sweep_seconds)
        self.scheduler.add_job(
            self.leader.check,
            "interval",
            seconds=settings.leader_check_seconds,
            id="leader-check",
            next_run_time=datetime.now(UTC),
        )

    def _add(self, sweep: jobs.Sweep, job_id: str, seconds: int) -> None:
        self.scheduler.add_job(self._run, "interval", args=[sweep], seconds=seconds, id=job_id, name=job_id)

    def _run(self, sweep: jobs.Sweep) -> None:
        if not self.leader.is_leader:
            return
        try:
            jobs.run_sweep(sweep, engine=self.engine, messaging=self.messaging, now=self.clock())
        except Exception:  # the next run tries again; the state is in the database
            log.exception("scheduled job %s failed", sweep.__name__)

    def start(self) -> None:
        self.scheduler.start()

    def stop(self) -> None:
        self.scheduler.shutdown(wait=True)
        self.leader.release()
