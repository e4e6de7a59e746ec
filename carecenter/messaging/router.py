"""JSON endpoints for the message log."""

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from carecenter.auth.deps import ActorDep, NowDep, SessionDep, SettingsDep
from carecenter.fields import NO_NUL
from carecenter.messaging import service
from carecenter.messaging.models import TestSmsRequest
from carecenter.pagination import Page, PageParams, page_params
from notifications.models import MessageStatus, Purpose, SmsMessage, SmsMessagePublic

router = APIRouter(prefix="/api/v1/notifications", tags=["notifications"])


@router.get("", response_model=Page[SmsMessagePublic])
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
        channel=data.channel,
    )
    session.commit()
    return message
