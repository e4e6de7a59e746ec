from datetime import UTC, datetime, timedelta

from sqlmodel import Session

from carecenter.alerts.escalation import due_at, next_stage
from carecenter.alerts.models import EscalationPolicy, EscalationPolicyData
from carecenter.alerts.policy import policy_for
from carecenter.messaging.recipients import Recipients
from tests.conftest import Clock
from tests.factories import make_center

T0 = datetime(2026, 11, 24, 2, 0, tzinfo=UTC)


def test_the_default_policy_steps_then_reminds() -> None:
    policy = EscalationPolicyData()
    stages = [
        (next_stage(policy, steps, reminders), due_at(policy, T0, steps, reminders))
        for steps, reminders in ((0, 0), (1, 0), (2, 0), (3, 0), (3, 1))
    ]
    assert [(s.name, s.recipients, when - T0) for s, when in stages] == [
        ("s1", (Recipients.care_worker, Recipients.on_duty), timedelta(0)),
        ("s2", (Recipients.manager, Recipients.first_family), timedelta(minutes=5)),
        ("s3", (Recipients.all_family, Recipients.manager), timedelta(minutes=10)),
        ("r1", (Recipients.care_worker, Recipients.on_duty, Recipients.manager), timedelta(minutes=20)),
        ("r2", (Recipients.care_worker, Recipients.on_duty, Recipients.manager), timedelta(minutes=30)),
    ]


def test_a_policy_is_parsed_once_a_session_and_a_saved_one_read_anew(session: Session, clock: Clock) -> None:
    """A burst of alerts of one center parses its policy once; a policy saved in the same session
    (a manager's change, then an alert) is the one the next alert follows."""
    center = make_center(session)
    assert center.id is not None
    steps = [{"after_minutes": 0, "recipients": ["care_worker"]}]
    session.add(EscalationPolicy(center_id=center.id, policy={"steps": steps}, updated_at=clock.now))
    session.flush()
    first = policy_for(session, center.id)
    assert policy_for(session, center.id) is first
    stored = session.get(EscalationPolicy, center.id)
    assert stored is not None
    stored.policy = {"steps": [{"after_minutes": 0, "recipients": ["manager"]}]}  # as save_policy assigns it
    assert policy_for(session, center.id).steps[0].recipients == [Recipients.manager]
    session.commit()  # expired and read again: still the saved one
    assert policy_for(session, center.id).steps[0].recipients == [Recipients.manager]
