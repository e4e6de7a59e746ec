"""JSON, XLSX and CSV: the monthly report; a resident's monthly statement."""

from enum import StrEnum
from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import StreamingResponse
from pydantic import BaseModel

from carecenter.access import Role
from carecenter.centers.models import Center
from carecenter.deps import ActorDep, NowDep, SessionDep, VisitRulesDep, allow
from carecenter.downloads import XLSX, attachment
from carecenter.reports.export import csv_chunks, workbook_chunks
from carecenter.reports.monthly import MonthlyReport, ReportRow, report_and_records, statement_for
from carecenter.service_records.models import MONTH, ServiceRecordPublic
from carecommon.i18n import N_

router = APIRouter(tags=["reports"])


class ReportFormat(StrEnum):
    json = "json"
    xlsx = "xlsx"
    csv = "csv"


class Statement(BaseModel):
    resident_id: int
    month: str
    records: list[ServiceRecordPublic]
    totals: ReportRow


@router.get(
    "/api/v1/reports/monthly",
    response_model=MonthlyReport,
    responses={200: {"content": {XLSX: {}, "text/csv": {}}, "description": "JSON, or the file asked for"}},
    dependencies=[allow(Role.manager, Role.admin, to=N_("see the monthly report"))],
)
def get_monthly_report(
    month: Annotated[str, Query(pattern=MONTH, description="YYYY-MM")],
    actor: ActorDep,
    session: SessionDep,
    now: NowDep,
    rules: VisitRulesDep,
    center_id: int | None = None,
    format: ReportFormat = ReportFormat.json,
) -> MonthlyReport | StreamingResponse:
    """What the center delivered in the month, to whom, paid by whom; as JSON, XLSX (summary, every
    record, per-resident statements; Chinese headings) or CSV (every record). Staff of the center only."""
    report, records = report_and_records(
        session=session, actor=actor, center_id=center_id, month=month, now=now, rules=rules
    )
    if format == ReportFormat.json:
        return report
    center = session.get(Center, report.center_id)
    assert center is not None
    name = f"carecenter-{report.center_id}-{report.month}"
    if format == ReportFormat.xlsx:
        chunks = workbook_chunks(session=session, report=report, records=records, time_zone=center.time_zone)
        media, suffix = XLSX, "xlsx"
    else:
        chunks = csv_chunks(session=session, center_id=report.center_id, records=records, time_zone=center.time_zone)
        media, suffix = "text/csv; charset=utf-8", "csv"
    return StreamingResponse(chunks, media_type=media, headers=attachment(f"{name}.{suffix}"))


@router.get(
    "/api/v1/residents/{resident_id}/statement",
    response_model=Statement,
    dependencies=[allow(Role.manager, Role.admin, to=N_("see residents' statements"))],
)
def get_statement(
    resident_id: int,
    month: Annotated[str, Query(pattern=MONTH, description="YYYY-MM")],
    actor: ActorDep,
    session: SessionDep,
) -> Statement:
    """The resident's services of the month with what the subsidy paid and what they pay."""
    records, totals = statement_for(session=session, actor=actor, resident_id=resident_id, month=month)
    return Statement(
        resident_id=resident_id,
        month=month,
        records=[ServiceRecordPublic.model_validate(r, from_attributes=True) for r in records],
        totals=totals,
    )
