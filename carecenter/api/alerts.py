"""JSON endpoints for alerts, their figures and each center's escalation policy."""

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Body, Depends, Query
from pydantic import BaseModel, Field

from carecenter.access import Role
from carecenter.alerts import queries, service
from carecenter.alerts.models import (
    Alert,
    AlertDetail,
    AlertKind,
    AlertPublic,
    AlertStats,
    AlertStatus,
    Channel,
    EscalationPolicyData,
    ResolveRequest,
    Severity,
)
from carecenter.alerts.policy import read_policy, save_policy
from carecenter.deps import ActorDep, MessagingDep, NowDep, SessionDep, allow
from carecenter.fields import Instant
from carecenter.pagination import Page, PageParams, page_params
from carecommon.i18n import N_

router = APIRouter(tags=["alerts"])
ANSWER_CHANNELS = (Channel.api, Channel.tablet)
ChannelBody = Annotated[Channel, Body(embed=True, description="api or tablet")]


def _channel(channel: Channel) -> Channel:
    return channel if channel in ANSWER_CHANNELS else Channel.api


@router.get("/api/v1/alerts", response_model=Page[AlertPublic])
def list_alerts(
    actor: ActorDep,
    session: SessionDep,
    page: Annotated[PageParams, Depends(page_params)],
    status: Annotated[list[AlertStatus] | None, Query()] = None,
    kind: AlertKind | None = None,
    severity: Severity | None = None,
    resident_id: int | None = None,
    center_id: int | None = None,
    since: Instant | None = None,
    until: Instant | None = None,
) -> Page[Alert]:
    """List alerts, newest first (filter by status, kind, severity, resident, time)."""
    return queries.list_alerts(
        session=session,
        actor=actor,
        page=page,
        status=status,
        kind=kind,
        severity=severity,
        resident_id=resident_id,
        center_id=center_id,
        since=since,
        until=until,
    )


@router.get("/api/v1/alerts/stats", response_model=AlertStats)
def alert_stats(
    actor: ActorDep,
    session: SessionDep,
    now: NowDep,
    center_id: int | None = None,
    since: Instant | None = None,
    until: Instant | None = None,
) -> AlertStats:
    """Answer-time figures: shares answered within 60 s and 180 s, median and p90 times (default: 30 days)."""
    until = until or now
    since = since or until - timedelta(days=30)
    return queries.alert_stats(session=session, actor=actor, since=since, until=until, center_id=center_id)


@router.get("/api/v1/alerts/{alert_id}", response_model=AlertDetail)
def get_alert(alert_id: int, actor: ActorDep, session: SessionDep) -> AlertDetail:
    """One alert with its timeline (who was told, delivery, answers)."""
    return queries.alert_detail(session, queries.get_alert(session=session, actor=actor, alert_id=alert_id))


@router.post("/api/v1/alerts/{alert_id}/acknowledge", response_model=AlertDetail)
def acknowledge(
    alert_id: int, actor: ActorDep, session: SessionDep, now: NowDep, channel: ChannelBody = Channel.api
) -> AlertDetail:
    """Take charge of an alert: stops its escalation (repeating it changes nothing)."""
    alert = queries.get_alert(session=session, actor=actor, alert_id=alert_id)
    service.acknowledge(session, alert=alert, staff_id=actor.staff_id, channel=_channel(channel), now=now)
    session.commit()
    return queries.alert_detail(session, alert)


@router.post("/api/v1/alerts/{alert_id}/on-site", response_model=AlertDetail)
def on_site(
    alert_id: int, actor: ActorDep, session: SessionDep, now: NowDep, channel: ChannelBody = Channel.api
) -> AlertDetail:
    """Someone is with the resident now."""
    alert = queries.get_alert(session=session, actor=actor, alert_id=alert_id)
    service.mark_on_site(session, alert=alert, staff_id=actor.staff_id, channel=_channel(channel), now=now)
    session.commit()
    return queries.alert_detail(session, alert)


@router.post("/api/v1/alerts/{alert_id}/resolve", response_model=AlertDetail)
def resolve(
    alert_id: int, data: ResolveRequest, actor: ActorDep, session: SessionDep, messaging: MessagingDep, now: NowDep
) -> AlertDetail:
    """Close an alert with its outcome and a note; family who were told hear the outcome."""
    alert = queries.get_alert(session=session, actor=actor, alert_id=alert_id)
    service.resolve(
        session,
        messaging,
        alert=alert,
        staff_id=actor.staff_id,
        outcome=data.outcome,
        note=data.note,
        channel=Channel.api,
        now=now,
    )
    session.commit()
    return queries.alert_detail(session, alert)


class EscalateRequest(BaseModel):
    step: int = Field(ge=1, le=20, description="The policy's step to page now (1 = the first); a step not yet paged")


@router.post(
    "/api/v1/alerts/{alert_id}/escalate",
    response_model=AlertDetail,
    dependencies=[allow(Role.manager, Role.admin, to=N_("escalate alerts"))],
)
def escalate(
    alert_id: int, data: EscalateRequest, actor: ActorDep, session: SessionDep, messaging: MessagingDep, now: NowDep
) -> AlertDetail:
    """Send an alert on to a later step of the policy now (managers): its people are paged at once."""
    alert = service.jump_to_step(session, actor=actor, alert_id=alert_id, step=data.step, now=now)
    service.escalate_due_alerts(session, messaging, now=now)
    session.commit()
    return queries.alert_detail(session, alert)


@router.get("/api/v1/centers/{center_id}/escalation-policy", response_model=EscalationPolicyData, tags=["centers"])
def get_policy(center_id: int, actor: ActorDep, session: SessionDep) -> EscalationPolicyData:
    """The center's escalation policy (steps, reminder interval, fall cancel window)."""
    return read_policy(session=session, actor=actor, center_id=center_id)


@router.put(
    "/api/v1/centers/{center_id}/escalation-policy",
    response_model=EscalationPolicyData,
    tags=["centers"],
    dependencies=[allow(Role.manager, Role.admin, to=N_("change the escalation policy"))],
)
def put_policy(
    center_id: int, data: EscalationPolicyData, actor: ActorDep, session: SessionDep, now: NowDep
) -> EscalationPolicyData:
    """Replace the center's escalation policy (managers and admins)."""
    policy = save_policy(session=session, actor=actor, center_id=center_id, data=data, now=now)
    session.commit()
    return policy
