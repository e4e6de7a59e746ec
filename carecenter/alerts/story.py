"""An alert's whole story for the people answering it: what, who, where, and who is doing what.

Read for the response page behind the link in an alert SMS; the page shows staff more (what
they need at the door) than family.
"""

from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlmodel import Session, col, select

from carecenter.alerts.models import Alert, AlertEvent
from carecenter.centers.models import Center
from carecenter.messaging.recipients import recipient_names
from carecenter.readings.models import Reading
from carecenter.residents.models import LivingSituation, Resident, age_on
from carecenter.staff.models import Staff
from notifications.models import SmsMessage


@dataclass(frozen=True)
class Position:
    latitude: float
    longitude: float
    at: datetime


@dataclass(frozen=True)
class Step:
    """One thing someone did: acknowledged, is going, cannot go, on site, resolved."""

    what: str
    who: str
    at: datetime
    channel: str | None = None


@dataclass
class AlertStory:
    alert: Alert
    resident: Resident
    center: Center
    age: int
    lives_alone: bool
    last_position: Position | None
    paged: list[tuple[str, str, str]] = field(default_factory=list)  # (name, sms or voice, status)
    steps: list[Step] = field(default_factory=list)
    names: dict[str, str] = field(default_factory=dict)  # everyone paged or answering, by recipient ref

    def someone_going(self, except_name: str) -> Step | None:
        """Another person who took charge or is going (for "someone is already on the way")."""
        return next((s for s in self.steps if s.what in ("going", "acknowledged") and s.who != except_name), None)


ANSWER_EVENTS = {"acknowledged", "on_site", "resolved", "family_answer"}


def alert_story(session: Session, alert: Alert, now: datetime) -> AlertStory | None:
    """The story of an alert (None if its resident or center is gone)."""
    resident = session.get(Resident, alert.resident_id)
    center = session.get(Center, alert.center_id)
    if resident is None or center is None:
        return None
    today = now.astimezone(ZoneInfo(center.time_zone)).date()
    story = AlertStory(
        alert=alert,
        resident=resident,
        center=center,
        age=age_on(resident.birth_date, today),
        lives_alone=resident.living_situation == LivingSituation.alone,
        last_position=_last_position(session, alert),
    )
    messages = session.exec(
        select(SmsMessage).where(SmsMessage.alert_id == alert.id).order_by(col(SmsMessage.id))
    ).all()
    events = session.exec(
        select(AlertEvent)
        .where(AlertEvent.alert_id == alert.id, col(AlertEvent.kind).in_(ANSWER_EVENTS))
        .order_by(col(AlertEvent.at), col(AlertEvent.id))
    ).all()
    family_refs: list[str | None] = [e.detail.rpartition(": ")[0] for e in events if e.kind == "family_answer"]
    names = recipient_names(session, [m.recipient_ref for m in messages] + family_refs)
    story.names = names
    story.paged = [(names.get(m.recipient_ref or "", ""), m.channel, m.status) for m in messages]
    for event in events:
        if event.kind == "family_answer":
            ref, _, answer = event.detail.rpartition(": ")
            story.steps.append(Step(answer, names.get(ref, ref), event.at, event.channel))
            continue
        staff = session.get(Staff, event.staff_id) if event.staff_id is not None else None
        who = staff.name if staff is not None else ""
        story.steps.append(Step(event.kind, who, event.at, event.channel))
    return story


def _last_position(session: Session, alert: Alert) -> Position | None:
    """Where the resident's device last reported a position (stored only with consent)."""
    stmt = select(Reading.latitude, Reading.longitude, Reading.recorded_at).where(
        Reading.resident_id == alert.resident_id, col(Reading.latitude).is_not(None)
    )
    row = session.exec(stmt.order_by(col(Reading.recorded_at).desc()).limit(1)).first()
    if row is None or row[0] is None or row[1] is None:
        return None
    return Position(row[0], row[1], row[2])
