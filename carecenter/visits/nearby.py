"""Who is working near a place right now: care workers at a visit, or about to start one.

The alert service asks it through `alerts.responders` (registered at composition).
"""

from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlmodel import Session, col

from carecenter.alerts.responders import NearbyWorker
from carecenter.geo import distance_m
from carecenter.residents.models import Resident
from carecenter.staff.models import Staff
from carecenter.visits.models import Visit, VisitStatus

SOON = timedelta(minutes=30)  # a visit starting this soon puts its worker on the way there


def nearest_worker(
    session: Session, *, center_id: int, home: tuple[float, float], now: datetime, within_m: int
) -> NearbyWorker | None:
    """The active care worker working closest to `home` now, if within `within_m`: checked in at a
    visit, or about to start one, placed at that visit's resident's home (straight-line distance)."""
    rows = session.execute(
        sa.select(
            col(Visit.id), col(Visit.worker_id), col(Visit.status), col(Resident.latitude), col(Resident.longitude)
        )
        .join(Resident, col(Resident.id) == Visit.resident_id)
        .join(Staff, col(Staff.id) == Visit.worker_id)
        .where(
            col(Visit.center_id) == center_id,
            col(Staff.active),
            col(Resident.latitude).is_not(None),
            col(Resident.longitude).is_not(None),
            sa.or_(
                col(Visit.status) == VisitStatus.in_progress,
                sa.and_(
                    col(Visit.status) == VisitStatus.scheduled,
                    col(Visit.scheduled_start) >= now - SOON,
                    col(Visit.scheduled_start) <= now + SOON,
                ),
            ),
        )
    ).all()
    found = [
        NearbyWorker(
            row.worker_id, round(distance_m(home, (row.latitude, row.longitude))), row.id, row.status == "in_progress"
        )
        for row in rows
    ]
    close = [w for w in found if w.distance_m <= within_m]
    # At a visit now beats on the way to one at the same distance.
    return min(close, key=lambda w: (w.distance_m, not w.at_visit), default=None)
