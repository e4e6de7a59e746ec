"""Settings of the device adapters (the watch listener, the MQTT subscriber), from CARECENTER_* variables."""

import socket
from urllib.parse import urlsplit

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class DeviceSettings(BaseSettings):
    """Where watches connect and which broker gateways publish to; both off unless set."""

    model_config = SettingsConfigDict(env_prefix="CARECENTER_", extra="ignore")

    watch_port: int | None = Field(
        default=None, ge=0, le=65535, description="TCP port of the watch listener (0: any free port); unset: off"
    )
    watch_host: str = "0.0.0.0"  # noqa: S104 - watches connect from the mobile network
    gt06_port: int | None = Field(
        default=None, ge=0, le=65535, description="TCP port of the GT06 listener (0: any free port); unset: off"
    )
    gt06_host: str = "0.0.0.0"  # noqa: S104 - trackers connect from the mobile network
    # For every device listener (the names are older than the second protocol):
    watch_idle_seconds: float = Field(default=900, ge=5, description="A connection silent this long is closed")
    watch_frame_seconds: float = Field(default=30, gt=0, description="A frame begun must be complete within this")
    watch_identify_seconds: float = Field(
        default=60, gt=0, description="A new connection must name a registered device within this"
    )
    watch_command_timeout_seconds: float = Field(default=60, gt=0, description="A command unanswered this long fails")
    device_gather_ms: float = Field(
        default=60,
        ge=0,
        le=1000,
        description="How long a device listener's reading waits for others to be stored in the same transaction "
        "(an SOS or a fall never waits): fewer, larger transactions under load, at this much more latency",
    )
    device_max_connections: int | None = Field(
        default=None,
        ge=1,
        description="Device connections one process holds at most (the listeners together); past it a new "
        "one is closed at once and the device tries again, elsewhere if processes share the port. Unset: the "
        "process's descriptor limit less 256 kept for the database, logs and files",
    )
    listeners_share_port: bool = Field(
        default=False,
        description="Several gateway processes listen on the same ports (Linux SO_REUSEPORT: the kernel spreads "
        "new connections among them); give each its own CARECENTER_PROCESS_NAME",
    )

    mqtt_url: str | None = Field(default=None, description="mqtt://host:1883 (or mqtts://); unset: MQTT is off")
    mqtt_client_id: str = Field(
        default_factory=lambda: f"carecenter-{socket.gethostname()}"[:64],
        description="Stable per process, so that the broker keeps its session (and unacknowledged messages)",
    )
    mqtt_topic_prefix: str = "carecenter"
    mqtt_share_group: str = "carecenter"
    mqtt_username: str | None = None
    mqtt_password: str | None = None

    def listener_address(self, protocol: str) -> tuple[str, int] | None:
        """Where the listener of a protocol (by its registry name) binds: `<name>_host`, `<name>_port`; None: off."""
        port = getattr(self, f"{protocol}_port", None)
        return (getattr(self, f"{protocol}_host", "0.0.0.0"), port) if port is not None else None  # noqa: S104

    @field_validator("mqtt_url")
    @classmethod
    def _broker_url(cls, value: str | None) -> str | None:
        if value and (urlsplit(value).scheme not in ("mqtt", "mqtts") or not urlsplit(value).hostname):
            raise ValueError("CARECENTER_MQTT_URL must look like mqtt://host:1883 or mqtts://host:8883")
        return value or None
