"""What each alert kind and outcome is called, in zh-CN and en (SMS and screens)."""

from carecenter.alerts.models import AlertKind, Outcome

KIND_LABELS: dict[str, dict[str, str]] = {
    AlertKind.sos: {"zh-CN": "SOS紧急呼救", "en": "SOS call"},
    AlertKind.fall: {"zh-CN": "疑似跌倒", "en": "possible fall"},
    AlertKind.heart_rate_high: {"zh-CN": "心率过高", "en": "high heart rate"},
    AlertKind.heart_rate_low: {"zh-CN": "心率过低", "en": "low heart rate"},
    AlertKind.spo2_low: {"zh-CN": "血氧偏低", "en": "low blood oxygen"},
    AlertKind.blood_pressure_high: {"zh-CN": "血压过高", "en": "high blood pressure"},
    AlertKind.blood_pressure_low: {"zh-CN": "血压过低", "en": "low blood pressure"},
    AlertKind.temperature_high: {"zh-CN": "体温过高", "en": "high temperature"},
    AlertKind.temperature_low: {"zh-CN": "体温过低", "en": "low temperature"},
    AlertKind.left_geofence: {"zh-CN": "离开安全区域", "en": "left the safe area"},
    AlertKind.device_silent: {"zh-CN": "设备长时间无信号", "en": "device silent"},
    AlertKind.missed_ok_checkin: {"zh-CN": "未按时报平安", "en": "missed daily OK check-in"},
    AlertKind.low_battery: {"zh-CN": "设备电量低", "en": "low device battery"},
}
OUTCOME_LABELS: dict[str, dict[str, str]] = {
    Outcome.false_alarm: {"zh-CN": "误报", "en": "false alarm"},
    Outcome.handled_at_home: {"zh-CN": "已在家中处置", "en": "handled at home"},
    Outcome.hospital_transfer: {"zh-CN": "已送医", "en": "taken to hospital"},
    Outcome.other: {"zh-CN": "已处理", "en": "handled"},
}


def label(table: dict[str, dict[str, str]], key: str, language: str) -> str:
    names = table.get(key, {})
    return names.get(language) or names.get("zh-CN") or key
