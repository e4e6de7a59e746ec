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

from carecenter.web.i18n import translate

FIELD_LABELS: dict[str, dict[str, str]] = {
    "name": {"zh-CN": "姓名", "en": "Name"},
    "gender": {"zh-CN": "性别", "en": "Gender"},
    "birth_date": {"zh-CN": "出生日期", "en": "Birth date"},
    "national_id": {"zh-CN": "身份证号", "en": "ID number"},
    "phone": {"zh-CN": "电话", "en": "Phone"},
    "address": {"zh-CN": "地址", "en": "Address"},
    "latitude": {"zh-CN": "纬度", "en": "Latitude"},
    "longitude": {"zh-CN": "经度", "en": "Longitude"},
    "care_level": {"zh-CN": "护理等级", "en": "Care level"},
    "living_situation": {"zh-CN": "居住情况", "en": "Living situation"},
    "conditions": {"zh-CN": "疾病史", "en": "Conditions"},
    "allergies": {"zh-CN": "过敏", "en": "Allergies"},
    "medications": {"zh-CN": "用药", "en": "Medications"},
    "mobility": {"zh-CN": "行动能力", "en": "Mobility"},
    "dementia": {"zh-CN": "认知障碍", "en": "Dementia"},
    "wander_risk": {"zh-CN": "走失风险", "en": "Wander risk"},
    "notes": {"zh-CN": "备注", "en": "Notes"},
    "status": {"zh-CN": "状态", "en": "Status"},
    "consent_health_data": {"zh-CN": "同意采集健康数据", "en": "Consents to health data"},
    "consent_location_data": {"zh-CN": "同意采集位置数据", "en": "Consents to location data"},
    "primary_worker_id": {"zh-CN": "负责护理员编号", "en": "Care worker (id)"},
    "daily_ok_checkin": {"zh-CN": "每日报平安", "en": "Daily OK check-in"},
    "relation": {"zh-CN": "关系", "en": "Relation"},
    "language": {"zh-CN": "语言", "en": "Language"},
    "priority": {"zh-CN": "联系顺序", "en": "Calling order"},
    "is_emergency_contact": {"zh-CN": "紧急联系人", "en": "Emergency contact"},
    "sms_opt_in": {"zh-CN": "短信", "en": "SMS"},
    "quiet_hours_start": {"zh-CN": "免打扰开始", "en": "Quiet hours from"},
    "quiet_hours_end": {"zh-CN": "免打扰结束", "en": "Quiet hours until"},
    "visit_updates": {"zh-CN": "上门完成通知", "en": "Visit updates"},
    "username": {"zh-CN": "用户名", "en": "Username"},
    "password": {"zh-CN": "密码", "en": "Password"},
    "role": {"zh-CN": "角色", "en": "Role"},
    "active": {"zh-CN": "在职", "en": "Active"},
    "kind": {"zh-CN": "类型", "en": "Kind"},
    "serial": {"zh-CN": "序列号/IMEI", "en": "Serial / IMEI"},
    "model": {"zh-CN": "型号", "en": "Model"},
    "reporting_interval_seconds": {"zh-CN": "上报间隔（秒）", "en": "Reporting interval (s)"},
    "resident_id": {"zh-CN": "老人编号", "en": "Resident (id)"},
    "battery_pct": {"zh-CN": "电量%", "en": "Battery %"},
    "last_seen_at": {"zh-CN": "最近上报", "en": "Last seen"},
    "silent": {"zh-CN": "无信号", "en": "Silent"},
    "revoked_at": {"zh-CN": "已停用", "en": "Revoked"},
}
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
        label = FIELD_LABELS.get(name, {}).get(language) or name.replace("_", " ")
        kind, options = "text", []
        if isinstance(base, type) and issubclass(base, enum.Enum):
            kind, options = "select", [(m.value, translate(m.value, language)) for m in base]
        elif base is bool:
            kind = "checkbox"
        elif base in (int, float):
            kind = "number"
        elif base is dt.date:
            kind = "date"
        elif base is dt.time:
            kind = "time"
        elif name in ("notes", "conditions", "medications"):
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


def parse(model: type[M], form: dict[str, str], *, partial: bool) -> tuple[M | None, dict[str, str]]:
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
        errors: dict[str, str] = {}
        for error in exc.errors():
            where = str(error["loc"][0]) if error["loc"] else "_"
            errors.setdefault(where, error["msg"])
        return None, errors
