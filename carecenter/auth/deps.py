"""FastAPI dependencies for the acting staff member."""

from datetime import datetime
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import OAuth2PasswordBearer
from sqlmodel import Session

from carecenter.access import Actor
from carecenter.auth import service
from carecenter.context import get_session, get_settings
from carecenter.errors import NotAuthenticated
from carecenter.settings import Settings
from carecenter.staff.models import Role, Staff
from carecommon.clock import get_now

bearer = OAuth2PasswordBearer(tokenUrl="/api/v1/auth/token", auto_error=False)


def client_addr(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def authenticated_actor(
    *, request: Request, session: Session, token: str, settings: Settings, now: datetime
) -> tuple[Actor, Staff]:
    """The staff member a session token belongs to, as an Actor; 401 unless valid and unexpired.
    The API (bearer header) and the web pages (cookie) both log in through this."""
    staff = service.authenticate(session=session, token=token, settings=settings, now=now)
    if session.dirty:
        session.commit()  # the idle timer moved; its own tiny transaction
    assert staff.id is not None
    actor = Actor(
        staff_id=staff.id,
        username=staff.username,
        role=Role(staff.role),
        center_id=staff.center_id,
        client_addr=client_addr(request),
    )
    return actor, staff


def current_actor(
    request: Request,
    token: Annotated[str | None, Depends(bearer)],
    session: Annotated[Session, Depends(get_session)],
    settings: Annotated[Settings, Depends(get_settings)],
    now: Annotated[datetime, Depends(get_now)],
) -> Actor:
    """The logged-in staff member; 401 without a valid, unexpired session."""
    if not token:
        raise NotAuthenticated("Log in first: send the header 'Authorization: Bearer <token>'.")
    return authenticated_actor(request=request, session=session, token=token, settings=settings, now=now)[0]
