"""What the family page shows about one resident: visits, recent alerts, the wearable's state.

Only what a family needs to stay reassured: no diagnoses, no positions, no other residents;
a visit's notes only where the care worker shared them with the family.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import Session, col, select

from carecenter.alerts.models import Alert
from carecenter.centers.models import Center
from carecenter.devices.models import Device
from carecenter.residents.models import Resident
from carecenter.staff.models import Staff
from carecenter.visits.models import Visit, VisitStatus

AHEAD = timedelta(days=14)
BACK = timedelta(days=30)


@dataclass(frozen=True)
class FamilyVisit:
    start: datetime
    worker: str  # the care worker's given name only
    status: str
    note: str | None  # only if the worker shared it


@dataclass(frozen=True)
class FamilyView:
    resident: Resident
    center: Center
    upcoming: list[FamilyVisit]
    recent: list[FamilyVisit]
    alerts: list[Alert]
    devices: list[Device]


def given_name(name: str) -> str:
    """王晓燕 -> 晓燕 (a Chinese family name is its first character); Wang Xiaoyan -> Xiaoyan."""
    parts = name.split()
    if len(parts) > 1:
        return parts[-1]
    return name[1:] if len(name) > 1 and all("\u4e00" <= ch <= "\u9fff" for ch in name) else name


def family_view(session: Session, *, resident_id: int, now: datetime) -> FamilyView | None:
    resident = session.get(Resident, resident_id)
    center = session.get(Center, resident.center_id) if resident is not None else None
    if resident is None or center is None:
        return None
    rows = session.exec(
        select(Visit, Staff.name)
        .outerjoin(Staff, col(Staff.id) == Visit.worker_id)
        .where(
            Visit.resident_id == resident_id,
            col(Visit.scheduled_start) >= now - BACK,
            col(Visit.scheduled_start) <= now + AHEAD,
            col(Visit.status) != VisitStatus.cancelled,
        )
        .order_by(col(Visit.scheduled_start))
    ).all()
    upcoming: list[FamilyVisit] = []
    recent: list[FamilyVisit] = []
    for visit, worker in rows:
        shown = FamilyVisit(
            visit.scheduled_start,
            given_name(worker or ""),
            visit.status,
            visit.notes if visit.share_notes_with_family and visit.notes else None,
        )
        (upcoming if visit.status in (VisitStatus.scheduled, VisitStatus.in_progress) else recent).append(shown)
    alerts = session.exec(
        select(Alert)
        .where(Alert.resident_id == resident_id, col(Alert.opened_at) >= now - BACK)
        .order_by(col(Alert.opened_at).desc())
    ).all()
    devices = session.exec(
        select(Device).where(Device.resident_id == resident_id, col(Device.revoked_at).is_(None))
    ).all()
    return FamilyView(resident, center, upcoming, list(reversed(recent)), list(alerts), list(devices))
