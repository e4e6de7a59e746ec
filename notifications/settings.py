"""Settings of the SMS channel, read from CARECENTER_* environment variables."""

from enum import StrEnum

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class SmsProvider(StrEnum):
    console = "console"
    twilio = "twilio"


class SmsSettings(BaseSettings):
    """Which sender, its credentials, and how hard the dispatcher tries."""

    model_config = SettingsConfigDict(env_prefix="CARECENTER_", extra="ignore")

    sms_provider: SmsProvider = SmsProvider.console
    twilio_account_sid: str | None = None
    twilio_auth_token: SecretStr | None = None
    twilio_from_number: str | None = None
    twilio_messaging_service_sid: str | None = None
    twilio_caller_id: str | None = Field(default=None, description="The number calls come from (default: FROM_NUMBER)")
    twilio_api_base: str = "https://api.twilio.com"
    twilio_timeout_seconds: float = Field(default=10.0, gt=0)

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
