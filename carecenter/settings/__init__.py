"""Settings of the domain core, read from CARECENTER_* environment variables."""

import hashlib
from datetime import timedelta
from enum import StrEnum
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from carecenter.media.settings import MediaSettings
from carecenter.settings.devices import DeviceSettings
from carecenter.settings.health import HealthSettings
from carecenter.settings.visits import VisitRules
from notifications.settings import SmsProvider, SmsSettings

DEFAULT_SECRET_KEY = "insecure-development-key-change-me"  # noqa: S105 - refused by production starts


class Environment(StrEnum):
    development = "development"
    production = "production"


class Settings(BaseSettings):
    """Everything `create_app` needs; one instance is passed in, never read globally."""

    model_config = SettingsConfigDict(env_prefix="CARECENTER_", extra="ignore")

    environment: Environment = Environment.development
    database_url: str = "sqlite:///carecenter.db"
    secret_key: SecretStr = SecretStr(DEFAULT_SECRET_KEY)
    timezone: str = "Asia/Shanghai"
    public_url: str = "http://127.0.0.1:8000"
    fhir_national_id_system: str = Field(
        default="urn:carecenter:sid:cn-resident-id",
        description="The identifier system the health platform names the national ID number by",
    )

    session_idle_minutes: int = Field(default=30, ge=1)
    session_absolute_hours: int = Field(default=12, ge=1)
    login_max_failures_per_user: int = Field(default=5, ge=1)
    login_max_failures_per_client: int = Field(default=20, ge=1)
    login_lockout_minutes: int = Field(default=15, ge=1)

    demo_password: SecretStr | None = None
    log_format: Literal["text", "json"] = Field(default="text", description="json: one object per line, for collectors")
    access_log: bool = Field(default=True, description="`serve` logs a line per request (off when a proxy logs them)")
    metrics_token: SecretStr | None = Field(default=None, description="If set, /metrics wants it as a Bearer token")
    max_request_bytes: int = Field(
        default=2_000_000, ge=10_000, description="Larger request bodies are refused (413); a full batch is ~200 KB"
    )

    visit_horizon_days: int = Field(default=14, ge=1, le=60, description="Visits generated this far ahead")
    visit_reminder_minutes: int = Field(default=30, ge=1, le=24 * 60)
    visit_late_minutes: int = Field(default=15, ge=1)
    visit_missed_minutes: int = Field(default=30, ge=2)
    visit_travel_buffer_minutes: int = Field(default=15, ge=0, le=240)
    visit_far_from_home_m: int = Field(
        default=200, ge=10, description="A visit's start or end farther than this from home is not verified by GPS"
    )
    visit_verified_target: float = Field(
        default=0.9, ge=0, le=1, description="The share of completed visits expected verified (figures, report)"
    )
    digest_hour: int = Field(default=7, ge=0, le=23, description="Local hour of the care workers' daily digest")
    summary_hour: int = Field(default=18, ge=0, le=23, description="Local hour of the managers' daily summary")
    assessment_dir: str | None = Field(
        default=None, description="A folder of extra assessment forms (a province's variant), JSON like the shipped one"
    )
    export_template_dir: str | None = Field(
        default=None, description="A folder of export templates (a province's layouts), JSON like the shipped ones"
    )

    sms: SmsSettings = Field(default_factory=SmsSettings, description="The SMS channel's own CARECENTER_* settings")
    devices: DeviceSettings = Field(default_factory=DeviceSettings, description="The watch listener and MQTT")
    media: MediaSettings = Field(default_factory=MediaSettings, description="Where photos and signatures are kept")
    health: HealthSettings = Field(default_factory=HealthSettings, description="How the platform watches itself")

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}") from exc
        return value

    def visit_rules(self) -> VisitRules:
        return VisitRules(
            horizon_days=self.visit_horizon_days,
            reminder_before=timedelta(minutes=self.visit_reminder_minutes),
            late_after=timedelta(minutes=self.visit_late_minutes),
            missed_after=timedelta(minutes=self.visit_missed_minutes),
            travel_buffer=timedelta(minutes=self.visit_travel_buffer_minutes),
            far_from_home_m=self.visit_far_from_home_m,
            digest_hour=self.digest_hour,
            summary_hour=self.summary_hour,
            verified_target=self.visit_verified_target,
            home_code_key=hashlib.sha256(b"home-code:" + self.secret_key.get_secret_value().encode()).digest(),
        )

    def production_problems(self) -> list[str]:
        """What keeps these settings from a production start (empty when fine)."""
        problems = []
        key = self.secret_key.get_secret_value()
        if key == DEFAULT_SECRET_KEY:
            problems.append("CARECENTER_SECRET_KEY is the built-in development key; set a secret one.")
        elif len(key) < 32:
            problems.append("CARECENTER_SECRET_KEY must be at least 32 characters long.")
        sms = self.sms
        if sms.sms_provider == SmsProvider.console:
            problems.append(
                "CARECENTER_SMS_PROVIDER must be twilio, aliyun or tencent: the console sender reaches nobody."
            )
        for role, provider in (("SMS", sms.sms_provider), ("voice", sms.voice()), ("fallback", sms.fallback_provider)):
            if provider is None or provider == SmsProvider.console:
                continue
            missing = {"twilio": sms.twilio_problems, "aliyun": sms.aliyun_problems}.get(
                provider, sms.tencent_problems
            )()
            problems.extend(f"{p} (the {role} provider is {provider})" for p in missing)
        if sms.voice() == SmsProvider.tencent and not sms.tencent_voice_app_id:
            problems.append("CARECENTER_TENCENT_VOICE_APP_ID is not set (the voice provider is tencent)")
        if self.devices.listeners_share_port and not self.health.process_name:
            problems.append(
                "CARECENTER_PROCESS_NAME is not set: processes that share the device ports "
                "(CARECENTER_LISTENERS_SHARE_PORT) each need their own name, for their heartbeats and connections."
            )
        return problems
