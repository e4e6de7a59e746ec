"""Imports every table so that `SQLModel.metadata` is complete (Alembic, tests)."""

from sqlmodel import SQLModel

from carecenter.audit.models import AuditEvent
from carecenter.auth.models import AuthSession, LoginFailure
from carecenter.centers.models import Center
from carecenter.residents.models import FamilyContact, Resident
from carecenter.staff.models import Staff
from notifications.models import ResponseLink, ResponseLinkAnswer, SmsMessage, SmsRecipient

metadata = SQLModel.metadata

__all__ = [
    "AuditEvent",
    "AuthSession",
    "Center",
    "FamilyContact",
    "LoginFailure",
    "Resident",
    "ResponseLink",
    "ResponseLinkAnswer",
    "SmsMessage",
    "SmsRecipient",
    "Staff",
    "metadata",
]
