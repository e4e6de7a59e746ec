"""The domestic providers' stand-ins as the tests use them: started with every kind's template
approved, the settings that point the official SDKs at them, the template table filled in."""

from sqlmodel import Session

from notifications.fake_aliyun_api import FakeAliyunApi
from notifications.fake_tencent_api import FakeTencentApi
from notifications.fake_wechat_api import FakeWeChatApi
from notifications.kinds import KINDS, MessageKind
from notifications.models import ProviderTemplate
from notifications.settings import SmsSettings

SMS_KINDS = [k for k in KINDS.values() if k.channel == "sms" and k.name != "text"]
VOICE_KINDS = [k for k in KINDS.values() if k.channel == "voice"]
# WeChat's alert template (from its library: 告警通知): who, what, when, where (each at most 20 characters).
WECHAT_FIELDS = {
    "alert.critical": "thing1=who,thing2=what,time3=when,thing4=where",
    "alert.nearby": "thing1=who,thing2=what,time3=when,thing4=where",
    "alert.escalated": "thing1=who,thing2=what,time3=when,thing4=where",
    "alert.outcome": "thing1=who,thing2=what,thing5=outcome",
    "family.visit_update": "thing1=who,time3=when",
}


def code(provider: str, kind: MessageKind) -> str:
    prefix = {"aliyun": "TTS_" if kind.channel == "voice" else "SMS_", "tencent": "", "wechat": "WX-"}[provider]
    return f"{prefix}{sorted(KINDS).index(kind.name) + 100}"


def aliyun_fake() -> FakeAliyunApi:
    return FakeAliyunApi(
        sms_templates={code("aliyun", k): set(k.params) for k in SMS_KINDS},
        tts_templates={code("aliyun", k): set(k.params) for k in VOICE_KINDS},
    ).start()


def tencent_fake() -> FakeTencentApi:
    return FakeTencentApi(
        sms_templates={code("tencent", k): len(k.params) for k in SMS_KINDS},
        voice_templates={code("tencent", k): len(k.params) for k in VOICE_KINDS},
    ).start()


def wechat_fake() -> FakeWeChatApi:
    templates = {
        code("wechat", KINDS[name]): {part.split("=")[0] for part in fields.split(",")}
        for name, fields in WECHAT_FIELDS.items()
    }
    return FakeWeChatApi(templates=templates).start()


def provider_settings(
    base: SmsSettings,
    *,
    aliyun: FakeAliyunApi | None = None,
    tencent: FakeTencentApi | None = None,
    wechat: FakeWeChatApi | None = None,
    **overrides: object,
) -> SmsSettings:
    """`base` with each given stand-in's credentials and API base."""
    values: dict[str, object] = {}
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


def approve_templates(session: Session, *providers: str) -> None:
    """What an admin enters once the providers approved the templates: every kind, for each provider."""
    for provider in providers:
        if provider == "wechat":
            for name, fields in WECHAT_FIELDS.items():
                session.merge(
                    ProviderTemplate(provider=provider, kind=name, code=code(provider, KINDS[name]), fields=fields)
                )
            continue
        for kind in [*SMS_KINDS, *VOICE_KINDS]:
            session.merge(ProviderTemplate(provider=provider, kind=kind.name, code=code(provider, kind)))
    session.commit()
