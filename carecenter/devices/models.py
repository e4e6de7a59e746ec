"""Wearables, sensors and gateways, and the keys they post with."""

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any, Literal

import sqlalchemy as sa
from pydantic import AfterValidator, StringConstraints
from pydantic import Field as PydanticField
from sqlmodel import Field, SQLModel
from sqlmodel._compat import SQLModelConfig

from carecenter.fields import (
    Flag,
    OptionalWholeNumber,
    Text,
    TimeZoneName,
    WholeNumber,
    created_at_field,
    enum_field,
    instant_field,
)
from carecenter.updates import no_null_for_required_columns
from carecommon.i18n import N_

MIN_REPORTING_INTERVAL_SECONDS = 10


class DeviceProtocol(StrEnum):
    """How a device reaches CareCenter."""

    http = "http"  # our JSON API, with its key
    mqtt = "mqtt"  # a home gateway publishing the same JSON to the broker, with its key
    watch_tcp = "watch-tcp"  # a 4G watch speaking its text protocol; known by its id (IMEI)
    gt06 = "gt06"  # a personal tracker or pendant speaking the binary GT06 protocol; known by its IMEI

    @property
    def takes_commands(self) -> bool:
        """Whether CareCenter holds a connection to the device (and can send it commands)."""
        return self in (DeviceProtocol.watch_tcp, DeviceProtocol.gt06)


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
    protocol: DeviceProtocol = enum_field(default=DeviceProtocol.http, length=16)
    reporting_interval_seconds: WholeNumber = Field(default=300, ge=MIN_REPORTING_INTERVAL_SECONDS, le=86_400)
    resident_id: OptionalWholeNumber = Field(default=None, foreign_key="resident.id", index=True)


# One row, moved by a trigger on `device` whenever a device's facts change (migration 0027): not a
# model, so that emptying every model's rows leaves it. Readers: `carecenter/ingest/targets.py`.
DEVICE_FACTS_VERSION = "device_facts_version"


class Device(DeviceBase, table=True):
    # Room on each page for a row's next version: its last sign of life is written about once a
    # second under load (migration 0026).
    __table_args__ = {"postgresql_with": {"fillfactor": 50}}

    id: OptionalWholeNumber = Field(default=None, primary_key=True)
    serial: str = Field(max_length=64, unique=True)
    center_id: WholeNumber = Field(foreign_key="center.id", index=True)
    key_hash: str = Field(max_length=64, unique=True)
    key_prefix: str = Field(max_length=12, description="Enough of the key to recognise it")
    key_rotated_at: datetime = instant_field()
    revoked_at: datetime | None = instant_field(default=None)
    battery_pct: OptionalWholeNumber = None
    last_seen_at: datetime | None = instant_field(default=None)
    gateway_id: OptionalWholeNumber = Field(
        default=None, foreign_key="device.id", index=True, description="The home gateway its readings come through"
    )
    created_at: datetime = created_at_field()
    # The watch listener's view of the connection (watch-tcp devices).
    connected_at: datetime | None = instant_field(default=None)
    disconnected_at: datetime | None = instant_field(default=None)
    # Where the connection comes from and which gateway process holds it: another process sees a
    # takeover by another address, and only the holder sends the device's commands.
    connected_from: str | None = Field(default=None, max_length=64)
    connected_via: str | None = Field(default=None, max_length=120)
    last_frame_at: datetime | None = instant_field(default=None)
    last_frame: str | None = Field(default=None, max_length=64, description="The last frame's command word")
    last_cells: str | None = Field(
        default=None, max_length=2000, description="Base stations and Wi-Fi of the last report without a GPS fix, raw"
    )
    last_network: str | None = Field(
        default=None, max_length=7, description="The mobile network (MCC-MNC) its last frames came through"
    )
    # A second connection with this id from another address while one was live (the id is the only credential).
    takeover_count: WholeNumber = 0
    takeover_at: datetime | None = instant_field(default=None)
    takeover_from: str | None = Field(default=None, max_length=64, description="The newcomer's address")
    identity_confirmed_at: datetime | None = instant_field(
        default=None, description="A manager confirmed the newest connection is the real device"
    )


class DeviceCreate(DeviceBase):
    center_id: OptionalWholeNumber = Field(default=None, description="Admins only; others register in their own center")


class DeviceUpdate(SQLModel):
    model_config = SQLModelConfig(json_schema_extra=no_null_for_required_columns("device"))

    model: Text | None = Field(default=None, max_length=64)
    protocol: DeviceProtocol | None = None
    reporting_interval_seconds: OptionalWholeNumber = Field(default=None, ge=MIN_REPORTING_INTERVAL_SECONDS, le=86_400)
    resident_id: OptionalWholeNumber = None


class DevicePublic(DeviceBase):
    id: WholeNumber
    center_id: WholeNumber
    key_prefix: str
    key_rotated_at: datetime
    revoked_at: datetime | None
    battery_pct: OptionalWholeNumber
    last_seen_at: datetime | None
    connected_at: datetime | None
    disconnected_at: datetime | None
    last_frame_at: datetime | None
    last_frame: str | None
    last_cells: str | None
    takeover_count: WholeNumber
    takeover_at: datetime | None
    takeover_from: str | None
    identity_confirmed_at: datetime | None


class DeviceWithKey(DevicePublic):
    device_key: str = Field(description="Shown once: store it in the device; only a hash is kept")


class CommandKind(StrEnum):
    upload_interval = "upload_interval"  # UPLOAD,seconds
    sos_numbers = "sos_numbers"  # SOS,n1,n2,n3: the resident's family contacts in calling order
    locate = "locate"  # CR: report the position now


class CommandStatus(StrEnum):
    queued = "queued"  # waits until the watch is connected
    sent = "sent"
    answered = "answered"
    timed_out = "timed_out"


class DeviceCommand(SQLModel, table=True):
    """A command to a watch over its open connection, with its answer or a time-out."""

    __tablename__ = "device_command"

    id: OptionalWholeNumber = Field(default=None, primary_key=True)
    device_id: WholeNumber = Field(foreign_key="device.id", index=True, ondelete="CASCADE")
    center_id: WholeNumber = Field(foreign_key="center.id")
    kind: CommandKind = enum_field()
    content: str = Field(max_length=200, description="What is sent, e.g. UPLOAD,600")
    status: CommandStatus = enum_field(default=CommandStatus.queued, index=True)
    requested_by: str = Field(max_length=64)
    created_at: datetime = instant_field()
    sent_at: datetime | None = instant_field(default=None)
    answered_at: datetime | None = instant_field(default=None)
    answer: str | None = Field(default=None, max_length=200)


class DeviceCommandIn(SQLModel):
    kind: CommandKind
    seconds: OptionalWholeNumber = Field(
        default=None, ge=MIN_REPORTING_INTERVAL_SECONDS, le=86_400, description="upload_interval only"
    )


class DeviceCommandPublic(SQLModel):
    id: WholeNumber
    device_id: WholeNumber
    kind: CommandKind
    content: str
    status: CommandStatus
    requested_by: str
    created_at: datetime
    sent_at: datetime | None
    answered_at: datetime | None
    answer: str | None


class UnknownDevice(SQLModel, table=True):
    """An id that tried to connect without being registered: a manager may register it."""

    __tablename__ = "unknown_device"

    serial: str = Field(primary_key=True, max_length=64)
    protocol: DeviceProtocol = enum_field(length=16)
    attempts: WholeNumber = 0
    first_seen_at: datetime = instant_field()
    last_seen_at: datetime = instant_field()
    last_address: str = Field(default="", max_length=64)


class UnknownDevicePublic(SQLModel):
    serial: str
    protocol: DeviceProtocol
    attempts: WholeNumber
    first_seen_at: datetime
    last_seen_at: datetime
    last_address: str


class MediaKind(StrEnum):
    voice = "voice"  # a voice message (AMR audio) recorded on the watch
    photo = "photo"  # a picture the watch took (JPEG)


class DeviceMedia(SQLModel, table=True):
    """A voice message or photo a device sent, its bytes in the media store (by their SHA-256)."""

    __tablename__ = "device_media"

    id: OptionalWholeNumber = Field(default=None, primary_key=True)
    device_id: WholeNumber = Field(
        foreign_key="device.id", index=True, ondelete="CASCADE"
    )  # removing a device removes them
    center_id: WholeNumber = Field(foreign_key="center.id")
    kind: MediaKind = enum_field(length=16)
    media_key: str = Field(max_length=64)
    content_type: str = Field(max_length=64)
    size_bytes: WholeNumber
    received_at: datetime = instant_field()


class DeviceMediaPublic(SQLModel):
    id: WholeNumber
    device_id: WholeNumber
    kind: MediaKind
    content_type: str
    size_bytes: WholeNumber
    received_at: datetime


class ClockKind(StrEnum):
    utc = "utc"
    local = "local"  # the device's clock runs in `clock_zone` (many vendors ship China time)


# What an alarm code of a device model means. Readings: sos, fall, low_battery, removed; the
# rest is recorded as the device's last event (CareCenter's geofence works from positions).
AlarmMeaning = Literal[
    "sos", "fall", "low_battery", "removed", "power_cut", "vibration", "fence_in", "fence_out", "ignore"
]
AlarmCode = Annotated[str, StringConstraints(min_length=1, max_length=32)]
AlarmCodes = dict[AlarmCode, AlarmMeaning]


class DeviceProfileBase(SQLModel):
    """What differs per device model; kept as data, edited by admins."""

    protocol: DeviceProtocol = enum_field(length=16)
    model: Text = Field(default="", max_length=64, description="The device's model; empty: every model of the protocol")
    upload_interval_seconds: WholeNumber = Field(default=300, ge=MIN_REPORTING_INTERVAL_SECONDS, le=86_400)
    clock: ClockKind = enum_field(default=ClockKind.utc, length=8)
    clock_zone: TimeZoneName = Field(default="Asia/Shanghai", max_length=64, description="A local clock's zone")
    alarm_codes: AlarmCodes = Field(
        default_factory=dict,
        sa_type=sa.JSON,
        description='The protocol\'s alarm codes and what each means, e.g. {"bit:16": "sos"} or {"alarm:1": "sos"}',
    )
    reports_falls: Flag = True
    silent_after_minutes: OptionalWholeNumber = Field(
        default=None, ge=1, le=7 * 24 * 60, description="Silent after this long quiet; unset: the center's rule"
    )


class DeviceProfile(DeviceProfileBase, table=True):
    __tablename__ = "device_profile"
    __table_args__ = (sa.UniqueConstraint("protocol", "model"),)

    id: OptionalWholeNumber = Field(default=None, primary_key=True)
    updated_at: datetime = instant_field()
    updated_by: str = Field(default="", max_length=64)


class DeviceProfileIn(DeviceProfileBase):
    pass


class DeviceProfilePublic(DeviceProfileBase):
    id: OptionalWholeNumber = Field(description="None: the protocol's built-in default, not yet edited")
    updated_at: datetime | None
    updated_by: str


class DeviceProfileForm(SQLModel):
    """The profile as a page edits it: the alarm codes as lines of `code=meaning`."""

    protocol: DeviceProtocol
    model: Text = Field(default="", max_length=64)
    upload_interval_seconds: WholeNumber = Field(default=300, ge=MIN_REPORTING_INTERVAL_SECONDS, le=86_400)
    clock: ClockKind = ClockKind.utc
    clock_zone: TimeZoneName = Field(default="Asia/Shanghai", max_length=64)
    alarm_codes: str = Field(default="", max_length=4000)
    reports_falls: Flag = True
    silent_after_minutes: OptionalWholeNumber = Field(default=None, ge=1, le=7 * 24 * 60)

    def profile(self) -> DeviceProfileIn:
        """The profile the API takes; ValidationError (on `alarm_codes`) for a line that is not `code=meaning`."""
        lines = [line.strip() for line in self.alarm_codes.replace(",", "\n").splitlines() if line.strip()]
        codes = {code.strip(): meaning.strip() for code, _, meaning in (line.partition("=") for line in lines)}
        values = self.model_dump() | {"alarm_codes": codes}
        return DeviceProfileIn.model_validate(values)

    @classmethod
    def of(cls, profile: DeviceProfilePublic) -> dict[str, Any]:
        """A profile's values as the form shows them."""
        codes = "\n".join(f"{code}={meaning}" for code, meaning in sorted(profile.alarm_codes.items()))
        return profile.model_dump() | {"alarm_codes": codes}
