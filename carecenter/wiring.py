"""Where the tiers are joined: what a lower tier must cause in a higher one, registered at start.

`wire()` runs in `create_app`, which every process (web, gateway, scheduler) goes through: the
alert tier learns who works near a resident from the visits tier, and the SMS channel's reports
reach the alert and family services.
"""

from datetime import datetime

from sqlmodel import Session

from carecenter.alerts import responders
from carecenter.alerts import service as alerts
from carecenter.alerts.models import Alert, Channel
from carecenter.exports.service import snapshot_month
from carecenter.family import wechat
from carecenter.messaging.outbound import AlertMessaging
from carecenter.messaging.recipients import RecipientRef
from carecenter.service_records.service import register_month_gate
from carecenter.staff.models import Staff
from carecenter.visits.exceptions import gate_month_close
from carecenter.visits.nearby import nearest_worker
from notifications.models import SmsMessage


def wire() -> None:
    responders.register_finder(nearest_worker)
    register_month_gate(gate_month_close)
    register_month_gate(snapshot_month)  # after the queue's gate: the rows as the month closes


class DomainSmsEvents:
    """The SmsEvents the app registers: alerts move on, contacts are marked, answers count."""

    def __init__(self, messaging: AlertMessaging) -> None:
        self.messaging = messaging

    def message_not_reached(self, *, session: Session, message: SmsMessage, now: datetime) -> None:
        alerts.move_on_after_failure(session, self.messaging, message=message, now=now)

    def acknowledge_by_sms(self, *, session: Session, phone: str, code: str | None, now: datetime) -> str | None:
        return alerts.acknowledge_by_phone(session, phone=phone, code=code, now=now)

    def call_answered(self, *, session: Session, message: SmsMessage, digit: str, now: datetime) -> None:
        """1: the person takes charge (the alert is acknowledged, calls not yet placed are not);
        2: they cannot, and the next person is tried at once; 5: the next step is paged now."""
        if digit == "2":
            alerts.move_on_after_failure(session, self.messaging, message=message, now=now)
            return
        if digit == "5":
            alerts.escalate_now(session, alert_id=message.alert_id, by=message.recipient_ref, now=now)
            return
        alert = session.get(Alert, message.alert_id) if message.alert_id is not None else None
        if alert is None:
            return
        ref = RecipientRef.parse(message.recipient_ref)
        if ref is not None and ref.kind == "staff":
            staff = session.get(Staff, ref.id)
            if alerts.staff_may_answer(staff, alert):
                alerts.acknowledge(session, alert=alert, staff_id=ref.id, channel=Channel.call, now=now)
            return
        alerts.record_family_answer(
            session, alert_id=alert.id or 0, ref=message.recipient_ref, answer="going", now=now, channel=Channel.call
        )
        alerts.acknowledge(session, alert=alert, staff_id=None, channel=Channel.call, now=now)

    def wechat_scanned(self, *, session: Session, openid: str, scene: str, now: datetime) -> str | None:
        return wechat.scanned(
            session,
            openid=openid,
            scene=scene,
            secret=self.messaging.link_secret,
            public_url=self.messaging.public_url,
            now=now,
        )

    def wechat_unbind(self, *, session: Session, openid: str, now: datetime) -> str | None:
        return wechat.unbind_reply(session, openid=openid, now=now)
