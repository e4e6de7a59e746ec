"""Settings of the SMS channel, read from CARECENTER_* environment variables."""

from enum import StrEnum

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class SmsProvider(StrEnum):
    """The providers a center's SMS and calls can go through (WeChat is a channel of its own)."""

    console = "console"
    twilio = "twilio"
    aliyun = "aliyun"
    tencent = "tencent"


class SmsSettings(BaseSettings):
    """Which sender, its credentials, and how hard the dispatcher tries."""

    model_config = SettingsConfigDict(env_prefix="CARECENTER_", extra="ignore")

    sms_provider: SmsProvider = SmsProvider.console
    voice_provider: SmsProvider | None = Field(default=None, description="Calls; none: the SMS provider")
    fallback_provider: SmsProvider | None = Field(
        default=None, description="The second path for critical messages when the first fails or throttles"
    )
    twilio_account_sid: str | None = None
    twilio_auth_token: SecretStr | None = None
    twilio_from_number: str | None = None
    twilio_messaging_service_sid: str | None = None
    twilio_caller_id: str | None = Field(default=None, description="The number calls come from (default: FROM_NUMBER)")
    twilio_api_base: str = "https://api.twilio.com"
    twilio_timeout_seconds: float = Field(default=10.0, gt=0)

    aliyun_access_key_id: str | None = None
    aliyun_access_key_secret: SecretStr | None = None
    aliyun_sign_name: str | None = Field(default=None, description="The approved SMS signature (签名)")
    aliyun_called_show_number: str | None = Field(
        default=None, description="The number calls show (dedicated mode); none: the shared pool"
    )
    aliyun_api_base: str = "https://dysmsapi.aliyuncs.com"
    aliyun_voice_api_base: str = "https://dyvmsapi.aliyuncs.com"

    tencent_secret_id: str | None = None
    tencent_secret_key: SecretStr | None = None
    tencent_region: str = "ap-guangzhou"
    tencent_sms_app_id: str | None = Field(default=None, description="SmsSdkAppId (1400…)")
    tencent_sign_name: str | None = None
    tencent_voice_app_id: str | None = Field(default=None, description="VoiceSdkAppid (1400…)")
    tencent_api_base: str | None = Field(default=None, description="None: sms/vms.tencentcloudapi.com")

    wechat_app_id: str | None = None
    wechat_app_secret: SecretStr | None = None
    wechat_token: SecretStr | None = Field(default=None, description="The server token set in the account's console")
    wechat_api_base: str = "https://api.weixin.qq.com"
    wechat_grace_seconds: float = Field(
        default=60, gt=0, description="How long a critical SMS waits for WeChat's delivery before it goes anyway"
    )

    provider_timeout_seconds: float = Field(default=10.0, gt=0)
    provider_callback_key: SecretStr | None = Field(
        default=None, description="The secret in the receipt URLs registered with Aliyun and Tencent"
    )
    cap_allowlist: list[str] = Field(
        default_factory=list, description="Numbers the provider exempted from its per-number caps (on-duty phones)"
    )

    sms_max_attempts: int = Field(default=10, ge=1)
    sms_retry_base_seconds: float = Field(default=5.0, gt=0)
    sms_retry_max_seconds: float = Field(default=300.0, gt=0)
    sms_lease_seconds: float = Field(default=120.0, gt=0, description="A claimed row left unsent this long is retried")
    sms_sweep_seconds: float = Field(default=5.0, gt=0)
    sms_send_concurrency: int = Field(default=8, ge=1, le=64, description="Messages handed to the provider at once")
    sms_rate_per_second: float = Field(
        default=0, ge=0, description="The sender's rate limit (messages/s) across all processes; 0: none"
    )
    sms_dispatcher_enabled: bool = Field(default=True, description="Run the dispatcher thread in this process")
    sms_budget_per_hour: int = Field(default=10, ge=1)
    sms_identical_per_day: int = Field(default=2, ge=1)
    sms_link_hours: int = Field(default=24, ge=1)

    def twilio_problems(self) -> list[str]:
        """What is missing for the Twilio sender (empty when complete)."""
        problems = []
        if not self.twilio_account_sid:
            problems.append("CARECENTER_TWILIO_ACCOUNT_SID is not set")
        if not self.twilio_auth_token:
            problems.append("CARECENTER_TWILIO_AUTH_TOKEN is not set")
        if not (self.twilio_from_number or self.twilio_messaging_service_sid):
            problems.append("set CARECENTER_TWILIO_FROM_NUMBER or CARECENTER_TWILIO_MESSAGING_SERVICE_SID")
        return problems

    def voice(self) -> SmsProvider:
        return self.voice_provider or self.sms_provider

    def aliyun_problems(self) -> list[str]:
        return _missing(
            self,
            "aliyun_access_key_id",
            "aliyun_access_key_secret",
            "aliyun_sign_name",
        )

    def tencent_problems(self) -> list[str]:
        return _missing(self, "tencent_secret_id", "tencent_secret_key", "tencent_sms_app_id", "tencent_sign_name")

    def wechat_problems(self) -> list[str]:
        return _missing(self, "wechat_app_id", "wechat_app_secret", "wechat_token")

    def configured_providers(self) -> set[str]:
        """The providers whose settings are complete (the console always is)."""
        ready = {"console"}
        for name, problems in (
            ("twilio", self.twilio_problems),
            ("aliyun", self.aliyun_problems),
            ("tencent", self.tencent_problems),
            ("wechat", self.wechat_problems),
        ):
            if not problems():
                ready.add(name)
        return ready


def _missing(settings: SmsSettings, *names: str) -> list[str]:
    return [f"CARECENTER_{name.upper()} is not set" for name in names if not getattr(settings, name)]
