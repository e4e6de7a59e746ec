"""Alert thresholds: center defaults, per-resident overrides of any subset."""

from datetime import datetime, time
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from carecenter.fields import LocalTime, OptionalWholeNumber, WholeNumber


class RuleWindow(BaseModel):
    """Hours (local time, may cross midnight) and weekdays in which some rules apply, or apply
    other thresholds: the geofence only at night for a resident at risk of wandering
    (`kinds: ["left_geofence"]`), a stricter heart-rate band while asleep (`thresholds`)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    start: LocalTime
    end: LocalTime
    weekdays: list[int] = Field(default=[1, 2, 3, 4, 5, 6, 7], description="ISO weekdays: 1 Monday … 7 Sunday")
    kinds: list[str] = Field(default_factory=list, description="These rules raise alerts only inside the window")
    thresholds: "ThresholdOverrides | None" = Field(default=None, description="Inside the window, these thresholds")

    def contains(self, local: datetime) -> bool:
        clock, day = local.time(), local.isoweekday()
        if self.start <= self.end:
            return day in self.weekdays and self.start <= clock < self.end
        if clock >= self.start:  # the evening part: the window began today
            return day in self.weekdays
        return clock < self.end and (day - 2) % 7 + 1 in self.weekdays  # the morning part: it began yesterday


class Thresholds(BaseModel):
    """Every number the rules use. A center stores a full set; a resident only what differs."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    heart_rate_low: WholeNumber = Field(default=40, ge=20, le=250)
    heart_rate_high: WholeNumber = Field(default=130, ge=20, le=250)
    spo2_low: WholeNumber = Field(default=90, ge=50, le=100)
    systolic_high: WholeNumber = Field(default=180, ge=60, le=300)
    systolic_low: WholeNumber = Field(default=85, ge=40, le=200)
    diastolic_high: WholeNumber = Field(default=110, ge=30, le=200)
    temperature_high: float = Field(default=38.5, ge=34, le=43)
    temperature_low: float = Field(default=35.0, ge=30, le=38)
    sustain_readings: WholeNumber = Field(
        default=3, ge=1, le=50, description="Out of range this many readings in a row …"
    )
    sustain_minutes: WholeNumber = Field(default=5, ge=0, le=240, description="… or for this long (0: readings only)")
    geofence_radius_m: WholeNumber = Field(default=500, ge=50, le=50_000)
    low_battery_pct: WholeNumber = Field(default=15, ge=1, le=50)
    silent_grace_minutes: WholeNumber = Field(default=10, ge=0, le=24 * 60)
    outage_share_pct: WholeNumber = Field(
        default=30, ge=5, le=100, description="This share of the devices silent at once is one outage, not many alerts"
    )
    outage_min_devices: WholeNumber = Field(default=10, ge=2, le=1_000_000, description="… and at least this many")
    ok_checkin_deadline: LocalTime = Field(
        default=time(10, 0), description="Local time by which an enrolled resident presses OK"
    )
    rule_windows: list[RuleWindow] = Field(default_factory=list, max_length=20)
    geofence_fixes: WholeNumber = Field(
        default=2, ge=1, le=10, description="Fixes outside in a row before it is an exit …"
    )
    geofence_sure_accuracy_m: WholeNumber = Field(
        default=30, ge=1, le=1000, description="… or one this accurate, clearly out"
    )
    stale_fix_minutes: WholeNumber = Field(
        default=10, ge=1, le=24 * 60, description="An older fix never raises an exit"
    )


class ThresholdOverrides(BaseModel):
    """A resident's exceptions to the center's thresholds; unset fields follow the center."""

    model_config = ConfigDict(extra="forbid")

    heart_rate_low: OptionalWholeNumber = Field(default=None, ge=20, le=250)
    heart_rate_high: OptionalWholeNumber = Field(default=None, ge=20, le=250)
    spo2_low: OptionalWholeNumber = Field(default=None, ge=50, le=100)
    systolic_high: OptionalWholeNumber = Field(default=None, ge=60, le=300)
    systolic_low: OptionalWholeNumber = Field(default=None, ge=40, le=200)
    diastolic_high: OptionalWholeNumber = Field(default=None, ge=30, le=200)
    temperature_high: float | None = Field(default=None, ge=34, le=43)
    temperature_low: float | None = Field(default=None, ge=30, le=38)
    sustain_readings: OptionalWholeNumber = Field(default=None, ge=1, le=50)
    sustain_minutes: OptionalWholeNumber = Field(default=None, ge=0, le=240)
    geofence_radius_m: OptionalWholeNumber = Field(default=None, ge=50, le=50_000)
    rule_windows: list[RuleWindow] | None = Field(default=None, max_length=20, description="Replace the center's")


RuleWindow.model_rebuild()


def effective_thresholds(center: dict[str, Any] | None, resident: dict[str, Any] | None) -> Thresholds:
    """The center's thresholds (defaults where it has none) with the resident's overrides on top."""
    values = Thresholds.model_validate(center or {}).model_dump()
    values.update({k: v for k, v in (resident or {}).items() if v is not None})
    return Thresholds.model_validate(values)


def silence_grace(center_thresholds: dict[str, Any] | None) -> int:
    """Minutes past two reporting intervals before a center (by its thresholds) counts a device silent."""
    return effective_thresholds(center_thresholds, None).silent_grace_minutes


def thresholds_at(thresholds: Thresholds, local: datetime) -> tuple[Thresholds, set[str]]:
    """The thresholds that hold at this local time (a window's own inside it), and the rules that
    are off now (limited to windows that are all closed)."""
    inside = [w for w in thresholds.rule_windows if w.contains(local)]
    limited = {k for w in thresholds.rule_windows for k in w.kinds}
    allowed = {k for w in inside for k in w.kinds}
    overrides: dict[str, Any] = {}
    for window in inside:
        if window.thresholds is not None:
            overrides |= window.thresholds.model_dump(exclude_none=True, exclude={"rule_windows"})
    now = thresholds.model_copy(update=overrides) if overrides else thresholds
    return now, limited - allowed
