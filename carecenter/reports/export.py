"""The monthly report as an XLSX workbook (summary, every record, per-resident statements) and
the records as CSV, with Chinese headings: the civil-affairs office's language, whoever downloads.

XlsxWriter in constant-memory mode writes each row to disk as it goes (a month of a large center
is ~25,000 records), several times faster than openpyxl's writer; the file is built in a
temporary file and streamed out, and the CSV is streamed in blocks of rows.
"""

import io
import tempfile
from collections.abc import Iterator, Sequence
from datetime import datetime
from itertools import groupby
from typing import IO, Any
from zoneinfo import ZoneInfo

import xlsxwriter  # type: ignore[import-untyped]
from sqlmodel import Session, select
from xlsxwriter.format import Format  # type: ignore[import-untyped]
from xlsxwriter.worksheet import Worksheet  # type: ignore[import-untyped]

from carecenter.assessments.definition import definitions
from carecenter.catalogue.service import service_names
from carecenter.downloads import SafeCsvWriter
from carecenter.reports.monthly import MonthlyReport, ReportRow, totals_of
from carecenter.residents.models import Resident
from carecenter.staff.models import Staff
from carecenter.visits.proof import proof_summary
from carecenter.words import value_name

LANGUAGE = "zh-CN"
RECORD_HEADINGS = [
    "记录编号", "服务日期", "居民编号", "居民姓名", "服务", "类别", "数量", "单位", "单价(元)", "金额(元)",
    "补贴(元)", "自付(元)", "补贴类别", "是否提供", "未提供原因", "护理员", "签到时间", "签退时间",
    "签到距离(米)", "签退距离(米)", "签到偏离住址", "走访编号", "照片(张)", "服务确认", "批量编号", "更正记录",
    "更正原因",
]  # fmt: skip
ROW_HEADINGS = ["项目", "服务人数", "记录数", "数量", "金额(元)", "补贴(元)", "自付(元)"]
CHUNK = 64 * 1024
CSV_ROWS = 500  # rows per streamed block: a thread hop per row would cost more than the row


def yuan(fen: int) -> float:
    return round(fen / 100, 2)


class Names:
    """Residents', workers', services' and values' names for one center, each looked up once."""

    def __init__(self, session: Session, center_id: int, records: Sequence[Any] = ()) -> None:
        self.residents = dict(
            session.exec(select(Resident.id, Resident.name).where(Resident.center_id == center_id)).all()
        )
        self.workers = dict(session.exec(select(Staff.id, Staff.name).where(Staff.center_id == center_id)).all())
        self.services = service_names(session, center_id, LANGUAGE)
        self._values: dict[str, str] = {}
        self.proof = proof_summary(session, {r.visit_id for r in records if r.visit_id is not None})

    def value(self, value: str) -> str:
        if value not in self._values:
            self._values[value] = value_name(value, LANGUAGE)
        return self._values[value]


def record_row(r: Any, names: Names, zone: ZoneInfo) -> list[Any]:
    """One record as a row; None is an empty cell (nothing is written for it)."""

    def local(moment: datetime | None) -> str | None:
        return moment.astimezone(zone).strftime("%Y-%m-%d %H:%M") if moment else None

    photos, confirmation = names.proof.get(r.visit_id, (None, None)) if r.visit_id else (None, None)
    proof = [photos, names.value(confirmation) if confirmation else None]

    return [
        r.id, r.service_on.isoformat(), r.resident_id, names.residents.get(r.resident_id),
        names.services.get(r.service_code, r.service_code), names.value(r.category), r.quantity,
        names.value(r.unit), yuan(r.unit_price_fen), yuan(r.amount_fen), yuan(r.subsidy_fen),
        yuan(r.resident_fen), names.value(r.eligibility_group or "none"), "是" if r.delivered else "否",
        r.not_delivered_reason, names.workers.get(r.worker_id) if r.worker_id else None,
        local(r.checked_in_at), local(r.checked_out_at), r.check_in_distance_m, r.check_out_distance_m,
        "是" if r.far_from_home else None, r.visit_id, *proof, r.bulk_batch, r.adjusts_id, r.adjustment_reason,
    ]  # fmt: skip


def _row(row: ReportRow, label: str) -> list[Any]:
    amounts = [yuan(row.amount_fen), yuan(row.subsidy_fen), yuan(row.resident_fen)]
    return [label, row.residents, row.records, row.quantity, *amounts]


class Sheet:
    """A worksheet written row after row (constant memory allows no going back)."""

    def __init__(self, sheet: Worksheet, bold: Format) -> None:
        self.sheet, self.bold, self.next = sheet, bold, 0

    def append(self, values: Sequence[Any], bold: bool = False) -> None:
        self.sheet.write_row(self.next, 0, values, self.bold if bold else None)
        self.next += 1


def _summary(sheet: Sheet, report: MonthlyReport, names: Names) -> None:
    sheet.append([f"{report.center_name} {report.month} 居家养老服务月报"], bold=True)
    sheet.append(["状态", f"已结账 {report.closed_at:%Y-%m-%d}" if report.closed_at else "未结账"])
    sheet.append([])
    sheet.append(["按服务类别", *ROW_HEADINGS[1:]], bold=True)
    for row in report.by_category:
        sheet.append(_row(row, names.value(row.key)))
    sheet.append(_row(report.totals, "合计"), bold=True)
    sheet.append([])
    sheet.append(["按补贴类别", *ROW_HEADINGS[1:]], bold=True)
    for row in report.by_group:
        sheet.append(_row(row, names.value(row.key)))
    sheet.append(["未提供的服务(条)", report.not_delivered])
    sheet.append(["上月结账后更正(条)", report.adjustments])
    sheet.append([])
    welfare = report.welfare
    heading = f"{welfare.age}岁以上独居老人探访(每{welfare.every_days}天至少一次)"
    sheet.append([heading, "应探访", "按时探访", "覆盖率"], bold=True)
    sheet.append(["", welfare.eligible, welfare.covered, welfare.share if welfare.share is not None else ""])
    if welfare.not_covered:
        sheet.append(["未按时探访", "、".join(welfare.not_covered)])
    sheet.append([])
    sheet.append(["能力评估等级", "人数"], bold=True)
    level_names = {level.code: level.name.zh for d in definitions().values() for level in d.levels}
    for code, count in sorted(report.levels.items()):
        sheet.append([level_names.get(code, "未评估"), count])
    sheet.append([])
    checked = report.verification
    sheet.append([f"上门服务核验(目标 {checked.target:.0%})", "完成", "核验通过", "核验率"], bold=True)
    for checked_row in [checked.center, *checked.workers]:
        sheet.append(
            [
                checked_row.name,
                checked_row.completed,
                checked_row.verified,
                checked_row.share if checked_row.share is not None else "",
            ]
        )
    sheet.append([])
    alerts = report.alerts
    sheet.append(["告警", "数量"], bold=True)
    sheet.append(["告警总数", alerts.alerts])
    sheet.append(["需人工处理", alerts.needing_answer])
    if alerts.ack_seconds_median is not None:
        sheet.append(["响应时间中位数(秒)", round(alerts.ack_seconds_median)])
    for kind, count in sorted(alerts.by_kind.items()):
        sheet.append([kind, count])


def write_workbook(
    out: IO[bytes], *, session: Session, report: MonthlyReport, records: Sequence[Any], time_zone: str
) -> None:
    names = Names(session, report.center_id, records)
    zone = ZoneInfo(time_zone)
    # Text is text: no guessing at URLs or formulas in names and reasons (faster, and safer).
    options = {"constant_memory": True, "in_memory": False, "strings_to_urls": False, "strings_to_formulas": False}
    book = xlsxwriter.Workbook(out, options)
    bold = book.add_format({"bold": True})
    _summary(Sheet(book.add_worksheet("汇总"), bold), report, names)
    records_sheet = Sheet(book.add_worksheet("服务记录"), bold)
    records_sheet.append(RECORD_HEADINGS, bold=True)
    for r in records:
        records_sheet.append(record_row(r, names, zone))
    statements = Sheet(book.add_worksheet("个人结算单"), bold)
    statements.append(["居民", "服务日期", "服务", "数量", "金额(元)", "补贴(元)", "自付(元)"], bold=True)
    in_order = sorted(records, key=lambda r: (r.resident_id, r.service_on, r.id or 0))
    for resident_id, own in groupby(in_order, key=lambda r: r.resident_id):
        rows = list(own)
        name = names.residents.get(resident_id, "")
        for r in rows:
            service = names.services.get(r.service_code, r.service_code)
            amounts = [yuan(r.amount_fen), yuan(r.subsidy_fen), yuan(r.resident_fen)]
            statements.append([name, r.service_on.isoformat(), service, r.quantity, *amounts])
        subtotal = totals_of(rows)
        amounts = [yuan(subtotal.amount_fen), yuan(subtotal.subsidy_fen), yuan(subtotal.resident_fen)]
        statements.append([f"{name} 小计", "", "", subtotal.quantity, *amounts], bold=True)
    book.close()


def workbook_chunks(
    *, session: Session, report: MonthlyReport, records: Sequence[Any], time_zone: str
) -> Iterator[bytes]:
    """The workbook built in a temporary file (not in memory), then read out in chunks."""
    with tempfile.TemporaryFile() as file:
        write_workbook(file, session=session, report=report, records=records, time_zone=time_zone)
        file.seek(0)
        while chunk := file.read(CHUNK):
            yield chunk


def csv_chunks(*, session: Session, center_id: int, records: Sequence[Any], time_zone: str) -> Iterator[bytes]:
    """Every record of the month as CSV, in blocks of rows (with a BOM so Excel reads the Chinese)."""
    names = Names(session, center_id, records)
    zone = ZoneInfo(time_zone)
    buffer = io.StringIO()
    writer = SafeCsvWriter(buffer)
    writer.writerow(RECORD_HEADINGS)
    yield "\ufeff".encode() + buffer.getvalue().encode()
    for start in range(0, len(records), CSV_ROWS):
        buffer.seek(0)
        buffer.truncate()
        writer.writerows(record_row(r, names, zone) for r in records[start : start + CSV_ROWS])
        yield buffer.getvalue().encode()
