"""The monthly report as an XLSX workbook (summary, every record, per-resident statements) and
the records as CSV, with Chinese headings: the civil-affairs office's language, whoever downloads.

openpyxl's write-only mode keeps one row at a time in memory; the file is built in a temporary
file and streamed out, and the CSV is streamed row by row.
"""

import csv
import io
import tempfile
from collections.abc import Iterator
from itertools import groupby
from typing import IO, Any
from zoneinfo import ZoneInfo

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font
from openpyxl.worksheet._write_only import WriteOnlyWorksheet
from sqlmodel import Session, col, select

from carecenter.assessments.definition import definitions
from carecenter.catalogue.service import service_names
from carecenter.reports.monthly import MonthlyReport, ReportRow, month_records, totals_of
from carecenter.residents.models import Resident
from carecenter.service_records.models import ServiceRecord
from carecenter.staff.models import Staff
from carecenter.words import value_name

LANGUAGE = "zh-CN"
RECORD_HEADINGS = [
    "记录编号", "服务日期", "居民编号", "居民姓名", "服务", "类别", "数量", "单位", "单价(元)", "金额(元)",
    "补贴(元)", "自付(元)", "补贴类别", "是否提供", "未提供原因", "护理员", "签到时间", "签退时间",
    "签到距离(米)", "签退距离(米)", "签到偏离住址", "走访编号", "批量编号", "更正记录", "更正原因",
]  # fmt: skip
ROW_HEADINGS = ["项目", "服务人数", "记录数", "数量", "金额(元)", "补贴(元)", "自付(元)"]
CHUNK = 64 * 1024


def yuan(fen: int) -> float:
    return round(fen / 100, 2)


class Names:
    """Residents', workers' and services' names for one center, looked up once."""

    def __init__(self, session: Session, center_id: int) -> None:
        self.residents = dict(
            session.exec(select(Resident.id, Resident.name).where(Resident.center_id == center_id)).all()
        )
        self.workers = dict(session.exec(select(Staff.id, Staff.name).where(Staff.center_id == center_id)).all())
        self.services = service_names(session, center_id, LANGUAGE)


def record_row(r: ServiceRecord, names: Names, zone: ZoneInfo) -> list[Any]:
    def local(moment: Any) -> str:
        return moment.astimezone(zone).strftime("%Y-%m-%d %H:%M") if moment else ""

    return [
        r.id, r.service_on.isoformat(), r.resident_id, names.residents.get(r.resident_id, ""),
        names.services.get(r.service_code, r.service_code), value_name(r.category, LANGUAGE), r.quantity,
        value_name(r.unit, LANGUAGE), yuan(r.unit_price_fen), yuan(r.amount_fen), yuan(r.subsidy_fen),
        yuan(r.resident_fen), value_name(r.eligibility_group or "none", LANGUAGE), "是" if r.delivered else "否",
        r.not_delivered_reason or "", names.workers.get(r.worker_id, "") if r.worker_id else "",
        local(r.checked_in_at), local(r.checked_out_at),
        r.check_in_distance_m if r.check_in_distance_m is not None else "",
        r.check_out_distance_m if r.check_out_distance_m is not None else "",
        "是" if r.far_from_home else "", r.visit_id or "", r.bulk_batch or "", r.adjusts_id or "",
        r.adjustment_reason or "",
    ]  # fmt: skip


def _row(row: ReportRow, label: str) -> list[Any]:
    return [
        label,
        row.residents,
        row.records,
        row.quantity,
        yuan(row.amount_fen),
        yuan(row.subsidy_fen),
        yuan(row.resident_fen),
    ]


def _bold(sheet: WriteOnlyWorksheet, values: list[Any]) -> None:
    cells = []
    for value in values:
        cell = WriteOnlyCell(sheet, value=value)
        cell.font = Font(bold=True)
        cells.append(cell)
    sheet.append(cells)


def _summary(sheet: WriteOnlyWorksheet, report: MonthlyReport) -> None:
    sheet.append([f"{report.center_name} {report.month} 居家养老服务月报"])
    sheet.append(["状态", f"已结账 {report.closed_at:%Y-%m-%d}" if report.closed_at else "未结账"])
    sheet.append([])
    _bold(sheet, ["按服务类别", *ROW_HEADINGS[1:]])
    for row in report.by_category:
        sheet.append(_row(row, value_name(row.key, LANGUAGE)))
    _bold(sheet, _row(report.totals, "合计"))
    sheet.append([])
    _bold(sheet, ["按补贴类别", *ROW_HEADINGS[1:]])
    for row in report.by_group:
        sheet.append(_row(row, value_name(row.key, LANGUAGE)))
    sheet.append(["未提供的服务(条)", report.not_delivered])
    sheet.append(["上月结账后更正(条)", report.adjustments])
    sheet.append([])
    welfare = report.welfare
    _bold(sheet, [f"{welfare.age}岁以上独居老人探访(每{welfare.every_days}天至少一次)", "应探访", "按时探访", "覆盖率"])
    sheet.append(["", welfare.eligible, welfare.covered, welfare.share if welfare.share is not None else ""])
    if welfare.not_covered:
        sheet.append(["未按时探访", "、".join(welfare.not_covered)])
    sheet.append([])
    _bold(sheet, ["能力评估等级", "人数"])
    level_names = {level.code: level.name.zh for d in definitions().values() for level in d.levels}
    for code, count in sorted(report.levels.items()):
        sheet.append([level_names.get(code, "未评估"), count])
    sheet.append([])
    alerts = report.alerts
    _bold(sheet, ["告警", "数量"])
    sheet.append(["告警总数", alerts.alerts])
    sheet.append(["需人工处理", alerts.needing_answer])
    if alerts.ack_seconds_median is not None:
        sheet.append(["响应时间中位数(秒)", round(alerts.ack_seconds_median)])
    for kind, count in sorted(alerts.by_kind.items()):
        sheet.append([kind, count])


def write_workbook(out: IO[bytes], *, session: Session, report: MonthlyReport, time_zone: str) -> None:
    names = Names(session, report.center_id)
    zone = ZoneInfo(time_zone)
    book = Workbook(write_only=True)
    _summary(book.create_sheet("汇总"), report)
    records_sheet = book.create_sheet("服务记录")
    _bold(records_sheet, RECORD_HEADINGS)
    records = month_records(session, report.center_id, report.month)
    for r in records:
        records_sheet.append(record_row(r, names, zone))
    statements = book.create_sheet("个人结算单")
    _bold(statements, ["居民", "服务日期", "服务", "数量", "金额(元)", "补贴(元)", "自付(元)"])
    for resident_id, own in groupby(
        sorted(records, key=lambda r: (r.resident_id, r.service_on, r.id or 0)), key=lambda r: r.resident_id
    ):
        rows = list(own)
        for r in rows:
            statements.append([
                names.residents.get(resident_id, ""), r.service_on.isoformat(),
                names.services.get(r.service_code, r.service_code), r.quantity,
                yuan(r.amount_fen), yuan(r.subsidy_fen), yuan(r.resident_fen),
            ])  # fmt: skip
        subtotal = totals_of(rows)
        _bold(statements, [
            f"{names.residents.get(resident_id, '')} 小计", "", "", subtotal.quantity,
            yuan(subtotal.amount_fen), yuan(subtotal.subsidy_fen), yuan(subtotal.resident_fen),
        ])  # fmt: skip
    book.save(out)


def workbook_chunks(*, session: Session, report: MonthlyReport, time_zone: str) -> Iterator[bytes]:
    """The workbook built in a temporary file (not in memory), then read out in chunks."""
    with tempfile.TemporaryFile() as file:
        write_workbook(file, session=session, report=report, time_zone=time_zone)
        file.seek(0)
        while chunk := file.read(CHUNK):
            yield chunk


def csv_chunks(*, session: Session, center_id: int, month: str, time_zone: str) -> Iterator[bytes]:
    """Every record of the month, one CSV line at a time (with a BOM so Excel reads the Chinese)."""
    names = Names(session, center_id)
    zone = ZoneInfo(time_zone)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(RECORD_HEADINGS)
    yield "\ufeff".encode() + buffer.getvalue().encode()
    stmt = (
        select(ServiceRecord)
        .where(ServiceRecord.center_id == center_id, ServiceRecord.month == month)
        .order_by(col(ServiceRecord.service_on), col(ServiceRecord.id))
    )
    for r in session.exec(stmt):
        buffer.seek(0)
        buffer.truncate()
        writer.writerow(record_row(r, names, zone))
        yield buffer.getvalue().encode()
