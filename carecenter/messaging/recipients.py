"""Who a message is for: typed recipients, the groups an escalation step names, family SMS can reach."""

from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Literal

from sqlmodel import Session, col, select

from carecenter.access import Role
from carecenter.centers.models import Center
from carecenter.db import among
from carecenter.duty.service import on_duty_staff
from carecenter.residents.models import FamilyContact, Resident
from carecenter.staff.models import Staff
from notifications.models import LinkRole
from notifications.outbox import QuietHours, reachable_number

RecipientKind = Literal["staff", "contact"]


class Recipients(StrEnum):
    care_worker = "care_worker"  # the resident's primary care worker
    on_duty = "on_duty"  # staff on the duty roster now; the manager when nobody is
    manager = "manager"  # the center's managers
    first_family = "first_family"  # the first reachable family contact
    all_family = "all_family"  # every reachable family contact


@dataclass(frozen=True)
class RecipientRef:
    """A staff member or a family contact; the outbox row stores it as text ("staff:3")."""

    kind: RecipientKind
    id: int

    def __str__(self) -> str:
        return f"{self.kind}:{self.id}"

    @classmethod
    def parse(cls, text: str | None) -> "RecipientRef | None":
        """The ref an outbox row holds, or None for anything else (a test SMS to a bare number)."""
        kind, _, ident = (text or "").partition(":")
        if kind in ("staff", "contact") and ident.isdigit():
            return cls(kind, int(ident))  # type: ignore[arg-type]
        return None


@dataclass(frozen=True)
class Recipient:
    ref: RecipientRef
    phone: str
    language: str
    role: LinkRole
    quiet_hours: QuietHours | None = None
    openid: str | None = None  # a family contact's bound WeChat
    wechat_alerts: bool = False
    wechat_visits: bool = False


def staff_recipient(staff: Staff) -> Recipient:
    assert staff.id is not None
    return Recipient(RecipientRef("staff", staff.id), staff.phone, staff.language, LinkRole.staff)


def family_recipient(contact: FamilyContact, time_zone: str) -> Recipient:
    assert contact.id is not None
    quiet = None
    if contact.quiet_hours_start is not None and contact.quiet_hours_end is not None:
        quiet = QuietHours(contact.quiet_hours_start, contact.quiet_hours_end, time_zone)
    return Recipient(
        RecipientRef("contact", contact.id),
        contact.phone,
        contact.language,
        LinkRole.family,
        quiet,
        openid=contact.wechat_openid,
        wechat_alerts=contact.wechat_alerts,
        wechat_visits=contact.wechat_visits,
    )


def reachable_family(session: Session, resident_id: int, *, visit_updates: bool = False) -> list[FamilyContact]:
    """Family contacts SMS can reach, in calling order (opted-out and unusable numbers skipped);
    with `visit_updates`, only those who asked to hear of completed visits."""
    return reachable_families(session, [resident_id], visit_updates=visit_updates)[resident_id]


def reachable_families(
    session: Session, resident_ids: Collection[int], *, visit_updates: bool = False
) -> dict[int, list[FamilyContact]]:
    """`reachable_family` of several residents in one query (every one of them a key)."""
    found: dict[int, list[FamilyContact]] = {resident_id: [] for resident_id in resident_ids}
    if not found:
        return found
    stmt = select(FamilyContact).where(
        among(session, FamilyContact.resident_id, found), reachable_number(col(FamilyContact.phone))
    )
    if visit_updates:
        stmt = stmt.where(col(FamilyContact.visit_updates))
    order = (col(FamilyContact.resident_id), col(FamilyContact.priority), col(FamilyContact.id))
    for contact in session.exec(stmt.order_by(*order)):
        found[contact.resident_id].append(contact)
    return found


def managers(session: Session, center_id: int) -> list[Staff]:
    return list(
        session.exec(
            select(Staff)
            .where(Staff.center_id == center_id, Staff.role == Role.manager, Staff.active == True)  # noqa: E712
            .order_by(col(Staff.id))
        ).all()
    )


def resolve_groups(
    session: Session, *, resident: Resident, center: Center, groups: Iterable[Recipients], now: datetime
) -> dict[Recipients, list[Recipient]]:
    """The people each group names, each group looked up once."""
    return resolve_groups_of(session, [(resident, center, tuple(groups))], now=now)[0]


def resolve_groups_of(
    session: Session, wanted: Sequence[tuple[Resident, Center, Sequence[Recipients]]], *, now: datetime
) -> list[dict[Recipients, list[Recipient]]]:
    """`resolve_groups` for several residents (a burst of alerts): their family in one query."""
    family_groups = (Recipients.first_family, Recipients.all_family)
    families = reachable_families(
        session,
        {resident.id for resident, _, groups in wanted if resident.id is not None and set(groups) & set(family_groups)},
    )
    staff_of: dict[tuple[Recipients, int], list[Recipient]] = {}  # the center's on duty and managers, once
    resolved = []
    for resident, center, groups in wanted:
        found: dict[Recipients, list[Recipient]] = {}
        for group in groups:
            if group in found:
                continue
            people: list[Recipient] = []
            if group == Recipients.care_worker and resident.primary_worker_id is not None:
                worker = session.get(Staff, resident.primary_worker_id)
                people = [staff_recipient(worker)] if worker is not None and worker.active else []
            elif group in (Recipients.on_duty, Recipients.manager):
                assert center.id is not None
                if (group, center.id) not in staff_of:
                    staff = (
                        on_duty_staff(session=session, center_id=center.id, now=now)
                        if group == Recipients.on_duty
                        else []
                    )
                    staff = staff or managers(session, center.id)
                    staff_of[(group, center.id)] = [staff_recipient(s) for s in staff]
                people = staff_of[(group, center.id)]
            elif group in family_groups:
                assert resident.id is not None
                family = families[resident.id]
                family = family[:1] if group == Recipients.first_family else family
                people = [family_recipient(c, center.time_zone) for c in family]
            found[group] = people
        resolved.append(found)
    return resolved


def first_per_phone(people: Iterable[Recipient]) -> list[Recipient]:
    unique: dict[str, Recipient] = {}
    for recipient in people:
        unique.setdefault(recipient.phone, recipient)
    return list(unique.values())


def recipient_names(session: Session, refs: list[str | None]) -> dict[str, str]:
    """Outbox refs ("staff:3", "contact:12") as the people's names; unknown refs as they are."""
    names: dict[str, str] = {}
    for text in set(refs):
        ref = RecipientRef.parse(text)
        if ref is None:
            names[text or ""] = text or ""
            continue
        record = session.get(Staff, ref.id) if ref.kind == "staff" else session.get(FamilyContact, ref.id)
        names[str(ref)] = record.name if record is not None else str(ref)
    return names
