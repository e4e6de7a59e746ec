"""Request bodies of the message log API (the rows themselves are notifications.models.SmsMessage)."""

from sqlmodel import Field, SQLModel

from carecenter.fields import PHONE_MAX, PhoneNumber
from carecenter.staff.models import Language
from notifications.models import MessageChannel


class TestSmsRequest(SQLModel):
    to: PhoneNumber = Field(max_length=PHONE_MAX, description="Any phone, e.g. +8613800138000")
    language: Language = Language.zh_CN
    channel: MessageChannel = Field(default=MessageChannel.sms, description="sms, or voice for a test call")
