"""What fields, values, alert kinds and outcomes are called: msgids looked up in the catalog.

The words themselves live in the gettext catalogs (`carecommon/locale`); these tables only say
which msgid names which field or value, so screens, SMS and error messages name them alike.
"""

from carecommon.i18n import N_, gettext

FIELD_NAMES: dict[str, str] = {
    "name": N_("Name"),
    "gender": N_("Gender"),
    "birth_date": N_("Birth date"),
    "national_id": N_("ID number"),
    "phone": N_("Phone"),
    "address": N_("Address"),
    "latitude": N_("Latitude"),
    "longitude": N_("Longitude"),
    "care_level": N_("Care level"),
    "living_situation": N_("Living situation"),
    "conditions": N_("Conditions"),
    "allergies": N_("Allergies"),
    "medications": N_("Medications"),
    "mobility": N_("Mobility"),
    "dementia": N_("Dementia"),
    "wander_risk": N_("Wander risk"),
    "notes": N_("Notes"),
    "status": N_("Status"),
    "consent_health_data": N_("Consents to health data"),
    "consent_location_data": N_("Consents to location data"),
    "primary_worker_id": N_("Care worker (id)"),
    "daily_ok_checkin": N_("Daily OK check-in"),
    "relation": N_("Relation"),
    "language": N_("Language"),
    "priority": N_("Calling order"),
    "is_emergency_contact": N_("Emergency contact"),
    "sms_opt_in": N_("SMS"),
    "quiet_hours_start": N_("Quiet hours from"),
    "quiet_hours_end": N_("Quiet hours until"),
    "visit_updates": N_("Visit updates"),
    "username": N_("Username"),
    "password": N_("Password"),
    "role": N_("Role"),
    "active": N_("Employed"),
    "kind": N_("Kind"),
    "serial": N_("Serial / IMEI"),
    "model": N_("Model"),
    "reporting_interval_seconds": N_("Reporting interval (s)"),
    "resident_id": N_("Resident (id)"),
    "battery_pct": N_("Battery %"),
    "last_seen_at": N_("Last seen"),
    "silent": N_("Silent"),
    "revoked_at": N_("Revoked"),
    "systolic": N_("Systolic"),
    "diastolic": N_("Diastolic"),
    "heart_rate": N_("Heart rate"),
    "temperature": N_("Temperature"),
    "blood_glucose": N_("Blood glucose"),
}
VALUE_NAMES: dict[str, str] = {
    "care_worker": N_("Care worker"),
    "manager": N_("Manager"),
    "admin": N_("Admin"),
    "female": N_("Female"),
    "male": N_("Male"),
    "self_care": N_("Self-care"),
    "semi_dependent": N_("Semi-dependent"),
    "dependent": N_("Dependent"),
    "alone": N_("Alone"),
    "with_spouse": N_("With spouse"),
    "with_family": N_("With family"),
    "independent": N_("Independent"),
    "walking_aid": N_("Walking aid"),
    "wheelchair": N_("Wheelchair"),
    "bedridden": N_("Bedridden"),
    "active": N_("Active"),
    "hospitalized": N_("In hospital"),
    "moved_out": N_("Moved out"),
    "deceased": N_("Deceased"),
    "spouse": N_("Spouse"),
    "son": N_("Son"),
    "daughter": N_("Daughter"),
    "son_in_law": N_("Son-in-law"),
    "daughter_in_law": N_("Daughter-in-law"),
    "grandchild": N_("Grandchild"),
    "sibling": N_("Sibling"),
    "relative": N_("Relative"),
    "neighbor": N_("Neighbour"),
    "friend": N_("Friend"),
    "other": N_("Other"),
    "opted_in": N_("Receives SMS"),
    "opted_out": N_("Opted out"),
    "open": N_("Open"),
    "acknowledged": N_("Acknowledged"),
    "resolved": N_("Resolved"),
    "cancelled": N_("Cancelled"),
    "auto_cleared": N_("Cleared"),
    "watch": N_("Watch"),
    "pendant": N_("Pendant"),
    "bed_sensor": N_("Bed sensor"),
    "door_sensor": N_("Door sensor"),
    "gateway": N_("Gateway"),
    "scheduled": N_("Scheduled"),
    "in_progress": N_("In progress"),
    "completed": N_("Completed"),
    "missed": N_("Missed"),
    "queued": N_("queued"),
    "sending": N_("sending"),
    "retrying": N_("retrying"),
    "sent": N_("sent"),
    "delivered": N_("delivered"),
    "undelivered": N_("undelivered"),
    "failed": N_("failed"),
    "suppressed": N_("not sent"),
    "bathing": N_("Bathing"),
    "meals": N_("Meals"),
    "medication": N_("Medication"),
    "health_check": N_("Health check"),
    "cleaning": N_("Cleaning"),
    "companionship": N_("Companionship"),
    "shopping": N_("Shopping"),
    "late": N_("Late"),
}
ALERT_KINDS: dict[str, str] = {
    "sos": N_("SOS call"),
    "fall": N_("possible fall"),
    "heart_rate_high": N_("high heart rate"),
    "heart_rate_low": N_("low heart rate"),
    "spo2_low": N_("low blood oxygen"),
    "blood_pressure_high": N_("high blood pressure"),
    "blood_pressure_low": N_("low blood pressure"),
    "temperature_high": N_("high temperature"),
    "temperature_low": N_("low temperature"),
    "left_geofence": N_("left the safe area"),
    "device_silent": N_("device silent"),
    "missed_ok_checkin": N_("missed daily OK check-in"),
    "low_battery": N_("low device battery"),
    "watch_removed": N_("watch taken off"),
}
OUTCOMES: dict[str, str] = {
    "false_alarm": N_("false alarm"),
    "handled_at_home": N_("handled at home"),
    "hospital_transfer": N_("taken to hospital"),
    "other": N_("handled"),
}


def field_name(field: str, language: str | None) -> str:
    """A form or API field as the user's language calls it ("phone" -> "电话")."""
    return gettext(FIELD_NAMES[field], language) if field in FIELD_NAMES else field.replace("_", " ")


def value_name(value: object, language: str | None) -> str:
    """An enum value, status or service as words ("in_progress" -> "服务中"); unknown values as they are."""
    key = str(getattr(value, "value", value))
    return gettext(VALUE_NAMES[key], language) if key in VALUE_NAMES else key


def alert_kind_name(kind: str, language: str | None) -> str:
    return gettext(ALERT_KINDS[kind], language) if kind in ALERT_KINDS else kind


def outcome_name(outcome: str, language: str | None) -> str:
    return gettext(OUTCOMES[outcome], language) if outcome in OUTCOMES else outcome
