"""The figures Prometheus reads from the database at each scrape: alerts, messages, unknown devices."""

from collections.abc import Iterator
from datetime import timedelta

import sqlalchemy as sa
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector

from carecenter.alerts.models import Alert
from carecenter.devices.models import UnknownDevice
from carecommon.clock import utcnow
from notifications.models import SmsMessage

ACK_BUCKETS = (30, 60, 120, 300, 600, 900, 1800, 3600)  # seconds
ACK_WINDOW = timedelta(days=30)


class DatabaseFigures(Collector):
    """Alerts opened by kind, time to acknowledge (alerts of the last 30 days), messages by status,
    attempts by unregistered devices."""

    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine

    def collect(self) -> Iterator[Metric]:
        alert, message = Alert.__table__, SmsMessage.__table__  # type: ignore[attr-defined]
        with self.engine.connect() as conn:
            opened = conn.execute(sa.select(alert.c.kind, sa.func.count()).group_by(alert.c.kind)).all()
            by_status = conn.execute(sa.select(message.c.status, sa.func.count()).group_by(message.c.status)).all()
            unknown = conn.execute(
                sa.select(sa.func.coalesce(sa.func.sum(UnknownDevice.__table__.c.attempts), 0))  # type: ignore[attr-defined]
            ).scalar_one()
            answered = conn.execute(
                sa.select(alert.c.opened_at, alert.c.acknowledged_at).where(
                    alert.c.acknowledged_at.is_not(None), alert.c.opened_at >= utcnow() - ACK_WINDOW
                )
            ).all()
        alerts = CounterMetricFamily("carecenter_alerts_opened", "Alerts opened, by kind", labels=["kind"])
        for kind, count in opened:
            alerts.add_metric([kind], count)
        yield alerts
        messages = GaugeMetricFamily("carecenter_sms_messages", "SMS in the outbox, by status", labels=["status"])
        for status, count in by_status:
            messages.add_metric([status], count)
        yield messages
        yield CounterMetricFamily(
            "carecenter_unknown_device_attempts",
            "Connections by device ids nobody registered (the devices page lists them)",
            value=unknown,
        )
        waits = [max(0.0, (acked - opened_at).total_seconds()) for opened_at, acked in answered]
        buckets = [(str(bound), sum(1 for w in waits if w <= bound)) for bound in ACK_BUCKETS]
        yield HistogramMetricFamily(
            "carecenter_alert_time_to_acknowledge_seconds",
            "From an alert opening to someone acknowledging it (alerts of the last 30 days)",
            buckets=[*buckets, ("+Inf", len(waits))],
            sum_value=sum(waits),
        )
