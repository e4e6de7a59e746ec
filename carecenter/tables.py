"""Imports every table so that `SQLModel.metadata` is complete (Alembic, tests)."""

from sqlmodel import SQLModel

from carecenter.alerts.models import Alert, AlertEvent, EscalationPolicy, RuleState
from carecenter.audit.models import AuditEvent
from carecenter.auth.models import AuthSession, LoginFailure
from carecenter.centers.models import Center
from carecenter.devices.models import Device
from carecenter.duty.models import DutyShift, DutyShiftStaff
from carecenter.family.models import FamilyLink
from carecenter.readings.models import Reading
from carecenter.residents.models import FamilyContact, Resident
from carecenter.staff.models import Staff
from carecenter.visits.models import CarePlan, Visit
from notifications.models import ResponseLink, ResponseLinkAnswer, SmsMessage, SmsRecipient

metadata = SQLModel.metadata

__all__ = [
    "Alert",
    "AlertEvent",
    "AuditEvent",
    "AuthSession",
    "CarePlan",
    "Center",
    "Device",
    "DutyShift",
    "DutyShiftStaff",
    "EscalationPolicy",
    "FamilyContact",
    "FamilyLink",
    "LoginFailure",
    "Reading",
    "Resident",
    "ResponseLink",
    "ResponseLinkAnswer",
    "RuleState",
    "SmsMessage",
    "SmsRecipient",
    "Staff",
    "Visit",
    "metadata",
]
