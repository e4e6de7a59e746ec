"""JSON endpoints: residents' eligibility groups and the center's subsidy rules (managers change them)."""

from fastapi import APIRouter

from carecenter.access import Role
from carecenter.deps import ActorDep, NowDep, SessionDep, allow
from carecenter.subsidies import service
from carecenter.subsidies.models import (
    Eligibility,
    EligibilityCreate,
    EligibilityEnd,
    EligibilityPublic,
    SubsidyRule,
    SubsidyRuleCreate,
    SubsidyRulePublic,
)
from carecommon.i18n import N_

router = APIRouter(tags=["subsidies"])


@router.get("/api/v1/residents/{resident_id}/eligibility", response_model=list[EligibilityPublic])
def list_eligibility(resident_id: int, actor: ActorDep, session: SessionDep) -> list[Eligibility]:
    """The resident's eligibility groups, current and past, newest first."""
    return service.list_eligibility(session=session, actor=actor, resident_id=resident_id)


@router.post(
    "/api/v1/residents/{resident_id}/eligibility",
    response_model=EligibilityPublic,
    status_code=201,
    dependencies=[allow(Role.manager, Role.admin, to=N_("change eligibility"))],
)
def add_eligibility(
    resident_id: int, data: EligibilityCreate, actor: ActorDep, session: SessionDep, now: NowDep
) -> Eligibility:
    """The resident belongs to a group (特困, 低保, …) from a date, with the approving document (managers)."""
    entry = service.add_eligibility(session=session, actor=actor, resident_id=resident_id, data=data, now=now)
    session.commit()
    return entry


@router.post(
    "/api/v1/residents/{resident_id}/eligibility/{eligibility_id}/end",
    response_model=EligibilityPublic,
    dependencies=[allow(Role.manager, Role.admin, to=N_("change eligibility"))],
)
def end_eligibility(
    resident_id: int, eligibility_id: int, data: EligibilityEnd, actor: ActorDep, session: SessionDep, now: NowDep
) -> Eligibility:
    """The group stops applying after `ends_on` (managers); the entry stays as history."""
    entry = service.end_eligibility(
        session=session,
        actor=actor,
        resident_id=resident_id,
        eligibility_id=eligibility_id,
        ends_on=data.ends_on,
        now=now,
    )
    session.commit()
    return entry


@router.get("/api/v1/subsidy-rules", response_model=list[SubsidyRulePublic])
def list_rules(actor: ActorDep, session: SessionDep, center_id: int | None = None) -> list[SubsidyRule]:
    """Your center's subsidy rules, current and ended."""
    return service.list_rules(session=session, actor=actor, center_id=center_id)


@router.post(
    "/api/v1/subsidy-rules",
    response_model=SubsidyRulePublic,
    status_code=201,
    dependencies=[allow(Role.manager, Role.admin, to=N_("change subsidy rules"))],
)
def create_rule(data: SubsidyRuleCreate, actor: ActorDep, session: SessionDep, now: NowDep) -> SubsidyRule:
    """Which group gets which category subsidised, at which share, up to which monthly amount per resident."""
    rule = service.create_rule(session=session, actor=actor, data=data, now=now)
    session.commit()
    return rule


@router.post(
    "/api/v1/subsidy-rules/{rule_id}/end",
    response_model=SubsidyRulePublic,
    dependencies=[allow(Role.manager, Role.admin, to=N_("change subsidy rules"))],
)
def end_rule(rule_id: int, data: EligibilityEnd, actor: ActorDep, session: SessionDep, now: NowDep) -> SubsidyRule:
    """The rule stops applying after `ends_on` (records already priced keep their price)."""
    rule = service.end_rule(session=session, actor=actor, rule_id=rule_id, ends_on=data.ends_on, now=now)
    session.commit()
    return rule
