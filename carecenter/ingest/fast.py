"""The check-in writer's hot path in compiled code (msgspec), the documented models for the rest.

A reading that is plainly valid (every field as `ReadingIn` states it, the time in the usual
ISO 8601 form) is checked by msgspec, several times faster than pydantic. Anything msgspec
refuses, or might read differently (a whole number written `95.0`, a date-time in an unusual
form), goes to `ReadingIn`, which accepts or refuses it with the messages it always gave. So the
fast path only ever accepts what the model accepts.

Answers are msgspec structs too, encoded straight to JSON; `BatchItemAnswer` stays their
documented schema.
"""

import re
from datetime import datetime
from typing import Annotated, Any

import msgspec
from msgspec import Meta

from carecenter.readings.models import CheckinResult, ReadingIn, ReadingKind

# Both parsers read this form the same way; any other form is left to pydantic.
_PLAIN_INSTANT = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,6})?(?:Z|[+-]\d{2}:\d{2})")


class FastReading(msgspec.Struct, forbid_unknown_fields=True, gc=False):
    """`ReadingIn`'s rules (models.py): keep the two in step (tests/carecenter/readings/test_fast.py).

    Not tracked by the garbage collector (`gc=False`): its fields are text, numbers and times, which
    cannot refer back to it, and a batch builds a thousand, each of which a young collection would
    otherwise walk and promote."""

    event_id: Annotated[str, Meta(min_length=1, max_length=64)]
    kind: ReadingKind
    recorded_at: Annotated[datetime, Meta(tz=True)]
    device: Annotated[str, Meta(max_length=64)] | None = None
    heart_rate: Annotated[int, Meta(ge=20, le=250)] | None = None
    spo2: Annotated[int, Meta(ge=50, le=100)] | None = None
    systolic: Annotated[int, Meta(ge=40, le=300)] | None = None
    diastolic: Annotated[int, Meta(ge=20, le=200)] | None = None
    temperature: Annotated[float, Meta(ge=30, le=45)] | None = None
    steps: Annotated[int, Meta(ge=0, le=200_000)] | None = None
    latitude: Annotated[float, Meta(ge=-90, le=90)] | None = None
    longitude: Annotated[float, Meta(ge=-180, le=180)] | None = None
    accuracy_m: Annotated[float, Meta(ge=0, le=100_000)] | None = None
    battery_pct: Annotated[int, Meta(ge=0, le=100)] | None = None


Valid = ReadingIn | FastReading


def plainly_valid(raw: Any) -> FastReading | None:
    """The reading, if msgspec reads it as `ReadingIn` would; None leaves the decision to the model."""
    if isinstance(raw, dict) and isinstance(at := raw.get("recorded_at"), str) and _PLAIN_INSTANT.fullmatch(at):
        try:
            item = msgspec.convert(raw, FastReading, strict=True)
        except msgspec.ValidationError:
            return None  # refused, or a form only pydantic reads: it decides, and says why
        if 1 < item.recorded_at.year < 9999:  # at the calendar's edges the model clamps (fields.within_utc)
            return item
    return None


def validate_reading(raw: Any) -> Valid:
    """The reading, checked; raises pydantic's ValidationError (with its messages) if invalid."""
    item = plainly_valid(raw)
    return item if item is not None else ReadingIn.model_validate(raw)


class ItemAnswer(msgspec.Struct, kw_only=True, gc=False):
    """One reading's answer (schema: `BatchItemAnswer`, fields in its order); untracked like `FastReading`."""

    result: CheckinResult
    event_id: str | None = None
    reading_id: int | None = None
    alert_id: int | None = None
    reason: str | None = None
    index: int


def batch_answer_json(answers: list[ItemAnswer]) -> bytes:
    """`BatchAnswer` as JSON, without a model object per item."""
    counts = {result: 0 for result in CheckinResult}
    for answer in answers:
        counts[answer.result] += 1
    return msgspec.json.encode(
        {
            "accepted": counts[CheckinResult.accepted],
            "duplicate": counts[CheckinResult.duplicate],
            "rejected": counts[CheckinResult.rejected],
            "results": answers,
        }
    )
