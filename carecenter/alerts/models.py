"""Alerts, their timeline, the escalation policy of each center, and rule state."""

from datetime import datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from pydantic import BaseModel, model_validator
from pydantic import Field as PydanticField
from sqlmodel import Field, SQLModel

from carecenter.fields import Flag, OptionalWholeNumber, Text, WholeNumber, instant_field, updated_at_field
from carecenter.messaging.recipients import Recipients
from carecommon.i18n import N_


class AlertKind(StrEnum):
    sos = "sos"
    fall = "fall"
    heart_rate_high = "heart_rate_high"
    heart_rate_low = "heart_rate_low"
    spo2_low = "spo2_low"
    blood_pressure_high = "blood_pressure_high"
    blood_pressure_low = "blood_pressure_low"
    temperature_high = "temperature_high"
    temperature_low = "temperature_low"
    left_geofence = "left_geofence"
    device_silent = "device_silent"
    missed_ok_checkin = "missed_ok_checkin"
    low_battery = "low_battery"
    watch_removed = "watch_removed"  # the watch was taken off (for residents whose center asks)


class Severity(StrEnum):
    critical = "critical"
    high = "high"
    medium = "medium"
    info = "info"


class AlertStatus(StrEnum):
    open = "open"
    acknowledged = "acknowledged"
    resolved = "resolved"
    cancelled = "cancelled"  # e.g. a fall cancelled with the OK button
    auto_cleared = "auto_cleared"  # the condition went away by itself


ACTIVE_STATUSES = (AlertStatus.open, AlertStatus.acknowledged)


class Outcome(StrEnum):
    false_alarm = "false_alarm"
    handled_at_home = "handled_at_home"
    hospital_transfer = "hospital_transfer"
    other = "other"


class Channel(StrEnum):
    tablet = "tablet"
    api = "api"
    sms = "sms"
    link = "link"
    call = "call"  # a key pressed on an alert call
    system = "system"


_ACTIVE = "status IN ('open', 'acknowledged')"


class Alert(SQLModel, table=True):
    __table_args__ = (
        # An outage's held alerts still open, counted from the index alone (every sweep, 20,000 of them).
        sa.Index("ix_alert_incident_id_status", "incident_id", "status"),
        # One active alert per resident and kind, even when two requests race.
        sa.Index(
            "uq_alert_active_resident_kind",
            "resident_id",
            "kind",
            unique=True,
            postgresql_where=sa.text(_ACTIVE),
            sqlite_where=sa.text(_ACTIVE),
        ),
        sa.Index("ix_alert_due", "status", "next_escalation_at"),
        # "Already alerted for this silence?" per quiet device: a probe, not a scan, when thousands are quiet.
        sa.Index("ix_alert_resident_kind_opened", "resident_id", "kind", "opened_at"),
    )

    id: OptionalWholeNumber = Field(default=None, primary_key=True)
    center_id: WholeNumber = Field(foreign_key="center.id", index=True)
    resident_id: WholeNumber = Field(foreign_key="resident.id")
    device_id: OptionalWholeNumber = Field(default=None, foreign_key="device.id")
    kind: str = Field(max_length=30)
    severity: str = Field(max_length=10)
    status: str = Field(default=AlertStatus.open, max_length=15)
    opened_at: datetime = instant_field(index=True)
    last_triggered_at: datetime = instant_field()
    trigger_count: WholeNumber = 1
    last_value: str | None = Field(default=None, max_length=64)
    # Copies: raw readings are dropped after the retention period, an alert is kept.
    first_reading: dict[str, Any] | None = Field(default=None, sa_type=sa.JSON, description="What opened it")
    last_reading: dict[str, Any] | None = Field(default=None, sa_type=sa.JSON, description="The latest that joined it")
    escalation_started_at: datetime | None = instant_field(default=None)
    escalation_steps_done: WholeNumber = 0
    reminders_sent: WholeNumber = 0
    next_escalation_at: datetime | None = instant_field(default=None)
    acknowledged_at: datetime | None = instant_field(default=None)
    acknowledged_by: OptionalWholeNumber = Field(default=None, foreign_key="staff.id")
    acknowledged_via: str | None = Field(default=None, max_length=10)
    on_site_at: datetime | None = instant_field(default=None)
    on_site_by: OptionalWholeNumber = Field(default=None, foreign_key="staff.id")
    resolved_at: datetime | None = instant_field(default=None)
    resolved_by: OptionalWholeNumber = Field(default=None, foreign_key="staff.id")
    outcome: str | None = Field(default=None, max_length=20)
    resolution_note: str | None = Field(default=None, max_length=1000)
    closed_reason: str | None = Field(default=None, max_length=100)
    nearest_staff_id: OptionalWholeNumber = Field(
        default=None, foreign_key="staff.id", description="Paged as the nearest"
    )
    nearest_distance_m: OptionalWholeNumber = None
    incident_id: OptionalWholeNumber = Field(
        default=None, foreign_key="incident.id", description="Held under an outage: listed, not paged"
    )
    updated_at: datetime | None = updated_at_field()


class Incident(SQLModel, table=True):
    """Many of a center's devices went quiet at once (an outage of power, network or a listener):
    one incident pages the managers, and the devices' own silence alerts are held under it."""

    id: OptionalWholeNumber = Field(default=None, primary_key=True)
    center_id: WholeNumber = Field(foreign_key="center.id", index=True)
    scope: str = Field(max_length=40, description='"center", or "protocol:<name>" when one listener went quiet')
    opened_at: datetime = instant_field()
    closed_at: datetime | None = instant_field(default=None)
    devices_total: WholeNumber = Field(description="Devices in use in the scope when it opened")
    devices_silent: WholeNumber = Field(description="Devices silent under it, so far")
    silent_since: datetime = instant_field()
    detail: str = Field(default="", max_length=300, description="Where the last frames came from")
    summary: str | None = Field(default=None, max_length=300)


class AlertEvent(SQLModel, table=True):
    """One line of an alert's timeline (messages are merged in from the outbox when read)."""

    __tablename__ = "alert_event"

    id: OptionalWholeNumber = Field(default=None, primary_key=True)
    alert_id: WholeNumber = Field(foreign_key="alert.id", index=True)
    at: datetime = instant_field()
    kind: str = Field(max_length=30)
    staff_id: OptionalWholeNumber = Field(default=None, foreign_key="staff.id")
    channel: str | None = Field(default=None, max_length=10)
    detail: str = Field(default="", max_length=300)


class EscalationStep(BaseModel):
    after_minutes: WholeNumber = PydanticField(ge=0, le=24 * 60, description="Minutes after the alert (its first step)")
    recipients: list[Recipients] = PydanticField(min_length=1, description="Who is texted")
    call: list[Recipients] = PydanticField(
        default_factory=list, description="Of the recipients, who is also phoned (critical alerts only: SOS, falls)"
    )
    everyone_answers: Flag = PydanticField(
        default=False,
        description="Each of this step's people is paged again (every reminder interval) until they answer "
        "(take it, are going, cannot go) or the alert is closed, even once someone took it",
    )

    @model_validator(mode="after")
    def _called_are_recipients(self) -> "EscalationStep":
        if not set(self.call) <= set(self.recipients):
            raise ValueError(N_("a step calls only people it also texts: add them to the recipients"))
        return self


DEFAULT_STEPS: list[dict[str, Any]] = [
    {"after_minutes": 0, "recipients": ["care_worker", "on_duty"], "call": ["on_duty"]},
    {"after_minutes": 5, "recipients": ["manager", "first_family"], "call": ["first_family"]},
    {"after_minutes": 10, "recipients": ["all_family", "manager"]},
]


class EscalationPolicyData(BaseModel):
    """A center's escalation policy, as data."""

    steps: list[EscalationStep] = PydanticField(
        default_factory=lambda: [EscalationStep.model_validate(s) for s in DEFAULT_STEPS], min_length=1, max_length=10
    )
    reminder_every_minutes: WholeNumber = PydanticField(default=10, ge=1, le=24 * 60)
    fall_cancel_seconds: WholeNumber = PydanticField(
        default=0, ge=0, le=300, description="An OK press this soon cancels a fall"
    )
    nearest_responder_m: WholeNumber = PydanticField(
        default=1000,
        ge=0,
        le=20_000,
        description="An SOS or fall also pages (and calls) the care worker working closest to the resident's home, "
        "if this close (straight line); 0: off",
    )

    @model_validator(mode="after")
    def _ordered(self) -> "EscalationPolicyData":
        times = [s.after_minutes for s in self.steps]
        if times[0] != 0 or times != sorted(times):
            raise ValueError(N_("the first step starts at 0 minutes and steps go forward in time"))
        return self


class EscalationPolicy(SQLModel, table=True):
    __tablename__ = "escalation_policy"

    center_id: WholeNumber = Field(primary_key=True, foreign_key="center.id", ondelete="CASCADE")
    policy: dict[str, Any] = Field(sa_type=sa.JSON)
    updated_at: datetime = instant_field()


class RuleState(SQLModel, table=True):
    """How long a resident's reading has been out of range, per rule; survives restarts."""

    __tablename__ = "rule_state"
    __table_args__ = (sa.UniqueConstraint("resident_id", "rule", name="uq_rule_state_resident_id_rule"),)

    id: OptionalWholeNumber = Field(default=None, primary_key=True)
    resident_id: WholeNumber = Field(foreign_key="resident.id")
    rule: str = Field(max_length=30)
    breach_since: datetime | None = instant_field(default=None)
    breach_count: WholeNumber = 0
    updated_at: datetime = instant_field()


class AlertPublic(SQLModel):
    id: WholeNumber
    center_id: WholeNumber
    resident_id: WholeNumber
    device_id: OptionalWholeNumber
    kind: str
    severity: str
    status: str
    opened_at: datetime
    last_triggered_at: datetime
    trigger_count: WholeNumber
    last_value: str | None
    first_reading: dict[str, Any] | None
    last_reading: dict[str, Any] | None
    escalation_steps_done: WholeNumber
    reminders_sent: WholeNumber
    next_escalation_at: datetime | None
    acknowledged_at: datetime | None
    acknowledged_by: OptionalWholeNumber
    acknowledged_via: str | None
    on_site_at: datetime | None
    resolved_at: datetime | None
    outcome: str | None
    resolution_note: str | None
    closed_reason: str | None
    nearest_staff_id: OptionalWholeNumber
    nearest_distance_m: OptionalWholeNumber


class TimelineEntry(BaseModel):
    at: datetime
    kind: str
    detail: str = ""
    staff_id: OptionalWholeNumber = None
    channel: str | None = None
    message_id: OptionalWholeNumber = None


class AlertDetail(AlertPublic):
    resident_name: str
    timeline: list[TimelineEntry]


class ResolveRequest(SQLModel):
    outcome: Outcome
    note: Text = Field(default="", max_length=1000)


class AlertStats(BaseModel):
    center_id: OptionalWholeNumber
    since: datetime
    until: datetime
    alerts: WholeNumber
    needing_answer: WholeNumber = PydanticField(description="Alerts that called for a person (not info, not cancelled)")
    acknowledged_within_60s: float | None = PydanticField(description="Share, 0..1")
    acknowledged_within_180s: float | None
    ack_seconds_median: float | None
    ack_seconds_p90: float | None
    on_site_seconds_median: float | None
    on_site_seconds_p90: float | None
    nearest_first_on_site: float | None = PydanticField(
        default=None,
        description="Of the alerts reached on site that paged a nearest responder, the share where they got there",
    )
    on_site_seconds_median_with_nearby: float | None = None
    on_site_seconds_median_without_nearby: float | None = None
    by_kind: dict[str, int]
    by_outcome: dict[str, int]
