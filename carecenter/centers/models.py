"""A town-level elderly-care micro-service center."""

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from pydantic import field_validator
from sqlmodel import Field, SQLModel
from sqlmodel._compat import SQLModelConfig

from carecenter.centers.divisions import check_division_code
from carecenter.fields import (
    PHONE_MAX,
    Name,
    OptionalWholeNumber,
    PhoneNumber,
    Text,
    TimeZoneName,
    WholeNumber,
    created_at_field,
    enum_field,
)
from carecenter.thresholds import Thresholds
from carecenter.updates import no_null_for_required_columns
from notifications.settings import SmsProvider

PROVIDER_HELP = "None: the deployment's (CARECENTER_SMS_PROVIDER, _VOICE_PROVIDER, _FALLBACK_PROVIDER)"


class CenterBase(SQLModel):
    name: Name = Field(max_length=100)
    town: Name = Field(max_length=64)
    district: Name = Field(max_length=64)
    address: Text = Field(default="", max_length=200)
    phone: PhoneNumber | None = Field(default=None, max_length=PHONE_MAX)
    latitude: float | None = Field(default=None, ge=-90, le=90)
    longitude: float | None = Field(default=None, ge=-180, le=180)
    welfare_visit_age: WholeNumber = Field(
        default=80, ge=60, le=120, description="Residents living alone from this age …"
    )
    welfare_visit_days: WholeNumber = Field(
        default=7, ge=1, le=90, description="… are visited at least this often (days)"
    )
    photo_retention_days: WholeNumber = Field(
        default=365, ge=30, le=3650, description="Service photos are deleted after this"
    )
    sms_provider: SmsProvider | None = enum_field(16, default=None, description="Who carries SMS. " + PROVIDER_HELP)
    voice_provider: SmsProvider | None = enum_field(16, default=None, description="Who places calls")
    fallback_provider: SmsProvider | None = enum_field(
        16, default=None, description="The second path for critical messages when the first fails or throttles"
    )
    division_code: str | None = Field(
        default=None,
        max_length=6,
        schema_extra={"pattern": r"^[0-9]{6}$"},
        description="The county's GB/T 2260 administrative division code (claims)",
    )

    _division = field_validator("division_code")(check_division_code)


class Center(CenterBase, table=True):
    id: OptionalWholeNumber = Field(default=None, primary_key=True)
    time_zone: str = Field(max_length=64)
    alert_thresholds: dict[str, Any] | None = Field(default=None, sa_type=sa.JSON, description="None: the defaults")
    created_at: datetime = created_at_field()


class CenterCreate(CenterBase):
    time_zone: TimeZoneName | None = Field(default=None, max_length=64, description="Default: CARECENTER_TIMEZONE")


class CenterUpdate(SQLModel):
    model_config = SQLModelConfig(json_schema_extra=no_null_for_required_columns("center"))

    name: Name | None = Field(default=None, max_length=100)
    town: Name | None = Field(default=None, max_length=64)
    district: Name | None = Field(default=None, max_length=64)
    address: Text | None = Field(default=None, max_length=200)
    phone: PhoneNumber | None = Field(default=None, max_length=PHONE_MAX)
    time_zone: TimeZoneName | None = Field(default=None, max_length=64)
    latitude: float | None = Field(default=None, ge=-90, le=90)
    longitude: float | None = Field(default=None, ge=-180, le=180)
    alert_thresholds: Thresholds | None = None
    welfare_visit_age: OptionalWholeNumber = Field(default=None, ge=60, le=120)
    welfare_visit_days: OptionalWholeNumber = Field(default=None, ge=1, le=90)
    photo_retention_days: OptionalWholeNumber = Field(default=None, ge=30, le=3650)
    sms_provider: SmsProvider | None = None
    voice_provider: SmsProvider | None = None
    fallback_provider: SmsProvider | None = None
    division_code: str | None = Field(default=None, max_length=6, schema_extra={"pattern": r"^[0-9]{6}$"})

    _division = field_validator("division_code")(check_division_code)


class CenterPublic(CenterBase):
    id: WholeNumber
    time_zone: str
    alert_thresholds: dict[str, Any] | None = None
