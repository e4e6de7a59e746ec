"""The alert rules: pure functions from a reading, thresholds and rule state to alert drafts.

Nothing here touches the database or the clock; the alert service stores what `evaluate`
returns (new rule state, alerts to raise, conditions that cleared) in its transaction.
"""

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import msgspec

from carecenter.alerts.models import AlertKind, Severity
from carecenter.geo import distance_m
from carecenter.thresholds import Thresholds, thresholds_at


@dataclass(frozen=True)
class ResidentFacts:
    living_alone: bool = False
    wander_risk: bool = False
    home: tuple[float, float] | None = None  # latitude, longitude
    watch_removed_alert: bool = False  # the center wants to know when the watch comes off


# The vital signs the rules look at, whoever measured them (a wearable or a care worker at the door).
RULE_VITAL_FIELDS = ("heart_rate", "spo2", "systolic", "diastolic", "temperature")


class ReadingFacts(msgspec.Struct, frozen=True, gc=False):
    """A reading as the rules see it. (A struct: built for every reading of a batch, where a frozen
    dataclass set each field through `object.__setattr__`; untracked by the collector, its fields
    being plain values.)"""

    kind: str
    recorded_at: datetime
    heart_rate: int | None = None
    spo2: int | None = None
    systolic: int | None = None
    diastolic: int | None = None
    temperature: float | None = None
    latitude: float | None = None
    longitude: float | None = None
    accuracy_m: float | None = None
    battery_pct: int | None = None

    def as_record(self) -> dict[str, Any]:
        """The reading as an alert keeps it (raw readings are dropped after the retention period)."""
        values = {name: getattr(self, name) for name in self.__struct_fields__ if name != "recorded_at"}
        return {"recorded_at": self.recorded_at.isoformat()} | {k: v for k, v in values.items() if v is not None}


@dataclass(frozen=True)
class Breach:
    """A rule's memory: out of range since when, for how many readings in a row."""

    since: datetime | None = None
    count: int = 0


NO_BREACH = Breach()


@dataclass(frozen=True)
class AlertDraft:
    kind: AlertKind
    severity: Severity
    value: str | None = None


@dataclass
class Evaluation:
    drafts: list[AlertDraft] = field(default_factory=list)
    clears: list[AlertKind] = field(default_factory=list)  # conditions that are over
    cancels: list[AlertKind] = field(default_factory=list)  # e.g. a fall cancelled with the OK button
    states: dict[str, Breach] = field(default_factory=dict)  # new rule state, by rule name


@dataclass(frozen=True)
class VitalRule:
    kind: AlertKind
    measured: Callable[[ReadingFacts], bool]
    breached: Callable[[ReadingFacts, Thresholds], bool]
    value: Callable[[ReadingFacts], str]
    severity: Severity = Severity.high


VITAL_RULES = (
    VitalRule(
        AlertKind.heart_rate_high,
        lambda r: r.heart_rate is not None,
        lambda r, t: r.heart_rate is not None and r.heart_rate > t.heart_rate_high,
        lambda r: f"{r.heart_rate} bpm",
    ),
    VitalRule(
        AlertKind.heart_rate_low,
        lambda r: r.heart_rate is not None,
        lambda r, t: r.heart_rate is not None and r.heart_rate < t.heart_rate_low,
        lambda r: f"{r.heart_rate} bpm",
    ),
    VitalRule(
        AlertKind.spo2_low,
        lambda r: r.spo2 is not None,
        lambda r, t: r.spo2 is not None and r.spo2 < t.spo2_low,
        lambda r: f"SpO2 {r.spo2}%",
    ),
    VitalRule(
        AlertKind.blood_pressure_high,
        lambda r: r.systolic is not None or r.diastolic is not None,
        lambda r, t: (r.systolic or 0) > t.systolic_high or (r.diastolic or 0) > t.diastolic_high,
        lambda r: f"{r.systolic}/{r.diastolic} mmHg",
    ),
    VitalRule(
        AlertKind.blood_pressure_low,
        lambda r: r.systolic is not None,
        lambda r, t: r.systolic is not None and r.systolic < t.systolic_low,
        lambda r: f"{r.systolic}/{r.diastolic} mmHg",
    ),
    VitalRule(
        AlertKind.temperature_high,
        lambda r: r.temperature is not None,
        lambda r, t: r.temperature is not None and r.temperature > t.temperature_high,
        lambda r: f"{r.temperature} °C",
    ),
    VitalRule(
        AlertKind.temperature_low,
        lambda r: r.temperature is not None,
        lambda r, t: r.temperature is not None and r.temperature < t.temperature_low,
        lambda r: f"{r.temperature} °C",
    ),
)
VITAL_RULE_NAMES = tuple(rule.kind.value for rule in VITAL_RULES)


def _sustained(breach: Breach, now: datetime, t: Thresholds) -> bool:
    if breach.count >= t.sustain_readings:
        return True
    return (
        t.sustain_minutes > 0
        and breach.since is not None
        and now - breach.since >= timedelta(minutes=t.sustain_minutes)
    )


POSITION = "position"  # the rule state of the geofence: the last fix outside, and how many in a row


def evaluate(
    reading: ReadingFacts,
    thresholds: Thresholds,
    resident: ResidentFacts,
    states: Mapping[str, Breach],
    *,
    local: datetime | None = None,
    received_at: datetime | None = None,
) -> Evaluation:
    """What one reading means: alerts to raise, conditions that cleared, the new rule state.

    `local` is the reading's time in the center's zone: rules limited to hours are off outside
    their windows, and a window's own thresholds hold inside it. `received_at` is when it arrived:
    a fix much older than that (a watch buffering while offline) never raises an exit."""
    off: set[str] = set()
    if local is not None and thresholds.rule_windows:
        thresholds, off = thresholds_at(thresholds, local)
    result = _evaluate(reading, thresholds, resident, states, received_at)
    if off:
        result.drafts = [d for d in result.drafts if d.kind not in off]
    return result


def _evaluate(
    reading: ReadingFacts,
    thresholds: Thresholds,
    resident: ResidentFacts,
    states: Mapping[str, Breach],
    received_at: datetime | None,
) -> Evaluation:
    result = Evaluation(clears=[AlertKind.device_silent])  # any reading proves the device is alive
    kind = reading.kind
    if kind == "sos":
        result.drafts.append(AlertDraft(AlertKind.sos, Severity.critical, "SOS"))
    elif kind == "fall":
        result.drafts.append(AlertDraft(AlertKind.fall, Severity.critical, "fall"))
    elif kind == "ok_button":
        result.cancels.append(AlertKind.fall)
        result.clears.append(AlertKind.missed_ok_checkin)
    elif kind == "removed" and resident.watch_removed_alert:
        result.drafts.append(AlertDraft(AlertKind.watch_removed, Severity.medium, "watch off"))
    elif kind == "worn":
        result.clears.append(AlertKind.watch_removed)

    for rule in VITAL_RULES:
        if not rule.measured(reading):
            continue
        if rule.breached(reading, thresholds):
            before = states.get(rule.kind.value, NO_BREACH)
            breach = Breach(since=before.since or reading.recorded_at, count=before.count + 1)
            result.states[rule.kind.value] = breach
            if _sustained(breach, reading.recorded_at, thresholds):
                result.drafts.append(AlertDraft(rule.kind, rule.severity, rule.value(reading)))
        else:
            result.states[rule.kind.value] = NO_BREACH
            result.clears.append(rule.kind)

    if reading.latitude is not None and reading.longitude is not None and resident.wander_risk and resident.home:
        _geofence(reading, thresholds, resident.home, states.get(POSITION, NO_BREACH), received_at, result)

    if kind == "low_battery" or (reading.battery_pct is not None and reading.battery_pct <= thresholds.low_battery_pct):
        value = f"{reading.battery_pct}%" if reading.battery_pct is not None else "low"
        result.drafts.append(AlertDraft(AlertKind.low_battery, Severity.info, value))
    elif reading.battery_pct is not None:
        result.clears.append(AlertKind.low_battery)
    return result


def _geofence(
    reading: ReadingFacts,
    t: Thresholds,
    home: tuple[float, float],
    outside: Breach,
    received_at: datetime | None,
    result: Evaluation,
) -> None:
    """Outside the home fence is a state, not a crossing: every fix outside counts, in a window or not.
    An exit needs `geofence_fixes` fixes outside in a row, or one accurate enough to be clearly out
    (GPS drift at the door pages nobody); a fix older than the last one outside, or than
    `stale_fix_minutes` when it arrived, changes nothing (watches buffer fixes while offline)."""
    assert reading.latitude is not None and reading.longitude is not None
    if outside.since is not None and reading.recorded_at <= outside.since:
        return  # late, out of order
    stale = received_at is not None and received_at - reading.recorded_at > timedelta(minutes=t.stale_fix_minutes)
    away = distance_m(home, (reading.latitude, reading.longitude))
    if away <= t.geofence_radius_m:
        if not stale:
            result.clears.append(AlertKind.left_geofence)
            result.states[POSITION] = NO_BREACH
        return
    streak = Breach(since=reading.recorded_at, count=outside.count + 1)
    result.states[POSITION] = streak
    sure = reading.accuracy_m is not None and reading.accuracy_m <= t.geofence_sure_accuracy_m
    clearly_out = sure and away - (reading.accuracy_m or 0) > t.geofence_radius_m
    if not stale and (streak.count >= t.geofence_fixes or clearly_out):
        result.drafts.append(AlertDraft(AlertKind.left_geofence, Severity.high, f"{away:.0f} m from home"))


def is_silent(
    *,
    last_seen_at: datetime,
    interval_seconds: int,
    grace_minutes: int,
    now: datetime,
    silent_after_minutes: int | None = None,
) -> bool:
    """No reading for the model's own limit (its profile's), else for twice the reporting interval plus grace.

    A watch reporting every 10 minutes and a pendant every hour are not silent at the same moment."""
    if silent_after_minutes is not None:
        return now - last_seen_at > timedelta(minutes=silent_after_minutes)
    return now - last_seen_at > timedelta(seconds=2 * interval_seconds, minutes=grace_minutes)


def silent_severity(resident: ResidentFacts) -> Severity:
    """Silence matters more for someone nobody else would notice."""
    return Severity.high if resident.living_alone else Severity.medium
