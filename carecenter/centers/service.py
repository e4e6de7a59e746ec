"""Centers: admins manage them; staff see their own."""

from datetime import datetime

from sqlmodel import Session, col, select

from carecenter.access import Actor
from carecenter.audit.service import record_event
from carecenter.catalogue.service import seed_default_catalogue
from carecenter.centers.models import Center, CenterCreate, CenterUpdate
from carecenter.db import rows_that_keep
from carecenter.errors import Conflict, InvalidField
from carecenter.pagination import Page, PageParams, paginate
from carecenter.updates import changes_for


def all_centers(session: Session) -> list[Center]:
    """Every center, by name (an admin's choice of the one to work on)."""
    return list(session.exec(select(Center).order_by(col(Center.name))).all())


def list_centers(*, session: Session, actor: Actor, page: PageParams) -> Page[Center]:
    """Centers the actor may see, by name."""
    stmt = select(Center)
    stmt = actor.scoped(stmt, Center.id, None)
    return paginate(session, stmt.order_by(col(Center.name), col(Center.id)), page)


def get_center(*, session: Session, actor: Actor, center_id: int) -> Center:
    """One center, if the actor may see it."""
    center = session.get(Center, center_id)
    actor.require_visible(center.id if center else None, "center")
    assert center is not None
    return center


def check_providers(data: CenterCreate | CenterUpdate, ready: set[str]) -> None:
    """A center may only name providers this server is set up for (their credentials are set)."""
    for name in ("sms_provider", "voice_provider", "fallback_provider"):
        provider = getattr(data, name)
        if provider is not None and provider not in ready:
            raise InvalidField(["body", name], "{provider} is not set up on this server", provider=provider)


def create_center(
    *, session: Session, actor: Actor, data: CenterCreate, default_time_zone: str, now: datetime
) -> Center:
    """A new center (admins only), in the default time zone unless one is given."""
    center = Center.model_validate(data, update={"created_at": now, "time_zone": data.time_zone or default_time_zone})
    session.add(center)
    session.flush()
    seed_default_catalogue(session, center_id=center.id or 0, now=now)
    record_event(
        session=session,
        actor=actor,
        action="center.create",
        entity_type="center",
        entity_id=center.id,
        center_id=center.id,
        now=now,
    )
    return center


def update_center(*, session: Session, actor: Actor, center_id: int, data: CenterUpdate, now: datetime) -> Center:
    """Change a center's details (admins only)."""
    center = get_center(session=session, actor=actor, center_id=center_id)
    changes = changes_for(center, data)
    if data.alert_thresholds is not None:  # stored as JSON (times as text)
        changes["alert_thresholds"] = data.alert_thresholds.model_dump(mode="json")
    center.sqlmodel_update(changes)
    session.add(center)
    record_event(
        session=session,
        actor=actor,
        action="center.update",
        entity_type="center",
        entity_id=center.id,
        center_id=center.id,
        now=now,
        changed_fields=changes,
    )
    return center


def delete_center(*, session: Session, actor: Actor, center_id: int, now: datetime) -> None:
    """Remove an empty center (admins only); one with staff, residents or any other record is refused.
    Its own settings (catalogue, subsidy rules, month closes, policy, rota) go with it by the schema."""
    center = get_center(session=session, actor=actor, center_id=center_id)
    kept = rows_that_keep(session, "center", center_id)
    if kept.get("staff") or kept.get("resident"):
        raise Conflict(
            "The center still has {staff} staff and {residents} residents; move or remove them first.",
            staff=kept.get("staff", 0),
            residents=kept.get("resident", 0),
        )
    if kept:
        raise Conflict("The center still has records ({tables}); they must be kept.", tables=", ".join(sorted(kept)))
    record_event(
        session=session,
        actor=actor,
        action="center.delete",
        entity_type="center",
        entity_id=center.id,
        center_id=center.id,
        now=now,
    )
    session.delete(center)


def center_to_read(*, session: Session, actor: Actor, center_id: int | None) -> Center:
    """The one center a report or due-list is about: the named one if visible, else the actor's own
    (admins name it); 404 when there is no such center."""
    center = session.get(Center, actor.center_to_read(center_id))
    actor.require_visible(center.id if center else None, "center")
    assert center is not None
    return center
