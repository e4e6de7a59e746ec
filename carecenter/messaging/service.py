"""The message log and the test SMS, scoped to the actor's center."""

import uuid
from datetime import datetime, timedelta

import phonenumbers
from sqlmodel import Session, col, func, select

from carecenter.access import Actor
from carecenter.audit.service import record_event
from carecenter.centers.models import Center
from carecenter.errors import InvalidField, TooManyAttempts
from carecenter.fields import DEFAULT_PHONE_REGION
from carecenter.messaging.outbound import providers
from carecenter.messaging.recipients import RecipientRef
from carecenter.pagination import Page, PageParams, paginate
from carecenter.residents.models import FamilyContact
from carecenter.staff.models import Role, Staff
from carecommon.i18n import N_
from notifications.models import MessageChannel, MessageStatus, Purpose, SmsMessage
from notifications.outbox import enqueue_sms
from notifications.settings import SmsSettings


def list_messages(
    *,
    session: Session,
    actor: Actor,
    page: PageParams,
    status: MessageStatus | None = None,
    to: str | None = None,
    purpose: Purpose | None = None,
    alert_id: int | None = None,
) -> Page[SmsMessage]:
    """Messages of the actor's center (admins: all), newest first."""
    actor.require(Role.manager, Role.admin, to=N_("read the message log"))
    stmt = select(SmsMessage)
    stmt = actor.scoped(stmt, SmsMessage.center_id, None)
    if status is not None:
        stmt = stmt.where(SmsMessage.status == status)
    if to:
        stmt = stmt.where(SmsMessage.to_phone == to)
    if purpose is not None:
        stmt = stmt.where(SmsMessage.purpose == purpose)
    if alert_id is not None:
        stmt = stmt.where(SmsMessage.alert_id == alert_id)
    return paginate(session, stmt.order_by(col(SmsMessage.id).desc()), page)


TESTS_PER_HOUR = 5


def _check_test_number(session: Session, to: str) -> None:
    if phonenumbers.region_code_for_number(phonenumbers.parse(to)) == DEFAULT_PHONE_REGION:
        return
    known = (
        session.exec(select(Staff.id).where(Staff.phone == to).limit(1)).first()
        or session.exec(select(FamilyContact.id).where(FamilyContact.phone == to).limit(1)).first()
    )
    if known is None:
        raise InvalidField(
            ["body", "to"], "a test goes to a number of this country or one already in the system (staff, family)"
        )


def send_test_sms(
    *,
    session: Session,
    actor: Actor,
    to: str,
    language: str,
    sms_settings: SmsSettings,
    now: datetime,
    channel: MessageChannel = MessageChannel.sms,
) -> SmsMessage:
    """Queue a test SMS (or call) through the outbox like any other; its row shows the outcome.

    A test goes only to a number of the deployment's own country or one already in the system (a
    member of staff, a family contact), and at most TESTS_PER_HOUR per sender: a real account must
    not be a way to call premium-rate numbers abroad."""
    actor.require(Role.manager, Role.admin, to=N_("send test messages"))
    _check_test_number(session, to)
    recent = session.exec(
        select(func.count())
        .select_from(SmsMessage)
        .where(
            SmsMessage.purpose == Purpose.test,
            col(SmsMessage.created_at) > now - timedelta(hours=1),
            SmsMessage.recipient_ref == (str(RecipientRef("staff", actor.staff_id)) if actor.staff_id else None),
        )
    ).one()
    if recent >= TESTS_PER_HOUR:
        raise TooManyAttempts("At most {count} test messages an hour; try again later.", 3600, count=TESTS_PER_HOUR)
    center = session.get(Center, actor.center_id) if actor.center_id is not None else None
    provider, fallback = providers(sms_settings, center, channel)
    message = enqueue_sms(
        session=session,
        settings=sms_settings,
        to=to,
        kind="test.call" if channel == MessageChannel.voice else "test.sms",
        provider=provider,
        fallback_provider=fallback,
        channel=channel,
        language=language,
        purpose=Purpose.test,
        dedupe_key=f"test:{uuid.uuid4()}",
        now=now,
        critical=True,
        center_id=actor.center_id,
        recipient_ref=str(RecipientRef("staff", actor.staff_id)) if actor.staff_id else None,
    )
    record_event(
        session=session,
        actor=actor,
        action="sms.test",
        entity_type="sms_message",
        entity_id=message.id,
        center_id=actor.center_id,
        now=now,
    )
    return message
