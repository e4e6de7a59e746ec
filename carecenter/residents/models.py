"""Residents (the old people served) and their family contacts."""

from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from pydantic import field_validator, model_validator
from sqlmodel import Field, SQLModel
from sqlmodel._compat import SQLModelConfig

from carecenter.fields import (
    PHONE_MAX,
    Flag,
    LocalTime,
    Name,
    NationalId,
    OptionalFlag,
    OptionalWholeNumber,
    PhoneNumber,
    Text,
    WholeNumber,
    created_at_field,
    enum_field,
    updated_at_field,
)
from carecenter.geo import CoordinateSystem, to_wgs84
from carecenter.staff.models import Language
from carecenter.thresholds import ThresholdOverrides
from carecenter.updates import no_null_for_required_columns
from carecommon.i18n import N_
from carecommon.sqltypes import UTCDateTime


class Gender(StrEnum):
    female = "female"
    male = "male"


class CareLevel(StrEnum):
    self_care = "self_care"
    semi_dependent = "semi_dependent"
    dependent = "dependent"


class LivingSituation(StrEnum):
    alone = "alone"
    with_spouse = "with_spouse"
    with_family = "with_family"


class Mobility(StrEnum):
    independent = "independent"
    walking_aid = "walking_aid"
    wheelchair = "wheelchair"
    bedridden = "bedridden"


class ResidentStatus(StrEnum):
    active = "active"
    hospitalized = "hospitalized"
    moved_out = "moved_out"
    deceased = "deceased"


def age_on(birth: date, day: date) -> int:
    """Whole years of age on `day`."""
    return day.year - birth.year - ((day.month, day.day) < (birth.month, birth.day))


def _check_birth_date(value: date | None) -> date | None:
    latest = datetime.now(UTC).date() + timedelta(days=1)  # "today" anywhere in the world
    if value is not None and not (date(1900, 1, 1) <= value <= latest):
        raise ValueError(N_("must be between 1900-01-01 and today"))
    return value


def _check_coordinates(latitude: float | None, longitude: float | None) -> None:
    if (latitude is None) != (longitude is None):
        raise ValueError(N_("latitude and longitude go together: give both or neither"))


COORDINATE_SYSTEM_FIELD = Field(
    default=CoordinateSystem.wgs84,
    exclude=True,
    description="The map the home's latitude and longitude come from: wgs84 (GPS), gcj02 (AMap, Tencent) or "
    "bd09 (Baidu); stored converted to WGS-84",
)


def _home_in_wgs84(model: Any) -> None:
    """Convert a home picked on a Chinese map to WGS-84, the one system CareCenter stores."""
    if model.latitude is not None and model.longitude is not None:
        model.latitude, model.longitude = to_wgs84(model.latitude, model.longitude, model.coordinate_system)
    model.coordinate_system = CoordinateSystem.wgs84  # converted: validating the model again changes nothing


class ResidentBase(SQLModel):
    name: Name = Field(max_length=64)
    gender: Gender = enum_field(length=8)
    birth_date: date
    phone: PhoneNumber | None = Field(default=None, max_length=PHONE_MAX)
    address: Text = Field(default="", max_length=200)
    latitude: float | None = Field(default=None, ge=-90, le=90)
    longitude: float | None = Field(default=None, ge=-180, le=180)
    care_level: CareLevel = enum_field(default=CareLevel.self_care)
    living_situation: LivingSituation = enum_field(default=LivingSituation.with_family)
    conditions: Text = Field(default="", max_length=1000)
    allergies: Text = Field(default="", max_length=500)
    medications: Text = Field(default="", max_length=1000)
    mobility: Mobility = enum_field(default=Mobility.independent)
    dementia: Flag = False
    wander_risk: Flag = False
    notes: Text = Field(default="", max_length=4000)
    status: ResidentStatus = enum_field(default=ResidentStatus.active)
    consent_health_data: Flag = False
    consent_location_data: Flag = False
    consent_family_sharing: Flag = Field(
        default=False, description="Family contacts may be given a link to a page about this resident's care"
    )
    consent_service_photos: Flag = Field(
        default=False, description="Care workers may photograph the services given, as proof (kept for a set time)"
    )
    consent_platform_id: Flag = Field(
        default=False, description="The national ID number may be shared with the district's health platform"
    )
    primary_worker_id: OptionalWholeNumber = Field(default=None, foreign_key="staff.id")
    daily_ok_checkin: Flag = Field(default=False, description="Enrolled in the daily 'I'm OK' button check-in")
    watch_removed_alert: Flag = Field(default=False, description="Alert the center when the watch is taken off")
    access_notes: Text = Field(
        default="", max_length=500, description="How a responder gets in: a key safe, a neighbour with a key"
    )


class Resident(ResidentBase, table=True):
    id: OptionalWholeNumber = Field(default=None, primary_key=True)
    center_id: WholeNumber = Field(foreign_key="center.id", index=True)
    national_id: str | None = Field(default=None, max_length=18)
    alert_thresholds: dict[str, Any] | None = Field(default=None, sa_type=sa.JSON)
    home_code_version: WholeNumber = Field(
        default=0, description="The home code printed last (0: none); an older code no longer verifies"
    )
    home_code_active: Flag = Field(default=False, description="False once revoked, until printed again")
    care_level_assessed_on: date | None = Field(
        default=None, description="The date of the signed assessment the care level comes from (none: set by hand)"
    )
    created_at: datetime = created_at_field()
    updated_at: datetime | None = updated_at_field()


class ResidentCreate(ResidentBase):
    center_id: OptionalWholeNumber = Field(default=None, description="Admins only; others create in their own center")
    national_id: NationalId | None = Field(default=None, max_length=18)
    alert_thresholds: ThresholdOverrides | None = None
    coordinate_system: CoordinateSystem = COORDINATE_SYSTEM_FIELD

    _birth = field_validator("birth_date")(_check_birth_date)

    @model_validator(mode="after")
    def _coordinates(self) -> "ResidentCreate":
        _check_coordinates(self.latitude, self.longitude)
        _home_in_wgs84(self)
        return self


class ResidentUpdate(SQLModel):
    model_config = SQLModelConfig(json_schema_extra=no_null_for_required_columns("resident"))

    name: Name | None = Field(default=None, max_length=64)
    gender: Gender | None = None
    birth_date: date | None = None
    national_id: NationalId | None = Field(default=None, max_length=18)
    phone: PhoneNumber | None = Field(default=None, max_length=PHONE_MAX)
    address: Text | None = Field(default=None, max_length=200)
    latitude: float | None = Field(default=None, ge=-90, le=90)
    longitude: float | None = Field(default=None, ge=-180, le=180)
    care_level: CareLevel | None = None
    living_situation: LivingSituation | None = None
    conditions: Text | None = Field(default=None, max_length=1000)
    allergies: Text | None = Field(default=None, max_length=500)
    medications: Text | None = Field(default=None, max_length=1000)
    mobility: Mobility | None = None
    dementia: OptionalFlag = None
    wander_risk: OptionalFlag = None
    notes: Text | None = Field(default=None, max_length=4000)
    status: ResidentStatus | None = None
    consent_health_data: OptionalFlag = None
    consent_location_data: OptionalFlag = None
    consent_family_sharing: OptionalFlag = None
    consent_service_photos: OptionalFlag = None
    consent_platform_id: OptionalFlag = None
    primary_worker_id: OptionalWholeNumber = None
    daily_ok_checkin: OptionalFlag = None
    watch_removed_alert: OptionalFlag = None
    access_notes: Text | None = Field(default=None, max_length=500)
    alert_thresholds: ThresholdOverrides | None = None
    coordinate_system: CoordinateSystem = COORDINATE_SYSTEM_FIELD

    @model_validator(mode="after")
    def _coordinates(self) -> "ResidentUpdate":
        _home_in_wgs84(self)
        return self

    _birth = field_validator("birth_date")(_check_birth_date)


class ResidentNotes(SQLModel):
    notes: Text = Field(max_length=4000)


class ResidentSummary(SQLModel):
    """What a list shows; the full record is read (and audited) one resident at a time."""

    id: WholeNumber
    center_id: WholeNumber
    name: str
    gender: Gender
    birth_date: date
    phone: str | None
    address: str
    care_level: CareLevel
    living_situation: LivingSituation
    status: ResidentStatus
    primary_worker_id: OptionalWholeNumber


class ResidentPublic(ResidentBase):
    id: WholeNumber
    center_id: WholeNumber
    national_id: str | None = Field(default=None, description="Masked except for managers and admins")
    alert_thresholds: dict[str, Any] | None = None
    care_level_assessed_on: date | None = Field(
        default=None, description="The date of the signed assessment the care level comes from (none: set by hand)"
    )


class Relation(StrEnum):
    spouse = "spouse"
    son = "son"
    daughter = "daughter"
    son_in_law = "son_in_law"
    daughter_in_law = "daughter_in_law"
    grandchild = "grandchild"
    sibling = "sibling"
    relative = "relative"
    neighbor = "neighbor"
    friend = "friend"
    other = "other"


class SmsOptIn(StrEnum):
    opted_in = "opted_in"
    opted_out = "opted_out"


class FamilyContactBase(SQLModel):
    """A contact's own fields. Whether SMS reach the number (opted out by a STOP reply or by the
    family's wish, or unusable) is the number's state in `sms_recipient`, kept in one place."""

    name: Name = Field(max_length=64)
    relation: Relation = enum_field()
    phone: PhoneNumber = Field(max_length=PHONE_MAX)
    language: Language = enum_field(default=Language.zh_CN, length=8)
    priority: WholeNumber = Field(default=1, ge=1, le=99, description="1 is called first")
    is_emergency_contact: Flag = True
    quiet_hours_start: LocalTime | None = Field(default=None, description="Local time; may cross midnight")
    quiet_hours_end: LocalTime | None = None
    visit_updates: Flag = Field(default=False, description="Wants an SMS when a home visit is completed")
    wechat_alerts: Flag = Field(default=True, description="With WeChat bound: alerts there (urgent ones also by SMS)")
    wechat_visits: Flag = Field(default=False, description="With WeChat bound: completed visits there, not by SMS")


def check_quiet_hours(start: time | None, end: time | None) -> None:
    if (start is None) != (end is None):
        raise ValueError(N_("quiet_hours_start and quiet_hours_end go together: give both or neither"))
    if start is not None and start == end:
        raise ValueError(N_("quiet hours must not start and end at the same time"))


class FamilyContact(FamilyContactBase, table=True):
    __tablename__ = "family_contact"

    id: OptionalWholeNumber = Field(default=None, primary_key=True)
    resident_id: WholeNumber = Field(foreign_key="resident.id", index=True, ondelete="CASCADE")
    created_at: datetime = created_at_field()
    updated_at: datetime | None = updated_at_field()
    wechat_openid: str | None = Field(default=None, max_length=64, index=True, description="Bound by QR code")
    wechat_bound_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


OPT_IN_DESCRIPTION = "Whether SMS go to this number: the family's wish, or a STOP / START reply from it"


class FamilyContactCreate(FamilyContactBase):
    sms_opt_in: SmsOptIn | None = Field(default=None, description=OPT_IN_DESCRIPTION + "; none: as it is")

    @model_validator(mode="after")
    def _quiet_hours(self) -> "FamilyContactCreate":
        check_quiet_hours(self.quiet_hours_start, self.quiet_hours_end)
        return self


class FamilyContactUpdate(SQLModel):
    model_config = SQLModelConfig(json_schema_extra=no_null_for_required_columns("family_contact"))

    name: Name | None = Field(default=None, max_length=64)
    relation: Relation | None = None
    phone: PhoneNumber | None = Field(default=None, max_length=PHONE_MAX)
    language: Language | None = None
    priority: OptionalWholeNumber = Field(default=None, ge=1, le=99)
    is_emergency_contact: OptionalFlag = None
    sms_opt_in: SmsOptIn | None = Field(default=None, description=OPT_IN_DESCRIPTION)
    quiet_hours_start: LocalTime | None = None
    quiet_hours_end: LocalTime | None = None
    visit_updates: OptionalFlag = None
    wechat_alerts: OptionalFlag = None
    wechat_visits: OptionalFlag = None


class FamilyContactPublic(FamilyContactBase):
    id: WholeNumber
    resident_id: WholeNumber
    sms_opt_in: SmsOptIn = Field(description=OPT_IN_DESCRIPTION)
    unreachable_at: datetime | None = Field(description="When the SMS provider found the number unusable")
    unreachable_code: OptionalWholeNumber
    wechat_bound: Flag = Field(default=False, description="A WeChat account is bound (by the family's QR scan)")
    wechat_bound_at: datetime | None = None
