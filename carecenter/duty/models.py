"""The duty roster: shifts (nights included) and the staff on each."""

from datetime import datetime

from pydantic import model_validator
from sqlmodel import Field, SQLModel

from carecenter.fields import Instant, OptionalWholeNumber, Text, WholeNumber, created_at_field, instant_field
from carecommon.i18n import N_


class DutyShift(SQLModel, table=True):
    __tablename__ = "duty_shift"

    id: OptionalWholeNumber = Field(default=None, primary_key=True)
    center_id: WholeNumber = Field(foreign_key="center.id", index=True, ondelete="CASCADE")
    name: str = Field(default="", max_length=40)
    starts_at: datetime = instant_field(index=True)
    ends_at: datetime = instant_field()
    created_at: datetime = created_at_field()


class DutyShiftStaff(SQLModel, table=True):
    __tablename__ = "duty_shift_staff"

    shift_id: WholeNumber = Field(foreign_key="duty_shift.id", primary_key=True, ondelete="CASCADE")
    staff_id: WholeNumber = Field(foreign_key="staff.id", primary_key=True)


class DutyShiftCreate(SQLModel):
    name: Text = Field(default="", max_length=40, description="e.g. 夜班 / night")
    starts_at: Instant
    ends_at: Instant
    staff_ids: list[int] = Field(min_length=1, max_length=50)
    center_id: OptionalWholeNumber = Field(default=None, description="Admins only")

    @model_validator(mode="after")
    def _order(self) -> "DutyShiftCreate":
        if self.ends_at <= self.starts_at:
            raise ValueError(N_("ends_at must be after starts_at"))
        if (self.ends_at - self.starts_at).total_seconds() > 24 * 3600:
            raise ValueError(N_("a shift lasts at most 24 hours"))
        return self


class DutyShiftPublic(SQLModel):
    id: WholeNumber
    center_id: WholeNumber
    name: str
    starts_at: datetime
    ends_at: datetime
    staff_ids: list[int]
