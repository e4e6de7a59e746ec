"""The read-only FHIR R4 API for the district's health platform (`/fhir/R4`): the capability
statement, reads by id and searches, for API clients' tokens only. Errors are OperationOutcomes
(`errors.answer`)."""

from datetime import datetime
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlmodel import Session

from carecenter.auth.clients import Reader, authenticate_client
from carecenter.context import get_session, get_settings
from carecenter.deps import NowDep, SessionDep, SettingsDep, client_addr
from carecenter.errors import FhirResponse, NotAuthenticated
from carecenter.fhir import resources, search
from carecenter.fhir.resources import Json, Site
from carecenter.settings import Settings
from carecommon.clock import get_now

FHIR_VERSION = "4.0.1"
platform_token = HTTPBearer(auto_error=False, scheme_name="PlatformToken", description="An API client's token")
ERRORS: dict[int | str, dict[str, Any]] = {
    status: {"description": "An OperationOutcome saying what went wrong", "content": {"application/fhir+json": {}}}
    for status in (400, 401, 404)
}
router = APIRouter(prefix="/fhir/R4", tags=["fhir"], responses=ERRORS)


def current_reader(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(platform_token)],
    session: Annotated[Session, Depends(get_session)],
    settings: Annotated[Settings, Depends(get_settings)],
    now: Annotated[datetime, Depends(get_now)],
) -> Reader:
    """The API client a platform token belongs to; 401 without a live one."""
    if credentials is None:
        raise NotAuthenticated("Send the API client's token: 'Authorization: Bearer <token>'.")
    return authenticate_client(
        session=session, token=credentials.credentials, settings=settings, now=now, client_addr=client_addr(request)
    )


ReaderDep = Annotated[Reader, Depends(current_reader)]


def site_of(settings: Settings) -> Site:
    return Site(base=settings.public_url.rstrip("/") + "/fhir/R4", national_id_system=settings.fhir_national_id_system)


def fhir_json(body: Json) -> FhirResponse:
    return FhirResponse(body)


def _searcher(session: Session, reader: Reader, settings: Settings, now: datetime) -> search.Searcher:
    zone = ZoneInfo(settings.timezone)
    return search.Searcher(session, reader, site_of(settings), zone, now.astimezone(zone).date())


@router.get("/metadata", summary="The CapabilityStatement", response_class=FhirResponse)
def capability_statement(settings: SettingsDep, now: NowDep) -> FhirResponse:
    """What this server serves: each resource type, read and search, and its search parameters."""
    kinds = []
    for kind in search.KINDS.values():
        params = [{"name": "_id", "type": "token"}, {"name": "_lastUpdated", "type": "date"}]
        params += [{"name": name, "type": search.PARAM_TYPES[name]} for name in sorted(kind.params)]
        kinds.append(
            {
                "type": kind.name,
                "interaction": [{"code": "read"}, {"code": "search-type"}],
                "searchParam": params,
            }
        )
    base = site_of(settings).base
    statement = {
        "resourceType": "CapabilityStatement",
        "status": "active",
        "date": now.date().isoformat(),
        "kind": "instance",
        "software": {"name": "CareCenter"},
        "implementation": {"description": "CareCenter's records for the district health platform", "url": base},
        "fhirVersion": FHIR_VERSION,
        "format": ["json"],
        "rest": [
            {
                "mode": "server",
                "security": {
                    "description": "A bearer token per receiving system, created by an administrator; it reads "
                    "only the centers it was given, and residents who consented to their health data being used."
                },
                "resource": kinds,
            }
        ],
    }
    return fhir_json(resources.built(statement))


@router.get(
    "/{resource_type}", summary="Search one resource type (a paged searchset Bundle)", response_class=FhirResponse
)
def search_type(
    resource_type: str, request: Request, reader: ReaderDep, session: SessionDep, settings: SettingsDep, now: NowDep
) -> FhirResponse:
    """Search by the parameters the CapabilityStatement lists; `_count` (1 to 100, default 20) per
    page, the next page at the Bundle's `next` link."""
    kind = search.kind_of(resource_type)
    query = search.parse(kind, list(request.query_params.multi_items()), ZoneInfo(settings.timezone))
    served = _searcher(session, reader, settings, now).run(kind, query)
    search.audit(session, reader, kind, served, now)
    session.commit()
    return fhir_json(search.bundle(kind, query, served, site_of(settings)))


@router.get("/{resource_type}/{resource_id}", summary="Read one resource by id", response_class=FhirResponse)
def read_resource(
    resource_type: str, resource_id: str, reader: ReaderDep, session: SessionDep, settings: SettingsDep, now: NowDep
) -> FhirResponse:
    """One resource of the client's centers (an Observation's id is `<reading>-<vital>`); 404 for
    one that does not exist or is not the client's to read, alike."""
    kind = search.kind_of(resource_type)
    served = search.read(_searcher(session, reader, settings, now), kind, resource_id)
    search.audit(session, reader, kind, served, now)
    session.commit()
    return fhir_json(served.resources[0])
