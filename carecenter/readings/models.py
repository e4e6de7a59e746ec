"""Readings from wearables, sensors and visits, and the strict shape a device must post."""

from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Any

import sqlalchemy as sa
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field
from sqlmodel import Field as SQLField
from sqlmodel import SQLModel
from sqlmodel.sql.sqltypes import AutoString

from carecenter.db import UTCDateTime
from carecenter.fields import Instant, OptionalWholeNumber, WholeNumber
from carecommon.i18n import N_


class ReadingKind(StrEnum):
    heartbeat = "heartbeat"
    vitals = "vitals"
    sos = "sos"
    fall = "fall"
    location = "location"
    ok_button = "ok_button"
    low_battery = "low_battery"
    worn = "worn"
    removed = "removed"


class Reading(SQLModel, table=True):
    """A raw reading, kept for the retention period (CARECENTER_READING_RETENTION_DAYS).

    On PostgreSQL the table is partitioned by month of `recorded_at` (readings/partitions.py);
    `(device, event_id)` is unique through `reading_key`, not an index here, because a
    partitioned table's unique index must include the partition key.
    """

    __table_args__ = (sa.Index("ix_reading_resident_recorded", "resident_id", "recorded_at"),)

    id: OptionalWholeNumber = SQLField(
        default=None, primary_key=True, sa_type=sa.BigInteger().with_variant(sa.Integer(), "sqlite")
    )
    # The device and center as the check-in writer resolved them (no foreign keys: see migration 0011).
    device_id: OptionalWholeNumber = None
    resident_id: OptionalWholeNumber = SQLField(default=None, foreign_key="resident.id")
    center_id: WholeNumber
    event_id: str = SQLField(max_length=64)
    kind: str = SQLField(max_length=16)
    source: str = SQLField(default="device", max_length=10, description="device or visit")
    recorded_at: datetime = SQLField(sa_type=UTCDateTime)
    received_at: datetime = SQLField(sa_type=UTCDateTime)
    heart_rate: OptionalWholeNumber = None
    spo2: OptionalWholeNumber = None
    systolic: OptionalWholeNumber = None
    diastolic: OptionalWholeNumber = None
    temperature: float | None = None
    blood_glucose: float | None = None
    steps: OptionalWholeNumber = None
    latitude: float | None = None
    longitude: float | None = None
    accuracy_m: float | None = None
    battery_pct: OptionalWholeNumber = None


class ReadingKey(SQLModel, table=True):
    """`(device, event_id)` of every device reading of the acceptance window, which makes a post idempotent.

    Readings older than `MAX_AGE` are refused before they are stored, so a key is needed only
    that long: the upkeep job deletes older ones, and the table stays small whatever the
    readings' retention.
    """

    __tablename__ = "reading_key"

    device_id: WholeNumber = SQLField(primary_key=True)
    event_id: str = SQLField(primary_key=True, max_length=64)
    recorded_at: datetime = SQLField(sa_type=UTCDateTime, index=True)


class ReadingHourly(SQLModel, table=True):
    """One resident's vital sign over one hour (UTC): kept for years, after the raw readings are gone."""

    __tablename__ = "reading_hourly"
    # On PostgreSQL the key's index also carries each hour's total and count: a chart reads a
    # month of hours from the index alone (an hour's rows of all residents are written together,
    # so one resident's month lies on as many heap pages as it has hours). Migration 0025.
    __table_args__ = (sa.PrimaryKeyConstraint("resident_id", "vital", "hour", postgresql_include=["total", "samples"]),)

    resident_id: WholeNumber = SQLField(foreign_key="resident.id", primary_key=True)
    vital: str = SQLField(primary_key=True, max_length=16)
    hour: datetime = SQLField(sa_type=UTCDateTime, primary_key=True)
    minimum: float
    maximum: float
    total: float
    samples: WholeNumber


# PostgreSQL: the roll-ups of committed readings, not yet added to `reading_hourly` (see
# `ingest.rollups`). Append-only, so that writers of the same residents' hours never wait on each
# other; no key and no foreign key (a check per row): its rows live about a second.
reading_hourly_pending = sa.Table(
    "reading_hourly_pending",
    SQLModel.metadata,
    sa.Column("resident_id", sa.Integer(), nullable=False),
    sa.Column("vital", AutoString(length=16), nullable=False),
    sa.Column("hour", UTCDateTime(timezone=True), nullable=False),
    sa.Column("minimum", sa.Float(), nullable=False),
    sa.Column("maximum", sa.Float(), nullable=False),
    sa.Column("total", sa.Float(), nullable=False),
    sa.Column("samples", sa.Integer(), nullable=False),
)


VITAL_FIELDS = ("heart_rate", "spo2", "systolic", "diastolic", "temperature", "blood_glucose", "steps")
LOCATION_FIELDS = ("latitude", "longitude", "accuracy_m")
ROLLUP_FIELDS = ("heart_rate", "spo2", "systolic", "diastolic", "temperature", "blood_glucose")  # not steps: a count


def _whole_number(value: Any) -> Any:
    """A JSON number that is whole (`95` or `95.0`, as JSON Schema's integer); never a boolean or text."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(N_("Enter a whole number."))
    if isinstance(value, float) and not value.is_integer():
        raise ValueError(N_("Enter a whole number."))
    return int(value)


WHOLE = BeforeValidator(_whole_number)  # after the Field(...) bounds, which the schema then states
StrictFloat = Annotated[float, Field(strict=True)]


class ReadingIn(BaseModel):
    """One reading as a device posts it. Strict: booleans are not numbers, unknown fields are refused."""

    model_config = ConfigDict(extra="forbid")

    event_id: str = Field(min_length=1, max_length=64, description="Unique per device: the idempotency key")
    device: str | None = Field(default=None, max_length=64, description="Serial; required when a gateway posts")
    kind: ReadingKind
    recorded_at: Instant
    heart_rate: Annotated[int, Field(ge=20, le=250), WHOLE] | None = None
    spo2: Annotated[int, Field(ge=50, le=100), WHOLE] | None = None
    systolic: Annotated[int, Field(ge=40, le=300), WHOLE] | None = None
    diastolic: Annotated[int, Field(ge=20, le=200), WHOLE] | None = None
    temperature: Annotated[StrictFloat, Field(ge=30, le=45)] | None = None
    steps: Annotated[int, Field(ge=0, le=200_000), WHOLE] | None = None
    latitude: Annotated[StrictFloat, Field(ge=-90, le=90)] | None = None
    longitude: Annotated[StrictFloat, Field(ge=-180, le=180)] | None = None
    accuracy_m: Annotated[StrictFloat, Field(ge=0, le=100_000)] | None = None
    battery_pct: Annotated[int, Field(ge=0, le=100), WHOLE] | None = None


class CheckinResult(StrEnum):
    accepted = "accepted"
    duplicate = "duplicate"
    rejected = "rejected"


class CheckinAnswer(BaseModel):
    result: CheckinResult
    event_id: str | None = None
    reading_id: OptionalWholeNumber = None
    alert_id: OptionalWholeNumber = Field(default=None, description="The alert this reading opened or joined")
    reason: str | None = None


class BatchItemAnswer(CheckinAnswer):
    index: WholeNumber


MAX_BATCH = 1000  # readings a batch may hold


class BatchIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    readings: list[Any] = Field(max_length=MAX_BATCH, description="Up to 1,000 readings")


class BatchAnswer(BaseModel):
    accepted: WholeNumber
    duplicate: WholeNumber
    rejected: WholeNumber
    results: list[BatchItemAnswer]


class ReadingPublic(SQLModel):
    id: WholeNumber
    device_id: OptionalWholeNumber
    resident_id: OptionalWholeNumber
    event_id: str
    kind: str
    source: str
    recorded_at: datetime
    heart_rate: OptionalWholeNumber
    spo2: OptionalWholeNumber
    systolic: OptionalWholeNumber
    diastolic: OptionalWholeNumber
    temperature: float | None
    blood_glucose: float | None
    steps: OptionalWholeNumber
    latitude: float | None
    longitude: float | None
    accuracy_m: float | None
    battery_pct: OptionalWholeNumber


def hour_of(at: datetime) -> datetime:
    return at.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
