"""JSON endpoints for the message log."""

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request

from carecenter.access import Role
from carecenter.context import context_of
from carecenter.deps import ActorDep, NowDep, SessionDep, SettingsDep, allow
from carecenter.fields import NO_NUL
from carecenter.messaging import service
from carecenter.messaging.models import TemplateIn, TemplateProvider, TestSmsRequest
from carecenter.pagination import Page, PageParams, page_params
from carecommon.i18n import N_
from notifications.models import (
    MessageChannel,
    MessageEvent,
    MessageEventPublic,
    MessageStatus,
    ProviderTemplate,
    Purpose,
    SmsMessage,
    SmsMessagePublic,
)

router = APIRouter(prefix="/api/v1/notifications", tags=["notifications"])


@router.get(
    "",
    response_model=Page[SmsMessagePublic],
    dependencies=[allow(Role.manager, Role.admin, to=N_("read the message log"))],
)
def list_messages(
    actor: ActorDep,
    session: SessionDep,
    page: Annotated[PageParams, Depends(page_params)],
    status: MessageStatus | None = None,
    to: Annotated[str | None, Query(max_length=32, pattern=NO_NUL, description="Recipient phone, E.164")] = None,
    purpose: Purpose | None = None,
    alert_id: int | None = None,
) -> Page[SmsMessage]:
    """The message log: every SMS with its delivery state (managers and admins)."""
    return service.list_messages(
        session=session, actor=actor, page=page, status=status, to=to, purpose=purpose, alert_id=alert_id
    )


@router.post(
    "/test",
    response_model=SmsMessagePublic,
    status_code=201,
    responses={429: {"description": "Too many tests this hour"}},
    dependencies=[allow(Role.manager, Role.admin, to=N_("send test messages"))],
)
def send_test(
    data: TestSmsRequest, actor: ActorDep, session: SessionDep, settings: SettingsDep, now: NowDep
) -> SmsMessage:
    """Send a test SMS (or place a test call) to check the configuration; follow its row in the message log."""
    message = service.send_test_sms(
        session=session,
        actor=actor,
        to=data.to,
        language=data.language,
        sms_settings=settings.sms,
        now=now,
        channel=MessageChannel(data.channel),
    )
    session.commit()
    return message


@router.get(
    "/templates",
    response_model=list[ProviderTemplate],
    dependencies=[allow(Role.manager, Role.admin, to=N_("read the message templates"))],
)
def list_templates(actor: ActorDep, session: SessionDep) -> list[ProviderTemplate]:
    """The templates the providers approved, as an admin entered them (managers and admins)."""
    return service.list_templates(session=session, actor=actor)


@router.put(
    "/templates/{provider}/{kind}",
    response_model=ProviderTemplate,
    dependencies=[allow(Role.admin, to=N_("change the message templates"))],
)
def save_template(
    provider: TemplateProvider,
    kind: Annotated[str, Path(max_length=40, pattern=r"^[a-z_.]+$")],
    data: TemplateIn,
    actor: ActorDep,
    session: SessionDep,
    now: NowDep,
    request: Request,
) -> ProviderTemplate:
    """Enter the template a provider approved for one kind of message (admins)."""
    template = service.save_template(session=session, actor=actor, provider=provider, kind=kind, data=data, now=now)
    session.commit()
    context_of(request).sms.dispatcher.forget_templates()
    return template


@router.delete(
    "/templates/{provider}/{kind}",
    status_code=204,
    dependencies=[allow(Role.admin, to=N_("change the message templates"))],
)
def delete_template(
    provider: TemplateProvider,
    kind: Annotated[str, Path(max_length=40, pattern=r"^[a-z_.]+$")],
    actor: ActorDep,
    session: SessionDep,
    now: NowDep,
    request: Request,
) -> None:
    """Remove a template (admins): that kind is no longer sent through this provider."""
    service.delete_template(session=session, actor=actor, provider=provider, kind=kind, now=now)
    session.commit()
    context_of(request).sms.dispatcher.forget_templates()


@router.get(
    "/{message_id}/events",
    response_model=list[MessageEventPublic],
    dependencies=[allow(Role.manager, Role.admin, to=N_("read the message log"))],
)
def message_events(message_id: int, actor: ActorDep, session: SessionDep) -> list[MessageEvent]:
    """What happened to one message beyond its status: failures, the second provider, caps, receipts, keys."""
    message = service.get_message(session=session, actor=actor, message_id=message_id)
    return service.message_stories(session, [message_id])[message.id or 0]
