"""The dependencies of the JSON API and the pages, in one place: the database session, the clock,
who is calling, and what the app was built with (its context, taken apart)."""

from datetime import datetime
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.security import OAuth2PasswordBearer
from sqlmodel import Session

from carecenter.access import Actor, Role
from carecenter.auth import service as auth_service
from carecenter.context import AppContext, context_of, get_context, get_session, get_settings
from carecenter.errors import NotAuthenticated
from carecenter.media.store import MediaStore
from carecenter.messaging.outbound import AlertMessaging
from carecenter.settings import Settings
from carecenter.settings.visits import VisitRules
from carecenter.staff.models import Staff
from carecenter.visits.actions import Tablet
from carecommon.clock import get_now
from notifications.channel import SmsChannel, get_channel

ContextDep = Annotated[AppContext, Depends(get_context)]

bearer = OAuth2PasswordBearer(tokenUrl="/api/v1/auth/token", auto_error=False)


def client_addr(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def authenticated_actor(
    *, request: Request, session: Session, token: str, settings: Settings, now: datetime
) -> tuple[Actor, Staff]:
    """The staff member a session token belongs to, as an Actor; 401 unless valid and unexpired.
    The API (bearer header) and the web pages (cookie) both log in through this."""
    staff = auth_service.authenticate(session=session, token=token, settings=settings, now=now)
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


def assessment_dir(request: Request) -> str | None:
    """The folder of extra assessment forms the app was started with (CARECENTER_ASSESSMENT_DIR)."""
    return context_of(request).settings.assessment_dir


def get_visit_rules(context: ContextDep) -> VisitRules:
    return context.visit_rules


def get_messaging(context: ContextDep) -> AlertMessaging:
    return context.alert_messaging


def get_media(context: ContextDep) -> MediaStore:
    return context.media


def get_tablet(context: ContextDep) -> Tablet:
    """What applying a tablet's actions needs from the app."""
    return Tablet(
        rules=context.visit_rules,
        messaging=context.alert_messaging,
        store=context.media,
        max_photo_bytes=context.settings.media.media_max_bytes,
    )


def allow(*roles: Role, to: str) -> Any:
    """The roles an API route is for, declared on the route: `dependencies=[allow(Role.manager, …)]`.

    One rule: the route declares the role (a 403 names what was attempted, `to`); a service checks
    only what depends on the record (the center it belongs to, whose visit it is)."""

    def role_allowed(actor: Annotated[Actor, Depends(current_actor)]) -> None:
        actor.require(*roles, to=to)

    return Depends(role_allowed)


SessionDep = Annotated[Session, Depends(get_session)]
NowDep = Annotated[datetime, Depends(get_now)]
ActorDep = Annotated[Actor, Depends(current_actor)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
VisitRulesDep = Annotated[VisitRules, Depends(get_visit_rules)]
MessagingDep = Annotated[AlertMessaging, Depends(get_messaging)]
MediaDep = Annotated[MediaStore, Depends(get_media)]
ChannelDep = Annotated[SmsChannel, Depends(get_channel)]
TabletDep = Annotated[Tablet, Depends(get_tablet)]
