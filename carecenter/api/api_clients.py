"""JSON endpoints for API clients: the receiving systems (the district's health platform) that read
the FHIR API with their own token. Admins only."""

from fastapi import APIRouter

from carecenter.access import Role
from carecenter.auth import clients
from carecenter.auth.models import ApiClient, ApiClientCreate, ApiClientCreated, ApiClientPublic
from carecenter.deps import ActorDep, NowDep, SessionDep, SettingsDep, allow
from carecommon.i18n import N_

router = APIRouter(
    prefix="/api/v1/api-clients",
    tags=["api clients"],
    dependencies=[allow(Role.admin, to=N_("manage the API clients of receiving systems"))],
)


@router.get("", response_model=list[ApiClientPublic])
def list_api_clients(session: SessionDep) -> list[ApiClient]:
    """Every API client, revoked ones included (their reads stay in the audit trail)."""
    return clients.list_clients(session=session)


@router.post("", response_model=ApiClientCreated, status_code=201)
def create_api_client(
    data: ApiClientCreate, actor: ActorDep, session: SessionDep, settings: SettingsDep, now: NowDep
) -> ApiClientCreated:
    """A receiving system and the centers it reads; its token is in this answer only."""
    created = clients.create_client(session=session, actor=actor, data=data, settings=settings, now=now)
    session.commit()
    return created


@router.delete("/{client_id:int}", response_model=ApiClientPublic)
def revoke_api_client(client_id: int, actor: ActorDep, session: SessionDep, now: NowDep) -> ApiClient:
    """Its token stops working at once."""
    client = clients.revoke_client(session=session, actor=actor, client_id=client_id, now=now)
    session.commit()
    return client
