"""Request bodies of the message log API (the rows themselves are notifications.models.SmsMessage)."""

from enum import StrEnum

from sqlmodel import Field, SQLModel

from carecenter.fields import PHONE_MAX, PhoneNumber
from carecenter.staff.models import Language


class TestChannel(StrEnum):
    sms = "sms"
    voice = "voice"


class TestSmsRequest(SQLModel):
    to: PhoneNumber = Field(max_length=PHONE_MAX, description="Any phone, e.g. +8613800138000")
    language: Language = Language.zh_CN
    channel: TestChannel = Field(default=TestChannel.sms, description="sms, or voice for a test call")


class TemplateProvider(StrEnum):
    """The providers that send approved templates rather than text."""

    aliyun = "aliyun"
    tencent = "tencent"
    wechat = "wechat"


class TemplateIn(SQLModel):
    code: str = Field(
        min_length=1, max_length=64, regex=r"^[A-Za-z0-9_\-]+$", description="The provider's template code or id"
    )
    fields: str = Field(
        default="",
        max_length=400,
        regex=r"^[A-Za-z0-9_]+=[a-z_]+(,[A-Za-z0-9_]+=[a-z_]+)*$|^$",
        description="The template's variables and the kind's parameters, 'var=param,…' (WeChat: required)",
    )
