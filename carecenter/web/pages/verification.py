"""Visit verification in the console: the home code a manager prints for a resident's home (a QR
code with the code typed under it, printed again or revoked), and the exception queue where a
manager approves or rejects the visits that did not verify before the month closes."""

import re
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import BaseModel, Field
from sqlmodel import col, select

from carecenter.deps import NowDep, SessionDep, VisitRulesDep
from carecenter.downloads import qr_svg
from carecenter.residents import home_code
from carecenter.residents.queries import resident_names
from carecenter.residents.service import get_resident
from carecenter.service_records.models import MONTH
from carecenter.staff.models import Staff
from carecenter.visits import exceptions
from carecenter.visits.exceptions import Decision
from carecenter.visits.verification import PROBLEMS, ExceptionState
from carecenter.web.deps import ManagerDep, Posted, posted, run_action
from carecenter.web.pages.paperwork import MonthParam, center_of, month_or_last
from carecenter.web.render import render

router = APIRouter(include_in_schema=False)


@router.get("/manage/residents/{resident_id}/home-code", response_class=HTMLResponse)
def home_code_page(
    resident_id: int, request: Request, user: ManagerDep, session: SessionDep, rules: VisitRulesDep
) -> HTMLResponse:
    """The card to print: the QR code, the code to type under it, the resident's name and address."""
    resident = get_resident(session=session, actor=user.actor, resident_id=resident_id)
    code = home_code.home_code(rules.home_code_key, resident)
    picture = qr_svg(code, title=resident.name, scale=8) if code else None
    return render(request, "home_code.html", user, resident=resident, code=code, picture=picture)


# What the card's two buttons do: print it anew (every earlier copy stops verifying) or revoke it.
CARD_ACTIONS = {"print": home_code.print_code, "revoke": home_code.revoke_code}


class CardForm(BaseModel):
    action: Literal["print", "revoke"] = "print"


@router.post("/manage/residents/{resident_id}/home-code", response_model=None)
def change_home_code(
    resident_id: int,
    user: ManagerDep,
    session: SessionDep,
    rules: VisitRulesDep,
    now: NowDep,
    form: Annotated[Posted[CardForm], Depends(posted(CardForm))],
) -> Response:
    """Print the card anew, or revoke it (a card lost or taken); back to the card either way."""

    def act(data: CardForm) -> None:
        change = CARD_ACTIONS[data.action]
        change(session=session, actor=user.actor, resident_id=resident_id, key=rules.home_code_key, now=now)

    return run_action(session, user, form, act, back_to=f"/manage/residents/{resident_id}/home-code")


@router.get("/visit-exceptions", response_class=HTMLResponse)
def exception_queue(
    request: Request,
    user: ManagerDep,
    session: SessionDep,
    now: NowDep,
    month: MonthParam = None,
    state: ExceptionState = ExceptionState.open,
    center_id: int | None = None,
) -> HTMLResponse:
    """The month's visits that did not verify, in one state (open: the queue to decide)."""
    center = center_of(session, user, center_id)
    chosen = month_or_last(month, user, now)
    visits = exceptions.month_visits(session, center, chosen, states=(state,))
    workers = {v.worker_id for v in visits if v.worker_id is not None}
    worker_names = dict(session.exec(select(Staff.id, Staff.name).where(col(Staff.id).in_(sorted(workers)))).all())
    return render(
        request,
        "exceptions.html",
        user,
        visits=visits,
        month=chosen,
        state=state,
        states=list(ExceptionState),
        problems=PROBLEMS,
        residents=resident_names(session, center_id=center.id, ids={v.resident_id for v in visits}),
        workers=worker_names,
        scope=f"&center_id={center.id}" if user.actor.is_admin else "",
    )


class DecisionForm(BaseModel):
    decision: Decision
    reason: str = Field(min_length=3, max_length=300)
    month: str = Field(default="", max_length=7)


@router.post("/visit-exceptions/{visit_id}", response_model=None)
def decide_exception(
    visit_id: int,
    user: ManagerDep,
    session: SessionDep,
    now: NowDep,
    form: Annotated[Posted[DecisionForm], Depends(posted(DecisionForm))],
) -> Response:
    """Approve (claimed as it is) or reject (not claimed), with the reason; back to the queue."""
    month = form.values.get("month", "")
    month = month if isinstance(month, str) and re.fullmatch(MONTH, month) else ""

    def act(data: DecisionForm) -> None:
        exceptions.decide(
            session=session,
            actor=user.actor,
            visit_id=visit_id,
            decision=data.decision,
            reason=data.reason.strip(),
            now=now,
        )

    return run_action(session, user, form, act, back_to=f"/visit-exceptions?month={month}")
