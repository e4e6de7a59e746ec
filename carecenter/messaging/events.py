"""How the domain core reacts to what the SMS channel reports."""

from datetime import datetime

from sqlalchemy import update
from sqlmodel import Session, col

from carecenter.residents.models import FamilyContact, SmsOptIn
from notifications.models import ResponseLink, SmsMessage


class DomainSmsEvents:
    """The SmsEvents the app registers. Alert acknowledgement and escalation plug in here."""

    def message_not_reached(self, *, session: Session, message: SmsMessage, now: datetime) -> None:
        return None  # the escalation policy reacts to this once alerts exist

    def number_unreachable(self, *, session: Session, phone: str, code: int | None, now: datetime) -> None:
        session.execute(
            update(FamilyContact)
            .where(col(FamilyContact.phone) == phone)
            .values(unreachable_at=now, unreachable_code=code)
        )

    def opt_out_changed(self, *, session: Session, phone: str, opted_out: bool, now: datetime) -> None:
        state = SmsOptIn.opted_out if opted_out else SmsOptIn.opted_in
        session.execute(update(FamilyContact).where(col(FamilyContact.phone) == phone).values(sms_opt_in=state))

    def acknowledge_by_sms(self, *, session: Session, phone: str, code: str | None, now: datetime) -> str | None:
        return None  # no alerts yet: "nothing pending"

    def link_answered(self, *, session: Session, link: ResponseLink, answer: str, now: datetime) -> None:
        return None
