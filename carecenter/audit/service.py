"""Writing and reading the audit trail. There is deliberately no update or delete."""

from collections.abc import Iterable
from datetime import datetime

from sqlmodel import Session, col, select

from carecenter.access import Actor
from carecenter.audit.models import AuditEvent
from carecenter.pagination import Page, PageParams, paginate


def record_event(
    *,
    session: Session,
    actor: Actor,
    action: str,
    entity_type: str,
    entity_id: int | None,
    center_id: int | None,
    now: datetime,
    changed_fields: Iterable[str] = (),
    reason: str | None = None,
) -> AuditEvent:
    """Add one audit event to the caller's transaction."""
    event = AuditEvent(
        at=now,
        actor_id=actor.staff_id,
        actor_username=actor.username,
        action=action,
        entity_type=entity_type,
        entity_id=entity_id,
        center_id=center_id,
        client_addr=actor.client_addr,
        changed_fields=",".join(sorted(changed_fields))[:1000],
        reason=reason[:300] if reason else None,
    )
    session.add(event)
    return event


def list_events(
    *,
    session: Session,
    actor: Actor,
    page: PageParams,
    action: str | None = None,
    entity_type: str | None = None,
    entity_id: int | None = None,
    actor_id: int | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> Page[AuditEvent]:
    """Audit events, newest first; managers see their own center's only."""
    stmt = select(AuditEvent)
    stmt = actor.scoped(stmt, AuditEvent.center_id, None)
    if action:
        stmt = stmt.where(AuditEvent.action == action)
    if entity_type:
        stmt = stmt.where(AuditEvent.entity_type == entity_type)
    if entity_id is not None:
        stmt = stmt.where(AuditEvent.entity_id == entity_id)
    if actor_id is not None:
        stmt = stmt.where(AuditEvent.actor_id == actor_id)
    if since is not None:
        stmt = stmt.where(col(AuditEvent.at) >= since)
    if until is not None:
        stmt = stmt.where(col(AuditEvent.at) < until)
    stmt = stmt.order_by(col(AuditEvent.at).desc(), col(AuditEvent.id).desc())
    return paginate(session, stmt, page)
