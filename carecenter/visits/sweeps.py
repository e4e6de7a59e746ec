"""The visit jobs: reminders, late and missed visits, the morning digest, the evening summary.

Each one is safe to run any number of times: a visit records when its reminder and its late
and missed notices went out, and the digest and summary SMS carry a dedupe key per day.
"""

from datetime import date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func
from sqlmodel import Session, col, select

from carecenter.alerts.models import Alert
from carecenter.assessments.service import assessments_due
from carecenter.centers.models import Center
from carecenter.messaging.outbound import AlertMessaging, send
from carecenter.messaging.recipients import managers, staff_recipient
from carecenter.residents.models import Resident
from carecenter.settings.visits import VisitRules
from carecenter.staff.models import Staff
from carecenter.visits.models import Visit, VisitStatus
from carecenter.visits.notices import tell_managers
from carecenter.visits.service import local_day_bounds
from carecenter.visits.welfare import welfare_due
from notifications.models import Purpose, SmsMessage
from notifications.templates import render


def _context(session: Session, visit: Visit) -> tuple[Center, Resident, str]:
    center = session.get(Center, visit.center_id)
    resident = session.get(Resident, visit.resident_id)
    assert center is not None and resident is not None
    return center, resident, f"{visit.scheduled_start.astimezone(ZoneInfo(center.time_zone)):%H:%M}"


def send_visit_reminders(session: Session, messaging: AlertMessaging, *, now: datetime, rules: VisitRules) -> int:
    """Remind each worker once, shortly before their visit (a visit already begun gets none)."""
    due = session.exec(
        select(Visit)
        .where(
            Visit.status == VisitStatus.scheduled,
            col(Visit.worker_id).is_not(None),
            col(Visit.reminder_sent_at).is_(None),
            col(Visit.scheduled_start) > now,
            col(Visit.scheduled_start) <= now + rules.reminder_before,
        )
        .with_for_update(skip_locked=True)
    ).all()
    for visit in due:
        worker = session.get(Staff, visit.worker_id)
        center, resident, when = _context(session, visit)
        if worker is not None and worker.active:
            recipient = staff_recipient(worker)
            send(
                session,
                messaging,
                recipient,
                kind="visit.reminder",
                params={
                    "center": center.town,
                    "who": resident.name,
                    "when": when,
                    "where": resident.address or center.town,
                },
                purpose=Purpose.reminder,
                dedupe_key=f"visit:{visit.id}:reminder:{recipient.ref}",
                now=now,
                center_id=center.id,
                visit_id=visit.id,
            )
        visit.reminder_sent_at = now
        session.add(visit)
    return len(due)


def detect_late_and_missed(session: Session, messaging: AlertMessaging, *, now: datetime, rules: VisitRules) -> int:
    """No check-in 15 minutes after the start: tell the worker; after 30: missed, tell the managers."""
    handled = 0
    late = session.exec(
        select(Visit)
        .where(
            Visit.status == VisitStatus.scheduled,
            col(Visit.late_notified_at).is_(None),
            col(Visit.scheduled_start) <= now - rules.late_after,
        )
        .with_for_update(skip_locked=True)
    ).all()
    for visit in late:
        visit.late_notified_at = now
        session.add(visit)
        if now >= visit.scheduled_start + rules.missed_after:
            continue  # already missed: the managers hear below; the worker's late notice is moot
        worker = session.get(Staff, visit.worker_id) if visit.worker_id else None
        if worker is not None and worker.active:
            center, resident, when = _context(session, visit)
            recipient = staff_recipient(worker)
            send(
                session,
                messaging,
                recipient,
                kind="visit.late",
                params={"center": center.town, "who": resident.name, "when": when},
                purpose=Purpose.reminder,
                dedupe_key=f"visit:{visit.id}:late:{recipient.ref}",
                now=now,
                center_id=center.id,
                visit_id=visit.id,
            )
        handled += 1
    missed = session.exec(
        select(Visit)
        .where(
            Visit.status == VisitStatus.scheduled,
            col(Visit.scheduled_start) <= now - rules.missed_after,
        )
        .with_for_update(skip_locked=True)
    ).all()
    for visit in missed:
        visit.status, visit.missed_notified_at = VisitStatus.missed, now
        session.add(visit)
        _center, _resident, when = _context(session, visit)
        worker = session.get(Staff, visit.worker_id) if visit.worker_id else None
        tell_managers(
            session,
            messaging,
            visit=visit,
            kind="visit.missed",
            event="missed",
            now=now,
            when=when,
            worker=worker.name if worker else "-",
            minutes=str(int(rules.missed_after.total_seconds() // 60)),
        )
        handled += 1
    return handled


def _in_window(now: datetime, center: Center, hour: int) -> bool:
    """From `hour` local time, for four hours: late enough to send, early enough to still be useful."""
    local = now.astimezone(ZoneInfo(center.time_zone))
    return time(hour) <= local.time() < time(min(hour + 4, 23), 59)


def send_daily_digests(session: Session, messaging: AlertMessaging, *, now: datetime, rules: VisitRules) -> int:
    """Each care worker's visits of the day, once a day from 07:00 center time."""
    sent = 0
    for center in session.exec(select(Center)).all():
        if not _in_window(now, center, rules.digest_hour):
            continue
        today = now.astimezone(ZoneInfo(center.time_zone)).date()
        start, end = local_day_bounds(today, center.time_zone)
        visits = session.exec(
            select(Visit)
            .where(
                Visit.center_id == center.id,
                col(Visit.worker_id).is_not(None),
                Visit.status == VisitStatus.scheduled,
                col(Visit.scheduled_start) >= start,
                col(Visit.scheduled_start) < end,
            )
            .order_by(col(Visit.scheduled_start))
        ).all()
        by_worker: dict[int, list[Visit]] = {}
        for visit in visits:
            by_worker.setdefault(visit.worker_id or 0, []).append(visit)
        for worker_id, own in by_worker.items():
            worker = session.get(Staff, worker_id)
            if worker is None or not worker.active:
                continue
            recipient = staff_recipient(worker)
            items = "；".join(f"{_context(session, v)[2]} {_context(session, v)[1].name}" for v in own[:8])
            more = f" …+{len(own) - 8}" if len(own) > 8 else ""
            summary = (
                (f"{len(own)}次上门：" if recipient.language == "zh-CN" else f"{len(own)} visits: ") + items + more
            )
            message = send(
                session,
                messaging,
                recipient,
                kind="manager.digest",
                params={"center": center.town, "summary": summary},
                purpose=Purpose.digest,
                dedupe_key=f"digest:{worker_id}:{today.isoformat()}",
                now=now,
                center_id=center.id,
            )
            sent += 1 if message.created_at == now else 0
    return sent


def _count_visits(session: Session, *conditions: Any) -> int:
    return session.exec(select(func.count()).select_from(Visit).where(*conditions)).one()


def _few(names: list[str], shown: int = 3) -> str:
    """The first names and how many more: an SMS, not a report (the console has the lists)."""
    more = f" +{len(names) - shown}" if len(names) > shown else ""
    return "、".join(names[:shown]) + more


def _summary_key(manager: Staff, day: date) -> str:
    return f"day-summary:{manager.id}:{day.isoformat()}"


def _summary_sent(session: Session, manager: Staff, day: date) -> bool:
    key = _summary_key(manager, day)
    return session.exec(select(SmsMessage.id).where(SmsMessage.dedupe_key == key)).first() is not None


def send_manager_summaries(session: Session, messaging: AlertMessaging, *, now: datetime, rules: VisitRules) -> int:
    """The day's figures to each manager, once a day from 18:00 center time, with who is due for an
    assessment and who living alone was not seen in time."""
    sent = 0
    for center in session.exec(select(Center)).all():
        if not _in_window(now, center, rules.summary_hour):
            continue
        today = now.astimezone(ZoneInfo(center.time_zone)).date()
        waiting = [m for m in managers(session, center.id or 0) if not _summary_sent(session, m, today)]
        if not waiting:
            continue  # the sweep runs every few minutes in the window: the lists are worked out once
        start, end = local_day_bounds(today, center.time_zone)
        in_day = (Visit.center_id == center.id, col(Visit.scheduled_start) >= start, col(Visit.scheduled_start) < end)
        planned = _count_visits(session, *in_day, col(Visit.status) != VisitStatus.cancelled)
        completed = _count_visits(session, *in_day, Visit.status == VisitStatus.completed)
        missed = _count_visits(session, *in_day, Visit.status == VisitStatus.missed)
        alerts = session.exec(
            select(func.count())
            .select_from(Alert)
            .where(Alert.center_id == center.id, col(Alert.opened_at) >= start, col(Alert.opened_at) < end)
        ).one()
        assessments = [d.resident_name for d in assessments_due(session, center_id=center.id or 0, today=today)]
        not_seen = [d.resident_name for d in welfare_due(session, center=center, now=now) if d.overdue]
        for manager in waiting:
            recipient = staff_recipient(manager)
            more = " ".join(
                render(template, recipient.language, count=str(len(names)), names=_few(names))
                for template, names in (("summary_assessments", assessments), ("summary_welfare", not_seen))
                if names
            )
            message = send(
                session,
                messaging,
                recipient,
                kind="manager.summary",
                params={
                    "center": center.town,
                    "planned": str(planned),
                    "completed": str(completed),
                    "missed": str(missed),
                    "alerts": str(alerts),
                    "more": more,
                },
                purpose=Purpose.digest,
                dedupe_key=_summary_key(manager, today),
                now=now,
                center_id=center.id,
            )
            sent += 1 if message.created_at == now else 0
    return sent
