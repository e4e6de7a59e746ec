"""Settings of the scheduler, read from CARECENTER_* environment variables."""

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class ScheduleSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CARECENTER_", extra="ignore")

    scheduler_enabled: bool = Field(default=True, description="Run the sweeps in this process (if it leads)")
    escalation_sweep_seconds: int = Field(default=10, ge=1, le=15)
    silent_sweep_seconds: int = Field(default=60, ge=5)
    missed_ok_sweep_seconds: int = Field(default=60, ge=5)
    leader_check_seconds: int = Field(default=15, ge=1, le=60)
    misfire_grace_seconds: int = Field(default=300, ge=1, description="A job late by less than this still runs")
