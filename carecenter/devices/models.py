"""Wearables, sensors and gateways, and the keys they post with."""

from datetime import datetime
from enum import StrEnum
from typing import Annotated

from pydantic import AfterValidator
from pydantic import Field as PydanticField
from sqlmodel import Field, SQLModel
from sqlmodel._compat import SQLModelConfig

from carecenter.fields import Text, created_at_field, enum_field, instant_field
from carecenter.updates import no_null_for_required_columns
from carecommon.i18n import N_

MIN_REPORTING_INTERVAL_SECONDS = 10


class DeviceKind(StrEnum):
    watch = "watch"
    pendant = "pendant"
    bed_sensor = "bed_sensor"
    door_sensor = "door_sensor"
    gateway = "gateway"  # posts for many devices of its center


def _serial(value: str) -> str:
    value = value.strip()
    if not value or not all(c.isascii() and (c.isalnum() or c in "-_.:") for c in value):
        raise ValueError(N_("letters, digits and - _ . : only (a serial number or IMEI)"))
    return value


Serial = Annotated[
    str, AfterValidator(_serial), PydanticField(json_schema_extra={"pattern": r"^\s*[A-Za-z0-9_.:-]+\s*$"})
]


class DeviceBase(SQLModel):
    kind: DeviceKind = enum_field()
    serial: Serial = Field(max_length=64, description="Serial number or IMEI, unique")
    model: Text = Field(default="", max_length=64)
    reporting_interval_seconds: int = Field(default=300, ge=MIN_REPORTING_INTERVAL_SECONDS, le=86_400)
    resident_id: int | None = Field(default=None, foreign_key="resident.id", index=True)


class Device(DeviceBase, table=True):
    id: int | None = Field(default=None, primary_key=True)
    serial: str = Field(max_length=64, unique=True)
    center_id: int = Field(foreign_key="center.id", index=True)
    key_hash: str = Field(max_length=64, unique=True)
    key_prefix: str = Field(max_length=12, description="Enough of the key to recognise it")
    key_rotated_at: datetime = instant_field()
    revoked_at: datetime | None = instant_field(default=None)
    battery_pct: int | None = None
    last_seen_at: datetime | None = instant_field(default=None)
    created_at: datetime = created_at_field()


class DeviceCreate(DeviceBase):
    center_id: int | None = Field(default=None, description="Admins only; others register in their own center")


class DeviceUpdate(SQLModel):
    model_config = SQLModelConfig(json_schema_extra=no_null_for_required_columns("device"))

    model: Text | None = Field(default=None, max_length=64)
    reporting_interval_seconds: int | None = Field(default=None, ge=MIN_REPORTING_INTERVAL_SECONDS, le=86_400)
    resident_id: int | None = None


class DevicePublic(DeviceBase):
    id: int
    center_id: int
    key_prefix: str
    key_rotated_at: datetime
    revoked_at: datetime | None
    battery_pct: int | None
    last_seen_at: datetime | None


class DeviceWithKey(DevicePublic):
    device_key: str = Field(description="Shown once: store it in the device; only a hash is kept")
