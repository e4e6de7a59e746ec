"""The SMS (with a response link) each person an alert stage pages gets, and the outcome to family."""

from collections.abc import Collection, Mapping
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlmodel import Session, select

from carecenter.alerts.models import Alert, Severity
from carecenter.centers.models import Center
from carecenter.messaging.outbound import AlertMessaging, compose, send
from carecenter.messaging.recipients import Recipient, RecipientRef, family_recipient, reachable_family
from carecenter.residents.models import Resident
from carecenter.staff.models import Staff
from carecenter.words import alert_kind_name, outcome_name
from notifications.kinds import TOKEN
from notifications.links import link_token, response_link_values, sign_link_id
from notifications.models import MessageChannel, Purpose, ResponseLink, SmsMessage
from notifications.outbox import opted_out_among, write_messages
from notifications.templates import render


def _links(
    session: Session,
    messaging: AlertMessaging,
    alert: Alert,
    recipients: list[Recipient],
    now: datetime,
    *,
    fresh: bool,
) -> dict[str, str]:
    """Each recipient's response link token for this alert, by phone: the one they already have, or
    a new one (the new ones written in one Core INSERT of plain rows: the ORM's objects and unit of
    work cost more here).
    A `fresh` alert (opened in this transaction) has none yet: nothing to look up."""
    assert alert.id is not None
    tokens: dict[str, str] = {}
    if not fresh:
        stored = session.exec(select(ResponseLink).where(ResponseLink.alert_id == alert.id))
        tokens = {link.phone: link_token(link, messaging.link_secret) for link in stored}
    valid_for = timedelta(hours=messaging.sms.sms_link_hours)
    new = [
        response_link_values(
            alert_id=alert.id,
            role=recipient.role,
            phone=recipient.phone,
            language=recipient.language,
            now=now,
            valid_for=valid_for,
            recipient_ref=str(recipient.ref),
        )
        for recipient in recipients
        if recipient.phone not in tokens
    ]
    if new:
        table = ResponseLink.__table__  # type: ignore[attr-defined]
        stmt = sa.insert(table).returning(table.c.id, sort_by_parameter_order=True)
        ids = session.connection().execute(stmt, new).scalars()
        tokens |= {
            row["phone"]: sign_link_id(link_id, messaging.link_secret) for row, link_id in zip(new, ids, strict=True)
        }
    return tokens


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
    fresh: bool = False,
) -> list[SmsMessage]:
    """Queue one alert SMS per recipient for this stage (never twice for the same stage), and a
    call to those whose numbers are in `call`; a recipient paged as the nearest is told how far
    away the resident is (`distances`, metres by phone). `fresh`: the alert was opened in this
    transaction (no response links to look up)."""
    distances = distances or {}
    local = alert.opened_at.astimezone(ZoneInfo(center.time_zone))
    links = _links(session, messaging, alert, recipients, now, fresh=fresh)
    opted_out = opted_out_among(session, [recipient.phone for recipient in recipients])
    purpose = Purpose.escalation if reminder or stage != "s1" else Purpose.alert
    critical = alert.severity in (Severity.critical, Severity.high)
    kinds: dict[str, str] = {}
    params: dict[str, dict[str, str]] = {}
    for recipient in recipients:
        distance = distances.get(recipient.phone)
        kinds[recipient.phone] = kind = (
            "alert.escalated" if reminder else ("alert.critical" if distance is None else "alert.nearby")
        )
        params[recipient.phone] = {
            "center": center.town,
            "code": str(alert.id),
            "who": resident.name,
            "what": alert_kind_name(alert.kind, recipient.language),
            "when": local.strftime("%m-%d %H:%M"),
            "where": resident.address or center.town,
            TOKEN: links[recipient.phone],
        } | ({"distance": str(distance)} if kind == "alert.nearby" else {})
    # WeChat first, since an SMS waits on its row; then every SMS and call: two INSERTs at most.
    by_wechat = [r for r in recipients if r.openid and r.wechat_alerts]  # the SMS waits on it, never dropped
    wechat = write_messages(
        session,
        [
            compose(
                session,
                messaging,
                recipient,
                kind=kinds[recipient.phone],
                params=params[recipient.phone],
                dedupe_key=f"wechat:{alert.id}:{stage}:{recipient.ref}",
                critical=critical,
                channel=MessageChannel.wechat,
                purpose=purpose,
                now=now,
                center_id=center.id,
                alert_id=alert.id,
            )
            for recipient in by_wechat
        ],
    )
    held_by = {recipient.phone: message for recipient, message in zip(by_wechat, wechat, strict=True)}
    rest = []
    for recipient in recipients:
        distance = distances.get(recipient.phone)
        rest.append(
            compose(
                session,
                messaging,
                recipient,
                kind=kinds[recipient.phone],
                params=params[recipient.phone],
                dedupe_key=f"alert:{alert.id}:{stage}:{recipient.ref}",
                critical=critical,
                opted_out=recipient.phone in opted_out,
                held_by=held_by.get(recipient.phone),
                purpose=purpose,
                now=now,
                center_id=center.id,
                alert_id=alert.id,
            )
        )
        if recipient.phone in call:
            words = call_words(
                session, alert=alert, resident=resident, center=center, language=recipient.language, now=now
            )
            rest.append(
                compose(
                    session,
                    messaging,
                    recipient,
                    kind="alert.call" if distance is None else "alert.call_nearby",
                    params=words | ({"distance": str(distance)} if distance is not None else {}),
                    dedupe_key=f"call:{alert.id}:{stage}:{recipient.ref}",
                    critical=True,
                    channel=MessageChannel.voice,
                    purpose=Purpose.alert,
                    now=now,
                    center_id=center.id,
                    alert_id=alert.id,
                )
            )
    return [*wechat, *write_messages(session, rest)]


def call_words(
    session: Session, *, alert: Alert, resident: Resident, center: Center, language: str, now: datetime
) -> dict[str, str]:
    """What an alert call says: what, who, how long ago, where, and who has already answered."""
    minutes = int((now - alert.opened_at).total_seconds() // 60)
    ago = render("call_minutes_ago", language, minutes=str(minutes)) if minutes else render("call_just_now", language)
    answered_by = session.get(Staff, alert.acknowledged_by) if alert.acknowledged_by else None
    answered = (
        render("call_answered_by", language, who=answered_by.name)
        if answered_by is not None
        else render("call_nobody_yet", language)
    )
    return {
        "center": center.town,
        "what": alert_kind_name(alert.kind, language),
        "who": resident.name,
        "ago": ago,
        "where": resident.address or center.town,
        "answered": answered,
    }


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
        by_wechat = recipient.openid is not None and recipient.wechat_alerts
        send(
            session,
            messaging,
            recipient,
            channel=MessageChannel.wechat if by_wechat else MessageChannel.sms,
            kind="alert.outcome",
            params={
                "center": center.town,
                "who": resident.name,
                "what": alert_kind_name(alert.kind, recipient.language),
                "outcome": outcome_name(alert.outcome or "other", recipient.language),
            },
            purpose=Purpose.outcome,
            dedupe_key=f"alert:{alert.id}:outcome:{recipient.ref}",
            now=now,
            center_id=center.id,
            alert_id=alert.id,
        )
