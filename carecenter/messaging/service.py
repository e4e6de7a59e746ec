"""The message log and the test SMS, scoped to the actor's center."""

import uuid
from datetime import datetime, timedelta

import phonenumbers
from sqlmodel import Session, col, func, select

from carecenter.access import Actor
from carecenter.audit.service import record_event
from carecenter.centers.models import Center
from carecenter.errors import InvalidField, NotFound, TooManyAttempts
from carecenter.fields import DEFAULT_PHONE_REGION
from carecenter.messaging.models import TemplateIn
from carecenter.messaging.outbound import providers
from carecenter.messaging.recipients import RecipientRef
from carecenter.pagination import Page, PageParams, paginate
from carecenter.residents.models import FamilyContact
from carecenter.staff.models import Staff
from carecommon.i18n import N_, Word
from notifications.kinds import KINDS
from notifications.models import MessageChannel, MessageEvent, MessageStatus, ProviderTemplate, Purpose, SmsMessage
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


def message_stories(session: Session, message_ids: list[int]) -> dict[int, list[MessageEvent]]:
    """What happened to each message beyond its status (failures, a switch of provider, caps,
    receipts, keys), oldest first, in one query."""
    stories: dict[int, list[MessageEvent]] = {message_id: [] for message_id in message_ids}
    if message_ids:
        events = session.exec(
            select(MessageEvent)
            .where(col(MessageEvent.message_id).in_(message_ids))
            .order_by(col(MessageEvent.at), col(MessageEvent.id))
        ).all()
        for event in events:
            stories[event.message_id].append(event)
    return stories


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


def get_message(*, session: Session, actor: Actor, message_id: int) -> SmsMessage:
    """One message of the actor's center (admins: any), for managers and admins."""
    message = session.get(SmsMessage, message_id)
    if message is None or not (actor.is_admin or message.center_id == actor.center_id):
        raise NotFound("{what} not found", what=Word(N_("message")))
    return message


def list_templates(*, session: Session, actor: Actor) -> list[ProviderTemplate]:
    """The templates entered for each provider and kind (managers read, admins change)."""
    return list(
        session.exec(select(ProviderTemplate).order_by(col(ProviderTemplate.provider), col(ProviderTemplate.kind)))
    )


def save_template(
    *, session: Session, actor: Actor, provider: str, kind: str, data: TemplateIn, now: datetime
) -> ProviderTemplate:
    """An admin enters the code a provider approved for a kind (and, where the provider names its
    variables differently, which parameter fills which)."""
    if kind not in KINDS or kind == "text":
        raise InvalidField(["path", "kind"], "no such kind of message: {kind}", kind=kind)
    message_kind = KINDS[kind]
    pairs = [part.split("=", 1) for part in data.fields.split(",") if part]
    unknown = sorted({param for _var, param in pairs} - set(message_kind.params))
    if unknown:
        raise InvalidField(["body", "fields"], "{kind} has no parameter {names}", kind=kind, names=", ".join(unknown))
    if provider == "wechat" and not pairs:
        raise InvalidField(["body", "fields"], "a WeChat template names its fields: thing1=who,time2=when,…")
    template = session.get(ProviderTemplate, (provider, kind)) or ProviderTemplate(
        provider=provider, kind=kind, code=""
    )
    template.code, template.fields = data.code, data.fields
    template.updated_at, template.updated_by = now, actor.username
    session.add(template)
    _audit_template(session, actor, "template.save", provider, kind, now)
    return template


def delete_template(*, session: Session, actor: Actor, provider: str, kind: str, now: datetime) -> None:
    template = session.get(ProviderTemplate, (provider, kind))
    if template is None:
        raise NotFound("{what} not found", what=Word(N_("template")))
    session.delete(template)
    _audit_template(session, actor, "template.delete", provider, kind, now)


def _audit_template(session: Session, actor: Actor, action: str, provider: str, kind: str, now: datetime) -> None:
    record_event(
        session=session,
        actor=actor,
        action=action,
        entity_type="provider_template",
        entity_id=None,
        center_id=None,
        now=now,
        changed_fields=[f"{provider}:{kind}"],
    )
