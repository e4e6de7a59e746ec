"""Staff members: care workers, managers and admins."""

from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated

from pydantic import AfterValidator
from pydantic import Field as PydanticField
from sqlmodel import Field, SQLModel
from sqlmodel._compat import SQLModelConfig

from carecenter.access import Role
from carecenter.fields import (
    PHONE_MAX,
    Flag,
    Name,
    OptionalFlag,
    OptionalWholeNumber,
    PhoneNumber,
    WholeNumber,
    created_at_field,
    enum_field,
    updated_at_field,
)
from carecenter.updates import no_null_for_required_columns
from carecommon.i18n import N_


class Language(StrEnum):
    zh_CN = "zh-CN"
    en = "en"


def _username(value: str) -> str:
    value = value.strip().lower()
    if not (3 <= len(value) <= 32) or not all(c.isascii() and (c.isalnum() or c in "._-") for c in value):
        raise ValueError(N_("3 to 32 characters: letters, digits, dot, dash or underscore"))
    return value


COMMON_PASSWORDS = frozenset(
    line.strip().lower()
    for line in (Path(__file__).parent.parent / "auth" / "common_passwords.txt").read_text().splitlines()
    if line.strip() and not line.startswith("#")
)


def _password(value: str) -> str:
    if len(value) < 8:
        raise ValueError(N_("must be at least 8 characters long"))
    if value.lower() in COMMON_PASSWORDS or len(set(value)) <= 2:
        raise ValueError(N_("is one of the most common passwords; choose one that is harder to guess"))
    return value


Username = Annotated[
    str, AfterValidator(_username), PydanticField(json_schema_extra={"pattern": r"^\s*[A-Za-z0-9._-]{3,32}\s*$"})
]
Password = Annotated[str, AfterValidator(_password), PydanticField(json_schema_extra={"minLength": 8})]


class StaffBase(SQLModel):
    name: Name = Field(max_length=64)
    phone: PhoneNumber = Field(max_length=PHONE_MAX)
    role: Role = enum_field(default=Role.care_worker)
    center_id: OptionalWholeNumber = Field(default=None, foreign_key="center.id", index=True)
    active: Flag = True
    language: Language = enum_field(default=Language.zh_CN, length=8)


class Staff(StaffBase, table=True):
    id: OptionalWholeNumber = Field(default=None, primary_key=True)
    username: str = Field(max_length=32, unique=True)
    password_hash: str = Field(max_length=255)
    created_at: datetime = created_at_field()
    updated_at: datetime | None = updated_at_field()


class StaffCreate(StaffBase):
    username: Username = Field(max_length=32)
    password: Password = Field(max_length=128)


class StaffUpdate(SQLModel):
    model_config = SQLModelConfig(json_schema_extra=no_null_for_required_columns("staff"))

    name: Name | None = Field(default=None, max_length=64)
    phone: PhoneNumber | None = Field(default=None, max_length=PHONE_MAX)
    role: Role | None = None
    center_id: OptionalWholeNumber = None
    active: OptionalFlag = None
    language: Language | None = None
    password: Password | None = Field(default=None, max_length=128)


class StaffPublic(StaffBase):
    id: WholeNumber
    username: str
