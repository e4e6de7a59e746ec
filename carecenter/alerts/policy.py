"""Each center's escalation policy, stored as data."""

from datetime import datetime

from sqlmodel import Session

from carecenter.access import Actor
from carecenter.alerts.models import EscalationPolicy, EscalationPolicyData
from carecenter.audit.service import record_event
from carecenter.centers.models import Center

_PARSED = "carecenter.escalation_policies"  # Session.info: center -> (its row, the row's JSON, its model)


def policy_for(session: Session, center_id: int) -> EscalationPolicyData:
    """The center's policy, or the default one. Parsed once per session while its stored JSON is the
    same object (a burst of alerts of one center reads it once; a save assigns a new one)."""
    stored = session.get(EscalationPolicy, center_id)
    if stored is None:
        return EscalationPolicyData()
    # Kept with the row itself: the session holds its rows weakly, and a row nobody holds is read
    # again by the next `get` (a statement per alert).
    parsed: dict[int, tuple[EscalationPolicy, object, EscalationPolicyData]] = session.info.setdefault(_PARSED, {})
    known = parsed.get(center_id)
    if known is not None and known[0] is stored and known[1] is stored.policy:
        return known[2]
    policy = EscalationPolicyData.model_validate(stored.policy)
    parsed[center_id] = (stored, stored.policy, policy)
    return policy


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
