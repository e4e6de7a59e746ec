"""JSON endpoints for the duty roster."""

from datetime import timedelta

from fastapi import APIRouter

from carecenter.access import Role
from carecenter.deps import ActorDep, NowDep, SessionDep, allow
from carecenter.duty import service
from carecenter.duty.models import DutyShiftCreate, DutyShiftPublic
from carecenter.fields import Instant
from carecommon.i18n import N_

router = APIRouter(prefix="/api/v1/duty-shifts", tags=["duty roster"])


@router.get("", response_model=list[DutyShiftPublic])
def list_shifts(
    actor: ActorDep,
    session: SessionDep,
    now: NowDep,
    since: Instant | None = None,
    until: Instant | None = None,
    center_id: int | None = None,
) -> list[DutyShiftPublic]:
    """Shifts in a time range (default: the next 7 days) with the staff on each."""
    since = since or now
    until = until or since + timedelta(days=7)
    shifts = service.list_shifts(session=session, actor=actor, since=since, until=until, center_id=center_id)
    return [service.to_public(session, shift) for shift in shifts]


@router.post(
    "",
    response_model=DutyShiftPublic,
    status_code=201,
    dependencies=[allow(Role.manager, Role.admin, to=N_("plan duty shifts"))],
)
def create_shift(data: DutyShiftCreate, actor: ActorDep, session: SessionDep, now: NowDep) -> DutyShiftPublic:
    """Put staff on a shift (nights may cross midnight; at most 24 hours)."""
    shift = service.create_shift(session=session, actor=actor, data=data, now=now)
    session.commit()
    return service.to_public(session, shift)


@router.delete(
    "/{shift_id}", status_code=204, dependencies=[allow(Role.manager, Role.admin, to=N_("plan duty shifts"))]
)
def delete_shift(shift_id: int, actor: ActorDep, session: SessionDep, now: NowDep) -> None:
    """Remove a shift."""
    service.delete_shift(session=session, actor=actor, shift_id=shift_id, now=now)
    session.commit()
