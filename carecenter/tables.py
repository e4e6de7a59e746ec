"""Imports every table so that `SQLModel.metadata` is complete (Alembic, tests)."""

from sqlmodel import SQLModel

from carecenter.alerts.models import Alert, AlertEvent, EscalationPolicy, RuleState
from carecenter.assessments.models import Assessment
from carecenter.audit.models import AuditEvent
from carecenter.auth.models import ApiClient, LoginFailure
from carecenter.catalogue.models import ServiceOffering
from carecenter.centers.models import Center
from carecenter.devices.models import Device
from carecenter.duty.models import DutyShift, DutyShiftStaff
from carecenter.exports.models import MonthExport
from carecenter.health.models import ProcessBeat, SweepRun, SystemProblem
from carecenter.readings.models import Reading, ReadingHourly, ReadingKey
from carecenter.residents.models import FamilyContact, Resident
from carecenter.residents.sharing import FamilyLink
from carecenter.service_records.models import MonthClose, ServiceRecord
from carecenter.staff.models import Staff
from carecenter.staff.sessions import AuthSession
from carecenter.subsidies.models import Eligibility, SubsidyRule
from carecenter.visits.models import CarePlan, ClientAction, Visit, VisitPhoto
from notifications.models import ResponseLink, ResponseLinkAnswer, SmsMessage, SmsRecipient

metadata = SQLModel.metadata

__all__ = [
    "Alert",
    "AlertEvent",
    "ApiClient",
    "Assessment",
    "AuditEvent",
    "AuthSession",
    "CarePlan",
    "Center",
    "ClientAction",
    "Device",
    "DutyShift",
    "DutyShiftStaff",
    "Eligibility",
    "EscalationPolicy",
    "FamilyContact",
    "FamilyLink",
    "LoginFailure",
    "MonthClose",
    "MonthExport",
    "ProcessBeat",
    "Reading",
    "ReadingHourly",
    "ReadingKey",
    "Resident",
    "ResponseLink",
    "ResponseLinkAnswer",
    "RuleState",
    "ServiceOffering",
    "ServiceRecord",
    "SmsMessage",
    "SmsRecipient",
    "Staff",
    "SubsidyRule",
    "SweepRun",
    "SystemProblem",
    "Visit",
    "VisitPhoto",
    "metadata",
]
