"""JSON endpoints for centers."""

from typing import Annotated

from fastapi import APIRouter, Depends

from carecenter.access import Role
from carecenter.centers import service
from carecenter.centers.models import Center, CenterCreate, CenterPublic, CenterUpdate
from carecenter.deps import ActorDep, NowDep, SessionDep, SettingsDep, allow
from carecenter.pagination import Page, PageParams, page_params
from carecommon.i18n import N_

router = APIRouter(prefix="/api/v1/centers", tags=["centers"])


@router.get("", response_model=Page[CenterPublic])
def list_centers(
    actor: ActorDep, session: SessionDep, page: Annotated[PageParams, Depends(page_params)]
) -> Page[Center]:
    """List the centers you may see (all for admins, your own otherwise)."""
    return service.list_centers(session=session, actor=actor, page=page)


@router.post(
    "", response_model=CenterPublic, status_code=201, dependencies=[allow(Role.admin, to=N_("create centers"))]
)
def create_center(
    data: CenterCreate, actor: ActorDep, session: SessionDep, settings: SettingsDep, now: NowDep
) -> Center:
    """Create a center (admins)."""
    service.check_providers(data, settings.sms.configured_providers())
    center = service.create_center(
        session=session, actor=actor, data=data, default_time_zone=settings.timezone, now=now
    )
    session.commit()
    return center


@router.get("/{center_id}", response_model=CenterPublic)
def get_center(center_id: int, actor: ActorDep, session: SessionDep) -> Center:
    """Read one center."""
    return service.get_center(session=session, actor=actor, center_id=center_id)


@router.patch("/{center_id}", response_model=CenterPublic, dependencies=[allow(Role.admin, to=N_("change centers"))])
def update_center(
    center_id: int, data: CenterUpdate, actor: ActorDep, session: SessionDep, settings: SettingsDep, now: NowDep
) -> Center:
    """Change a center's details (admins), its SMS, call and second providers among them."""
    service.check_providers(data, settings.sms.configured_providers())
    center = service.update_center(session=session, actor=actor, center_id=center_id, data=data, now=now)
    session.commit()
    return center


@router.delete("/{center_id}", status_code=204, dependencies=[allow(Role.admin, to=N_("delete centers"))])
def delete_center(center_id: int, actor: ActorDep, session: SessionDep, now: NowDep) -> None:
    """Delete a center that has no staff and no residents (admins)."""
    service.delete_center(session=session, actor=actor, center_id=center_id, now=now)
    session.commit()
