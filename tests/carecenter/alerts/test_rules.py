"""The rules on their own, at their boundaries."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from carecenter.alerts.models import AlertKind, Severity
from carecenter.alerts.rules import NO_BREACH, Breach, ReadingFacts, ResidentFacts, evaluate, is_silent, silent_severity
from carecenter.geo import distance_m
from carecenter.thresholds import ThresholdOverrides, Thresholds, effective_thresholds

T0 = datetime(2026, 11, 24, 2, 0, tzinfo=UTC)
DEFAULTS = Thresholds()
HOME = (39.7634, 116.2108)


def reading(kind: str = "vitals", at: datetime = T0, **values: float) -> ReadingFacts:
    return ReadingFacts(kind=kind, recorded_at=at, **values)  # type: ignore[arg-type]


def kinds(drafts: list) -> list[AlertKind]:  # type: ignore[type-arg]
    return [d.kind for d in drafts]


def test_sos_and_fall_are_critical_at_once() -> None:
    for kind, expected in (("sos", AlertKind.sos), ("fall", AlertKind.fall)):
        result = evaluate(reading(kind), DEFAULTS, ResidentFacts(), {})
        assert [(d.kind, d.severity) for d in result.drafts] == [(expected, Severity.critical)]


def test_the_ok_button_cancels_falls_and_counts_as_the_daily_check_in() -> None:
    result = evaluate(reading("ok_button"), DEFAULTS, ResidentFacts(), {})
    assert result.cancels == [AlertKind.fall]
    assert AlertKind.missed_ok_checkin in result.clears


@pytest.mark.parametrize(("heart_rate", "breached"), [(130, False), (131, True), (40, False), (39, True)])
def test_heart_rate_threshold_boundaries(heart_rate: int, breached: bool) -> None:
    result = evaluate(
        reading(heart_rate=heart_rate), DEFAULTS.model_copy(update={"sustain_readings": 1}), ResidentFacts(), {}
    )
    assert bool(result.drafts) == breached


def test_a_vital_must_stay_out_of_range_for_n_readings() -> None:
    t = DEFAULTS.model_copy(update={"sustain_readings": 3, "sustain_minutes": 0})
    state: dict[str, Breach] = {}
    fired = []
    for minute in range(3):
        result = evaluate(reading(at=T0 + timedelta(minutes=minute), heart_rate=150), t, ResidentFacts(), state)
        state.update(result.states)
        fired.append(kinds(result.drafts))
    assert fired == [[], [], [AlertKind.heart_rate_high]]
    assert state["heart_rate_high"] == Breach(since=T0, count=3)


def test_or_for_n_minutes() -> None:
    t = DEFAULTS.model_copy(update={"sustain_readings": 10, "sustain_minutes": 5})
    first = evaluate(reading(spo2=85), t, ResidentFacts(), {})
    assert first.drafts == []
    almost = evaluate(reading(at=T0 + timedelta(minutes=4, seconds=59), spo2=85), t, ResidentFacts(), first.states)
    assert almost.drafts == []
    later = evaluate(reading(at=T0 + timedelta(minutes=5), spo2=85), t, ResidentFacts(), almost.states)
    assert [(d.kind, d.severity, d.value) for d in later.drafts] == [(AlertKind.spo2_low, Severity.high, "SpO2 85%")]


def test_a_normal_reading_resets_the_count_and_clears_the_condition() -> None:
    result = evaluate(reading(heart_rate=80), DEFAULTS, ResidentFacts(), {"heart_rate_high": Breach(T0, 2)})
    assert result.states["heart_rate_high"] == NO_BREACH
    assert AlertKind.heart_rate_high in result.clears


def test_blood_pressure_and_temperature() -> None:
    t = DEFAULTS.model_copy(update={"sustain_readings": 1})
    assert kinds(evaluate(reading(systolic=181, diastolic=90), t, ResidentFacts(), {}).drafts) == [
        AlertKind.blood_pressure_high
    ]
    assert kinds(evaluate(reading(systolic=150, diastolic=111), t, ResidentFacts(), {}).drafts) == [
        AlertKind.blood_pressure_high
    ]
    assert kinds(evaluate(reading(systolic=84, diastolic=50), t, ResidentFacts(), {}).drafts) == [
        AlertKind.blood_pressure_low
    ]
    assert kinds(evaluate(reading(temperature=38.6), t, ResidentFacts(), {}).drafts) == [AlertKind.temperature_high]
    assert evaluate(reading(temperature=38.5), t, ResidentFacts(), {}).drafts == []


def test_geofence_only_for_wander_risk_residents() -> None:
    wanderer = ResidentFacts(wander_risk=True, home=HOME)
    near = (HOME[0] + 0.004, HOME[1])  # about 445 m north
    far = (HOME[0] + 0.005, HOME[1])  # about 556 m north
    assert 440 < distance_m(HOME, near) < 450 and 550 < distance_m(HOME, far) < 560
    assert evaluate(reading("location", latitude=near[0], longitude=near[1]), DEFAULTS, wanderer, {}).drafts == []
    first = evaluate(reading("location", latitude=far[0], longitude=far[1]), DEFAULTS, wanderer, {})
    assert first.drafts == []  # one fix outside may be drift at the door
    later = reading("location", at=T0 + timedelta(minutes=1), latitude=far[0], longitude=far[1])
    away = evaluate(later, DEFAULTS, wanderer, first.states)
    assert [(d.kind, d.severity) for d in away.drafts] == [(AlertKind.left_geofence, Severity.high)]
    assert (
        evaluate(reading("location", latitude=far[0], longitude=far[1]), DEFAULTS, ResidentFacts(home=HOME), {}).drafts
        == []
    )


def test_low_battery_is_information_for_the_care_worker() -> None:
    assert [
        (d.kind, d.severity)
        for d in evaluate(reading("heartbeat", battery_pct=15), DEFAULTS, ResidentFacts(), {}).drafts
    ] == [(AlertKind.low_battery, Severity.info)]
    assert evaluate(reading("heartbeat", battery_pct=16), DEFAULTS, ResidentFacts(), {}).drafts == []
    assert kinds(evaluate(reading("low_battery"), DEFAULTS, ResidentFacts(), {}).drafts) == [AlertKind.low_battery]


def test_any_reading_ends_a_silence() -> None:
    assert AlertKind.device_silent in evaluate(reading("heartbeat"), DEFAULTS, ResidentFacts(), {}).clears


def test_silence_is_twice_the_interval_plus_grace() -> None:
    limit = timedelta(seconds=600, minutes=10)  # 2 x 300 s + 10 min
    assert not is_silent(last_seen_at=T0, now=T0 + limit, interval_seconds=300, grace_minutes=10)
    assert is_silent(last_seen_at=T0, now=T0 + limit + timedelta(seconds=1), interval_seconds=300, grace_minutes=10)
    assert silent_severity(ResidentFacts(living_alone=True)) == Severity.high
    assert silent_severity(ResidentFacts()) == Severity.medium


def test_resident_overrides_beat_center_defaults() -> None:
    center = Thresholds(heart_rate_high=120).model_dump(mode="json")
    resident = ThresholdOverrides(heart_rate_high=140).model_dump(exclude_none=True)
    assert effective_thresholds(center, resident).heart_rate_high == 140
    assert effective_thresholds(center, None).heart_rate_high == 120
    assert effective_thresholds(None, None) == Thresholds()


def test_an_exit_needs_two_fixes_or_one_clearly_out_and_never_an_old_one() -> None:
    wanderer = ResidentFacts(wander_risk=True, home=HOME)
    far = (HOME[0] + 0.01, HOME[1])  # about 1.1 km north

    def fix(minutes: float, accuracy: float | None = None) -> ReadingFacts:
        values: dict[str, float] = {"latitude": far[0], "longitude": far[1]}
        if accuracy is not None:
            values["accuracy_m"] = accuracy
        return reading("location", at=T0 + timedelta(minutes=minutes), **values)

    sure = evaluate(fix(0, accuracy=10), DEFAULTS, wanderer, {}, received_at=T0)
    assert kinds(sure.drafts) == [AlertKind.left_geofence]  # one accurate fix, clearly out
    vague = evaluate(fix(0, accuracy=800), DEFAULTS, wanderer, {}, received_at=T0)
    assert vague.drafts == []  # 800 m either way: it could be at the door
    old = evaluate(
        fix(0),
        DEFAULTS,
        wanderer,
        {"position": Breach(T0 - timedelta(minutes=5), 1)},
        received_at=T0 + timedelta(hours=1),
    )
    assert old.drafts == []  # buffered while offline: an hour old when it arrived
    streak = {"position": Breach(T0 + timedelta(minutes=5), 1)}
    late = evaluate(fix(1), DEFAULTS, wanderer, streak, received_at=T0 + timedelta(minutes=6))
    assert late.drafts == [] and late.states == {}  # older than the last fix: changes nothing


def test_rules_limited_to_hours_and_a_stricter_band_at_night() -> None:
    zone = ZoneInfo("Asia/Shanghai")
    windows = Thresholds.model_validate(
        {
            "rule_windows": [
                {"start": "20:00", "end": "06:00", "kinds": ["left_geofence"]},
                {"start": "22:00", "end": "06:00", "thresholds": {"heart_rate_high": 100}, "weekdays": [1, 2, 3, 4, 5]},
            ],
            "sustain_readings": 1,
        }
    )
    wanderer = ResidentFacts(wander_risk=True, home=HOME)
    out = {"position": Breach(None, 1)}
    far = {"latitude": HOME[0] + 0.01, "longitude": HOME[1]}
    evening = datetime(2026, 12, 7, 19, 30, tzinfo=zone)  # a Monday
    day = evaluate(reading("location", at=evening, **far), windows, wanderer, out, local=evening)
    assert day.drafts == []  # outside, but the geofence only watches at night
    night = evening + timedelta(minutes=45)
    assert kinds(evaluate(reading("location", at=night, **far), windows, wanderer, day.states, local=night).drafts) == [
        AlertKind.left_geofence
    ]  # still outside when the window opened: a state, not a crossing
    asleep = datetime(2026, 12, 7, 23, 0, tzinfo=zone)
    assert kinds(evaluate(reading(heart_rate=110, at=asleep), windows, ResidentFacts(), {}, local=asleep).drafts) == [
        AlertKind.heart_rate_high
    ]
    noon = datetime(2026, 12, 7, 12, 0, tzinfo=zone)
    assert evaluate(reading(heart_rate=110, at=noon), windows, ResidentFacts(), {}, local=noon).drafts == []
    saturday_night = datetime(2026, 12, 12, 23, 0, tzinfo=zone)
    assert evaluate(reading(heart_rate=110), windows, ResidentFacts(), {}, local=saturday_night).drafts == []
