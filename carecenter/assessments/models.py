"""Capacity assessments of residents: answers, the computed scores and level, signed and immutable."""

from datetime import date, datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from pydantic import Field as PydanticField
from sqlmodel import Field, SQLModel

from carecenter.fields import (
    Day,
    Flag,
    OptionalWholeNumber,
    Text,
    WholeNumber,
    created_at_field,
    enum_field,
    instant_field,
    updated_at_field,
)
from carecommon.sqltypes import no_items


class AssessmentReason(StrEnum):
    first = "first"
    yearly = "yearly"
    after_hospital = "after_hospital"
    after_fall = "after_fall"
    on_request = "on_request"
    correction = "correction"


class Assessment(SQLModel, table=True):
    """Drafts may change; a signed assessment never does (a correction is a new one that names it)."""

    id: OptionalWholeNumber = Field(default=None, primary_key=True)
    center_id: WholeNumber = Field(foreign_key="center.id", index=True)
    resident_id: WholeNumber = Field(foreign_key="resident.id", index=True)
    definition: str = Field(max_length=40, description="The form's code, e.g. gbt-42195-2022")
    definition_version: str = Field(max_length=20)
    assessed_on: date
    reason: str = enum_field(length=20)
    answers: dict[str, str] = Field(sa_type=sa.JSON)
    flags: list[str] = Field(default_factory=no_items, sa_type=sa.JSON)
    risk_events: dict[str, int] = Field(default_factory=dict, sa_type=sa.JSON)
    domain_scores: dict[str, int] = Field(default_factory=dict, sa_type=sa.JSON)
    total: OptionalWholeNumber = None
    level_by_score: str | None = Field(default=None, max_length=20)
    level: str | None = Field(default=None, max_length=20)
    rules_applied: list[str] = Field(default_factory=no_items, sa_type=sa.JSON)
    notes: str = Field(default="", max_length=2000)
    assessor_id: OptionalWholeNumber = Field(default=None, foreign_key="staff.id")
    corrects_id: OptionalWholeNumber = Field(default=None, foreign_key="assessment.id")
    signed_at: datetime | None = instant_field(default=None)
    created_at: datetime = created_at_field()
    updated_at: datetime | None = updated_at_field()


class AssessmentCreate(SQLModel):
    resident_id: WholeNumber
    definition: str | None = Field(default=None, max_length=40, description="Default: the national form")
    assessed_on: Day
    reason: AssessmentReason
    answers: dict[str, str] = Field(default_factory=dict, description="Item code -> option code")
    flags: list[str] = Field(default_factory=list, description="Diagnoses the rules look at, e.g. dementia")
    risk_events: dict[str, int] = Field(
        default_factory=dict, description="Risk events in the last 30 days by kind (fall, choking, …)"
    )
    notes: Text = Field(default="", max_length=2000)
    corrects_id: OptionalWholeNumber = Field(default=None, description="The signed assessment this one corrects")
    sign: Flag = Field(default=False, description="Sign at once (every item must be answered)")


class AssessmentUpdate(SQLModel):
    assessed_on: Day | None = None
    answers: dict[str, str] | None = None
    flags: list[str] | None = None
    risk_events: dict[str, int] | None = None
    notes: Text | None = Field(default=None, max_length=2000)


class AssessmentPublic(SQLModel):
    id: WholeNumber
    center_id: WholeNumber
    resident_id: WholeNumber
    definition: str
    definition_version: str
    assessed_on: date
    reason: str
    answers: dict[str, str]
    flags: list[str]
    risk_events: dict[str, int]
    domain_scores: dict[str, int]
    total: OptionalWholeNumber
    level_by_score: str | None
    level: str | None
    rules_applied: list[str]
    notes: str
    assessor_id: OptionalWholeNumber
    corrects_id: OptionalWholeNumber
    signed_at: datetime | None
    corrected_by_id: OptionalWholeNumber = PydanticField(
        default=None, description="A later assessment that corrects this one"
    )


class AssessmentDue(SQLModel):
    resident_id: WholeNumber
    resident_name: str
    last_assessed_on: date | None
    due_on: date
    why: str = PydanticField(description="never, yearly, risk_event")
    overdue: Flag


def public(assessment: Assessment, corrected_by: int | None = None) -> AssessmentPublic:
    data: dict[str, Any] = assessment.model_dump()
    return AssessmentPublic.model_validate(data | {"corrected_by_id": corrected_by})
