"""Reads of residents that pages and the API share."""

from collections.abc import Collection

from sqlmodel import Session, col, select

from carecenter.residents.models import Resident, ResidentStatus


def resident_names(session: Session, *, center_id: int | None, ids: Collection[int] | None = None) -> dict[int, str]:
    """Residents' names by id, of one center (and among `ids` when given)."""
    stmt = select(Resident.id, Resident.name).where(Resident.center_id == center_id)
    if ids is not None:
        stmt = stmt.where(col(Resident.id).in_(list(ids)))
    return {rid: name for rid, name in session.exec(stmt) if rid is not None}


def active_residents(session: Session, *, center_id: int) -> list[Resident]:
    """The center's active residents by name (for a form that picks several)."""
    stmt = select(Resident).where(Resident.center_id == center_id, Resident.status == ResidentStatus.active)
    return list(session.exec(stmt.order_by(col(Resident.name), col(Resident.id))).all())
