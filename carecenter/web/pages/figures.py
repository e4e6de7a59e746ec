"""The manager's figures (answer times, visits on time, per worker, CSV) and the message log."""

import io
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from sqlmodel import Session

from carecenter.alerts.queries import alert_stats
from carecenter.context import context_of
from carecenter.deps import NowDep, SessionDep
from carecenter.downloads import SafeCsvWriter, attachment
from carecenter.messaging.service import list_messages, message_stories
from carecenter.visits.queries import visit_figures, visit_stats
from carecenter.web.charts import trend_svg
from carecenter.web.deps import ManagerDep
from carecenter.web.paging import PageNumber, page_params_of, pager
from carecenter.web.render import render
from carecenter.web.user import WebUser
from carecommon.i18n import N_, gettext
from notifications.models import MessageStatus

router = APIRouter(include_in_schema=False)
DAYS = 30
WEEKS = 12  # the trends: a quarter, week by week


@dataclass(frozen=True)
class Week:
    """One local week (from its Monday) of the trends, counted as the 30-day figures are."""

    monday: date
    alerts: int
    answer_seconds_median: float | None
    on_time_share: float | None


TRENDS: dict[str, tuple[str, str, Callable[[Week], float | None]]] = {
    "alerts": (N_("Alerts per week"), "", lambda w: float(w.alerts)),
    "answer": (N_("Median time to answer (s)"), "s", lambda w: w.answer_seconds_median),
    "on_time": (N_("On-time visits"), "%", lambda w: None if w.on_time_share is None else w.on_time_share * 100),
}


def _weeks(session: Session, user: WebUser, now: datetime, rules: Any) -> list[Week]:
    zone = ZoneInfo(user.time_zone)
    today = now.astimezone(zone).date()
    this_monday = today - timedelta(days=today.weekday())
    weeks = []
    for n in range(WEEKS - 1, -1, -1):
        monday = this_monday - timedelta(weeks=n)
        sunday = min(monday + timedelta(days=6), today)
        start = datetime.combine(monday, time(0), tzinfo=zone)
        until = start + timedelta(days=7)
        alerts = alert_stats(
            session=session, actor=user.actor, since=start, until=until, center_id=user.actor.center_id
        )
        visits = visit_stats(
            session=session, actor=user.actor, first=monday, last=sunday, center_id=user.actor.center_id, rules=rules
        )
        weeks.append(Week(monday, alerts.alerts, alerts.ack_seconds_median, visits.on_time_share))
    return weeks


def _figures(session: Session, user: WebUser, now: datetime, rules: Any) -> dict[str, Any]:
    """The last 30 local days: alerts, visits and the per-worker rows, all counted the same way."""
    today = now.astimezone(ZoneInfo(user.time_zone)).date()
    first, center_id = today - timedelta(days=DAYS - 1), user.actor.center_id
    visits, per_worker = visit_figures(
        session=session, actor=user.actor, first=first, last=today, center_id=center_id, rules=rules
    )
    return {
        "alerts": alert_stats(
            session=session,
            actor=user.actor,
            since=now - timedelta(days=DAYS),
            until=now,
            center_id=center_id,
        ),
        "visits": visits,
        "per_worker": per_worker,
    }


@router.get("/figures", response_class=HTMLResponse)
def figures_page(request: Request, user: ManagerDep, session: SessionDep, now: NowDep) -> HTMLResponse:
    """Answer-time shares, visits on time and missed, per worker, with SVG bars."""
    rules = context_of(request).visit_rules
    weeks = _weeks(session, user, now, rules)
    return render(request, "figures.html", user, weeks=weeks, trends=TRENDS, **_figures(session, user, now, rules))


@router.get("/figures/trend/{what}.svg", response_model=None)
def trend_chart(
    what: Literal["alerts", "answer", "on_time"], request: Request, user: ManagerDep, session: SessionDep, now: NowDep
) -> Response:
    """One of the figures page's trends as an image (the page has its table)."""
    title, unit, value = TRENDS[what]
    weeks = _weeks(session, user, now, context_of(request).visit_rules)
    svg = trend_svg(gettext(title, user.language), unit, [w.monday for w in weeks], [value(w) for w in weeks])
    return Response(svg, media_type="image/svg+xml", headers={"Cache-Control": "private, no-store"})


@router.get("/figures.csv")
def figures_csv(request: Request, user: ManagerDep, session: SessionDep, now: NowDep) -> Response:
    """The per-worker figures as CSV (UTF-8 with BOM, so spreadsheet programs read the Chinese names)."""
    figures = _figures(session, user, now, context_of(request).visit_rules)
    out = io.StringIO()
    writer = SafeCsvWriter(out)
    writer.writerow(["worker", "planned", "completed", "missed", "on_time", "on_time_share", "verified_share"])
    for row in figures["per_worker"]:
        share = "" if row.on_time_share is None else f"{row.on_time_share:.3f}"
        verified = "" if row.verified_share is None else f"{row.verified_share:.3f}"
        writer.writerow([row.name, row.planned, row.completed, row.missed, row.on_time, share, verified])
    return Response(
        "\ufeff" + out.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers=attachment("figures.csv"),
    )


@router.get("/messages", response_class=HTMLResponse)
def messages_page(
    request: Request,
    user: ManagerDep,
    session: SessionDep,
    status: MessageStatus | None = None,
    page_number: PageNumber = 1,
) -> HTMLResponse:
    """The message log: every SMS with its delivery state, newest first, a page at a time."""
    page = list_messages(session=session, actor=user.actor, page=page_params_of(page_number, 100), status=status)
    return render(
        request,
        "messages.html",
        user,
        messages=page.items,
        stories=message_stories(session, [m.id for m in page.items if m.id is not None]),
        default_provider=context_of(request).settings.sms.sms_provider.value,
        total=page.total,
        pager=pager(page, page_number, {"status": status.value if status else None}),
        status=status,
        statuses=list(MessageStatus),
    )
