from datetime import UTC, datetime, timedelta

from carecenter.alerts.escalation import due_at, next_stage
from carecenter.alerts.models import EscalationPolicyData
from carecenter.messaging.recipients import Recipients

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
