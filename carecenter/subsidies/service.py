"""Eligibility groups of residents and the center's subsidy rules (managers set both, audited)."""

from datetime import date, datetime

from sqlmodel import Session, col, select

from carecenter.access import Actor
from carecenter.audit.service import record_event
from carecenter.errors import InvalidField
from carecenter.residents.service import get_resident
from carecenter.subsidies.models import (
    Eligibility,
    EligibilityCreate,
    SubsidyRule,
    SubsidyRuleCreate,
)


def list_eligibility(*, session: Session, actor: Actor, resident_id: int) -> list[Eligibility]:
    get_resident(session=session, actor=actor, resident_id=resident_id)
    stmt = select(Eligibility).where(Eligibility.resident_id == resident_id)
    return list(session.exec(stmt.order_by(col(Eligibility.starts_on).desc(), col(Eligibility.id).desc())).all())


def add_eligibility(
    *, session: Session, actor: Actor, resident_id: int, data: EligibilityCreate, now: datetime
) -> Eligibility:
    """The resident belongs to a group from a date, on the strength of a document (managers and admins)."""
    resident = get_resident(session=session, actor=actor, resident_id=resident_id)
    entry = Eligibility.model_validate(
        data,
        update={
            "center_id": resident.center_id,
            "resident_id": resident_id,
            "created_by": actor.staff_id,
            "created_at": now,
        },
    )
    session.add(entry)
    session.flush()
    _audit(session, actor, "eligibility.add", "eligibility", entry.id, resident.center_id, now)
    return entry


def end_eligibility(
    *, session: Session, actor: Actor, resident_id: int, eligibility_id: int, ends_on: date, now: datetime
) -> Eligibility:
    """The group stops applying after `ends_on`; the entry stays as history."""
    get_resident(session=session, actor=actor, resident_id=resident_id)
    entry = session.get(Eligibility, eligibility_id)
    actor.require_visible(entry.center_id if entry and entry.resident_id == resident_id else None, "eligibility")
    assert entry is not None
    if ends_on < entry.starts_on:
        raise InvalidField(["body", "ends_on"], "ends_on must not be before starts_on")
    entry.ends_on = ends_on
    session.add(entry)
    _audit(session, actor, "eligibility.end", "eligibility", entry.id, entry.center_id, now, ["ends_on"])
    return entry


def eligibility_of(session: Session, resident_id: int) -> list[Eligibility]:
    """Every eligibility entry of the resident (pricing picks those in force on a day)."""
    return list(session.exec(select(Eligibility).where(Eligibility.resident_id == resident_id)).all())


def list_rules(*, session: Session, actor: Actor, center_id: int | None) -> list[SubsidyRule]:
    stmt = actor.scoped(select(SubsidyRule), SubsidyRule.center_id, center_id)
    return list(session.exec(stmt.order_by(col(SubsidyRule.group), col(SubsidyRule.id))).all())


def rules_of(session: Session, center_id: int) -> list[SubsidyRule]:
    return list(session.exec(select(SubsidyRule).where(SubsidyRule.center_id == center_id)).all())


def create_rule(*, session: Session, actor: Actor, data: SubsidyRuleCreate, now: datetime) -> SubsidyRule:
    """A subsidy rule; a change of terms is a new rule from a date and the old one ended the day before."""
    center_id = actor.center_for_new_record(data.center_id)
    rule = SubsidyRule.model_validate(data, update={"center_id": center_id, "created_at": now})
    session.add(rule)
    session.flush()
    _audit(session, actor, "subsidy_rule.create", "subsidy_rule", rule.id, center_id, now)
    return rule


def get_rule(*, session: Session, actor: Actor, rule_id: int) -> SubsidyRule:
    rule = session.get(SubsidyRule, rule_id)
    actor.require_visible(rule.center_id if rule else None, "subsidy rule")
    assert rule is not None
    return rule


def end_rule(*, session: Session, actor: Actor, rule_id: int, ends_on: date, now: datetime) -> SubsidyRule:
    rule = get_rule(session=session, actor=actor, rule_id=rule_id)
    if ends_on < rule.starts_on:
        raise InvalidField(["body", "ends_on"], "ends_on must not be before starts_on")
    rule.ends_on = ends_on
    session.add(rule)
    _audit(session, actor, "subsidy_rule.end", "subsidy_rule", rule.id, rule.center_id, now, ["ends_on"])
    return rule


def _audit(
    session: Session,
    actor: Actor,
    action: str,
    entity_type: str,
    entity_id: int | None,
    center_id: int,
    now: datetime,
    changed: list[str] | None = None,
) -> None:
    record_event(
        session=session,
        actor=actor,
        action=action,
        entity_type=entity_type,
        entity_id=entity_id,
        center_id=center_id,
        now=now,
        changed_fields=changed or (),
    )
