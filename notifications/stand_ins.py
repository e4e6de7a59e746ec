"""The providers' local stand-ins as the demo, the benchmarks and the tests run them: started with a
template approved for every kind, the settings that point the official SDKs at them, and the
template table filled in as an admin would once the providers approved the templates."""

from collections.abc import Callable

from sqlmodel import Session

from notifications.fake_aliyun_api import FakeAliyunApi
from notifications.fake_tencent_api import FakeTencentApi
from notifications.fake_twilio_api import FakeTwilioApi
from notifications.fake_wechat_api import FakeWeChatApi
from notifications.kinds import KINDS, MessageKind
from notifications.models import ProviderTemplate
from notifications.settings import SmsSettings

SMS_KINDS = [k for k in KINDS.values() if k.channel == "sms" and k.name != "text"]
VOICE_KINDS = [k for k in KINDS.values() if k.channel == "voice"]
# A WeChat alert template from its library (告警通知): who, what, when, where, each at most 20 characters.
WECHAT_FIELDS = {
    "alert.critical": "thing1=who,thing2=what,time3=when,thing4=where",
    "alert.nearby": "thing1=who,thing2=what,time3=when,thing4=where",
    "alert.escalated": "thing1=who,thing2=what,time3=when,thing4=where",
    "alert.outcome": "thing1=who,thing2=what,thing5=outcome",
    "family.visit_update": "thing1=who,time3=when",
}
Echo = Callable[[str], None] | None


def code(provider: str, kind: MessageKind) -> str:
    """The made-up code a stand-in approved for a kind (SMS_1xx, TTS_1xx, 1xx, WX-1xx)."""
    prefix = {"aliyun": "TTS_" if kind.channel == "voice" else "SMS_", "tencent": "", "wechat": "WX-"}[provider]
    return f"{prefix}{sorted(KINDS).index(kind.name) + 100}"


def aliyun_stand_in(echo: Echo = None) -> FakeAliyunApi:
    fake = FakeAliyunApi(
        sms_templates={code("aliyun", k): set(k.params) for k in SMS_KINDS},
        tts_templates={code("aliyun", k): set(k.params) for k in VOICE_KINDS},
    )
    fake.echo = echo
    return fake.start()


def tencent_stand_in(echo: Echo = None) -> FakeTencentApi:
    fake = FakeTencentApi(
        sms_templates={code("tencent", k): len(k.params) for k in SMS_KINDS},
        voice_templates={code("tencent", k): len(k.params) for k in VOICE_KINDS},
    )
    fake.echo = echo
    return fake.start()


def wechat_stand_in(echo: Echo = None) -> FakeWeChatApi:
    templates = {
        code("wechat", KINDS[name]): {part.split("=")[0] for part in fields.split(",")}
        for name, fields in WECHAT_FIELDS.items()
    }
    fake = FakeWeChatApi(templates=templates)
    fake.echo = echo
    return fake.start()


def pointed_at(
    base: SmsSettings,
    *,
    twilio: FakeTwilioApi | None = None,
    aliyun: FakeAliyunApi | None = None,
    tencent: FakeTencentApi | None = None,
    wechat: FakeWeChatApi | None = None,
    **overrides: object,
) -> SmsSettings:
    """`base` with each given stand-in's credentials and API base."""
    values: dict[str, object] = {}
    if twilio is not None:
        values |= {
            "twilio_account_sid": twilio.account_sid,
            "twilio_auth_token": twilio.auth_token,
            "twilio_from_number": "+15005550006",
            "twilio_api_base": twilio.base_url,
        }
    if aliyun is not None:
        values |= {
            "aliyun_access_key_id": aliyun.access_key_id,
            "aliyun_access_key_secret": aliyun.access_key_secret,
            "aliyun_sign_name": aliyun.sign_name,
            "aliyun_api_base": aliyun.base_url,
            "aliyun_voice_api_base": aliyun.base_url,
        }
    if tencent is not None:
        values |= {
            "tencent_secret_id": tencent.secret_id,
            "tencent_secret_key": tencent.secret_key,
            "tencent_sms_app_id": tencent.sms_app_id,
            "tencent_voice_app_id": tencent.voice_app_id,
            "tencent_sign_name": tencent.sign_name,
            "tencent_api_base": tencent.base_url,
        }
    if wechat is not None:
        values |= {
            "wechat_app_id": wechat.app_id,
            "wechat_app_secret": wechat.app_secret,
            "wechat_token": wechat.token,
            "wechat_api_base": wechat.base_url,
        }
    return SmsSettings(**(base.model_dump() | values | overrides))


def approve_all(session: Session, *providers: str) -> None:
    """What an admin enters once the providers approved the templates: every kind, for each provider."""
    for provider in providers:
        if provider == "wechat":
            for name, fields in WECHAT_FIELDS.items():
                row = ProviderTemplate(provider=provider, kind=name, code=code(provider, KINDS[name]), fields=fields)
                session.merge(row)
            continue
        for kind in [*SMS_KINDS, *VOICE_KINDS]:
            session.merge(ProviderTemplate(provider=provider, kind=kind.name, code=code(provider, kind)))
    session.commit()
