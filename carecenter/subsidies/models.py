"""Eligibility groups of residents (with dates and the document) and a center's subsidy rules."""

from datetime import date, datetime
from enum import StrEnum

import sqlalchemy as sa
from pydantic import model_validator
from sqlmodel import Field, SQLModel

from carecenter.catalogue.models import ServiceCategory
from carecenter.fields import Day, OptionalWholeNumber, Text, WholeNumber, created_at_field, enum_field
from carecommon.i18n import N_


class EligibilityGroup(StrEnum):
    extremely_poor = "extremely_poor"  # 特困
    subsistence = "subsistence"  # 低保
    disabled = "disabled"  # 失能 (by the assessment's level)
    advanced_age = "advanced_age"  # 高龄
    living_alone = "living_alone"  # 独居
    self_paying = "self_paying"  # 自费
    ltci_insured = "ltci_insured"  # 长期护理保险参保 (the document reference: the insurance number)


def _dates_in_order(starts_on: date | None, ends_on: date | None) -> None:
    if starts_on is not None and ends_on is not None and ends_on < starts_on:
        raise ValueError(N_("ends_on must not be before starts_on"))


class EligibilityBase(SQLModel):
    group: EligibilityGroup = enum_field(length=20)
    starts_on: Day
    ends_on: Day | None = None
    document_ref: Text = Field(min_length=1, max_length=100, description="The approval's document number")


class Eligibility(EligibilityBase, table=True):
    id: OptionalWholeNumber = Field(default=None, primary_key=True)
    center_id: WholeNumber = Field(foreign_key="center.id", index=True)
    resident_id: WholeNumber = Field(foreign_key="resident.id", index=True)
    created_by: OptionalWholeNumber = Field(default=None, foreign_key="staff.id")
    created_at: datetime = created_at_field()


class EligibilityCreate(EligibilityBase):
    @model_validator(mode="after")
    def _dates(self) -> "EligibilityCreate":
        _dates_in_order(self.starts_on, self.ends_on)
        return self


class EligibilityEnd(SQLModel):
    ends_on: Day


class EligibilityPublic(EligibilityBase):
    id: WholeNumber
    resident_id: WholeNumber


class SubsidyRuleBase(SQLModel):
    group: EligibilityGroup = enum_field(length=20)
    category: ServiceCategory | None = Field(default=None, sa_type=sa.String(20), description="None: every category")
    share_percent: WholeNumber = Field(ge=0, le=100, description="How much of the price the subsidy pays")
    monthly_cap_fen: OptionalWholeNumber = Field(
        default=None, ge=0, description="At most this much per resident and month under this rule (fen)"
    )
    starts_on: Day
    ends_on: Day | None = None


class SubsidyRule(SubsidyRuleBase, table=True):
    __tablename__ = "subsidy_rule"

    id: OptionalWholeNumber = Field(default=None, primary_key=True)
    center_id: WholeNumber = Field(foreign_key="center.id", index=True, ondelete="CASCADE")
    created_at: datetime = created_at_field()


class SubsidyRuleCreate(SubsidyRuleBase):
    center_id: OptionalWholeNumber = Field(default=None, description="Admins only; others add to their own center")

    @model_validator(mode="after")
    def _dates(self) -> "SubsidyRuleCreate":
        _dates_in_order(self.starts_on, self.ends_on)
        return self


class SubsidyRulePublic(SubsidyRuleBase):
    id: WholeNumber
    center_id: WholeNumber
