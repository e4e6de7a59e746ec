"""The platform's own state for Prometheus: problems found, how long since each sweep finished and
each process beat, how long the oldest critical message has waited."""

from collections.abc import Iterator
from typing import Any

import sqlalchemy as sa
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlmodel import Session, col, func, select

from carecenter.health.models import ProcessBeat, SweepRun
from carecenter.health.watch import find_problems
from carecenter.settings.health import HealthSettings
from carecommon.clock import utcnow
from notifications.models import MessageStatus, SmsMessage


class PlatformFigures(Collector):
    def __init__(self, engine: sa.Engine, settings: HealthSettings) -> None:
        self.engine, self.settings = engine, settings

    def collect(self) -> Iterator[Any]:
        now = utcnow()
        with Session(self.engine) as session:
            problems = find_problems(session, now=now, settings=self.settings)
            runs = session.exec(select(SweepRun)).all()
            beats = session.exec(select(ProcessBeat)).all()
            oldest = session.exec(
                select(func.min(SmsMessage.created_at)).where(
                    col(SmsMessage.critical),
                    col(SmsMessage.status).in_([MessageStatus.queued, MessageStatus.retrying, MessageStatus.sending]),
                )
            ).one()
        found = GaugeMetricFamily(
            "carecenter_platform_problems", "Parts of the platform found down (1 each)", labels=["key"]
        )
        for problem in problems:
            found.add_metric([problem.key], 1)
        yield found
        sweeps = GaugeMetricFamily(
            "carecenter_sweep_age_seconds", "Since each scheduled job last finished a run", labels=["job"]
        )
        for run in runs:
            sweeps.add_metric([run.job_id], (now - (run.finished_at or run.started_at)).total_seconds())
        yield sweeps
        processes = GaugeMetricFamily(
            "carecenter_process_beat_age_seconds", "Since each long-running process last beat", labels=["name"]
        )
        for beat in beats:
            processes.add_metric([beat.name], (now - beat.beat_at).total_seconds())
        yield processes
        yield GaugeMetricFamily(
            "carecenter_outbox_oldest_critical_seconds",
            "How long the oldest critical message not yet handed to a provider has waited (0: none)",
            value=(now - oldest).total_seconds() if oldest is not None else 0.0,
        )
