"""The center's paperwork in the console: the monthly report (closing, downloads), service records
and their corrections, meals for a group, welfare visits due, eligibility groups, statements."""

from datetime import date, datetime
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, Response, StreamingResponse
from pydantic import BaseModel, Field

from carecenter.access import Role
from carecenter.catalogue.models import ServiceCategory
from carecenter.catalogue.service import service_names
from carecenter.centers.models import Center
from carecenter.centers.service import center_to_read
from carecenter.context import context_of
from carecenter.deps import NowDep, SessionDep, VisitRulesDep, assessment_dir
from carecenter.downloads import XLSX, attachment
from carecenter.exports.service import summaries as export_summaries
from carecenter.exports.template import templates
from carecenter.reports.export import csv_chunks, workbook_chunks
from carecenter.reports.monthly import monthly_report, previous_month, report_and_records, statement_for
from carecenter.residents import service as residents
from carecenter.residents.queries import active_residents, resident_names
from carecenter.service_records import service as records
from carecenter.service_records.models import MONTH, BulkMeals, RecordAdjustment
from carecenter.settings.visits import VisitRules
from carecenter.subsidies import service as subsidies
from carecenter.subsidies.models import EligibilityCreate, EligibilityEnd
from carecenter.visits import exceptions, welfare
from carecenter.visits.proof import proof_summary
from carecenter.visits.verification import ExceptionState
from carecenter.web.deps import (
    CsrfForm,
    ManagerDep,
    NoFields,
    Posted,
    UserDep,
    page_allow,
    posted,
    run_action,
)
from carecenter.web.pages.assessments import level_names
from carecenter.web.pages.records import record_form, save_record_form
from carecenter.web.paging import PageNumber, page_of_list, pager
from carecenter.web.render import back, render
from carecenter.web.user import WebUser
from carecommon.i18n import N_, gettext

router = APIRouter(include_in_schema=False)
MonthParam = Annotated[str | None, Query(pattern=MONTH)]
CORRECT = N_("Correct a service record")


def center_of(session: SessionDep, user: WebUser, center_id: int | None = None) -> Center:
    """The user's center (an admin, who has none, names it: ?center_id=)."""
    return center_to_read(session=session, actor=user.actor, center_id=center_id)


def month_or_last(month: str | None, user: WebUser, now: datetime) -> str:
    """The month asked for, else the last one (the one a manager closes and reports)."""
    return month or previous_month(now.astimezone(ZoneInfo(user.time_zone)).date())


@router.get("/reports/monthly", response_class=HTMLResponse)
def report_page(
    request: Request,
    user: ManagerDep,
    session: SessionDep,
    now: NowDep,
    rules: VisitRulesDep,
    month: MonthParam = None,
    center_id: int | None = None,
) -> HTMLResponse:
    """The month's report; an admin names the center (?center_id=)."""
    center = center_of(session, user, center_id)
    month = month_or_last(month, user, now)
    report = monthly_report(session=session, actor=user.actor, center_id=center.id, month=month, now=now, rules=rules)
    names = level_names(assessment_dir(request), user.language)
    waiting = len(exceptions.month_visits(session, center, month, states=(ExceptionState.open,)))
    known = templates(context_of(request).settings.export_template_dir)
    return render(
        request,
        "report.html",
        user,
        report=report,
        month=month,
        level_names=names,
        scope=_scope(user, center),
        exceptions_open=waiting,
        exports=export_summaries(session, known, center, month, user.language),
    )


def _scope(user: WebUser, center: Center) -> str:
    """What the page's links carry: the center, for an admin (who has none of their own)."""
    return f"&center_id={center.id}" if user.actor.is_admin else ""


def _download(
    session: SessionDep,
    user: WebUser,
    now: datetime,
    rules: VisitRules,
    month: str | None,
    kind: str,
    center_id: int | None,
) -> StreamingResponse:
    center = center_of(session, user, center_id)
    month = month_or_last(month, user, now)
    report, records = report_and_records(
        session=session, actor=user.actor, center_id=center.id, month=month, now=now, rules=rules
    )
    if kind == "xlsx":
        chunks, media = (
            workbook_chunks(session=session, report=report, records=records, time_zone=center.time_zone),
            XLSX,
        )
    else:
        chunks = csv_chunks(session=session, center_id=report.center_id, records=records, time_zone=center.time_zone)
        media = "text/csv; charset=utf-8"
    name = f"carecenter-{center.id}-{month}.{kind}"
    return StreamingResponse(chunks, media_type=media, headers=attachment(name))


@router.get("/reports/monthly.xlsx", response_model=None)
def report_xlsx(
    user: ManagerDep,
    session: SessionDep,
    now: NowDep,
    rules: VisitRulesDep,
    month: MonthParam = None,
    center_id: int | None = None,
) -> StreamingResponse:
    return _download(session, user, now, rules, month, "xlsx", center_id)


@router.get("/reports/monthly.csv", response_model=None)
def report_csv(
    user: ManagerDep,
    session: SessionDep,
    now: NowDep,
    rules: VisitRulesDep,
    month: MonthParam = None,
    center_id: int | None = None,
) -> StreamingResponse:
    return _download(session, user, now, rules, month, "csv", center_id)


class MonthForm(BaseModel):
    month: str = Field(pattern=MONTH)
    center_id: int | None = Field(default=None, ge=1, le=2**31 - 1, description="An admin's choice")
    exclude_exceptions: bool = Field(default=False, description="Close leaving the open exceptions out of the claim")


@router.post("/reports/monthly/close", response_model=None)
def close_month(
    user: ManagerDep,
    form: Annotated[Posted[MonthForm], Depends(posted(MonthForm))],
    session: SessionDep,
    now: NowDep,
) -> Response:
    """Lock the month: its records never change again; corrections go into the next open month."""
    month, center = form.values.get("month", ""), form.values.get("center_id", "")

    def act(data: MonthForm) -> None:
        records.close_month(
            session=session,
            actor=user.actor,
            center_id=data.center_id,
            month=data.month,
            now=now,
            exclude_exceptions=data.exclude_exceptions,
        )

    scope = f"&center_id={center}" if center else ""
    return run_action(session, user, form, act, back_to=f"/reports/monthly?month={month}{scope}")


@router.get("/service-records", response_class=HTMLResponse)
def records_page(
    request: Request,
    user: ManagerDep,
    session: SessionDep,
    now: NowDep,
    month: MonthParam = None,
    resident_id: int | None = None,
    center_id: int | None = None,
    page_number: PageNumber = 1,
) -> HTMLResponse:
    center = center_of(session, user, center_id)
    month = month_or_last(month, user, now)
    month_records = records.list_records(
        session=session, actor=user.actor, center_id=center.id, month=month, resident_id=resident_id
    )
    page = page_of_list(month_records, page_number, 100)
    found = page.items
    keep = {"month": month, "resident_id": str(resident_id or ""), "center_id": str(center_id or "")}
    return render(
        request,
        "service_records.html",
        user,
        month=month,
        rows=found,
        pager=pager(page, page_number, keep),
        closed=month in records.closed_months(session, center.id or 0),
        names=resident_names(session, center_id=center.id, ids={r.resident_id for r in found}),
        proof=proof_summary(session, {r.visit_id for r in found if r.visit_id is not None}),
        services=service_names(session, center.id or 0, user.language),
    )


@router.get("/service-records/{service_record_id}/adjust", response_class=HTMLResponse)
def adjust_form(service_record_id: int, request: Request, user: ManagerDep, session: SessionDep) -> HTMLResponse:
    record = records.get_record(session=session, actor=user.actor, record_id=service_record_id)
    values = {"quantity": record.quantity, "delivered": record.delivered}
    return record_form(request, user, gettext(CORRECT, user.language), RecordAdjustment, values)


@router.post("/service-records/{service_record_id}/adjust", response_model=None)
def adjust(
    service_record_id: int, request: Request, user: ManagerDep, form: CsrfForm, session: SessionDep, now: NowDep
) -> Response:
    record = records.get_record(session=session, actor=user.actor, record_id=service_record_id)
    return save_record_form(
        request,
        user,
        session,
        form,
        gettext(CORRECT, user.language),
        RecordAdjustment,
        lambda data: records.adjust_record(
            session=session, actor=user.actor, record_id=service_record_id, data=data, now=now
        ),
        f"/service-records?month={record.month}",
        partial=False,
    )


@router.get("/meals", response_class=HTMLResponse)
def meals_page(request: Request, user: UserDep, session: SessionDep, now: NowDep) -> HTMLResponse:
    """Meals for a group (a canteen sitting, a delivery round): tick who ate, one record each."""
    center = center_of(session, user)
    return render(
        request,
        "meals.html",
        user,
        services=service_names(session, center.id or 0, user.language, category=ServiceCategory.meals),
        people=active_residents(session, center_id=center.id or 0),
        today=now.astimezone(ZoneInfo(center.time_zone)).date(),
        batch=records.new_batch_id(),
        recorded=request.query_params.get("recorded"),
    )


@router.post(
    "/meals",
    response_model=None,
    dependencies=[page_allow(Role.care_worker, Role.manager, Role.admin, to=N_("record meals"))],
)
def record_meals(
    user: UserDep,
    form: Annotated[Posted[BulkMeals], Depends(posted(BulkMeals, lists=("resident_ids",)))],
    session: SessionDep,
    now: NowDep,
) -> Response:
    """One record per resident ticked; the form's batch id makes a second submit record nothing."""
    done: list[int] = []

    def act(data: BulkMeals) -> None:
        done.extend(r.id or 0 for r in records.record_bulk_meals(session=session, actor=user.actor, data=data, now=now))

    response = run_action(session, user, form, act, back_to="/meals")
    return back(f"/meals?recorded={len(done)}") if done else response


@router.get("/welfare", response_class=HTMLResponse)
def welfare_page(request: Request, user: ManagerDep, session: SessionDep, now: NowDep) -> HTMLResponse:
    center = center_of(session, user)
    return render(
        request, "welfare.html", user, center=center, due=welfare.welfare_due(session, center=center, now=now)
    )


@router.post("/welfare/plan", response_model=None)
def plan_welfare(
    request: Request,
    user: ManagerDep,
    form: Annotated[Posted[NoFields], Depends(posted(NoFields))],
    session: SessionDep,
    now: NowDep,
) -> Response:
    center = center_of(session, user)

    def act(_data: NoFields) -> None:
        welfare.plan_welfare_visits(
            session=session, actor=user.actor, center=center, rules=context_of(request).visit_rules, now=now
        )

    return run_action(session, user, form, act, back_to="/welfare")


@router.post("/residents/{resident_id}/eligibility", response_model=None)
def add_eligibility(
    resident_id: int,
    user: ManagerDep,
    form: Annotated[Posted[EligibilityCreate], Depends(posted(EligibilityCreate))],
    session: SessionDep,
    now: NowDep,
) -> Response:
    def act(data: EligibilityCreate) -> None:
        subsidies.add_eligibility(session=session, actor=user.actor, resident_id=resident_id, data=data, now=now)

    return run_action(session, user, form, act, back_to=f"/residents/{resident_id}#eligibility")


@router.post("/residents/{resident_id}/eligibility/{eligibility_id}/end", response_model=None)
def end_eligibility(
    resident_id: int,
    eligibility_id: int,
    user: ManagerDep,
    form: Annotated[Posted[EligibilityEnd], Depends(posted(EligibilityEnd))],
    session: SessionDep,
    now: NowDep,
) -> Response:
    def act(data: EligibilityEnd) -> None:
        subsidies.end_eligibility(
            session=session,
            actor=user.actor,
            resident_id=resident_id,
            eligibility_id=eligibility_id,
            ends_on=data.ends_on,
            now=now,
        )

    return run_action(session, user, form, act, back_to=f"/residents/{resident_id}#eligibility")


@router.get(
    "/residents/{resident_id}/statement",
    response_class=HTMLResponse,
    dependencies=[page_allow(Role.manager, Role.admin, to=N_("see residents' statements"))],
)
def statement_page(
    resident_id: int, request: Request, user: UserDep, session: SessionDep, now: NowDep, month: MonthParam = None
) -> HTMLResponse:
    """The resident's monthly statement, printable."""
    resident = residents.get_resident(session=session, actor=user.actor, resident_id=resident_id)
    month = month_or_last(month, user, now)
    rows, totals = statement_for(session=session, actor=user.actor, resident_id=resident_id, month=month)
    center = session.get(Center, resident.center_id)
    return render(
        request,
        "statement.html",
        user,
        resident=resident,
        center=center,
        month=month,
        rows=rows,
        totals=totals,
        services=service_names(session, resident.center_id, user.language),
    )


def statement_months(today: date) -> list[str]:
    """This month and the last, the ones a family or a manager asks about."""
    return [f"{today:%Y-%m}", previous_month(today)]
