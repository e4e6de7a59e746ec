"""Validated field types shared by the models: phone numbers, names, ID numbers, time zones."""

import re
import unicodedata
from datetime import UTC, date, datetime, time
from typing import Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import phonenumbers
import sqlalchemy as sa
from pydantic import AfterValidator, AwareDatetime, BeforeValidator, WithJsonSchema
from pydantic import Field as PydanticField
from sqlmodel import Field

from carecenter.db import UTCDateTime
from carecommon.i18n import N_

DEFAULT_PHONE_REGION = "CN"


def normalize_phone(value: str) -> str:
    """`138 0013 8000` -> `+8613800138000`; anything that is not a valid number is refused."""
    try:
        parsed = phonenumbers.parse(value, DEFAULT_PHONE_REGION)
    except phonenumbers.NumberParseException as exc:
        raise ValueError(N_("is not a valid phone number")) from exc
    if not phonenumbers.is_valid_number(parsed):
        raise ValueError(N_("is not a valid phone number"))
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def clean_text(value: str) -> str:
    """Trim, normalise to NFC and refuse control characters (any script is welcome)."""
    value = unicodedata.normalize("NFC", value.strip())
    if any(unicodedata.category(ch) == "Cc" and ch not in "\n\t" for ch in value):
        raise ValueError(N_("must not contain control characters"))
    return value


def non_blank(value: str) -> str:
    if not value:
        raise ValueError(N_("must not be blank"))
    return value


_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"


def validate_national_id(value: str) -> str:
    """A mainland resident identity number: 17 digits and a check character (GB 11643)."""
    value = value.strip().upper()
    if len(value) != 18 or not value[:17].isdigit() or not (value[17].isdigit() or value[17] == "X"):
        raise ValueError(N_("must be 18 characters: 17 digits and a digit or X"))
    expected = _ID_CHECK[sum(int(d) * w for d, w in zip(value[:17], _ID_WEIGHTS, strict=True)) % 11]
    if value[17] != expected:
        raise ValueError(N_("check character does not match; please re-check the number"))
    return value


def national_id_check_char(first17: str) -> str:
    """The check character for 17 digits (used by the demo data)."""
    return _ID_CHECK[sum(int(d) * w for d, w in zip(first17, _ID_WEIGHTS, strict=True)) % 11]


def mask_national_id(value: str | None) -> str | None:
    """Keep the first three and last four characters visible."""
    if not value:
        return value
    return value[:3] + "*" * (len(value) - 7) + value[-4:]


def validate_timezone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(N_("unknown time zone; use an IANA name such as Asia/Shanghai")) from exc
    return value


def iso_instant(value: Any) -> Any:
    """Only an ISO 8601 text is a date-time here: pydantic would also read `0.5` as a Unix time."""
    if isinstance(value, str):
        try:
            datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
        except ValueError as exc:
            raise ValueError(N_("Enter a date and time with its time zone (ISO 8601).")) from exc
    elif not isinstance(value, datetime):
        raise ValueError(N_("Enter a date and time with its time zone (ISO 8601)."))
    return value


def within_utc(value: datetime) -> datetime:
    """An instant at the very edge of the calendar (year 1 at +03:00) cannot be written in UTC: it
    stands for the earliest or latest instant there is."""
    try:
        value.astimezone(UTC)
    except OverflowError:
        return datetime.min.replace(tzinfo=UTC) if value.year == 1 else datetime.max.replace(tzinfo=UTC)
    return value


def iso_day(value: Any) -> Any:
    """Only an ISO 8601 date (YYYY-MM-DD) is a date here: pydantic would also read a number."""
    if isinstance(value, str):
        try:
            date.fromisoformat(value)
        except ValueError as exc:
            raise ValueError(N_("Enter a date as YYYY-MM-DD.")) from exc
    elif not isinstance(value, date):
        raise ValueError(N_("Enter a date as YYYY-MM-DD."))
    return value


# The schema states what the validators check, so that integrators (and schemathesis) know what
# is accepted: text without control characters, names that are not blank, the formats below.
# Text a PostgreSQL column can hold (a query filter with a NUL byte is refused, not a 500 or 422
# "out of range" from the driver).
NO_NUL = r"^[^\x00]*$"
NO_CONTROLS = r"^[^\x00-\x08\x0B-\x1F\x7F-\x9F]*$"
# At least one character that is neither a control nor what str.strip() removes (spelled out: \s
# differs between Python and the ECMAScript regexes of JSON Schema).
_VISIBLE = r"[^\x00-\x20\x7F-\xA0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]"
_ALLOWED = r"[^\x00-\x08\x0B-\x1F\x7F-\x9F]*"
NOT_BLANK = f"^{_ALLOWED}{_VISIBLE}{_ALLOWED}$"
PHONE_FORMAT = "phone"  # a number phonenumbers calls valid (CN by default, or +country)
NATIONAL_ID_FORMAT = "cn-resident-id"  # GB 11643: 17 digits and a check character
TIME_ZONE_FORMAT = "iana-time-zone"

PhoneNumber = Annotated[
    str,
    AfterValidator(normalize_phone),
    PydanticField(json_schema_extra={"format": PHONE_FORMAT}, description="A valid phone number, e.g. 13800138000"),
]
Text = Annotated[str, AfterValidator(clean_text), PydanticField(json_schema_extra={"pattern": NO_CONTROLS})]
Name = Annotated[
    str, AfterValidator(clean_text), AfterValidator(non_blank), PydanticField(json_schema_extra={"pattern": NOT_BLANK})
]
NationalId = Annotated[
    str, AfterValidator(validate_national_id), PydanticField(json_schema_extra={"format": NATIONAL_ID_FORMAT})
]
TimeZoneName = Annotated[
    str, AfterValidator(validate_timezone), PydanticField(json_schema_extra={"format": TIME_ZONE_FORMAT})
]
Instant = Annotated[AwareDatetime, BeforeValidator(iso_instant), AfterValidator(within_utc)]
Day = Annotated[date, BeforeValidator(iso_day)]

PHONE_MAX = 32  # what a person may type; stored numbers are E.164 (at most 16)


def instant_field(**kwargs: Any) -> Any:
    """A UTC timestamp column."""
    return Field(sa_type=UTCDateTime, **kwargs)


def created_at_field() -> Any:
    return Field(default_factory=_utc_now, sa_type=UTCDateTime)


def updated_at_field() -> Any:
    """When the row last changed (a receiving system's `_lastUpdated`): set on insert and by every
    UPDATE of it, Core statements included. Nullable only for rows older than the column."""
    return Field(
        default_factory=_utc_now, sa_type=UTCDateTime, sa_column_kwargs={"default": _utc_now, "onupdate": _utc_now}
    )


def _utc_now() -> datetime:
    return datetime.now(UTC)


def enum_field(length: int = 20, **kwargs: Any) -> Any:
    """A StrEnum stored as plain text (no native enum types to migrate)."""
    return Field(sa_type=sa.String(length), **kwargs)


# A local time of day (a center's clock: quiet hours, rule windows, a visit's start). JSON Schema's
# `format: time` requires an offset, which a local time has not: the schema states the pattern.
LOCAL_TIME_PATTERN = r"^([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9](\.[0-9]{1,6})?)?$"


def _local_time(value: object) -> object:
    if isinstance(value, time) or (isinstance(value, str) and re.match(LOCAL_TIME_PATTERN, value)):
        return value
    raise ValueError(N_("Enter a local time of day, such as 08:30."))


LocalTime = Annotated[
    time,
    BeforeValidator(_local_time),
    WithJsonSchema({"type": "string", "pattern": LOCAL_TIME_PATTERN, "examples": ["08:30", "22:00:00"]}),
]


# JSON's types kept apart: `true` is not the number 1, and 0 is not `false` (pydantic's lax mode
# would take each for the other). Text still converts, as a form posts "5" and "on".
def not_a_boolean(value: object) -> object:
    if isinstance(value, bool):
        raise ValueError(N_("Enter a whole number, not true or false."))
    return value


def _not_a_number(value: object) -> object:
    if isinstance(value, int | float) and not isinstance(value, bool):
        raise ValueError(N_("Enter true or false, not a number."))
    return value


WholeNumber = Annotated[int, BeforeValidator(not_a_boolean)]
Flag = Annotated[bool, BeforeValidator(_not_a_number)]
# The optional ones check around the whole `X | None`: a Field's bounds then still reach the
# schema as minimum/maximum (on `WholeNumber | None` pydantic could only state them as "ge"/"le").
OptionalWholeNumber = Annotated[int | None, BeforeValidator(not_a_boolean)]
OptionalFlag = Annotated[bool | None, BeforeValidator(_not_a_number)]
