"""Settings of the scheduler, read from CARECENTER_* environment variables."""

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class ScheduleSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CARECENTER_", extra="ignore")

    scheduler_enabled: bool = Field(default=True, description="Run the sweeps in this process (if it leads)")
    escalation_sweep_seconds: int = Field(default=10, ge=1, le=15)
    silent_sweep_seconds: int = Field(default=60, ge=5)
    missed_ok_sweep_seconds: int = Field(default=60, ge=5)
    visit_sweep_seconds: int = Field(default=60, ge=5, description="Visit reminders, late and missed visits")
    digest_sweep_seconds: int = Field(default=300, ge=5, description="Checks for the morning digest / evening summary")
    timezone: str = Field(default="Asia/Shanghai", description="For the nightly visit generation (CARECENTER_TIMEZONE)")
    leader_check_seconds: int = Field(default=15, ge=1, le=60)
    reading_retention_days: int = Field(
        default=400, ge=30, description="Raw readings are dropped after this; hourly roll-ups and alerts keep theirs"
    )
    misfire_grace_seconds: int = Field(default=300, ge=1, description="A job late by less than this still runs")
