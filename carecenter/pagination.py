"""`{"items": [...], "total": N}` pages for every list endpoint."""

from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from fastapi import Query
from pydantic import BaseModel
from sqlalchemy import func
from sqlmodel import Session, select
from sqlmodel.sql.expression import SelectOfScalar

T = TypeVar("T")


@dataclass(frozen=True)
class PageParams:
    limit: int = 50
    offset: int = 0


def page_params(
    limit: int = Query(50, ge=1, le=500, description="Items per page"),
    offset: int = Query(0, ge=0, description="Items to skip"),
) -> PageParams:
    return PageParams(limit=limit, offset=offset)


class Page(BaseModel, Generic[T]):
    items: list[T]
    total: int
    limit: int
    offset: int


def paginate(session: Session, stmt: SelectOfScalar[Any], page: PageParams) -> Page[Any]:
    """Run one page of an ordered select, with the total count of the unpaged query."""
    total = session.exec(select(func.count()).select_from(stmt.order_by(None).subquery())).one()
    items = list(session.exec(stmt.limit(page.limit).offset(page.offset)).all())
    return Page(items=items, total=total, limit=page.limit, offset=page.offset)
