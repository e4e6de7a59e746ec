"""A closed month's export rows, kept as they were when it closed: its files never change after."""

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from carecenter.fields import OptionalWholeNumber, WholeNumber, instant_field


class MonthExport(SQLModel, table=True):
    __tablename__ = "month_export"
    __table_args__ = (sa.UniqueConstraint("center_id", "month", "kind", name="uq_month_export_center_id_month_kind"),)

    id: OptionalWholeNumber = Field(default=None, primary_key=True)
    center_id: WholeNumber = Field(foreign_key="center.id", ondelete="CASCADE")
    month: str = Field(max_length=7)
    kind: str = Field(max_length=20, description="The rows: ltci_claim, subsidy_report or roster")
    rows: list[dict[str, Any]] = Field(sa_type=sa.JSON)
    created_at: datetime = instant_field()
