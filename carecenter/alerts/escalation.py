"""The escalation policy as a schedule: what the next step is and when it is due.

Pure: the alert service records `escalation_steps_done`, `reminders_sent` and
`next_escalation_at` on the alert after each step, so a restart loses nothing and a sweep
that runs twice does nothing twice.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from carecenter.alerts.models import EscalationPolicyData
from carecenter.messaging.recipients import Recipients

REMINDER_RECIPIENTS = (Recipients.care_worker, Recipients.on_duty, Recipients.manager)


@dataclass(frozen=True)
class Stage:
    name: str  # "s1", "s2", … for steps, "r1", "r2", … for reminders: part of each message's dedupe key
    recipients: tuple[Recipients, ...]
    is_reminder: bool
    call: tuple[Recipients, ...] = ()  # of the recipients, who is phoned as well (critical alerts)


def next_stage(policy: EscalationPolicyData, steps_done: int, reminders_sent: int) -> Stage:
    """The stage to run after `steps_done` steps and `reminders_sent` reminders."""
    if steps_done < len(policy.steps):
        step = policy.steps[steps_done]
        return Stage(f"s{steps_done + 1}", tuple(step.recipients), is_reminder=False, call=tuple(step.call))
    return Stage(f"r{reminders_sent + 1}", REMINDER_RECIPIENTS, is_reminder=True)


def due_at(policy: EscalationPolicyData, started_at: datetime, steps_done: int, reminders_sent: int) -> datetime:
    """When that stage is due: steps at their offsets, then a reminder every M minutes."""
    if steps_done < len(policy.steps):
        return started_at + timedelta(minutes=policy.steps[steps_done].after_minutes)
    last_step = policy.steps[-1].after_minutes
    return started_at + timedelta(minutes=last_step + (reminders_sent + 1) * policy.reminder_every_minutes)
