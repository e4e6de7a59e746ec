"""HTML forms generated from the same models the JSON API validates with.

One way to edit records in the UI: fields come from the `XCreate` / `XUpdate` model, a posted
form is validated by that model, and each error is shown next to its field (what was typed is
kept, nothing is saved).
"""

import datetime as dt
import enum
import types
import typing
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ValidationError

from carecenter.errors import field_errors
from carecenter.words import field_name, value_name

SKIPPED = {"center_id", "alert_thresholds"}


@dataclass
class FormField:
    name: str
    label: str
    kind: str  # text, number, date, time, select, checkbox, textarea, password
    options: list[tuple[str, str]] = field(default_factory=list)
    value: str = ""
    required: bool = False


def _base_type(annotation: Any) -> Any:
    """`int | None` -> int, `Annotated[str, …]` -> str."""
    while True:
        origin = typing.get_origin(annotation)
        if origin is typing.Annotated:
            annotation = typing.get_args(annotation)[0]
        elif origin in (typing.Union, types.UnionType):
            annotation = next(a for a in typing.get_args(annotation) if a is not type(None))
        else:
            return annotation


def _display(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, enum.Enum):
        return str(value.value)
    if isinstance(value, dt.time):
        return value.strftime("%H:%M")
    return str(value)


def form_fields(model: type[BaseModel], language: str, values: dict[str, Any] | None = None) -> list[FormField]:
    values = values or {}
    fields = []
    for name, info in model.model_fields.items():
        if name in SKIPPED:
            continue
        base = _base_type(info.annotation)
        label = field_name(name, language)
        kind, options = "text", []
        if isinstance(base, type) and issubclass(base, enum.Enum):
            kind, options = "select", [(m.value, value_name(m.value, language)) for m in base]
        elif base is bool:
            kind = "checkbox"
        elif base in (int, float):
            kind = "number"
        elif base is dt.date:
            kind = "date"
        elif base is dt.time:
            kind = "time"
        elif name in ("notes", "conditions", "medications", "alarm_codes"):
            kind = "textarea"
        elif name == "password":
            kind = "password"
        value = values.get(name, info.default if info.default is not None and not callable(info.default) else "")
        fields.append(
            FormField(
                name,
                label,
                kind,
                options,
                _display(value) if kind != "checkbox" else ("1" if value is True or value == "1" else ""),
                info.is_required(),
            )
        )
    return fields


M = typing.TypeVar("M", bound=BaseModel)


def parse(model: type[M], form: dict[str, str], *, partial: bool, language: str) -> tuple[M | None, dict[str, str]]:
    """The posted form as the model, or the errors by field. Empty fields are left out."""
    data: dict[str, Any] = {}
    for name, info in model.model_fields.items():
        if name in SKIPPED:
            continue
        base = _base_type(info.annotation)
        raw = form.get(name, "").strip()
        if base is bool:
            data[name] = raw == "1"
        elif raw or (not partial and info.is_required()):
            data[name] = raw
    if partial:  # an edit form sends every field: keep only what is filled in (booleans always)
        data = {k: v for k, v in data.items() if v != ""}
    try:
        return model.model_validate(data), {}
    except ValidationError as exc:
        return None, field_errors(exc.errors(include_url=False), language)
