"""The tablet UI and the manager's alert board: server-rendered pages over the same services."""

import asyncio
import hashlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from fastapi import APIRouter, Depends, FastAPI, Form, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, Response, StreamingResponse
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from markupsafe import Markup, escape
from pydantic import ValidationError
from sqlmodel import Session, col, select

from carecenter.access import Actor
from carecenter.alerts import queries as alert_queries
from carecenter.alerts import service as alerts
from carecenter.alerts.labels import KIND_LABELS, OUTCOME_LABELS, label
from carecenter.alerts.models import ACTIVE_STATUSES, Alert, Channel, Outcome
from carecenter.auth import service as auth
from carecenter.auth.deps import NowDep, SessionDep, SettingsDep, client_addr
from carecenter.centers.models import Center
from carecenter.errors import DomainError, NotAuthenticated, TooManyAttempts
from carecenter.readings.models import Reading
from carecenter.residents.models import FamilyContact, LivingSituation, Resident
from carecenter.staff.models import Language, Role, Staff
from carecenter.visits import service as visits
from carecenter.visits.models import Position, Visit, VisitVitals
from carecenter.web.i18n import LANGUAGES, language_of, local_time, translate
from carecenter.web.session import COOKIE, csrf_ok, csrf_token, session_token, set_session_cookie
from notifications.models import SmsMessage

HERE = Path(__file__).parent
templates = Jinja2Templates(directory=HERE / "templates")
router = APIRouter(include_in_schema=False)


class LoginRequired(Exception):
    pass


class BadCsrf(Exception):
    pass


@dataclass(frozen=True)
class WebUser:
    actor: Actor
    staff: Staff
    token: str
    language: str
    time_zone: str


def web_user(request: Request, session: SessionDep, settings: SettingsDep, now: NowDep) -> WebUser:
    """The logged-in staff member behind the session cookie, or a redirect to the login page."""
    token = session_token(request)
    if not token:
        raise LoginRequired()
    try:
        staff = auth.authenticate(session=session, token=token, settings=settings, now=now)
    except NotAuthenticated as exc:
        raise LoginRequired() from exc
    session.commit()  # end the read: a page must not hold a transaction (on SQLite, the write lock) for long
    center = session.get(Center, staff.center_id) if staff.center_id else None
    assert staff.id is not None
    actor = Actor(
        staff_id=staff.id,
        username=staff.username,
        role=Role(staff.role),
        center_id=staff.center_id,
        client_addr=client_addr(request),
    )
    return WebUser(actor, staff, token, language_of(staff.language), center.time_zone if center else settings.timezone)


UserDep = Annotated[WebUser, Depends(web_user)]


async def checked_form(request: Request, user: UserDep, settings: SettingsDep) -> dict[str, str]:
    """The posted form, if it carries this session's CSRF token (403 otherwise)."""
    form = await request.form()
    values = {k: str(v) for k, v in form.items()}
    if not csrf_ok(user.token, values.get("csrf"), settings):
        raise BadCsrf()
    return values


FormDep = Annotated[dict[str, str], Depends(checked_form)]


def render(request: Request, name: str, user: WebUser | None, status_code: int = 200, **context: Any) -> HTMLResponse:
    language = user.language if user else language_of(request.cookies.get("cc_lang"))
    settings = request.app.state.settings
    zone = user.time_zone if user else settings.timezone

    def when(moment: datetime | None, pattern: str = "short") -> str:
        return local_time(moment, zone, language, pattern)

    helpers: dict[str, Any] = {
        "t": lambda key: translate(key, language),
        "when": when,
        "kind_label": lambda kind: label(KIND_LABELS, kind, language),
        "outcome_label": lambda outcome: label(OUTCOME_LABELS, outcome, language),
    }
    return templates.TemplateResponse(
        request,
        name,
        {
            "user": user,
            "lang": language,
            "languages": LANGUAGES,
            "error": request.query_params.get("error"),
            "csrf": csrf_token(user.token, settings) if user else "",
            **helpers,
            **context,
        },
        status_code=status_code,
        headers={"Cache-Control": "no-store"},
    )


def back(path: str, error: str | None = None) -> RedirectResponse:
    return RedirectResponse(path + (f"?error={quote(error)}" if error else ""), status_code=303)


# -- log in and out -------------------------------------------------------------------------------
@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request) -> HTMLResponse:
    return render(request, "login.html", None)


@router.post("/login", response_model=None)
def login(
    request: Request,
    username: Annotated[str, Form(max_length=64)],
    password: Annotated[str, Form(max_length=128)],
    session: SessionDep,
    settings: SettingsDep,
    now: NowDep,
) -> Response:
    try:
        token, auth_session = auth.login(
            session=session,
            username=username,
            password=password,
            client_addr=client_addr(request),
            settings=settings,
            now=now,
        )
    except (NotAuthenticated, TooManyAttempts) as exc:
        session.commit()
        return render(request, "login.html", None, status_code=exc.status_code, message=exc.message, username=username)
    session.commit()
    response = RedirectResponse("/", status_code=303)
    set_session_cookie(response, token, expires_at=auth_session.expires_at, now=now, settings=settings)
    return response


@router.post("/logout")
def logout(user: UserDep, form: FormDep, session: SessionDep, settings: SettingsDep, now: NowDep) -> RedirectResponse:
    auth.logout(session=session, token=user.token, settings=settings, now=now)
    session.commit()
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(COOKIE, path="/")
    return response


@router.post("/lang")
def switch_language(user: UserDep, form: FormDep, session: SessionDep) -> RedirectResponse:
    staff = session.get(Staff, user.staff.id)
    assert staff is not None
    staff.language = Language(language_of(form.get("lang")))
    session.add(staff)
    session.commit()
    return back(form.get("next", "/") if form.get("next", "/").startswith("/") else "/")


# -- the care worker's day --------------------------------------------------------------------------
@router.get("/", response_class=HTMLResponse, response_model=None)
def today(request: Request, user: UserDep, session: SessionDep, now: NowDep) -> Response:
    if user.actor.is_manager_or_admin:
        return RedirectResponse("/board", status_code=303)
    day = now.astimezone(ZoneInfo(user.time_zone)).date()
    start, end = visits.local_day_bounds(day, user.time_zone)
    mine = session.exec(
        select(Visit)
        .where(Visit.worker_id == user.staff.id, col(Visit.scheduled_start) >= start, col(Visit.scheduled_start) < end)
        .order_by(col(Visit.scheduled_start))
    ).all()
    rows = [(v, session.get(Resident, v.resident_id)) for v in mine]
    open_alerts = _open_alerts(session, user)
    return render(
        request,
        "today.html",
        user,
        rows=rows,
        open_alerts=open_alerts,
        now=now,
        rules=request.app.state.visit_rules,
        LivingSituation=LivingSituation,
    )


@router.get("/visits/{visit_id}", response_class=HTMLResponse)
def visit_page(visit_id: int, request: Request, user: UserDep, session: SessionDep, now: NowDep) -> HTMLResponse:
    visit = visits.get_visit(session=session, actor=user.actor, visit_id=visit_id)
    resident = session.get(Resident, visit.resident_id)
    return render(
        request,
        "visit.html",
        user,
        visit=visit,
        resident=resident,
        field_errors={},
        values={},
        LivingSituation=LivingSituation,
    )


def _number(value: str | None) -> float | None:
    return float(value) if value not in (None, "") else None


@router.post("/visits/{visit_id}/{action}", response_model=None)
def visit_action(
    visit_id: int,
    action: str,
    request: Request,
    user: UserDep,
    form: FormDep,
    session: SessionDep,
    now: NowDep,
) -> Response:
    rules, messaging = request.app.state.visit_rules, request.app.state.alert_messaging
    here = f"/visits/{visit_id}"
    try:
        if action in ("check-in", "check-out"):
            position = Position(latitude=_number(form.get("latitude")), longitude=_number(form.get("longitude")))
            do = visits.check_in if action == "check-in" else visits.check_out
            kwargs: dict[str, Any] = {"messaging": messaging} if action == "check-out" else {}
            do(session=session, actor=user.actor, visit_id=visit_id, position=position, rules=rules, now=now, **kwargs)
        elif action == "task":
            visits.set_task(
                session=session,
                actor=user.actor,
                visit_id=visit_id,
                service=form.get("service", ""),
                done=form.get("done") == "1",
            )
        elif action == "notes":
            visits.set_notes(session=session, actor=user.actor, visit_id=visit_id, notes=form.get("notes", "")[:4000])
        elif action == "concern":
            visits.raise_concern(
                session=session,
                actor=user.actor,
                visit_id=visit_id,
                note=form.get("note", "").strip()[:1000] or "-",
                messaging=messaging,
                now=now,
            )
        elif action == "vitals":
            fields = ("systolic", "diastolic", "heart_rate", "temperature", "blood_glucose")
            raw = {f: form.get(f, "").strip() for f in fields}
            try:
                vitals = VisitVitals.model_validate({k: v for k, v in raw.items() if v})
            except ValidationError as exc:  # shown next to each field, nothing saved, nothing lost
                visit = visits.get_visit(session=session, actor=user.actor, visit_id=visit_id)
                errors = {str(e["loc"][0]): e["msg"] for e in exc.errors()}
                return render(
                    request,
                    "visit.html",
                    user,
                    status_code=422,
                    visit=visit,
                    resident=session.get(Resident, visit.resident_id),
                    field_errors=errors,
                    values=raw,
                    LivingSituation=LivingSituation,
                )
            visits.record_vitals(
                session=session, actor=user.actor, visit_id=visit_id, vitals=vitals, messaging=messaging, now=now
            )
        else:
            return back(here, "unknown action")
    except DomainError as exc:
        session.rollback()
        return back(here, exc.message)
    session.commit()
    return back("/" if action == "check-out" else here)


# -- alerts -----------------------------------------------------------------------------------------
def _open_alerts(session: Session, user: WebUser) -> list[tuple[Alert, Resident | None]]:
    stmt = select(Alert).where(col(Alert.status).in_(ACTIVE_STATUSES)).order_by(col(Alert.opened_at).desc())
    stmt = user.actor.scoped(stmt, Alert.center_id, None)
    if user.actor.role == Role.care_worker:
        mine = select(Resident.id).where(Resident.primary_worker_id == user.staff.id)
        stmt = stmt.where(col(Alert.resident_id).in_(mine))
    return [(a, session.get(Resident, a.resident_id)) for a in session.exec(stmt.limit(100)).all()]


def _recipient_name(session: Session, ref: str | None) -> str:
    """ "staff:3" / "contact:12" as the person's name."""
    kind, _, ident = (ref or "").partition(":")
    if not ident.isdigit():
        return ref or ""
    record = session.get(Staff, int(ident)) if kind == "staff" else session.get(FamilyContact, int(ident))
    return record.name if record is not None else ref or ""


def _board_rows(session: Session, user: WebUser) -> list[dict[str, Any]]:
    """Open alerts with (name, message) for everyone they paged."""
    rows = []
    for alert, resident in _open_alerts(session, user):
        messages = session.exec(
            select(SmsMessage).where(SmsMessage.alert_id == alert.id).order_by(col(SmsMessage.id))
        ).all()
        notified = [(_recipient_name(session, m.recipient_ref), m) for m in messages]
        rows.append({"alert": alert, "resident": resident, "messages": notified})
    return rows


@router.get("/alerts", response_class=HTMLResponse)
def alerts_page(request: Request, user: UserDep, session: SessionDep, now: NowDep) -> HTMLResponse:
    return render(request, "alerts.html", user, rows=_board_rows(session, user), now=now, outcomes=list(Outcome))


@router.post("/alerts/{alert_id}/{action}", response_model=None)
def alert_action(
    alert_id: int,
    action: str,
    request: Request,
    user: UserDep,
    form: FormDep,
    session: SessionDep,
    now: NowDep,
) -> Response:
    target = form.get("next", "/alerts") if form.get("next", "").startswith("/") else "/alerts"
    try:
        alert = alert_queries.get_alert(session=session, actor=user.actor, alert_id=alert_id)
        if action == "acknowledge":
            alerts.acknowledge(session, alert=alert, staff_id=user.staff.id, channel=Channel.tablet, now=now)
        elif action == "on-site":
            alerts.mark_on_site(session, alert=alert, staff_id=user.staff.id, channel=Channel.tablet, now=now)
        elif action == "resolve":
            outcome = form.get("outcome", "")
            if outcome not in list(Outcome):
                return back(target, translate("outcome", user.language) + "?")
            alerts.resolve(
                session,
                request.app.state.alert_messaging,
                alert=alert,
                staff_id=user.staff.id,
                outcome=outcome,
                note=form.get("note", "")[:1000],
                channel=Channel.tablet,
                now=now,
            )
        else:
            return back(target, "unknown action")
    except DomainError as exc:
        session.rollback()
        return back(target, exc.message)
    session.commit()
    return back(target)


@router.get("/board", response_class=HTMLResponse)
def board(request: Request, user: UserDep, session: SessionDep, now: NowDep) -> HTMLResponse:
    return render(request, "board.html", user, rows=_board_rows(session, user), now=now, outcomes=list(Outcome))


@router.get("/board/rows", response_class=HTMLResponse)
def board_rows(request: Request, user: UserDep, session: SessionDep, now: NowDep) -> HTMLResponse:
    return render(
        request,
        "board_rows.html",
        user,
        rows=_board_rows(session, user),
        now=now,
        outcomes=list(Outcome),
        next="/board",
    )


def _board_version(engine: Any, user: WebUser) -> str:
    """A fingerprint of what the board shows: it changes when an alert or one of its messages does."""
    with Session(engine) as session:
        rows = _board_rows(session, user)
        parts = [
            f"{r['alert'].id}:{r['alert'].status}:{r['alert'].trigger_count}:{r['alert'].escalation_steps_done}:"
            + ",".join(m.status for _, m in r["messages"])
            for r in rows
        ]
    return hashlib.sha256("|".join(parts).encode()).hexdigest()[:16]


@router.get("/board/events")
async def board_events(request: Request, user: UserDep, session: SessionDep) -> StreamingResponse:
    """Server-Sent Events: 'changed' whenever the board's content changes (checked every 2 s)."""
    engine = request.app.state.engine
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


# -- residents --------------------------------------------------------------------------------------
CHART_DAYS = 30
CHART_POINTS = 240  # a 30-day line of 3-hour averages: readable on a tablet, light to send


def heart_rate_chart(
    points: list[tuple[datetime, int]], width: int = 640, height: int = 160, buckets: int = CHART_POINTS
) -> dict[str, Any]:
    """Points for a server-rendered SVG line (no chart library), averaged into at most `buckets`."""
    if len(points) < 2:
        return {"points": "", "width": width, "height": height, "low": None, "high": None}
    first, last = points[0][0], points[-1][0]
    span = max((last - first).total_seconds(), 1.0)
    sums: dict[int, list[float]] = {}
    for t, v in points:
        bucket = sums.setdefault(min(int((t - first).total_seconds() / span * buckets), buckets - 1), [0.0, 0.0])
        bucket[0] += v
        bucket[1] += 1
    averaged = [((b + 0.5) / buckets, total / n) for b, (total, n) in sorted(sums.items())]
    low, high = min(v for _, v in averaged) - 5, max(v for _, v in averaged) + 5
    coords = " ".join(
        f"{x * (width - 20) + 10:.1f},{height - 10 - (v - low) / max(high - low, 1) * (height - 20):.1f}"
        for x, v in averaged
    )
    return {"points": coords, "width": width, "height": height, "low": round(low), "high": round(high)}


@router.get("/residents/{resident_id}", response_class=HTMLResponse)
def resident_page(resident_id: int, request: Request, user: UserDep, session: SessionDep, now: NowDep) -> HTMLResponse:
    from carecenter.residents import service as residents

    resident = residents.read_resident(session=session, actor=user.actor, resident_id=resident_id, now=now)
    session.commit()  # the read is audited
    public = residents.to_public(resident, user.actor)
    contacts = session.exec(
        select(FamilyContact).where(FamilyContact.resident_id == resident_id).order_by(col(FamilyContact.priority))
    ).all()
    heart_rates = session.exec(
        select(Reading.recorded_at, Reading.heart_rate)
        .where(
            Reading.resident_id == resident_id,
            col(Reading.recorded_at) >= now - timedelta(days=CHART_DAYS),
            col(Reading.heart_rate).is_not(None),
        )
        .order_by(col(Reading.recorded_at))
    ).all()
    history = session.exec(
        select(Visit)
        .where(Visit.resident_id == resident_id, col(Visit.scheduled_start) <= now)
        .order_by(col(Visit.scheduled_start).desc())
        .limit(10)
    ).all()
    past_alerts = session.exec(
        select(Alert).where(Alert.resident_id == resident_id).order_by(col(Alert.opened_at).desc()).limit(10)
    ).all()
    return render(
        request,
        "resident.html",
        user,
        resident=public,
        contacts=contacts,
        chart=heart_rate_chart([(at, rate) for at, rate in heart_rates if rate is not None]),
        history=history,
        past_alerts=past_alerts,
        LivingSituation=LivingSituation,
    )


def install_web(app: FastAPI) -> None:
    """Pages, static assets (served by the app: a center's LAN may have no internet) and their errors."""
    from carecenter.web.manage import router as manage_router

    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    app.include_router(router)
    app.include_router(manage_router)

    @app.exception_handler(LoginRequired)
    async def _login(_request: Request, _exc: LoginRequired) -> Response:
        return RedirectResponse("/login", status_code=303)

    @app.exception_handler(BadCsrf)
    async def _csrf(request: Request, _exc: BadCsrf) -> Response:
        return HTMLResponse(translate("forbidden", language_of(request.cookies.get("cc_lang"))), status_code=403)


# -- the manager's console ----------------------------------------------------------------------------
def _manager(user: WebUser) -> None:
    user.actor.require(Role.manager, Role.admin, to="open the manager's pages")


SLOT_BADGES = ("missed", "completed", "in_progress", "cancelled")


@dataclass(frozen=True)
class SlotText:
    """What every slot of one week grid shares: escaped once, not 2,000 times."""

    week: date
    zone: ZoneInfo
    badges: dict[str, str]  # status (and "late") -> the badge's HTML
    names: dict[int, str]  # resident id -> escaped name


def schedule_slot(visit: sa.Row[Any], late: bool, text: SlotText) -> str:
    """One visit of the week grid, as HTML. Built with an f-string rather than the template or
    Markup.format: a district center's week holds 2,000 visits and either costs ~60 ms more. Every
    value inserted is escaped (the names and labels in SlotText) or ours (ids, enum values, times)."""
    status = visit.status
    classes = f"slot st-{status}" + (" is-late" if late else "") + (" is-unassigned" if visit.worker_id is None else "")
    badge = text.badges["late"] if late else text.badges.get(status, "")
    start = visit.scheduled_start.astimezone(text.zone).strftime("%H:%M")
    return (
        f'<a class="{classes}" data-visit="{visit.id}" href="/schedule/visits/{visit.id}?week={text.week}">'
        f'<span class="time">{start}</span> {text.names.get(visit.resident_id, "")}{badge}</a>'
    )


@router.get("/schedule", response_class=HTMLResponse)
def schedule_page(
    request: Request, user: UserDep, session: SessionDep, now: NowDep, week: str | None = None
) -> HTMLResponse:
    """The week grid: workers by days, unassigned, late and missed visits stand out; reassign in place."""
    from carecenter.visits import queries as visit_queries

    _manager(user)
    today = now.astimezone(ZoneInfo(user.time_zone)).date()
    try:
        first = date.fromisoformat(week) if week else today - timedelta(days=today.weekday())
    except ValueError:
        first = today - timedelta(days=today.weekday())
    grid = visit_queries.schedule_rows(
        session=session,
        actor=user.actor,
        first=first,
        last=first + timedelta(days=6),
        center_id=user.actor.center_id,
        worker_id=None,
        now=now,
        columns=visit_queries.SLOT_COLUMNS,
    )
    residents = session.exec(select(Resident.id, Resident.name).where(Resident.center_id == user.actor.center_id))
    badge = '<span class="badge{}">{}</span>'
    text = SlotText(
        week=first,
        zone=ZoneInfo(user.time_zone),
        badges={
            key: badge.format(" late" if key == "late" else "", escape(translate(key, user.language)))
            for key in ("late", *SLOT_BADGES)
        },
        names={rid: str(escape(name)) for rid, name in residents if rid is not None},
    )
    rules = request.app.state.visit_rules

    def cell(day: list[sa.Row[Any]]) -> Markup:
        slots = "".join(schedule_slot(v, visits.is_late(v, now, rules), text) for v in day)
        return Markup(slots)  # noqa: S704 - schedule_slot escapes what it inserts

    rows = [(worker_id, name, [cell(day) for day in days]) for worker_id, name, days in grid.rows]
    return render(
        request,
        "schedule.html",
        user,
        rows=rows,
        days=grid.days,
        first=first,
        previous=first - timedelta(days=7),
        following=first + timedelta(days=7),
    )


@router.get("/schedule/visits/{visit_id}", response_class=HTMLResponse)
def schedule_visit(visit_id: int, request: Request, user: UserDep, session: SessionDep, week: str = "") -> HTMLResponse:
    """One visit of the grid, to reassign it (a form per visit would make the grid too heavy)."""
    _manager(user)
    visit = visits.get_visit(session=session, actor=user.actor, visit_id=visit_id)
    workers = session.exec(
        select(Staff)
        .where(Staff.center_id == visit.center_id, Staff.role == Role.care_worker, col(Staff.active))
        .order_by(col(Staff.name))
    ).all()
    worker = session.get(Staff, visit.worker_id) if visit.worker_id else None
    return render(
        request,
        "reassign.html",
        user,
        visit=visit,
        resident=session.get(Resident, visit.resident_id),
        workers=workers,
        worker_name=worker.name if worker else None,
        week=week[:10],
    )


@router.post("/schedule/assign", response_model=None)
def schedule_assign(request: Request, user: UserDep, form: FormDep, session: SessionDep, now: NowDep) -> Response:
    week = form.get("week", "")
    target = f"/schedule?week={quote(week)}" if week else "/schedule"
    try:
        worker = form.get("worker_id", "")
        visits.assign(
            session=session,
            actor=user.actor,
            visit_id=int(form.get("visit_id", "0")),
            worker_id=int(worker) if worker.isdigit() else None,
            rules=request.app.state.visit_rules,
            now=now,
        )
    except DomainError as exc:
        session.rollback()
        return RedirectResponse(
            target + ("&" if "?" in target else "?") + f"error={quote(exc.message)}", status_code=303
        )
    session.commit()
    return RedirectResponse(target, status_code=303)


@router.get("/messages", response_class=HTMLResponse)
def messages_page(request: Request, user: UserDep, session: SessionDep, status: str | None = None) -> HTMLResponse:
    """The message log: every SMS with its delivery state."""
    from carecenter.messaging.service import list_messages
    from carecenter.pagination import PageParams
    from notifications.models import MessageStatus

    chosen = MessageStatus(status) if status in list(MessageStatus) else None
    page = list_messages(session=session, actor=user.actor, page=PageParams(limit=200), status=chosen)
    return render(
        request,
        "messages.html",
        user,
        messages=page.items,
        total=page.total,
        status=status,
        statuses=list(MessageStatus),
    )


def _figures(session: Session, user: WebUser, now: Any, rules: Any) -> dict[str, Any]:
    from carecenter.alerts.queries import alert_stats
    from carecenter.visits.queries import visit_stats

    today = now.astimezone(ZoneInfo(user.time_zone)).date()
    alerts_figures = alert_stats(
        session=session, actor=user.actor, since=now - timedelta(days=30), until=now, center_id=user.actor.center_id
    )
    visit_figures = visit_stats(
        session=session,
        actor=user.actor,
        first=today - timedelta(days=29),
        last=today,
        center_id=user.actor.center_id,
        rules=rules,
    )
    per_worker = []
    for worker in session.exec(
        select(Staff)
        .where(Staff.center_id == user.actor.center_id, Staff.role == Role.care_worker)
        .order_by(col(Staff.name))
    ).all():
        own = session.exec(
            select(Visit).where(
                Visit.worker_id == worker.id,
                col(Visit.scheduled_start) >= now - timedelta(days=30),
                col(Visit.scheduled_start) < now,
            )
        ).all()
        done = [v for v in own if v.status == "completed"]
        per_worker.append(
            {
                "name": worker.name,
                "planned": len([v for v in own if v.status != "cancelled"]),
                "completed": len(done),
                "missed": len([v for v in own if v.status == "missed"]),
                "on_time": len(
                    [v for v in done if v.checked_in_at and v.checked_in_at <= v.scheduled_start + rules.late_after]
                ),
            }
        )
    return {"alerts": alerts_figures, "visits": visit_figures, "per_worker": per_worker}


@router.get("/figures", response_class=HTMLResponse)
def figures_page(request: Request, user: UserDep, session: SessionDep, now: NowDep) -> HTMLResponse:
    """Answer-time shares, visits on time and missed, per worker, with SVG bars."""
    _manager(user)
    return render(request, "figures.html", user, **_figures(session, user, now, request.app.state.visit_rules))


@router.get("/figures.csv")
def figures_csv(request: Request, user: UserDep, session: SessionDep, now: NowDep) -> Response:
    """The per-worker figures as CSV (UTF-8 with BOM, so spreadsheet programs read the Chinese names)."""
    import csv
    import io

    _manager(user)
    figures = _figures(session, user, now, request.app.state.visit_rules)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["worker", "planned", "completed", "missed", "on_time"])
    for row in figures["per_worker"]:
        writer.writerow([row["name"], row["planned"], row["completed"], row["missed"], row["on_time"]])
    return Response(
        "\ufeff" + out.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": "attachment; filename=figures.csv"},
    )
