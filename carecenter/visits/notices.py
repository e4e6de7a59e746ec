"""Telling a center's managers about one visit (a concern, a missed visit, a refused critical
medicine): one SMS each, in their language, once per event."""

from collections.abc import Callable
from datetime import datetime

from sqlmodel import Session

from carecenter.centers.models import Center
from carecenter.messaging.outbound import AlertMessaging, send
from carecenter.messaging.recipients import managers, staff_recipient
from carecenter.residents.models import Resident
from carecenter.visits.models import Visit
from notifications.models import Purpose

Param = str | Callable[[str], str]  # a value, or one put into words in the reader's language


def tell_managers(
    session: Session,
    messaging: AlertMessaging,
    *,
    visit: Visit,
    kind: str,
    event: str,
    now: datetime,
    **params: Param,
) -> None:
    """A message of `kind` with the center's town and the resident's name, to each manager
    (deduplicated by visit, event and manager)."""
    center = session.get(Center, visit.center_id)
    resident = session.get(Resident, visit.resident_id)
    assert center is not None and resident is not None
    for manager in managers(session, visit.center_id):
        recipient = staff_recipient(manager)
        words = {k: v(recipient.language) if callable(v) else v for k, v in params.items()}
        send(
            session,
            messaging,
            recipient,
            kind=kind,
            params={"center": center.town, "who": resident.name, **words},
            purpose=Purpose.reminder,
            dedupe_key=f"visit:{visit.id}:{event}:{recipient.ref}",
            now=now,
            center_id=center.id,
            visit_id=visit.id,
        )
