"""How the platform watches itself, read from CARECENTER_* environment variables."""

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class HealthSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CARECENTER_", extra="ignore")

    process_name: str | None = Field(
        default=None,
        pattern=r"^[\w.@:-]{1,120}$",
        description="This process in the heartbeats and on the device connections it holds; unset: role@host. "
        "Several gateway processes on one host each need their own",
    )
    self_check_seconds: float = Field(default=15, gt=0, description="Beats and checks, in every long-running process")
    beat_stale_seconds: float = Field(default=60, gt=0, description="A process silent this long is down")
    critical_wait_seconds: float = Field(
        default=60, gt=0, description="A critical message not handed to a provider after this is a problem"
    )
    frames_expected_minutes: float = Field(
        default=15,
        gt=0,
        description="A center whose devices all went quiet this long (some always report) is a problem",
    )
    frames_min_devices: int = Field(default=5, ge=1, description="… for centers with at least this many devices in use")
    system_messages_per_hour: int = Field(default=6, ge=1, description="Messages about the platform to the admins")
    heartbeat_url: str | None = Field(
        default=None, description="Pinged every minute while healthy (a dead-man's switch, e.g. Healthchecks)"
    )
