"""Reading the audit trail (there are no write endpoints, by design)."""

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from carecenter.access import Role
from carecenter.audit import service
from carecenter.audit.models import AuditEvent, AuditEventPublic
from carecenter.deps import ActorDep, SessionDep, allow
from carecenter.fields import NO_NUL, Instant
from carecenter.pagination import Page, PageParams, page_params
from carecommon.i18n import N_

router = APIRouter(prefix="/api/v1/audit-events", tags=["audit"])


@router.get(
    "",
    response_model=Page[AuditEventPublic],
    dependencies=[allow(Role.manager, Role.admin, to=N_("read the audit log"))],
)
def list_audit_events(
    actor: ActorDep,
    session: SessionDep,
    page: Annotated[PageParams, Depends(page_params)],
    action: Annotated[str | None, Query(max_length=64, pattern=NO_NUL)] = None,
    entity_type: Annotated[str | None, Query(max_length=64, pattern=NO_NUL)] = None,
    entity_id: int | None = None,
    actor_id: int | None = None,
    since: Instant | None = None,
    until: Instant | None = None,
) -> Page[AuditEvent]:
    """Audit events, newest first (managers: their center; admins: all)."""
    return service.list_events(
        session=session,
        actor=actor,
        page=page,
        action=action,
        entity_type=entity_type,
        entity_id=entity_id,
        actor_id=actor_id,
        since=since,
        until=until,
    )
