"""Steps where everyone must answer: a resident living alone who fell needs both the on-duty worker
and the first family contact to know, so each of that step's people is paged again, every reminder
interval, until they answer (take it, say they are going or cannot, or press a key on a call) or the
alert is closed, even after someone else took it."""

from datetime import datetime, timedelta

from sqlmodel import Session, col, func, select

from carecenter.alerts.models import ACTIVE_STATUSES, Alert, EscalationPolicyData, EscalationStep
from carecenter.alerts.notify import page
from carecenter.alerts.policy import policy_for
from carecenter.centers.models import Center
from carecenter.messaging.outbound import AlertMessaging
from carecenter.messaging.recipients import Recipient, resolve_groups
from carecenter.residents.models import Resident
from carecenter.staff.models import Staff
from notifications.models import ResponseLink, ResponseLinkAnswer, SmsMessage


def answered_phones(session: Session, alert: Alert) -> set[str]:
    """Whoever answered this alert, by phone: through their link, a key on a call, or taking it."""
    by_link = session.exec(
        select(ResponseLink.phone)
        .join(ResponseLinkAnswer, col(ResponseLinkAnswer.link_id) == col(ResponseLink.id))
        .where(ResponseLink.alert_id == alert.id)
    ).all()
    by_key = session.exec(
        select(SmsMessage.to_phone).where(SmsMessage.alert_id == alert.id, col(SmsMessage.digits).is_not(None))
    ).all()
    phones = set(by_link) | set(by_key)
    for staff_id in (alert.acknowledged_by, alert.on_site_by):
        staff = session.get(Staff, staff_id) if staff_id else None
        if staff is not None:
            phones.add(staff.phone)
    return phones


def _last_paged(session: Session, alert: Alert, phone: str) -> datetime | None:
    return session.exec(
        select(func.max(SmsMessage.created_at)).where(SmsMessage.alert_id == alert.id, SmsMessage.to_phone == phone)
    ).one()


def page_until_answered(session: Session, messaging: AlertMessaging, *, now: datetime) -> int:
    """Page again each person of a done everyone-answers step who has not answered; returns how many."""
    paged = 0
    alerts = session.exec(
        select(Alert).where(col(Alert.status).in_(ACTIVE_STATUSES), Alert.escalation_steps_done > 0)
    ).all()
    for alert in alerts:
        policy = policy_for(session, alert.center_id)
        steps = [(n, s) for n, s in enumerate(policy.steps[: alert.escalation_steps_done], 1) if s.everyone_answers]
        if not steps:
            continue
        paged += _page_step_people(session, messaging, alert, policy, steps, now)
    return paged


def _page_step_people(
    session: Session,
    messaging: AlertMessaging,
    alert: Alert,
    policy: EscalationPolicyData,
    steps: list[tuple[int, EscalationStep]],
    now: datetime,
) -> int:
    resident = session.get(Resident, alert.resident_id)
    center = session.get(Center, alert.center_id)
    if resident is None or center is None:
        return 0
    answered = answered_phones(session, alert)
    every = timedelta(minutes=policy.reminder_every_minutes)
    paged = 0
    for number, step in steps:
        groups = resolve_groups(session, resident=resident, center=center, groups=step.recipients, now=now)
        people: list[Recipient] = [p for group in groups.values() for p in group]
        due = [
            p
            for p in people
            if p.phone not in answered
            and ((last := _last_paged(session, alert, p.phone)) is None or now - last >= every)
        ]
        if not due:
            continue
        calls = {p.phone for p in due if any(p in groups.get(g, []) for g in step.call)}
        stage = f"s{number}a{int(now.timestamp()) // 60}"  # one page per person and minute
        page(
            session,
            messaging,
            alert=alert,
            resident=resident,
            center=center,
            recipients=due,
            stage=stage,
            reminder=True,
            now=now,
            call=calls,
        )
        paged += len(due)
    return paged
