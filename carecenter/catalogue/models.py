"""A center's catalogue of services, which care plans, visits and service records name by code."""

from datetime import datetime
from enum import StrEnum

import sqlalchemy as sa
from pydantic import Field as PydanticField
from pydantic import field_validator
from sqlmodel import Field, SQLModel
from sqlmodel._compat import SQLModelConfig

from carecenter.fields import Flag, Name, OptionalFlag, OptionalWholeNumber, WholeNumber, created_at_field, enum_field
from carecenter.updates import no_null_for_required_columns


class ServiceCategory(StrEnum):
    """The civil-affairs categories a monthly report sums by (助餐 助浴 助洁 助急 助医, visits)."""

    meals = "meals"
    bathing = "bathing"
    cleaning = "cleaning"
    emergency_help = "emergency_help"
    medical_help = "medical_help"
    welfare_visit = "welfare_visit"
    other = "other"


class ServiceUnit(StrEnum):
    meal = "meal"
    bath = "bath"
    hour = "hour"
    visit = "visit"
    time = "time"


SERVICE_CODE = r"^[a-z][a-z0-9_]{1,29}$"
# The national long-term-care service item code: 5 parts, 17 capital letters and digits (NHSA,
# 医保办函〔2025〕28号《长期护理服务项目编码规则和方法》); typed in lower case, it is kept in capitals.
LTCI_CODE = r"^[A-Za-z0-9]{17}$"


def upper_code(value: str | None) -> str | None:
    return value.upper() if value is not None else None


class ServiceOfferingBase(SQLModel):
    name_zh: Name = Field(max_length=60)
    name_en: Name = Field(max_length=60)
    category: ServiceCategory = enum_field(length=20)
    unit: ServiceUnit = enum_field(length=10)
    unit_price_fen: WholeNumber = Field(ge=0, le=10_000_000, description="Price of one unit in fen (0.01 yuan)")
    confirmation_required: Flag = Field(
        default=False, description="Check-out wants the resident's (or family's) confirmation when this was given"
    )
    active: Flag = True
    ltci_code: str | None = Field(
        default=None,
        max_length=17,
        schema_extra={"pattern": LTCI_CODE},
        description="The national LTCI service item code",
    )
    province_code: str | None = Field(
        default=None, max_length=30, description="The province's own code for the item, where it has one"
    )

    _ltci = field_validator("ltci_code")(upper_code)


class ServiceOffering(ServiceOfferingBase, table=True):
    __tablename__ = "service_offering"
    __table_args__ = (sa.UniqueConstraint("center_id", "code", name="uq_service_offering_center_id_code"),)

    id: OptionalWholeNumber = Field(default=None, primary_key=True)
    center_id: WholeNumber = Field(foreign_key="center.id", index=True, ondelete="CASCADE")
    code: str = Field(max_length=30)
    created_at: datetime = created_at_field()


class ServiceOfferingCreate(ServiceOfferingBase):
    code: str = PydanticField(pattern=SERVICE_CODE, description="Lower-case letters, digits and _; never changes")
    center_id: OptionalWholeNumber = Field(default=None, description="Admins only; others add to their own center")


class ServiceOfferingUpdate(SQLModel):
    model_config = SQLModelConfig(json_schema_extra=no_null_for_required_columns("service_offering"))

    name_zh: Name | None = Field(default=None, max_length=60)
    name_en: Name | None = Field(default=None, max_length=60)
    category: ServiceCategory | None = None
    unit: ServiceUnit | None = None
    unit_price_fen: OptionalWholeNumber = Field(default=None, ge=0, le=10_000_000)
    confirmation_required: OptionalFlag = None
    active: OptionalFlag = None
    ltci_code: str | None = Field(default=None, max_length=17, schema_extra={"pattern": LTCI_CODE})
    province_code: str | None = Field(default=None, max_length=30)

    _ltci = field_validator("ltci_code")(upper_code)


class ServiceOfferingPublic(ServiceOfferingBase):
    id: WholeNumber
    center_id: WholeNumber
    code: str
