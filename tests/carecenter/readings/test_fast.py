"""The compiled fast path accepts exactly what the documented model accepts, with the same values."""

import math
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from carecenter.ingest.fast import FastReading, validate_reading
from carecenter.readings.models import ReadingIn

FIELDS = [name for name in ReadingIn.model_fields]


def by_model(raw: Any) -> dict[str, Any] | None:
    try:
        return ReadingIn.model_validate(raw).model_dump()
    except ValidationError:
        return None


def by_fast_path(raw: Any) -> dict[str, Any] | None:
    try:
        item = validate_reading(raw)
    except ValidationError:
        return None
    return {name: getattr(item, name) for name in FIELDS}


def test_the_struct_states_the_models_fields() -> None:
    assert set(FastReading.__struct_fields__) == set(FIELDS)


BASE = {"event_id": "e-1", "kind": "vitals", "recorded_at": "2026-12-01T10:00:00Z"}
CASES: list[Any] = [
    BASE,
    BASE | {"heart_rate": 72, "spo2": 97, "temperature": 36.6, "latitude": 39.9, "longitude": 116.4},
    BASE | {"heart_rate": 95.0},  # a whole number written as a float: the model's rule
    BASE | {"heart_rate": 95.5},
    BASE | {"heart_rate": True},
    BASE | {"heart_rate": "95"},
    BASE | {"temperature": 36},
    BASE | {"temperature": math.nan},
    BASE | {"temperature": math.inf},
    BASE | {"temperature": True},
    BASE | {"spo2": 49},
    BASE | {"spo2": 100},
    BASE | {"battery_pct": -1},
    BASE | {"steps": 200_000},
    BASE | {"device": None},
    BASE | {"device": "x" * 64},
    BASE | {"device": "x" * 65},
    BASE | {"event_id": ""},
    BASE | {"event_id": "长" * 64},
    BASE | {"event_id": "长" * 65},
    BASE | {"event_id": 5},
    BASE | {"kind": "teleport"},
    BASE | {"colour": "red"},
    BASE | {"recorded_at": "2026-12-01T10:00:00"},
    BASE | {"recorded_at": "2026-12-01T10:00:00z"},
    BASE | {"recorded_at": "2026-12-01 10:00:00+08:00"},
    BASE | {"recorded_at": "2026-12-01T10:00:00.1234567Z"},
    BASE | {"recorded_at": "2026-12-01T10:00:00.123456+08:00"},
    BASE | {"recorded_at": "2026-12-01T10:00:00+0800"},
    BASE | {"recorded_at": "2026-12-01T24:00:00Z"},
    BASE | {"recorded_at": "2026-02-30T10:00:00Z"},
    BASE | {"recorded_at": "0001-01-01T00:00:00+03:00"},
    BASE | {"recorded_at": "2026-W48-2T10:00:00Z"},
    BASE | {"recorded_at": 1764583200},
    {"event_id": "e-1", "kind": "vitals"},
    "not even an object",
    None,
    [BASE],
]


@pytest.mark.parametrize("raw", CASES)
def test_each_case_is_decided_as_the_model_decides(raw: Any) -> None:
    assert by_fast_path(raw) == by_model(raw)


NUMBERS = st.one_of(
    st.integers(-10, 300_000),
    st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(),
    st.none(),
    st.text(max_size=3),
)
TIMES = st.one_of(
    st.datetimes(timezones=st.timezones()).map(lambda d: d.isoformat()),
    st.datetimes().map(lambda d: d.isoformat()),
    st.text(max_size=30),
)
READINGS = st.fixed_dictionaries(
    {
        "event_id": st.text(max_size=70),
        "kind": st.sampled_from(["sos", "vitals", "fall", "nope"]),
        "recorded_at": TIMES,
    },
    optional={name: NUMBERS for name in FIELDS if name not in ("event_id", "kind", "recorded_at", "device")}
    | {"device": st.one_of(st.none(), st.text(max_size=70)), "extra": st.just(1)},
)


@settings(max_examples=400, deadline=None)
@given(READINGS)
def test_any_reading_is_decided_as_the_model_decides(raw: dict[str, Any]) -> None:
    assert by_fast_path(raw) == by_model(raw)
