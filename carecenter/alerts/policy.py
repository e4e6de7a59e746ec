"""Each center's escalation policy, stored as data."""

from datetime import datetime

from sqlmodel import Session

from carecenter.access import Actor
from carecenter.alerts.models import EscalationPolicy, EscalationPolicyData
from carecenter.audit.service import record_event
from carecenter.centers.models import Center


def policy_for(session: Session, center_id: int) -> EscalationPolicyData:
    """The center's policy, or the default one."""
    stored = session.get(EscalationPolicy, center_id)
    return EscalationPolicyData.model_validate(stored.policy) if stored else EscalationPolicyData()


def read_policy(*, session: Session, actor: Actor, center_id: int) -> EscalationPolicyData:
    actor.require_visible(center_id if session.get(Center, center_id) else None, "center")
    return policy_for(session, center_id)


def save_policy(
    *, session: Session, actor: Actor, center_id: int, data: EscalationPolicyData, now: datetime
) -> EscalationPolicyData:
    """Replace a center's policy (managers of the center and admins); open alerts follow it from their next step."""
    actor.require_visible(center_id if session.get(Center, center_id) else None, "center")
    stored = session.get(EscalationPolicy, center_id) or EscalationPolicy(
        center_id=center_id, policy={}, updated_at=now
    )
    stored.policy, stored.updated_at = data.model_dump(mode="json"), now
    session.add(stored)
    record_event(
        session=session,
        actor=actor,
        action="escalation_policy.update",
        entity_type="center",
        entity_id=center_id,
        center_id=center_id,
        now=now,
    )
    return data
