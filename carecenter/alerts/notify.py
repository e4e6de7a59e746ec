"""The SMS (with a response link) each person an alert stage pages gets, and the outcome to family."""

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlmodel import Session, select

from carecenter.alerts.models import Alert, Severity
from carecenter.centers.models import Center
from carecenter.db import among
from carecenter.messaging.outbound import AlertMessaging, compose, send
from carecenter.messaging.recipients import Recipient, RecipientRef, family_recipient, reachable_family
from carecenter.residents.models import Resident
from carecenter.staff.models import Staff
from carecenter.words import alert_kind_name, outcome_name
from carecommon.sqltypes import RowsInsert
from notifications.kinds import TOKEN
from notifications.links import link_token, response_link_values, sign_link_id
from notifications.models import MessageChannel, Purpose, ResponseLink, SmsMessage
from notifications.outbox import opted_out_among, write_messages
from notifications.templates import render

URGENT = (Severity.critical, Severity.high)  # their messages are critical: sent whatever the hour or budget


@dataclass(frozen=True)
class Page:
    """One alert stage's paging: an SMS to each recipient (with a response link), and a call to
    those whose numbers are in `call`; one paged as the nearest is told how far away the resident
    is (`distances`, metres by phone)."""

    alert: Alert
    resident: Resident
    center: Center
    recipients: list[Recipient]
    stage: str
    reminder: bool
    call: Collection[str] = ()
    distances: Mapping[str, int] = field(default_factory=dict)


_NEW_LINKS = RowsInsert(ResponseLink.__table__, returning=("id", "alert_id", "phone"))  # type: ignore[attr-defined]


def _links(
    session: Session, messaging: AlertMessaging, pages: Sequence[Page], now: datetime, *, fresh: bool
) -> dict[tuple[int, str], str]:
    """Each recipient's response link token, by alert and phone: the one they already have, or a
    new one (the new ones written in one Core INSERT of plain rows: the ORM's objects and unit of
    work cost more here). `fresh` alerts (opened in this transaction) have none yet: nothing to
    look up."""
    alert_ids = [page.alert.id for page in pages if page.alert.id is not None]
    tokens: dict[tuple[int, str], str] = {}
    if not fresh:
        stored = session.exec(select(ResponseLink).where(among(session, ResponseLink.alert_id, alert_ids)))
        tokens = {(link.alert_id, link.phone): link_token(link, messaging.link_secret) for link in stored}
    valid_for = timedelta(hours=messaging.sms.sms_link_hours)
    new: dict[tuple[int, str], dict[str, Any]] = {}
    for page in pages:
        assert page.alert.id is not None
        for recipient in page.recipients:
            if (page.alert.id, recipient.phone) not in tokens:
                new.setdefault(
                    (page.alert.id, recipient.phone),
                    response_link_values(
                        alert_id=page.alert.id,
                        role=recipient.role,
                        phone=recipient.phone,
                        language=recipient.language,
                        now=now,
                        valid_for=valid_for,
                        recipient_ref=str(recipient.ref),
                    ),
                )
    if new:
        # Matched back by alert and phone: SQLite then writes them in one statement too (it cannot
        # promise RETURNING in the order of the rows).
        for link_id, alert_id, phone in _NEW_LINKS.execute(session.connection(), list(new.values())):
            tokens[(alert_id, phone)] = sign_link_id(link_id, messaging.link_secret)
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
    """Queue one alert stage's messages (never twice for the same stage): `page_all` of one."""
    one = Page(alert, resident, center, recipients, stage, reminder, call, distances or {})
    return page_all(session, messaging, [one], now=now, fresh=fresh)


def page_all(
    session: Session, messaging: AlertMessaging, pages: Sequence[Page], *, now: datetime, fresh: bool = False
) -> list[SmsMessage]:
    """Queue the messages of several alert stages (a burst of SOS) together: their links, opt-outs
    and messages in a statement each. `fresh`: the alerts were opened in this transaction (no
    response links to look up)."""
    if len(pages) > 1 and any(page.alert.severity not in URGENT for page in pages):
        # A message that is not critical is counted against its recipient's budget as it is
        # composed, which must see the ones queued before it: such stages one at a time.
        return [message for one in pages for message in page_all(session, messaging, [one], now=now, fresh=fresh)]
    links = _links(session, messaging, pages, now, fresh=fresh)
    opted_out = opted_out_among(session, sorted({r.phone for page in pages for r in page.recipients}))
    said = [(page, _params(page, links)) for page in pages]
    # WeChat first, since an SMS waits on its row; then every SMS and call: two INSERTs at most.
    by_wechat = [
        (page, recipient, params)
        for page, params_of in said
        for recipient, params in params_of.items()
        if recipient.openid and recipient.wechat_alerts  # the SMS waits on it, never dropped
    ]
    wechat = write_messages(
        session,
        [
            _compose(session, messaging, page, recipient, params, channel=MessageChannel.wechat, now=now)
            for page, recipient, params in by_wechat
        ],
    )
    held_by = {
        (page.alert.id, recipient.phone): message
        for (page, recipient, _), message in zip(by_wechat, wechat, strict=True)
    }
    rest = []
    for page, params_of in said:
        for recipient, params in params_of.items():
            rest.append(
                _compose(
                    session,
                    messaging,
                    page,
                    recipient,
                    params,
                    channel=MessageChannel.sms,
                    now=now,
                    opted_out=recipient.phone in opted_out,
                    held_by=held_by.get((page.alert.id, recipient.phone)),
                )
            )
            if recipient.phone in page.call:
                rest.append(_call(session, messaging, page, recipient, now))
    return [*wechat, *write_messages(session, rest)]


def _params(page: Page, links: Mapping[tuple[int, str], str]) -> dict[Recipient, dict[str, str]]:
    """What each recipient's alert message says."""
    assert page.alert.id is not None
    local = page.alert.opened_at.astimezone(ZoneInfo(page.center.time_zone))
    said = {}
    for recipient in page.recipients:
        distance = page.distances.get(recipient.phone)
        said[recipient] = {
            "center": page.center.town,
            "code": str(page.alert.id),
            "who": page.resident.name,
            "what": alert_kind_name(page.alert.kind, recipient.language),
            "when": local.strftime("%m-%d %H:%M"),
            "where": page.resident.address or page.center.town,
            TOKEN: links[(page.alert.id, recipient.phone)],
        } | ({"distance": str(distance)} if distance is not None and not page.reminder else {})
    return said


def _compose(
    session: Session,
    messaging: AlertMessaging,
    page: Page,
    recipient: Recipient,
    params: dict[str, str],
    *,
    channel: MessageChannel,
    now: datetime,
    opted_out: bool | None = None,
    held_by: SmsMessage | None = None,
) -> SmsMessage:
    """A recipient's alert message of a stage, by WeChat or SMS."""
    kind = "alert.escalated" if page.reminder else ("alert.nearby" if "distance" in params else "alert.critical")
    prefix = "wechat" if channel == MessageChannel.wechat else "alert"
    return compose(
        session,
        messaging,
        recipient,
        kind=kind,
        params=params,
        dedupe_key=f"{prefix}:{page.alert.id}:{page.stage}:{recipient.ref}",
        critical=page.alert.severity in URGENT,
        channel=channel,
        opted_out=opted_out,
        held_by=held_by,
        purpose=Purpose.escalation if page.reminder or page.stage != "s1" else Purpose.alert,
        now=now,
        center_id=page.center.id,
        alert_id=page.alert.id,
    )


def _call(session: Session, messaging: AlertMessaging, page: Page, recipient: Recipient, now: datetime) -> SmsMessage:
    """A recipient's alert call of a stage."""
    distance = page.distances.get(recipient.phone)
    words = call_words(
        session, alert=page.alert, resident=page.resident, center=page.center, language=recipient.language, now=now
    )
    return compose(
        session,
        messaging,
        recipient,
        kind="alert.call" if distance is None else "alert.call_nearby",
        params=words | ({"distance": str(distance)} if distance is not None else {}),
        dedupe_key=f"call:{page.alert.id}:{page.stage}:{recipient.ref}",
        critical=True,
        channel=MessageChannel.voice,
        purpose=Purpose.alert,
        now=now,
        center_id=page.center.id,
        alert_id=page.alert.id,
    )


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
