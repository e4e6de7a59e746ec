"""What was delivered, to whom, verified how, priced under which rule; and the closed months."""

from datetime import date, datetime

import sqlalchemy as sa
from pydantic import Field as PydanticField
from pydantic import model_validator
from sqlmodel import Field, SQLModel

from carecenter.fields import (
    Day,
    Flag,
    OptionalFlag,
    OptionalWholeNumber,
    Text,
    WholeNumber,
    created_at_field,
    instant_field,
)
from carecommon.i18n import N_

MONTH = r"^20\d{2}-(0[1-9]|1[0-2])$"  # 2000-01 … 2099-12


class ServiceRecord(SQLModel, table=True):
    """Amounts in fen. An adjustment (a correction after the month closed) carries the difference
    and names the record it corrects; records of a closed month never change."""

    __tablename__ = "service_record"
    __table_args__ = (
        sa.Index("ix_service_record_center_month", "center_id", "month"),
        sa.Index("ix_service_record_resident_month", "resident_id", "month"),
    )

    id: OptionalWholeNumber = Field(default=None, primary_key=True)
    center_id: WholeNumber = Field(foreign_key="center.id")
    resident_id: WholeNumber = Field(foreign_key="resident.id")
    visit_id: OptionalWholeNumber = Field(default=None, foreign_key="visit.id", index=True)
    service_code: str = Field(max_length=30)
    category: str = Field(max_length=20)
    unit: str = Field(max_length=10)
    quantity: float = 1.0
    delivered: Flag = True
    not_delivered_reason: str | None = Field(default=None, max_length=300)
    service_on: date = Field(description="The local day the service was given")
    month: str = Field(max_length=7, description="The month it is reported in (YYYY-MM)")
    worker_id: OptionalWholeNumber = Field(default=None, foreign_key="staff.id")
    checked_in_at: datetime | None = instant_field(default=None)
    checked_out_at: datetime | None = instant_field(default=None)
    check_in_distance_m: float | None = None
    check_out_distance_m: float | None = None
    far_from_home: Flag = False
    unit_price_fen: WholeNumber = 0
    amount_fen: WholeNumber = 0
    subsidy_fen: WholeNumber = 0
    resident_fen: WholeNumber = 0
    eligibility_group: str | None = Field(default=None, max_length=20)
    subsidy_rule_id: OptionalWholeNumber = Field(default=None, foreign_key="subsidy_rule.id")
    bulk_batch: str | None = Field(default=None, max_length=40, description="Meals recorded together")
    adjusts_id: OptionalWholeNumber = Field(default=None, foreign_key="service_record.id")
    adjustment_reason: str | None = Field(default=None, max_length=300)
    recorded_by: OptionalWholeNumber = Field(default=None, foreign_key="staff.id")
    created_at: datetime = created_at_field()


class ServiceRecordPublic(SQLModel):
    id: WholeNumber
    center_id: WholeNumber
    resident_id: WholeNumber
    visit_id: OptionalWholeNumber
    service_code: str
    category: str
    unit: str
    quantity: float
    delivered: Flag
    not_delivered_reason: str | None
    service_on: date
    month: str
    worker_id: OptionalWholeNumber
    checked_in_at: datetime | None
    checked_out_at: datetime | None
    check_in_distance_m: float | None
    check_out_distance_m: float | None
    far_from_home: Flag
    unit_price_fen: WholeNumber
    amount_fen: WholeNumber
    subsidy_fen: WholeNumber
    resident_fen: WholeNumber
    eligibility_group: str | None
    subsidy_rule_id: OptionalWholeNumber
    bulk_batch: str | None
    adjusts_id: OptionalWholeNumber
    adjustment_reason: str | None


class BulkMeals(SQLModel):
    """Meals given to a group (a canteen sitting, a delivery round), one record per resident."""

    service_code: str = Field(max_length=30)
    service_on: Day
    resident_ids: list[int] = PydanticField(min_length=1, max_length=1000)
    quantity: float = Field(default=1, gt=0, le=10)
    batch_id: str | None = PydanticField(
        default=None, pattern=r"^[A-Za-z0-9_-]{8,40}$", description="Sent again with the same id, nothing is doubled"
    )
    center_id: OptionalWholeNumber = Field(default=None, description="Admins only")


class RecordAdjustment(SQLModel):
    quantity: float | None = Field(default=None, ge=0, le=1000)
    delivered: OptionalFlag = None
    not_delivered_reason: Text | None = Field(default=None, max_length=300)
    reason: Text = Field(min_length=3, max_length=300)

    @model_validator(mode="after")
    def _something(self) -> "RecordAdjustment":
        if self.quantity is None and self.delivered is None:
            raise ValueError(N_("give the corrected quantity, delivered, or both"))
        return self


class MonthClose(SQLModel, table=True):
    __tablename__ = "month_close"
    __table_args__ = (sa.UniqueConstraint("center_id", "month", name="uq_month_close_center_id_month"),)

    id: OptionalWholeNumber = Field(default=None, primary_key=True)
    center_id: WholeNumber = Field(foreign_key="center.id", ondelete="CASCADE")
    month: str = Field(max_length=7)
    closed_by: OptionalWholeNumber = Field(default=None, foreign_key="staff.id")
    closed_at: datetime = instant_field()
    exceptions_excluded: WholeNumber = Field(default=0, description="Unverified visits left out of the claim")


class MonthClosePublic(SQLModel):
    center_id: WholeNumber
    month: str
    closed_at: datetime
    closed_by: OptionalWholeNumber
    exceptions_excluded: WholeNumber = 0
