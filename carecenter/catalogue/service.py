"""A center's catalogue: read by care plans, visits and service records; changed by its managers."""

import json
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlmodel import Session, col, select

from carecenter.access import Actor
from carecenter.audit.service import record_event
from carecenter.catalogue.models import (
    ServiceCategory,
    ServiceOffering,
    ServiceOfferingCreate,
    ServiceOfferingUpdate,
)
from carecenter.errors import Conflict, InvalidField
from carecenter.updates import changes_for
from carecommon.i18n import language_of

DEFAULT_CATALOGUE: list[dict[str, Any]] = json.loads(
    (Path(__file__).parent / "default_catalogue.json").read_text(encoding="utf-8")
)


def seed_default_catalogue(session: Session, *, center_id: int, now: datetime) -> None:
    """A new center starts with the common home services at typical prices; its managers change them."""
    for entry in DEFAULT_CATALOGUE:
        session.add(ServiceOffering.model_validate(entry | {"center_id": center_id, "created_at": now}))
    session.flush()


def catalogue(session: Session, center_id: int, *, active_only: bool = False) -> dict[str, ServiceOffering]:
    """The center's services by code, in catalogue order."""
    stmt = select(ServiceOffering).where(ServiceOffering.center_id == center_id)
    if active_only:
        stmt = stmt.where(ServiceOffering.active == True)  # noqa: E712
    return {s.code: s for s in session.exec(stmt.order_by(col(ServiceOffering.id))).all()}


def service_names(
    session: Session, center_id: int, language: str, *, category: ServiceCategory | None = None
) -> dict[str, str]:
    """Code -> the name in the reader's language (for pages, tasks and reports); all of the center's
    services, or the active ones of a category (what a form offers)."""
    chinese = language_of(language) == "zh-CN"
    offered = catalogue(session, center_id, active_only=category is not None).items()
    return {
        code: s.name_zh if chinese else s.name_en for code, s in offered if category is None or s.category == category
    }


def require_offered(session: Session, *, center_id: int, codes: list[str], field: list[str | int]) -> None:
    """InvalidField unless every code is an active service of the center."""
    offered = catalogue(session, center_id, active_only=True)
    unknown = [c for c in codes if c not in offered]
    if unknown:
        raise InvalidField(
            field,
            "unknown services {unknown}; choose from {known}",
            unknown=", ".join(unknown),
            known=", ".join(offered),
        )


def list_offerings(*, session: Session, actor: Actor, center_id: int | None) -> list[ServiceOffering]:
    stmt = actor.scoped(select(ServiceOffering), ServiceOffering.center_id, center_id)
    return list(session.exec(stmt.order_by(col(ServiceOffering.center_id), col(ServiceOffering.id))).all())


def create_offering(*, session: Session, actor: Actor, data: ServiceOfferingCreate, now: datetime) -> ServiceOffering:
    """A new service in the catalogue (managers and admins); its code never changes."""
    center_id = actor.center_for_new_record(data.center_id)
    if data.code in catalogue(session, center_id):
        raise Conflict("The catalogue already has a service {code}.", code=data.code)
    offering = ServiceOffering.model_validate(data, update={"center_id": center_id, "created_at": now})
    session.add(offering)
    session.flush()
    _audit(session, actor, offering, "service_offering.create", now)
    return offering


def get_offering(*, session: Session, actor: Actor, offering_id: int) -> ServiceOffering:
    offering = session.get(ServiceOffering, offering_id)
    actor.require_visible(offering.center_id if offering else None, "service")
    assert offering is not None
    return offering


def update_offering(
    *, session: Session, actor: Actor, offering_id: int, data: ServiceOfferingUpdate, now: datetime
) -> ServiceOffering:
    """New names, category, unit or price apply to records made from now on; recorded ones keep theirs."""
    offering = get_offering(session=session, actor=actor, offering_id=offering_id)
    changes = changes_for(offering, data)
    offering.sqlmodel_update(changes)
    session.add(offering)
    _audit(session, actor, offering, "service_offering.update", now, changed=changes)
    return offering


def _audit(
    session: Session, actor: Actor, offering: ServiceOffering, action: str, now: datetime, changed: Any = None
) -> None:
    record_event(
        session=session,
        actor=actor,
        action=action,
        entity_type="service_offering",
        entity_id=offering.id,
        center_id=offering.center_id,
        now=now,
        changed_fields=changed or (),
    )
