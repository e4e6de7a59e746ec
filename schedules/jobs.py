"""The scheduled jobs: thin wrappers that open a session, call one service with `now`, commit."""

import logging
from collections.abc import Callable
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Session

from carecenter.alerts import service as alerts
from carecenter.alerts.notify import AlertMessaging

log = logging.getLogger(__name__)
Sweep = Callable[[Session, AlertMessaging, datetime], int]


def escalate_alerts(session: Session, messaging: AlertMessaging, now: datetime) -> int:
    """Run the next escalation step of every open alert that is due."""
    return alerts.escalate_due_alerts(session, messaging, now=now)


def detect_silent_devices(session: Session, messaging: AlertMessaging, now: datetime) -> int:
    """Raise alerts for worn devices that stopped reporting."""
    return alerts.detect_silent_devices(session, messaging, now=now)


def detect_missed_ok_checkins(session: Session, messaging: AlertMessaging, now: datetime) -> int:
    """Raise alerts for residents who have not pressed their daily OK button by the deadline."""
    return alerts.detect_missed_ok_checkins(session, messaging, now=now)


def run_sweep(sweep: Sweep, *, engine: sa.Engine, messaging: AlertMessaging, now: datetime) -> int:
    """One run of a sweep in its own transaction."""
    with Session(engine) as session:
        done = sweep(session, messaging, now)
        session.commit()
    if done:
        log.info("%s: %d", sweep.__name__, done)
    return done
