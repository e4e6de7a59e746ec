"""Alerts: the care worker's list, the manager's live board, and answering an alert."""

import asyncio
import hashlib
from collections.abc import AsyncIterator, Callable
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, Response, StreamingResponse
from pydantic import BaseModel, Field
from sqlmodel import Session

from carecenter.alerts import service as alerts
from carecenter.alerts.models import Alert, Channel, Outcome
from carecenter.alerts.policy import policy_for
from carecenter.alerts.queries import board_rows, get_alert, open_incidents
from carecenter.context import context_of
from carecenter.deps import NowDep, SessionDep
from carecenter.devices import service as device_service
from carecenter.web.deps import ManagerDep, Posted, UserDep, posted, run_action
from carecenter.web.render import render, same_site_path
from carecenter.web.user import WebUser

router = APIRouter(include_in_schema=False)


@router.get("/alerts", response_class=HTMLResponse)
def alerts_page(request: Request, user: UserDep, session: SessionDep, now: NowDep) -> HTMLResponse:
    rows = board_rows(session=session, actor=user.actor)
    return render(
        request, "alerts.html", user, rows=rows, now=now, outcomes=list(Outcome), steps_of=_steps(session, rows)
    )


@router.get("/board", response_class=HTMLResponse)
def board(request: Request, user: UserDep, session: SessionDep, now: NowDep) -> HTMLResponse:
    return _board(request, user, session, now, wall=False)


@router.get("/board/wall", response_class=HTMLResponse)
def wall_board(request: Request, user: UserDep, session: SessionDep, now: NowDep) -> HTMLResponse:
    """The board for a screen on the wall, read from three metres: large type, nothing to press,
    kept current by the same event stream."""
    return _board(request, user, session, now, wall=True)


def _board(request: Request, user: WebUser, session: Session, now: datetime, *, wall: bool) -> HTMLResponse:
    rows = board_rows(session=session, actor=user.actor)
    taken = (
        device_service.takeovers_to_confirm(session=session, actor=user.actor) if user.actor.is_manager_or_admin else []
    )
    outages = open_incidents(session=session, actor=user.actor)
    return render(
        request,
        "board.html",
        user,
        rows=rows,
        now=now,
        outcomes=list(Outcome),
        taken=taken,
        outages=outages,
        steps_of=_steps(session, rows),
        wall=wall,
    )


@router.get("/board/rows", response_class=HTMLResponse)
def board_rows_page(
    request: Request, user: UserDep, session: SessionDep, now: NowDep, display: Literal["wall"] | None = None
) -> HTMLResponse:
    rows = board_rows(session=session, actor=user.actor)
    return render(
        request,
        "board_rows.html",
        user,
        rows=rows,
        now=now,
        outcomes=list(Outcome),
        next="/board",
        steps_of=_steps(session, rows),
        wall=display == "wall",
    )


def _steps(session: Session, rows: list[Any]) -> dict[int, int]:
    """How many steps each center's policy has (a manager may send an alert on to a later one)."""
    return {cid: len(policy_for(session, cid).steps) for cid in {r.alert.center_id for r in rows}}


def _board_version(engine: Any, user: WebUser) -> str:
    """A fingerprint of what the board shows: it changes when an alert or one of its messages does."""
    with Session(engine) as session:
        parts = [
            f"{r.alert.id}:{r.alert.status}:{r.alert.trigger_count}:{r.alert.escalation_steps_done}:"
            + ",".join(m.status for _, m in r.messages)
            for r in board_rows(session=session, actor=user.actor)
        ]
    return hashlib.sha256("|".join(parts).encode()).hexdigest()[:16]


@router.get("/board/events")
async def board_events(request: Request, user: UserDep, session: SessionDep) -> StreamingResponse:
    """Server-Sent Events: 'changed' whenever the board's content changes (checked every 2 s)."""
    engine = context_of(request).engine
    session.close()  # the stream lasts minutes: it must hold no connection, each check opens its own

    async def stream() -> AsyncIterator[str]:
        last = None
        yield "retry: 3000\n\n"
        while not await request.is_disconnected():
            version = await run_in_threadpool(_board_version, engine, user)
            if version != last:
                if last is not None:
                    yield f"event: changed\ndata: {version}\n\n"
                last = version
            else:
                yield ": keep-alive\n\n"
            await asyncio.sleep(2)

    return StreamingResponse(stream(), media_type="text/event-stream", headers={"Cache-Control": "no-store"})


class AlertForm(BaseModel):
    next: str = Field(default="/alerts", max_length=2000)


class ResolveForm(AlertForm):
    outcome: Outcome
    note: str = Field(default="", max_length=1000)


def _answer(
    user: WebUser, session: Session, alert_id: int, form: Posted[Any], act: Callable[[Alert, Any], None]
) -> Response:
    """Find the alert (404 across centers) and act on it; errors go back to where the user was."""
    target = same_site_path(form.values.get("next"), "/alerts")

    def find_and_act(data: Any) -> None:
        act(get_alert(session=session, actor=user.actor, alert_id=alert_id), data)

    return run_action(session, user, form, find_and_act, back_to=target)


@router.post("/alerts/{alert_id}/acknowledge", response_model=None)
def acknowledge(
    alert_id: int,
    user: UserDep,
    form: Annotated[Posted[AlertForm], Depends(posted(AlertForm))],
    session: SessionDep,
    now: NowDep,
) -> Response:
    def act(alert: Alert, _data: AlertForm) -> None:
        alerts.acknowledge(session, alert=alert, staff_id=user.staff.id, channel=Channel.tablet, now=now)

    return _answer(user, session, alert_id, form, act)


@router.post("/alerts/{alert_id}/on-site", response_model=None)
def on_site(
    alert_id: int,
    user: UserDep,
    form: Annotated[Posted[AlertForm], Depends(posted(AlertForm))],
    session: SessionDep,
    now: NowDep,
) -> Response:
    def act(alert: Alert, _data: AlertForm) -> None:
        alerts.mark_on_site(session, alert=alert, staff_id=user.staff.id, channel=Channel.tablet, now=now)

    return _answer(user, session, alert_id, form, act)


class EscalateForm(AlertForm):
    step: int = Field(ge=1, le=20)


@router.post("/alerts/{alert_id}/escalate", response_model=None)
def escalate(
    alert_id: int,
    request: Request,
    user: ManagerDep,
    form: Annotated[Posted[EscalateForm], Depends(posted(EscalateForm))],
    session: SessionDep,
    now: NowDep,
) -> Response:
    """A manager sends an alert on to a later step of the policy from the board: paged at once."""

    def act(alert: Alert, data: EscalateForm) -> None:
        alerts.jump_to_step(session, actor=user.actor, alert_id=alert.id or 0, step=data.step, now=now)
        alerts.escalate_due_alerts(session, context_of(request).alert_messaging, now=now)

    return _answer(user, session, alert_id, form, act)


@router.post("/alerts/{alert_id}/resolve", response_model=None)
def resolve(
    alert_id: int,
    request: Request,
    user: UserDep,
    form: Annotated[Posted[ResolveForm], Depends(posted(ResolveForm))],
    session: SessionDep,
    now: NowDep,
) -> Response:
    def act(alert: Alert, data: ResolveForm) -> None:
        alerts.resolve(
            session,
            context_of(request).alert_messaging,
            alert=alert,
            staff_id=user.staff.id,
            outcome=data.outcome,
            note=data.note,
            channel=Channel.tablet,
            now=now,
        )

    return _answer(user, session, alert_id, form, act)
