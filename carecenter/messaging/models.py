"""Request bodies of the message log API (the rows themselves are notifications.models.SmsMessage)."""

from sqlmodel import Field, SQLModel

from carecenter.fields import PHONE_MAX, PhoneNumber
from carecenter.staff.models import Language


class TestSmsRequest(SQLModel):
    to: PhoneNumber = Field(max_length=PHONE_MAX, description="Any phone, e.g. +8613800138000")
    language: Language = Language.zh_CN
