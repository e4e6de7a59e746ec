"""The scheduled jobs: thin wrappers that open a session, call one service with `now`, commit."""

import logging
from collections.abc import Callable
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Session

from carecenter import metrics
from carecenter.alerts import service as alerts
from carecenter.messaging.outbound import AlertMessaging
from carecenter.visits import service as visits
from carecenter.visits import sweeps as visit_sweeps
from carecenter.visits.rules import VisitRules

log = logging.getLogger(__name__)
Sweep = Callable[[Session, datetime], int]


def all_sweeps(messaging: AlertMessaging, rules: VisitRules) -> dict[str, Sweep]:
    """Every periodic job by its id: one service call each."""
    return {
        "escalate-alerts": lambda s, now: alerts.escalate_due_alerts(s, messaging, now=now),
        "detect-silent-devices": lambda s, now: alerts.detect_silent_devices(s, messaging, now=now),
        "detect-missed-ok-checkins": lambda s, now: alerts.detect_missed_ok_checkins(s, messaging, now=now),
        "visit-reminders": lambda s, now: visit_sweeps.send_visit_reminders(s, messaging, now=now, rules=rules),
        "late-and-missed-visits": lambda s, now: visit_sweeps.detect_late_and_missed(
            s, messaging, now=now, rules=rules
        ),
        "worker-digests": lambda s, now: visit_sweeps.send_daily_digests(s, messaging, now=now, rules=rules),
        "manager-summaries": lambda s, now: visit_sweeps.send_manager_summaries(s, messaging, now=now, rules=rules),
        "generate-visits": lambda s, now: visits.generate_all_visits(s, now=now, rules=rules),
    }


def run_sweep(job_id: str, sweep: Sweep, *, engine: sa.Engine, now: datetime) -> int:
    """One run of a job in its own transaction."""
    with metrics.SWEEP_SECONDS.labels(job_id).time(), Session(engine) as session:
        done = sweep(session, now)
        session.commit()
    if done:
        log.info("%s: %d", job_id, done)
    return done
