"""A completed visit's services become priced service records (with the visit's proof on each)."""

from datetime import datetime
from zoneinfo import ZoneInfo

from sqlmodel import Session

from carecenter.centers.models import Center
from carecenter.service_records.models import ServiceRecord
from carecenter.service_records.service import NOT_TICKED, Pricer
from carecenter.visits.models import Visit


def records_from_visits(session: Session, *, visits: list[Visit], now: datetime) -> list[ServiceRecord]:
    """Each completed visit becomes one record per checklist service, with the visit's proof attached."""
    pricer = Pricer(session)
    zones: dict[int, ZoneInfo] = {}
    made = []
    for visit in visits:
        if visit.center_id not in zones:
            zones[visit.center_id] = ZoneInfo(session.get(Center, visit.center_id).time_zone)  # type: ignore[union-attr]
        started = visit.checked_in_at or visit.scheduled_start
        service_on = started.astimezone(zones[visit.center_id]).date()
        for task in visit.tasks:
            record = pricer.new_record(
                center_id=visit.center_id,
                resident_id=visit.resident_id,
                code=task.service,
                service_on=service_on,
                visit_id=visit.id,
                worker_id=visit.worker_id,
                created_at=now,
                delivered=task.done,
                quantity=(task.quantity or 1.0) if task.done else 0.0,
                not_delivered_reason=None if task.done else (task.reason or NOT_TICKED),
                checked_in_at=visit.checked_in_at,
                checked_out_at=visit.checked_out_at,
                check_in_distance_m=visit.check_in_distance_m,
                check_out_distance_m=visit.check_out_distance_m,
                far_from_home=visit.far_from_home,
            )
            pricer.apply(record)
            made.append(record)
    session.add_all(made)
    session.flush()
    return made
