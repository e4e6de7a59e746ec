"""The monthly report: its sums agree with the records, the XLSX and CSV carry the same, access."""

import csv
import io
from datetime import date, datetime, timedelta

from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlmodel import Session

from carecenter.access import Role
from carecenter.centers.models import Center
from carecenter.residents.models import LivingSituation, Resident
from carecenter.visits.models import VisitStatus
from tests.conftest import Clock
from tests.factories import (
    login,
    make_assessment,
    make_center,
    make_eligibility,
    make_resident,
    make_service_record,
    make_staff,
    make_visit,
)


def _month_of_records(session: Session) -> Center:
    center = make_center(session, name="测试镇中心")
    poor = make_resident(session, center=center, name="张特困")
    make_eligibility(session, resident=poor, group="extremely_poor")
    paying = make_resident(session, center=center, name="李自费")
    make_assessment(session, resident=poor, level="moderate", total=55)
    rows = [
        (poor, "meals", "meals", 2, 2400, 2400, 0, "extremely_poor"),
        (poor, "bathing", "bathing", 1, 5000, 4000, 1000, "extremely_poor"),
        (paying, "meals", "meals", 1, 1200, 0, 1200, None),
        (paying, "cleaning", "cleaning", 1.5, 4500, 0, 4500, None),
    ]
    for resident, code, category, quantity, amount, subsidy, own, group in rows:
        make_service_record(
            session,
            resident=resident,
            service_code=code,
            category=category,
            quantity=quantity,
            amount_fen=amount,
            subsidy_fen=subsidy,
            resident_fen=own,
            eligibility_group=group,
            service_on=date(2026, 10, 15),
            month="2026-10",
        )
    make_service_record(
        session, resident=paying, service_code="bathing", category="bathing", delivered=False, quantity=0,
        amount_fen=0, resident_fen=0, not_delivered_reason="不在家", service_on=date(2026, 10, 16), month="2026-10",
    )  # fmt: skip
    make_service_record(session, resident=paying, month="2026-09", service_on=date(2026, 9, 30))  # another month
    return center


def test_the_report_sums_the_records(client: TestClient, session: Session) -> None:
    center = _month_of_records(session)
    headers = login(client, make_staff(session, center=center, role=Role.manager))
    report = client.get("/api/v1/reports/monthly", params={"month": "2026-10"}, headers=headers).json()
    totals = report["totals"]
    assert (totals["records"], totals["amount_fen"], totals["subsidy_fen"], totals["resident_fen"]) == (
        5,
        13100,
        6400,
        6700,
    )
    assert totals["residents"] == 2 and report["not_delivered"] == 1
    by_category = {r["key"]: r for r in report["by_category"]}
    assert (
        by_category["meals"]["quantity"],
        by_category["meals"]["amount_fen"],
        by_category["meals"]["residents"],
    ) == (3, 3600, 2)
    assert by_category["bathing"]["residents"] == 1  # the bath not given serves nobody
    by_group = {r["key"]: r for r in report["by_group"]}
    assert (by_group["extremely_poor"]["subsidy_fen"], by_group["none"]["resident_fen"]) == (6400, 5700)
    assert report["levels"] == {"moderate": 1, "none": 1}
    assert report["closed_at"] is None


def test_the_workbook_and_the_csv_carry_the_same_figures(client: TestClient, session: Session) -> None:
    center = _month_of_records(session)
    headers = login(client, make_staff(session, center=center, role=Role.manager))
    response = client.get("/api/v1/reports/monthly", params={"month": "2026-10", "format": "xlsx"}, headers=headers)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/vnd.openxmlformats")
    assert "2026-10.xlsx" in response.headers["content-disposition"]
    book = load_workbook(io.BytesIO(response.content), read_only=True)
    assert book.sheetnames == ["汇总", "服务记录", "个人结算单"]
    records = list(book["服务记录"].iter_rows(values_only=True))
    header, body = records[0], records[1:]
    assert header[:4] == ("记录编号", "服务日期", "居民编号", "居民姓名")
    assert len(body) == 5
    amount, subsidy = header.index("金额(元)"), header.index("补贴(元)")
    assert round(sum(float(str(r[amount])) for r in body), 2) == 131.0
    assert round(sum(float(str(r[subsidy])) for r in body), 2) == 64.0
    summary = {row[0]: row for row in book["汇总"].iter_rows(values_only=True) if row and row[0]}
    assert summary["合计"][4:7] == (131.0, 64.0, 67.0)
    assert summary["助餐"][1:4] == (2, 2, 3)  # residents, records, quantity
    statements = [row for row in book["个人结算单"].iter_rows(values_only=True)]
    subtotals = {row[0]: row[4:7] for row in statements if row[0] and str(row[0]).endswith("小计")}
    assert subtotals == {"张特困 小计": (74.0, 64.0, 10.0), "李自费 小计": (57.0, 0.0, 57.0)}

    csv_response = client.get("/api/v1/reports/monthly", params={"month": "2026-10", "format": "csv"}, headers=headers)
    assert csv_response.content.startswith("\ufeff".encode())
    lines = list(csv.reader(io.StringIO(csv_response.content.decode("utf-8-sig"))))
    assert lines[0][:2] == ["记录编号", "服务日期"] and len(lines) == 6
    assert round(sum(float(line[amount]) for line in lines[1:]), 2) == 131.0


def test_the_report_is_the_managers_of_the_center(client: TestClient, session: Session) -> None:
    center = _month_of_records(session)
    worker = login(client, make_staff(session, center=center))
    assert client.get("/api/v1/reports/monthly", params={"month": "2026-10"}, headers=worker).status_code == 403
    other = login(client, make_staff(session, center=make_center(session), role=Role.manager))
    asked = {"month": "2026-10", "center_id": center.id}
    assert client.get("/api/v1/reports/monthly", params=asked, headers=other).status_code == 404
    theirs = client.get("/api/v1/reports/monthly", params={"month": "2026-10"}, headers=other).json()
    assert theirs["totals"]["records"] == 0
    for month in ("2026-13", "26-10", "1999-12", "2026-1"):
        assert client.get("/api/v1/reports/monthly", params={"month": month}, headers=other).status_code == 422


def test_welfare_visit_coverage_of_old_people_living_alone(client: TestClient, session: Session, clock: Clock) -> None:
    center = make_center(session)
    worker = make_staff(session, center=center)

    def alone(name: str, born: int) -> Resident:
        return make_resident(
            session, center=center, name=name, birth_date=date(born, 3, 1), living_situation=LivingSituation.alone
        )

    weekly, gap, never = alone("每周", 1940), alone("断了", 1938), alone("没人去", 1935)
    alone("太年轻", 1950)  # 76: not counted
    make_resident(session, center=center, name="和家人住", birth_date=date(1930, 1, 1))
    start = datetime(2026, 10, 1, 1, 0, tzinfo=clock.now.tzinfo)
    for day in range(0, 31, 6):
        visit_on(session, weekly, start + timedelta(days=day), worker.id)
    for day in (0, 5, 20, 27):
        visit_on(session, gap, start + timedelta(days=day), worker.id)
    headers = login(client, make_staff(session, center=center, role=Role.manager))
    welfare = client.get("/api/v1/reports/monthly", params={"month": "2026-10"}, headers=headers).json()["welfare"]
    assert (welfare["age"], welfare["every_days"], welfare["eligible"], welfare["covered"]) == (80, 7, 3, 1)
    assert welfare["not_covered"] == sorted(["断了", "没人去"]) and never


def visit_on(session: Session, resident: Resident, at: datetime, worker_id: int | None) -> None:
    make_visit(
        session, resident=resident, start=at, worker_id=worker_id, status=VisitStatus.completed,
        checked_in_at=at, checked_out_at=at + timedelta(minutes=40),
    )  # fmt: skip


def test_text_a_spreadsheet_would_run_is_written_as_text_in_every_csv(client: TestClient, session: Session) -> None:
    """A resident's name or a "not given" reason starting with = + - @ tab or CR is not a formula."""
    center = make_center(session)
    evil = make_resident(session, center=center, name='=HYPERLINK("http://evil.example","点我")')
    reasons = ["+cmd|' /C calc'!A0", "-2+3", "@SUM(A1:A9)", "\tTAB", "\rCR"]
    for reason in reasons:
        make_service_record(
            session, resident=evil, service_on=date(2026, 10, 3), month="2026-10", delivered=False,
            not_delivered_reason=reason, amount_fen=-1200, resident_fen=-1200,
        )  # fmt: skip
    manager = make_staff(session, center=center, role=Role.manager, name="@manager")
    headers = login(client, manager)
    answer = client.get("/api/v1/reports/monthly", params={"month": "2026-10", "format": "csv"}, headers=headers)
    assert answer.headers["cache-control"] == "private, no-store"
    lines = list(csv.reader(io.StringIO(answer.content.decode("utf-8-sig"), newline="")))
    cells = [cell for line in lines[1:] for cell in line]
    assert '\'=HYPERLINK("http://evil.example","点我")' in cells
    assert sorted(c for c in cells if c[1:] in reasons) == sorted("'" + r for r in reasons)
    assert not [c for c in cells if c[:1] in ("=", "+", "@", "\t", "\r")]
    assert "-12.0" in cells  # a negative amount is still a number
