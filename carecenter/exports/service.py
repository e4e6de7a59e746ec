"""An export: a template's rows for one center and month, each cell written as the template says,
every row validated against the template's rules, and the file in CSV, XLSX or JSON.

The rows of a closed month are the ones kept when it closed (`snapshot_month`, a month gate), so
its files are the same byte for byte whenever they are made again; an open month's are read
live. Both go through the same JSON round trip, so they are written the same way."""

import io
import json
import re
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import BaseModel
from sqlmodel import Session, select

from carecenter.access import Actor
from carecenter.audit.service import record_event
from carecenter.centers.models import Center
from carecenter.centers.service import center_to_read
from carecenter.downloads import XLSX, SafeCsvWriter
from carecenter.errors import NotFound
from carecenter.exports.models import MonthExport
from carecenter.exports.sources import Rows, SourceRow, rows_for
from carecenter.exports.template import Column, Format, Template, templates
from carecenter.service_records.service import closed_months, month_bounds
from carecommon.i18n import N_, gettext

Cell = str | int | float | None


class Problem(StrEnum):
    missing = "missing"
    length = "length"
    max_length = "max_length"
    pattern = "pattern"
    code = "code"
    visit_verified = "visit_verified"
    valid_assessment = "valid_assessment"
    insured = "insured"


# What the problem list says (msgids; the page and the API translate them).
PROBLEM_WORDS = {
    Problem.missing: N_("required, and empty"),
    Problem.length: N_("must have exactly {n} characters"),
    Problem.max_length: N_("must have at most {n} characters"),
    Problem.pattern: N_("is not in the receiver's format"),
    Problem.code: N_("has no code in the receiver's list"),
    Problem.visit_verified: N_("the visit did not verify and waits in the exception queue"),
    Problem.valid_assessment: N_("no signed capacity assessment of the last 12 months"),
    Problem.insured: N_("not insured for long-term care on the day"),
}


@dataclass(frozen=True)
class RowProblem:
    row: int  # 1-based, as the file's data rows count (the header is not one)
    who: str
    column: str | None  # None: a rule about the whole row
    problem: Problem
    value: str
    n: int | None = None  # the length a length problem names


@dataclass(frozen=True)
class Export:
    template: Template
    center: Center
    month: str
    closed: bool
    header: list[str]
    rows: list[list[Cell]]
    problems: list[RowProblem]

    @property
    def failing_rows(self) -> int:
        """Rows with at least one problem."""
        return len({p.row for p in self.problems})


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} in an export row")


def _round_trip(rows: list[SourceRow]) -> list[dict[str, Any]]:
    """The rows as the database keeps them (JSON): dates and times as ISO text."""
    loaded: list[dict[str, Any]] = json.loads(
        json.dumps([{"values": r.values, "who": r.who, "failed": r.failed} for r in rows], default=_jsonable)
    )
    return loaded


def source_rows(session: Session, center: Center, kind: Rows, month: str) -> tuple[list[dict[str, Any]], bool]:
    """The month's rows of a kind (kept at its close when it is closed) and whether it is closed."""
    assert center.id is not None
    if month in closed_months(session, center.id):
        kept = session.exec(
            select(MonthExport).where(
                MonthExport.center_id == center.id, MonthExport.month == month, MonthExport.kind == kind
            )
        ).first()
        if kept is not None:
            return kept.rows, True
    return _round_trip(rows_for(session, kind, center, month)), False


def snapshot_month(session: Session, actor: Actor, center_id: int, month: str, exclude: bool, now: datetime) -> int:
    """A month gate: as the month closes (after the exception queue's gate), its rows are kept."""
    center = session.get(Center, center_id)
    if center is None:
        return 0
    for kind in Rows:
        rows = _round_trip(rows_for(session, kind, center, month))
        session.add(MonthExport(center_id=center_id, month=month, kind=kind, rows=rows, created_at=now))
    return 0


def _text(value: Any, column: Column, zone: ZoneInfo) -> Cell:
    """One value written as the column says (from its JSON form: dates are ISO text)."""
    if value is None or value == "":
        return None
    if column.codes is not None:
        return column.codes.get(str(value))
    match column.format:
        case Format.date | Format.yyyymmdd:
            day = datetime.fromisoformat(value).date() if "T" in str(value) else date.fromisoformat(str(value))
            return day.isoformat() if column.format == Format.date else f"{day:%Y%m%d}"
        case Format.datetime:
            return datetime.fromisoformat(str(value)).astimezone(zone).strftime("%Y-%m-%d %H:%M:%S")
        case Format.yuan:
            return round(int(value) / 100, 2)
        case Format.decimal2:
            return round(float(value), 2)
        case Format.integer:
            return int(value)
    return str(value)


def _check(cell: Cell, raw: Any, column: Column) -> tuple[Problem, int | None] | None:
    if cell is None:
        if column.codes is not None and raw not in (None, ""):
            return Problem.code, None
        return (Problem.missing, None) if column.required else None
    text = f"{cell:.2f}" if isinstance(cell, float) else str(cell)
    if column.length is not None and len(text) != column.length:
        return Problem.length, column.length
    if column.max_length is not None and len(text) > column.max_length:
        return Problem.max_length, column.max_length
    if column.pattern is not None and not re.fullmatch(column.pattern, text):
        return Problem.pattern, None
    return None


def build(session: Session, template: Template, center: Center, month: str) -> Export:
    """The template's rows for the month, written and validated."""
    month_bounds(month)  # a real month, or InvalidField
    rows, closed = source_rows(session, center, template.rows, month)
    if template.categories is not None:
        rows = [row for row in rows if row["values"].get("record.category") in template.categories]
    zone = ZoneInfo(center.time_zone)
    written: list[list[Cell]] = []
    problems: list[RowProblem] = []
    for number, row in enumerate(rows, start=1):
        values, who = row["values"], row["who"]
        cells = []
        for column in template.columns:
            raw = values.get(column.value)
            cell = _text(raw, column, zone)
            found = _check(cell, raw, column)
            if found is not None:
                problems.append(
                    RowProblem(number, who, column.name, found[0], "" if raw is None else str(raw), found[1])
                )
            cells.append(cell)
        for failed in row["failed"]:
            if failed in template.checks:
                problems.append(RowProblem(number, who, None, Problem(failed), ""))
        written.append(cells)
    header = [column.name for column in template.columns]
    return Export(template, center, month, closed, header, written, problems)


def export_for(
    session: Session, actor: Actor, template_dir: str | None, code: str, center_id: int | None, month: str
) -> Export:
    """A template by its code, for the center the actor reads (an admin names it), for the month."""
    known = templates(template_dir)
    template = known.get(code)
    if template is None:
        raise NotFound("no export template {code}; known: {known}", code=code, known=", ".join(sorted(known)))
    center = center_to_read(session=session, actor=actor, center_id=center_id)
    return build(session, template, center, month)


def to_csv(export: Export) -> bytes:
    """UTF-8 with a byte-order mark (what a spreadsheet in China opens as UTF-8), CRLF lines."""
    out = io.StringIO()
    writer = SafeCsvWriter(out)
    writer.writerow(export.header)
    writer.writerows(
        [["" if c is None else (f"{c:.2f}" if isinstance(c, float) else c) for c in row] for row in export.rows]
    )
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def to_json(export: Export) -> bytes:
    body = {
        "template": export.template.code,
        "version": export.template.version,
        "center": export.center.name,
        "division_code": export.center.division_code,
        "month": export.month,
        "rows": [dict(zip(export.header, row, strict=True)) for row in export.rows],
    }
    return json.dumps(body, ensure_ascii=False, indent=1).encode("utf-8") + b"\n"


def to_xlsx(export: Export) -> bytes:
    """One sheet; text stays text (never a formula, a number or a link), amounts are numbers. Its
    stated creation time is the month's first day, so the file is the same each time it is made."""
    import xlsxwriter  # type: ignore[import-untyped]  # here: the month gate loads this module in every process

    out = io.BytesIO()
    options = {"in_memory": True, "strings_to_formulas": False, "strings_to_numbers": False, "strings_to_urls": False}
    workbook = xlsxwriter.Workbook(out, options)
    workbook.set_properties(
        {
            "title": export.template.title.zh,
            "created": datetime.combine(month_bounds(export.month)[0], datetime.min.time()),
        }
    )
    sheet = workbook.add_worksheet(export.template.sheet)
    bold = workbook.add_format({"bold": True})
    sheet.write_row(0, 0, export.header, bold)
    for r, row in enumerate(export.rows, start=1):
        for c, cell in enumerate(row):
            if isinstance(cell, int | float):
                sheet.write_number(r, c, cell)
            elif cell is not None:
                sheet.write_string(r, c, cell)
    workbook.close()
    return out.getvalue()


class FileFormat(StrEnum):
    csv = "csv"
    xlsx = "xlsx"
    json = "json"


WRITERS = {FileFormat.csv: to_csv, FileFormat.xlsx: to_xlsx, FileFormat.json: to_json}
MEDIA = {
    FileFormat.csv: "text/csv; charset=utf-8",
    FileFormat.xlsx: XLSX,
    FileFormat.json: "application/json",
}


class TemplatePublic(BaseModel):
    code: str
    version: str
    title: str
    receiver: str
    rows: Rows
    columns: list[str]
    formats: list[FileFormat]


class ProblemPublic(BaseModel):
    row: int
    who: str
    column: str | None
    problem: str
    message: str
    value: str


class ExportCheck(BaseModel):
    template: str
    month: str
    closed: bool
    rows: int
    problems: list[ProblemPublic]


def check(export: Export, language: str) -> ExportCheck:
    return ExportCheck(
        template=export.template.code,
        month=export.month,
        closed=export.closed,
        rows=len(export.rows),
        problems=[
            ProblemPublic(
                row=p.row,
                who=p.who,
                column=p.column,
                problem=p.problem,
                message=gettext(PROBLEM_WORDS[p.problem], language).format(n=p.n),
                value=p.value,
            )
            for p in export.problems
        ],
    )


def audited_file(session: Session, actor: Actor, export: Export, file_format: FileFormat, now: datetime) -> bytes:
    """The file's bytes; who took which file of personal data is audited."""
    record_event(
        session=session,
        actor=actor,
        action="export.download",
        entity_type="export",
        entity_id=None,
        center_id=export.center.id,
        now=now,
        reason=f"{export.template.code} {export.month} {file_format}",
    )
    session.commit()
    return WRITERS[file_format](export)


def file_name(export: Export, file_format: FileFormat) -> str:
    return f"{export.template.code}-{export.center.id}-{export.month}.{file_format}"


@dataclass(frozen=True)
class Summary:
    code: str
    title: str
    rows: int
    failing: int  # rows with at least one problem


def summaries(session: Session, known: dict[str, Template], center: Center, month: str, language: str) -> list[Summary]:
    """Each template's rows for the month and how many fail its rules (the monthly report's list)."""
    found = []
    for template in sorted(known.values(), key=lambda t: t.code):
        export = build(session, template, center, month)
        found.append(Summary(template.code, template.title.in_(language), len(export.rows), export.failing_rows))
    return found
