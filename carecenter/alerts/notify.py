"""The SMS (with a response link) each person an alert stage pages gets, and the outcome to family."""

from collections.abc import Collection, Mapping
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlmodel import Session, select

from carecenter.alerts.models import Alert, Severity
from carecenter.centers.models import Center
from carecenter.messaging.outbound import AlertMessaging, send
from carecenter.messaging.recipients import Recipient, RecipientRef, family_recipient, reachable_family
from carecenter.residents.models import Resident
from carecenter.staff.models import Staff
from carecenter.words import alert_kind_name, outcome_name
from notifications.links import link_url, new_response_link
from notifications.models import MessageChannel, Purpose, ResponseLink, SmsMessage
from notifications.outbox import opted_out_among
from notifications.templates import render, render_within


def _links(
    session: Session, messaging: AlertMessaging, alert: Alert, recipients: list[Recipient], now: datetime
) -> dict[str, str]:
    """Each recipient's response link URL for this alert, by phone: the one they already have, or
    a new one (the new ones written in one Core INSERT: the ORM's unit of work costs more here)."""
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
            recipient_ref=str(recipient.ref),
        )
        for recipient in recipients
        if recipient.phone not in links
    ]
    if fresh:
        table = ResponseLink.__table__  # type: ignore[attr-defined]
        stmt = sa.insert(table).returning(table.c.id, sort_by_parameter_order=True)
        ids = session.connection().execute(stmt, [link.model_dump(exclude={"id"}) for link in fresh]).scalars()
        for link, link_id in zip(fresh, ids, strict=True):
            link.id = link_id
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
    call: Collection[str] = (),
    distances: Mapping[str, int] | None = None,
) -> list[SmsMessage]:
    """Queue one alert SMS per recipient for this stage (never twice for the same stage), and a
    call to those whose numbers are in `call`; a recipient paged as the nearest is told how far
    away the resident is (`distances`, metres by phone)."""
    distances = distances or {}
    local = alert.opened_at.astimezone(ZoneInfo(center.time_zone))
    links = _links(session, messaging, alert, recipients, now)
    opted_out = opted_out_among(session, [recipient.phone for recipient in recipients])
    messages = []
    for recipient in recipients:
        distance = distances.get(recipient.phone)
        text = render_within(
            "alert_reminder" if reminder else ("alert" if distance is None else "alert_nearby"),
            recipient.language,
            max_segments=2,
            shrink="where",
            distance=str(distance),
            center=center.town,
            code=str(alert.id),
            who=resident.name,
            what=alert_kind_name(alert.kind, recipient.language),
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
        if recipient.phone in call:
            script = call_script(
                session, alert=alert, resident=resident, center=center, language=recipient.language, now=now
            )
            if distance is not None:
                script += " " + render("call_distance", recipient.language, distance=str(distance))
            messages.append(
                send(
                    session,
                    messaging,
                    recipient,
                    body=script,
                    purpose=Purpose.alert,
                    dedupe_key=f"call:{alert.id}:{stage}:{recipient.ref}",
                    now=now,
                    critical=True,
                    center_id=center.id,
                    alert_id=alert.id,
                    channel=MessageChannel.voice,
                )
            )
    return messages


def call_script(
    session: Session, *, alert: Alert, resident: Resident, center: Center, language: str, now: datetime
) -> str:
    """What an alert call says: what, who, how long ago, where, and who has already answered."""
    minutes = int((now - alert.opened_at).total_seconds() // 60)
    ago = render("call_minutes_ago", language, minutes=str(minutes)) if minutes else render("call_just_now", language)
    answered_by = session.get(Staff, alert.acknowledged_by) if alert.acknowledged_by else None
    answered = (
        render("call_answered_by", language, who=answered_by.name)
        if answered_by is not None
        else render("call_nobody_yet", language)
    )
    return render(
        "call_alert",
        language,
        center=center.town,
        what=alert_kind_name(alert.kind, language),
        who=resident.name,
        ago=ago,
        where=resident.address or center.town,
        answered=answered,
    )


def tell_outcome(
    session: Session, messaging: AlertMessaging, *, alert: Alert, resident: Resident, center: Center, now: datetime
) -> None:
    """Family members who were told about the alert hear how it ended (non-critical: quiet hours apply)."""
    told = {
        RecipientRef.parse(ref)
        for ref in session.exec(select(SmsMessage.recipient_ref).where(SmsMessage.alert_id == alert.id)).all()
    }
    for contact in reachable_family(session, resident.id or 0):
        recipient = family_recipient(contact, center.time_zone)
        if recipient.ref not in told:
            continue
        send(
            session,
            messaging,
            recipient,
            body=render(
                "alert_outcome",
                recipient.language,
                center=center.town,
                who=resident.name,
                what=alert_kind_name(alert.kind, recipient.language),
                outcome=outcome_name(alert.outcome or "other", recipient.language),
            ),
            purpose=Purpose.outcome,
            dedupe_key=f"alert:{alert.id}:outcome:{recipient.ref}",
            now=now,
            center_id=center.id,
            alert_id=alert.id,
        )
