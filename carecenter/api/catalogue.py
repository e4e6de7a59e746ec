"""JSON endpoints: the center's service catalogue (read by all staff, changed by managers)."""

from fastapi import APIRouter

from carecenter.access import Role
from carecenter.catalogue import service
from carecenter.catalogue.models import (
    ServiceOffering,
    ServiceOfferingCreate,
    ServiceOfferingPublic,
    ServiceOfferingUpdate,
)
from carecenter.deps import ActorDep, NowDep, SessionDep, allow
from carecommon.i18n import N_

router = APIRouter(prefix="/api/v1/services", tags=["services"])


@router.get("", response_model=list[ServiceOfferingPublic])
def list_services(actor: ActorDep, session: SessionDep, center_id: int | None = None) -> list[ServiceOffering]:
    """The services your center offers, with category, unit and price (fen); care plans name them by code."""
    return service.list_offerings(session=session, actor=actor, center_id=center_id)


@router.post(
    "",
    response_model=ServiceOfferingPublic,
    status_code=201,
    dependencies=[allow(Role.manager, Role.admin, to=N_("change the service catalogue"))],
)
def create_service(data: ServiceOfferingCreate, actor: ActorDep, session: SessionDep, now: NowDep) -> ServiceOffering:
    """Add a service to the catalogue (managers); 409 if the code is taken."""
    offering = service.create_offering(session=session, actor=actor, data=data, now=now)
    session.commit()
    return offering


@router.patch(
    "/{offering_id}",
    response_model=ServiceOfferingPublic,
    dependencies=[allow(Role.manager, Role.admin, to=N_("change the service catalogue"))],
)
def update_service(
    offering_id: int, data: ServiceOfferingUpdate, actor: ActorDep, session: SessionDep, now: NowDep
) -> ServiceOffering:
    """A new price applies to records made from now on; recorded ones keep the price they had."""
    offering = service.update_offering(session=session, actor=actor, offering_id=offering_id, data=data, now=now)
    session.commit()
    return offering
