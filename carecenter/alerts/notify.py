"""Who an alert stage pages, and the SMS (with a response link) each of them gets."""

from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlmodel import Session, col, select

from carecenter.alerts.labels import KIND_LABELS, OUTCOME_LABELS, label
from carecenter.alerts.models import Alert, Recipients, Severity
from carecenter.centers.models import Center
from carecenter.duty.service import on_duty_staff
from carecenter.residents.models import FamilyContact, Resident, SmsOptIn
from carecenter.staff.models import Role, Staff
from notifications.links import link_url, new_response_link
from notifications.models import LinkRole, Purpose, ResponseLink, SmsMessage
from notifications.outbox import QuietHours, enqueue_sms, opted_out_among
from notifications.settings import SmsSettings
from notifications.templates import render, render_within


@dataclass(frozen=True)
class AlertMessaging:
    """What composing alert SMS needs from the app's settings."""

    sms: SmsSettings
    public_url: str
    link_secret: bytes


@dataclass(frozen=True)
class Recipient:
    ref: str  # "staff:3" or "contact:12": how the outbox row names who it is for
    phone: str
    language: str
    role: LinkRole
    quiet_hours: QuietHours | None = None


def staff_recipient(staff: Staff) -> Recipient:
    return Recipient(f"staff:{staff.id}", staff.phone, staff.language, LinkRole.staff)


def family_recipient(contact: FamilyContact, time_zone: str) -> Recipient:
    quiet = None
    if contact.quiet_hours_start is not None and contact.quiet_hours_end is not None:
        quiet = QuietHours(contact.quiet_hours_start, contact.quiet_hours_end, time_zone)
    return Recipient(f"contact:{contact.id}", contact.phone, contact.language, LinkRole.family, quiet)


def reachable_family(session: Session, resident_id: int) -> list[FamilyContact]:
    """Family contacts SMS can reach, in calling order (opted-out and unusable numbers skipped)."""
    return list(
        session.exec(
            select(FamilyContact)
            .where(
                FamilyContact.resident_id == resident_id,
                FamilyContact.sms_opt_in == SmsOptIn.opted_in,
                col(FamilyContact.unreachable_at).is_(None),
            )
            .order_by(col(FamilyContact.priority), col(FamilyContact.id))
        ).all()
    )


def managers(session: Session, center_id: int) -> list[Staff]:
    return list(
        session.exec(
            select(Staff)
            .where(Staff.center_id == center_id, Staff.role == Role.manager, Staff.active == True)  # noqa: E712
            .order_by(col(Staff.id))
        ).all()
    )


def resolve_recipients(
    session: Session, *, resident: Resident, center: Center, groups: tuple[Recipients, ...], now: datetime
) -> list[Recipient]:
    """The people the groups name, in order, each phone once."""
    found: list[Recipient] = []
    for group in groups:
        if group == Recipients.care_worker and resident.primary_worker_id is not None:
            worker = session.get(Staff, resident.primary_worker_id)
            found += [staff_recipient(worker)] if worker is not None and worker.active else []
        elif group == Recipients.on_duty:
            assert center.id is not None
            staff = on_duty_staff(session=session, center_id=center.id, now=now) or managers(session, center.id)
            found += [staff_recipient(s) for s in staff]
        elif group == Recipients.manager:
            assert center.id is not None
            found += [staff_recipient(s) for s in managers(session, center.id)]
        elif group in (Recipients.first_family, Recipients.all_family):
            assert resident.id is not None
            family = reachable_family(session, resident.id)
            family = family[:1] if group == Recipients.first_family else family
            found += [family_recipient(c, center.time_zone) for c in family]
    unique: dict[str, Recipient] = {}
    for recipient in found:
        unique.setdefault(recipient.phone, recipient)
    return list(unique.values())


def send(
    session: Session,
    messaging: AlertMessaging,
    recipient: Recipient,
    *,
    body: str,
    purpose: Purpose,
    dedupe_key: str,
    now: datetime,
    center_id: int | None,
    alert_id: int | None = None,
    visit_id: int | None = None,
    critical: bool = False,
    opted_out: bool | None = None,
) -> SmsMessage:
    """Queue one message for a recipient (their quiet hours apply unless it is critical)."""
    return enqueue_sms(
        session=session,
        settings=messaging.sms,
        to=recipient.phone,
        language=recipient.language,
        body=body,
        purpose=purpose,
        dedupe_key=dedupe_key,
        now=now,
        critical=critical,
        quiet_hours=recipient.quiet_hours,
        center_id=center_id,
        alert_id=alert_id,
        visit_id=visit_id,
        recipient_ref=recipient.ref,
        opted_out=opted_out,
    )


def _links(
    session: Session, messaging: AlertMessaging, alert: Alert, recipients: list[Recipient], now: datetime
) -> dict[str, str]:
    """Each recipient's response link URL for this alert, by phone: the one they already have, or
    a new one (the new ones written in one INSERT)."""
    assert alert.id is not None
    links = {link.phone: link for link in session.exec(select(ResponseLink).where(ResponseLink.alert_id == alert.id))}
    fresh = [
        new_response_link(
            alert_id=alert.id,
            role=recipient.role,
            phone=recipient.phone,
            language=recipient.language,
            now=now,
            valid_for=timedelta(hours=messaging.sms.sms_link_hours),
            recipient_ref=recipient.ref,
        )
        for recipient in recipients
        if recipient.phone not in links
    ]
    if fresh:
        session.add_all(fresh)
        session.flush()
        links |= {link.phone: link for link in fresh}
    return {phone: link_url(messaging.public_url, link, messaging.link_secret) for phone, link in links.items()}


def page(
    session: Session,
    messaging: AlertMessaging,
    *,
    alert: Alert,
    resident: Resident,
    center: Center,
    recipients: list[Recipient],
    stage: str,
    reminder: bool,
    now: datetime,
) -> list[SmsMessage]:
    """Queue one alert SMS per recipient for this stage (never twice for the same stage)."""
    local = alert.opened_at.astimezone(ZoneInfo(center.time_zone))
    links = _links(session, messaging, alert, recipients, now)
    opted_out = opted_out_among(session, [recipient.phone for recipient in recipients])
    messages = []
    for recipient in recipients:
        text = render_within(
            "alert_reminder" if reminder else "alert",
            recipient.language,
            max_segments=2,
            shrink="where",
            center=center.town,
            code=str(alert.id),
            who=resident.name,
            what=label(KIND_LABELS, alert.kind, recipient.language),
            when=local.strftime("%m-%d %H:%M"),
            where=resident.address or center.town,
            link=links[recipient.phone],
        )
        messages.append(
            send(
                session,
                messaging,
                recipient,
                body=text,
                purpose=Purpose.escalation if reminder or stage != "s1" else Purpose.alert,
                dedupe_key=f"alert:{alert.id}:{stage}:{recipient.ref}",
                now=now,
                critical=alert.severity in (Severity.critical, Severity.high),
                center_id=center.id,
                alert_id=alert.id,
                opted_out=recipient.phone in opted_out,
            )
        )
    return messages


def tell_outcome(
    session: Session, messaging: AlertMessaging, *, alert: Alert, resident: Resident, center: Center, now: datetime
) -> None:
    """Family members who were told about the alert hear how it ended (non-critical: quiet hours apply)."""
    told = set(
        session.exec(
            select(SmsMessage.recipient_ref).where(
                SmsMessage.alert_id == alert.id, col(SmsMessage.recipient_ref).like("contact:%")
            )
        ).all()
    )
    for contact in reachable_family(session, resident.id or 0):
        if f"contact:{contact.id}" not in told:
            continue
        recipient = family_recipient(contact, center.time_zone)
        send(
            session,
            messaging,
            recipient,
            body=render(
                "alert_outcome",
                recipient.language,
                center=center.town,
                who=resident.name,
                what=label(KIND_LABELS, alert.kind, recipient.language),
                outcome=label(OUTCOME_LABELS, alert.outcome or "other", recipient.language),
            ),
            purpose=Purpose.outcome,
            dedupe_key=f"alert:{alert.id}:outcome:{recipient.ref}",
            now=now,
            center_id=center.id,
            alert_id=alert.id,
        )
