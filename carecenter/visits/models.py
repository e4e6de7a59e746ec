"""Care plans and the visits they generate."""

from datetime import date, datetime, time
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from pydantic import BaseModel, model_validator
from pydantic import Field as PydanticField
from sqlmodel import Field, SQLModel
from sqlmodel._compat import SQLModelConfig

from carecenter.fields import (
    Day,
    Flag,
    Instant,
    LocalTime,
    OptionalFlag,
    OptionalWholeNumber,
    Text,
    WholeNumber,
    created_at_field,
    instant_field,
    updated_at_field,
)
from carecenter.updates import no_null_for_required_columns
from carecommon.i18n import N_
from carecommon.sqltypes import JSONList, no_items


class VisitStatus(StrEnum):
    scheduled = "scheduled"
    in_progress = "in_progress"
    completed = "completed"
    missed = "missed"
    cancelled = "cancelled"


OPEN_VISIT_STATUSES = (VisitStatus.scheduled, VisitStatus.in_progress)


class Recurrence(BaseModel):
    """Weekdays (0 = Monday) at a local time, or every N days from the start date."""

    weekdays: list[int] | None = PydanticField(default=None, description="0 = Monday … 6 = Sunday")
    every_n_days: OptionalWholeNumber = PydanticField(default=None, ge=1, le=90)
    start_time: LocalTime = PydanticField(description="Local time in the center's time zone")
    duration_minutes: WholeNumber = PydanticField(default=60, ge=10, le=8 * 60)

    @model_validator(mode="after")
    def _one_rule(self) -> "Recurrence":
        if (self.weekdays is None) == (self.every_n_days is None):
            raise ValueError(N_("give either weekdays or every_n_days"))
        if self.weekdays is not None and (not self.weekdays or any(d not in range(7) for d in self.weekdays)):
            raise ValueError(N_("weekdays are 0 (Monday) to 6 (Sunday)"))
        return self


class MedicationOutcome(StrEnum):
    given = "given"
    refused = "refused"
    not_available = "not_available"
    held = "held"
    given_by_family = "given_by_family"


NEEDS_REASON = (MedicationOutcome.held, MedicationOutcome.refused, MedicationOutcome.not_available)


class PlannedMedication(BaseModel):
    """One medicine of a care plan: given at these local times of day, at the visits that span them."""

    name: str = PydanticField(min_length=1, max_length=60)
    dose: str = PydanticField(default="", max_length=40, description="e.g. 1 tablet, 5 ml")
    route: str = PydanticField(default="oral", max_length=20, description="oral, eye drops, injection …")
    times: list[time] = PydanticField(min_length=1, max_length=6, description="Local times of day")
    notes: str = PydanticField(default="", max_length=200, description="e.g. with food")
    critical: Flag = PydanticField(default=False, description="A refusal or a missing dose is told to the managers")


class VisitTask(BaseModel):
    """One service of a visit's checklist, as ticked at the door."""

    service: str = PydanticField(description="The service's code in the center's catalogue")
    done: bool = False
    quantity: float | None = PydanticField(default=None, description="Units given (none: 1)")
    reason: str | None = PydanticField(default=None, description="Why it was not given")


class DoseRecord(BaseModel):
    """One dose due at a visit (from the care plan's medicine) and what was recorded of it."""

    name: str
    dose: str = ""
    route: str = "oral"
    notes: str = ""
    critical: bool = False
    due: str = PydanticField(description="The local time of day it is due, HH:MM")
    outcome: MedicationOutcome | None = None
    reason: str | None = None
    by: str | None = PydanticField(default=None, description="Who recorded it")
    at: datetime | None = PydanticField(default=None, description="When it was recorded on the tablet")


class ConflictNote(BaseModel):
    """What a worker entered that could not be applied (or was flagged), kept for the manager."""

    at: datetime = PydanticField(description="When the worker did it, on the tablet")
    received_at: datetime
    worker: str
    kind: str = PydanticField(description="The action")
    entered: dict[str, str | int | float | bool] = PydanticField(default_factory=dict)
    why: str


class CarePlanBase(SQLModel):
    resident_id: WholeNumber = Field(foreign_key="resident.id", index=True)
    services: list[str] = Field(sa_type=sa.JSON, description="From the center's list of services")
    preferred_worker_id: OptionalWholeNumber = Field(default=None, foreign_key="staff.id")
    starts_on: Day
    ends_on: Day | None = None
    notes: Text = Field(default="", max_length=1000)


class CarePlan(CarePlanBase, table=True):
    __tablename__ = "care_plan"

    id: OptionalWholeNumber = Field(default=None, primary_key=True)
    center_id: WholeNumber = Field(foreign_key="center.id", index=True)
    recurrence: dict[str, Any] = Field(sa_type=sa.JSON)
    medications: list[PlannedMedication] = Field(default_factory=no_items, sa_type=JSONList(PlannedMedication))
    active: Flag = True
    created_at: datetime = created_at_field()
    updated_at: datetime | None = updated_at_field()


class CarePlanCreate(CarePlanBase):
    recurrence: Recurrence
    medications: list[PlannedMedication] = Field(default_factory=list, max_length=20)

    @model_validator(mode="after")
    def _dates(self) -> "CarePlanCreate":
        if self.ends_on is not None and self.ends_on < self.starts_on:
            raise ValueError(N_("ends_on must not be before starts_on"))
        if not self.services:
            raise ValueError(N_("a plan needs at least one service"))
        return self


class CarePlanUpdate(SQLModel):
    model_config = SQLModelConfig(json_schema_extra=no_null_for_required_columns("care_plan"))

    services: list[str] | None = None
    recurrence: Recurrence | None = None
    medications: list[PlannedMedication] | None = Field(default=None, max_length=20)
    preferred_worker_id: OptionalWholeNumber = None
    ends_on: Day | None = None
    notes: Text | None = Field(default=None, max_length=1000)
    active: OptionalFlag = None


class CarePlanPublic(CarePlanBase):
    id: WholeNumber
    center_id: WholeNumber
    recurrence: dict[str, Any]
    medications: list[PlannedMedication]
    active: Flag


class Visit(SQLModel, table=True):
    __table_args__ = (
        sa.UniqueConstraint("care_plan_id", "scheduled_start", name="uq_visit_care_plan_id_scheduled_start"),
        sa.Index("ix_visit_worker_start", "worker_id", "scheduled_start"),
        sa.Index("ix_visit_status_start", "status", "scheduled_start"),
        sa.Index("ix_visit_exception", "center_id", "exception"),
    )

    id: OptionalWholeNumber = Field(default=None, primary_key=True)
    center_id: WholeNumber = Field(foreign_key="center.id", index=True)
    resident_id: WholeNumber = Field(foreign_key="resident.id", index=True)
    care_plan_id: OptionalWholeNumber = Field(default=None, foreign_key="care_plan.id")
    worker_id: OptionalWholeNumber = Field(default=None, foreign_key="staff.id")
    scheduled_start: datetime = instant_field()
    scheduled_end: datetime = instant_field()
    status: str = Field(default=VisitStatus.scheduled, max_length=15)
    cancel_reason: str | None = Field(default=None, max_length=200)
    tasks: list[VisitTask] = Field(default_factory=no_items, sa_type=JSONList(VisitTask))
    notes: str = Field(default="", max_length=4000)
    share_notes_with_family: Flag = Field(default=False, description="The worker marked the notes for the family page")
    checked_in_at: datetime | None = instant_field(default=None)
    checked_out_at: datetime | None = instant_field(default=None)
    check_in_distance_m: float | None = None
    check_out_distance_m: float | None = None
    far_from_home: Flag = Field(default=False, description="Checked in or out more than the limit from home")
    concern: Flag = False
    concern_note: str | None = Field(default=None, max_length=1000)
    reminder_sent_at: datetime | None = instant_field(default=None)
    late_notified_at: datetime | None = instant_field(default=None)
    missed_notified_at: datetime | None = instant_field(default=None)
    time_corrected: Flag = False
    medications: list[DoseRecord] = Field(default_factory=no_items, sa_type=JSONList(DoseRecord))
    recorded_offline: Flag = Field(default=False, description="Some of it was recorded on the tablet without a signal")
    check_in_received_at: datetime | None = instant_field(default=None)
    check_out_received_at: datetime | None = instant_field(default=None)
    confirmation: str | None = Field(default=None, max_length=20, description="signature or could_not_sign")
    confirmation_signer: str | None = Field(default=None, max_length=60)
    confirmation_reason: str | None = Field(default=None, max_length=300)
    confirmation_signature: str | None = Field(default=None, max_length=64, description="The signature's media key")
    confirmed_at: datetime | None = instant_field(default=None)
    conflict_notes: list[ConflictNote] = Field(
        default_factory=no_items,
        sa_type=JSONList(ConflictNote),
        description="What a worker entered offline that could not be applied",
    )
    check_in_method: str | None = Field(default=None, max_length=10, description="gps, home_code, manual or none")
    check_out_method: str | None = Field(default=None, max_length=10, description="gps, home_code, manual or none")
    manual_reason: str | None = Field(default=None, max_length=300, description="Why a time was entered by hand")
    manual_by: str | None = Field(default=None, max_length=60, description="Who entered it")
    exception: str | None = Field(
        default=None, max_length=10, description="open, approved, rejected or excluded; none: verified"
    )
    exception_problems: list[str] = Field(default_factory=no_items, sa_type=sa.JSON)
    exception_reason: str | None = Field(default=None, max_length=300, description="The manager's decision's reason")
    exception_decided_by: str | None = Field(default=None, max_length=60)
    exception_decided_at: datetime | None = instant_field(default=None)
    created_at: datetime = created_at_field()
    updated_at: datetime | None = updated_at_field()


class VisitPublic(SQLModel):
    id: WholeNumber
    center_id: WholeNumber
    resident_id: WholeNumber
    care_plan_id: OptionalWholeNumber
    worker_id: OptionalWholeNumber
    scheduled_start: datetime
    scheduled_end: datetime
    status: str
    cancel_reason: str | None
    tasks: list[VisitTask]
    notes: str
    share_notes_with_family: Flag
    checked_in_at: datetime | None
    checked_out_at: datetime | None
    check_in_distance_m: float | None
    check_out_distance_m: float | None
    far_from_home: Flag
    concern: Flag
    concern_note: str | None
    medications: list[DoseRecord] = []
    recorded_offline: Flag = False
    check_in_received_at: datetime | None = None
    check_out_received_at: datetime | None = None
    confirmation: str | None = None
    confirmation_signer: str | None = None
    confirmation_reason: str | None = None
    confirmed_at: datetime | None = None
    conflict_notes: list[ConflictNote] = []
    check_in_method: str | None = None
    check_out_method: str | None = None
    manual_reason: str | None = None
    manual_by: str | None = None
    exception: str | None = None
    exception_problems: list[str] = []
    exception_reason: str | None = None
    verification: str | None = PydanticField(
        default=None, description="verified, manual or exception (completed visits; none before)"
    )
    late: Flag = False


class AdHocVisit(SQLModel):
    resident_id: WholeNumber
    worker_id: OptionalWholeNumber = None
    scheduled_start: Instant
    duration_minutes: WholeNumber = Field(default=60, ge=10, le=8 * 60)
    services: list[str] = Field(default_factory=lambda: ["health_check"])
    notes: Text = Field(default="", max_length=1000)


class Position(SQLModel):
    at: Instant | None = Field(
        default=None, description="When it happened on the device (within the last 24 h); defaults to now"
    )
    latitude: float | None = Field(default=None, ge=-90, le=90)
    longitude: float | None = Field(default=None, ge=-180, le=180)
    home_code: str | None = Field(
        default=None, max_length=40, description="The resident's home code, scanned or typed (verifies this end)"
    )


class AssignRequest(SQLModel):
    worker_id: OptionalWholeNumber = Field(description="None: unassign")


class CancelRequest(SQLModel):
    reason: Text = Field(min_length=1, max_length=200)


class TaskUpdate(SQLModel):
    service: str = Field(max_length=30)
    done: Flag
    quantity: float | None = Field(default=None, gt=0, le=100, description="Units given (default 1), e.g. 1.5 hours")
    reason: Text | None = Field(default=None, max_length=300, description="Why it was not given (when not done)")


class VisitNotes(SQLModel):
    notes: Text = Field(max_length=4000)
    share_with_family: Flag = Field(default=False, description="Show these notes on the family page")


class MedicationRecord(SQLModel):
    index: WholeNumber = Field(ge=0, le=50, description="Which of the visit's medications (0 = the first)")
    outcome: MedicationOutcome
    reason: Text | None = Field(default=None, max_length=300, description="Needed when held, refused or not available")


class ConfirmationKind(StrEnum):
    signature = "signature"
    could_not_sign = "could_not_sign"


class Confirmation(SQLModel):
    kind: ConfirmationKind
    signer: Text = Field(min_length=1, max_length=60, description="The resident, or the family member present")
    signature_png: str | None = Field(
        default=None, max_length=2_000_000, description="The drawn signature, base64 PNG (kind signature)"
    )
    reason: Text | None = Field(default=None, max_length=300, description="Why they could not sign")


class VisitVitals(SQLModel):
    systolic: OptionalWholeNumber = Field(default=None, ge=40, le=300)
    diastolic: OptionalWholeNumber = Field(default=None, ge=20, le=200)
    heart_rate: OptionalWholeNumber = Field(default=None, ge=20, le=250)
    temperature: float | None = Field(default=None, ge=30, le=45)
    blood_glucose: float | None = Field(default=None, ge=1, le=40, description="mmol/L")


class TimeCorrection(SQLModel):
    checked_in_at: Instant | None = None
    checked_out_at: Instant | None = None
    reason: Text = Field(min_length=3, max_length=300)


class ScheduleDay(BaseModel):
    date: date
    visits: list[VisitPublic]


class WorkerSchedule(BaseModel):
    worker_id: OptionalWholeNumber
    worker_name: str
    days: list[ScheduleDay]


class VisitStats(BaseModel):
    center_id: OptionalWholeNumber
    since: date
    until: date
    planned: WholeNumber
    completed: WholeNumber
    missed: WholeNumber
    cancelled: WholeNumber
    on_time_share: float | None = PydanticField(description="Completed visits checked in within 15 min of the start")
    average_minutes: float | None
    verified_share: float | None = PydanticField(
        description="Completed visits verified at both ends (GPS within tolerance or the home code), none by hand"
    )
    verified_target: float | None = PydanticField(default=None, description="The center's target share")


class VisitPhoto(SQLModel, table=True):
    """A photo of the service, kept by its content's hash; deleted (the row stays) after the
    center's retention period."""

    __tablename__ = "visit_photo"

    id: OptionalWholeNumber = Field(default=None, primary_key=True)
    center_id: WholeNumber = Field(foreign_key="center.id", index=True)
    visit_id: WholeNumber = Field(foreign_key="visit.id", index=True)
    resident_id: WholeNumber = Field(foreign_key="resident.id")
    media_key: str = Field(max_length=64)
    width: WholeNumber
    height: WholeNumber
    size_bytes: WholeNumber
    taken_at: datetime = instant_field(description="On the device")
    uploaded_by: OptionalWholeNumber = Field(default=None, foreign_key="staff.id")
    recorded_offline: Flag = False
    created_at: datetime = instant_field()
    deleted_at: datetime | None = instant_field(default=None)


class VisitPhotoPublic(SQLModel):
    id: WholeNumber
    visit_id: WholeNumber
    width: WholeNumber
    height: WholeNumber
    taken_at: datetime
    recorded_offline: Flag
    deleted_at: datetime | None


class ClientAction(SQLModel, table=True):
    """An action the tablet sent with its own idempotency key: sent again, it is answered as the
    first time and nothing is done twice."""

    __tablename__ = "client_action"
    __table_args__ = (sa.UniqueConstraint("staff_id", "key", name="uq_client_action_staff_id_key"),)

    id: OptionalWholeNumber = Field(default=None, primary_key=True)
    staff_id: WholeNumber = Field(foreign_key="staff.id")
    key: str = Field(max_length=64)
    kind: str = Field(max_length=20)
    visit_id: OptionalWholeNumber = Field(default=None, foreign_key="visit.id")
    result: str = Field(max_length=20, description="done, conflict or refused")
    message: str = Field(default="", max_length=500)
    received_at: datetime = instant_field()
