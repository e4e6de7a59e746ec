"""API clients of receiving systems (the district's health platform): created with a token shown
once, listed, revoked by an admin; a token resolves to a client that reads only its centers."""

import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, col, select

from carecenter.access import Actor, Role
from carecenter.audit.service import record_event
from carecenter.auth.models import ApiClient, ApiClientCreate, ApiClientCreated, ApiClientPublic
from carecenter.auth.service import TOUCH_INTERVAL, token_hash
from carecenter.centers.models import Center
from carecenter.errors import Conflict, NotAuthenticated, NotFound
from carecenter.settings import Settings

TOKEN_PREFIX = "ccp_"  # noqa: S105 - tells a platform token from a person's session token, not a secret


@dataclass(frozen=True)
class Reader:
    """Who reads through the platform API: the client, and the centers it was given."""

    name: str
    center_ids: frozenset[int]
    client_addr: str | None

    def actor(self) -> Actor:
        """The audit trail's view of it: no staff id, its name; it is no person's role."""
        return Actor(
            staff_id=None,
            username=f"api:{self.name}"[:32],
            role=Role.care_worker,  # unused: the platform API checks centers, not roles
            center_id=None,
            client_addr=self.client_addr,
        )


def create_client(
    *, session: Session, actor: Actor, data: ApiClientCreate, settings: Settings, now: datetime
) -> ApiClientCreated:
    if session.exec(select(ApiClient.id).where(ApiClient.name == data.name)).first() is not None:
        raise Conflict("An API client named {name} already exists.", name=data.name)
    centers = sorted(set(data.center_ids))
    known = set(session.exec(select(Center.id).where(col(Center.id).in_(centers))).all())
    if known != set(centers):  # as for any record naming a center: not found
        raise NotFound("center not found")
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    client = ApiClient(
        name=data.name,
        center_ids=centers,
        token_hash=token_hash(token, settings),
        token_prefix=token[:10],
        created_at=now,
        created_by=actor.username,
    )
    session.add(client)
    session.flush()
    record_event(
        session=session,
        actor=actor,
        action="api_client.create",
        entity_type="api_client",
        entity_id=client.id,
        center_id=None,
        now=now,
        changed_fields=("name", "center_ids"),
    )
    return ApiClientCreated(**ApiClientPublic.model_validate(client).model_dump(), token=token)


def list_clients(*, session: Session) -> list[ApiClient]:
    return list(session.exec(select(ApiClient).order_by(col(ApiClient.id))).all())


def revoke_client(*, session: Session, actor: Actor, client_id: int, now: datetime) -> ApiClient:
    """The token stops working at once; the client stays listed, revoked (its reads stay audited)."""
    client = session.get(ApiClient, client_id)
    if client is None:
        raise NotFound("API client not found")
    if client.revoked_at is None:
        client.revoked_at = now
        session.add(client)
        record_event(
            session=session,
            actor=actor,
            action="api_client.revoke",
            entity_type="api_client",
            entity_id=client.id,
            center_id=None,
            now=now,
        )
    return client


def authenticate_client(
    *, session: Session, token: str, settings: Settings, now: datetime, client_addr: str | None
) -> Reader:
    """The live client behind a platform token, or NotAuthenticated."""
    client = session.exec(select(ApiClient).where(ApiClient.token_hash == token_hash(token, settings))).first()
    if client is None or client.revoked_at is not None:
        raise NotAuthenticated("This API client token is not valid (unknown or revoked).")
    if client.last_used_at is None or now - client.last_used_at >= TOUCH_INTERVAL:
        client.last_used_at = now
        session.add(client)
    return Reader(name=client.name, center_ids=frozenset(client.center_ids), client_addr=client_addr)
