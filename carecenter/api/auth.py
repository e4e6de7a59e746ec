"""Log in and out with a bearer token."""

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.security import OAuth2PasswordRequestForm

from carecenter.auth import service
from carecenter.auth.models import Token
from carecenter.deps import ActorDep, NowDep, SessionDep, SettingsDep, bearer, client_addr
from carecenter.errors import NotAuthenticated, TooManyAttempts

router = APIRouter(prefix="/api/v1/auth", tags=["auth"])


@router.post("/token", response_model=Token)
def create_token(
    request: Request,
    form: Annotated[OAuth2PasswordRequestForm, Depends()],
    session: SessionDep,
    settings: SettingsDep,
    now: NowDep,
) -> Token:
    """Log in with username and password; returns a bearer token."""
    try:
        token, auth_session = service.login(
            session=session,
            username=form.username,
            password=form.password,
            client_addr=client_addr(request),
            settings=settings,
            now=now,
        )
    except (NotAuthenticated, TooManyAttempts):
        session.commit()  # the failure stays on record for throttling
        raise
    session.commit()
    return Token(access_token=token, expires_at=auth_session.expires_at)


@router.post("/logout", status_code=204)
def logout(
    actor: ActorDep,
    token: Annotated[str | None, Depends(bearer)],
    session: SessionDep,
    settings: SettingsDep,
    now: NowDep,
) -> None:
    """End the current session; the token stops working at once."""
    assert token is not None  # current_actor has checked it
    service.logout(session=session, token=token, settings=settings, now=now)
    session.commit()
