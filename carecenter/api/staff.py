"""JSON endpoints for staff accounts."""

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from carecenter.access import Role
from carecenter.deps import ActorDep, NowDep, SessionDep, allow
from carecenter.fields import NO_NUL
from carecenter.pagination import Page, PageParams, page_params
from carecenter.staff import service
from carecenter.staff.models import Staff, StaffCreate, StaffPublic, StaffUpdate
from carecommon.i18n import N_

router = APIRouter(prefix="/api/v1/staff", tags=["staff"])


@router.get("", response_model=Page[StaffPublic])
def list_staff(
    actor: ActorDep,
    session: SessionDep,
    page: Annotated[PageParams, Depends(page_params)],
    center_id: int | None = None,
    role: Role | None = None,
    active: bool | None = None,
    q: Annotated[str | None, Query(max_length=64, pattern=NO_NUL, description="Part of a name or username")] = None,
) -> Page[Staff]:
    """List staff of your center (admins: any center)."""
    return service.list_staff(
        session=session, actor=actor, page=page, center_id=center_id, role=role, active=active, q=q
    )


@router.get("/me", response_model=StaffPublic)
def read_me(actor: ActorDep, session: SessionDep) -> Staff:
    """Your own account."""
    assert actor.staff_id is not None
    return service.get_staff(session=session, actor=actor, staff_id=actor.staff_id)


@router.post(
    "",
    response_model=StaffPublic,
    status_code=201,
    dependencies=[allow(Role.manager, Role.admin, to=N_("create staff accounts"))],
)
def create_staff(data: StaffCreate, actor: ActorDep, session: SessionDep, now: NowDep) -> Staff:
    """Create a staff account (managers: in their center)."""
    staff = service.create_staff(session=session, actor=actor, data=data, now=now)
    session.commit()
    return staff


@router.get("/{staff_id:int}", response_model=StaffPublic)
def get_staff(staff_id: int, actor: ActorDep, session: SessionDep) -> Staff:
    """Read one staff account."""
    return service.get_staff(session=session, actor=actor, staff_id=staff_id)


@router.patch(
    "/{staff_id:int}",
    response_model=StaffPublic,
    dependencies=[allow(Role.manager, Role.admin, to=N_("change staff accounts"))],
)
def update_staff(staff_id: int, data: StaffUpdate, actor: ActorDep, session: SessionDep, now: NowDep) -> Staff:
    """Change a staff account; `active: false` deactivates it and ends its sessions."""
    staff = service.update_staff(session=session, actor=actor, staff_id=staff_id, data=data, now=now)
    session.commit()
    return staff
