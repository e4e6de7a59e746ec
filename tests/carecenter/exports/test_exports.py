"""Exports in the receiver's format through the API: the LTCI claim of a month with what fails
its rules listed, the same file as CSV, XLSX and JSON, a closed month's file the same bytes ever
after, the subsidy report and the roster, and a province's own template read from a folder."""

import csv
import io
import json
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlmodel import Session, select

from carecenter.access import Role
from carecenter.audit.models import AuditEvent
from carecenter.catalogue.models import ServiceOffering
from carecenter.exports import service
from carecenter.exports.template import SHIPPED, templates
from carecenter.residents.models import Resident
from carecenter.subsidies.models import Eligibility, EligibilityGroup
from tests.factories import (
    login,
    make_assessment,
    make_center,
    make_resident,
    make_service_record,
    make_staff,
    make_visit,
)

OCTOBER = datetime(2026, 10, 12, 1, 0, tzinfo=UTC)
BATH_CODE = "H11011100010000A1"  # made up: 17 capitals and digits


def insured(session: Session, resident: Resident, number: str) -> None:
    session.add(
        Eligibility(
            center_id=resident.center_id,
            resident_id=resident.id or 0,
            group=EligibilityGroup.ltci_insured,
            starts_on=date(2026, 1, 1),
            document_ref=number,
            created_at=datetime.now(UTC),
        )
    )
    session.commit()


def served(session: Session, resident: Resident, day: int, exception: str | None = None, **more: Any) -> int:
    """A completed October visit and its service record; `exception` as the queue left it."""
    visit = make_visit(
        session,
        resident=resident,
        start=OCTOBER.replace(day=day),
        status="completed",
        checked_in_at=OCTOBER.replace(day=day),
        checked_out_at=OCTOBER.replace(day=day, hour=2),
        check_in_method="gps",
        check_out_method="home_code",
        exception=exception,
        tasks=[{"service": "meals", "done": True}],
    )
    values = {"service_code": "bathing", "category": "bathing", "unit": "bath"} | more
    record = make_service_record(
        session, resident=resident, visit_id=visit.id, service_on=date(2026, 10, day), month="2026-10", **values
    )
    assert record.id is not None
    return record.id


def the_month(session: Session) -> dict[str, Any]:
    center = make_center(session, division_code="110111")
    bath = session.exec(
        select(ServiceOffering).where(ServiceOffering.center_id == center.id, ServiceOffering.code == "bathing")
    ).one()
    bath.ltci_code = BATH_CODE
    session.add(bath)
    session.commit()
    wang = make_resident(session, center=center, name="王秀英", national_id="11011119400501008X")
    li = make_resident(session, center=center, name="李大爷", gender="male", national_id="110111194107020017")
    zhao = make_resident(session, center=center, name="赵奶奶")  # not insured: not in the claim
    insured(session, wang, "LTC-2026-0001")
    insured(session, li, "LTC-2026-0002")
    make_assessment(session, resident=wang, assessed_on=date(2026, 3, 2), level="moderate")
    rows = {
        "verified": served(session, wang, 5),
        "cleaning": served(session, wang, 6, service_code="cleaning", category="cleaning"),  # no national code yet
        "meals": served(session, wang, 6, service_code="meals", category="meals"),  # civil affairs: not LTCI
        "waiting": served(session, wang, 7, exception="open"),
        "rejected": served(session, wang, 8, exception="rejected"),
        "unassessed": served(session, li, 9),
        "uninsured": served(session, zhao, 10),
    }
    return {"center": center, "wang": wang, "li": li, "rows": rows}


def test_the_ltci_claim_lists_what_fails_and_reads_the_same_in_every_format(
    client: TestClient, session: Session
) -> None:
    m = the_month(session)
    manager = login(client, make_staff(session, center=m["center"], role=Role.manager))
    listed = client.get("/api/v1/export-templates", headers=manager).json()
    assert {t["code"] for t in listed} >= {"ltci-monthly-claim", "civil-affairs-subsidy", "resident-roster"}

    check = client.get("/api/v1/exports/ltci-monthly-claim/problems?month=2026-10", headers=manager)
    assert check.status_code == 200, check.text
    body = check.json()
    assert body["rows"] == 4 and body["closed"] is False  # rejected, uninsured and meals: not claimed
    found = {(p["row"], p["column"], p["problem"]) for p in body["problems"]}
    assert found == {
        (2, "服务项目代码", "missing"),  # cleaning has no national code
        (3, None, "visit_verified"),  # its visit waits in the queue
        (4, "失能等级", "missing"),  # 李大爷 was never assessed
        (4, "评估日期", "missing"),
        (4, None, "valid_assessment"),
    }
    assert "queue" in next(p["message"] for p in body["problems"] if p["problem"] == "visit_verified")

    files = {
        kind: client.get(f"/api/v1/exports/ltci-monthly-claim?month=2026-10&format={kind}", headers=manager)
        for kind in ("csv", "xlsx", "json")
    }
    assert all(f.status_code == 200 for f in files.values())
    assert files["csv"].content.startswith(b"\xef\xbb\xbf")  # a BOM: a spreadsheet opens it as UTF-8
    table = list(csv.reader(io.StringIO(files["csv"].content.decode("utf-8-sig"))))
    template = templates()["ltci-monthly-claim"]
    assert table[0] == [c.name for c in template.columns]
    first = dict(zip(table[0], table[1], strict=True))
    assert first["行政区划代码"] == "110111" and first["公民身份号码"] == "11011119400501008X"
    assert first["性别"] == "2" and first["失能等级"] == "2" and first["服务项目代码"] == BATH_CODE
    assert (
        first["服务日期"] == "20261005"
        and first["金额(元)"] == "12.00"
        and first["服务开始时间"] == "2026-10-05 09:00:00"
    )
    assert first["核验方式(签退)"] == "入户码" and first["核验结果"] == "通过"
    sheet = load_workbook(io.BytesIO(files["xlsx"].content), read_only=True)["结算明细"]
    cells = list(sheet.iter_rows(values_only=True))
    assert list(cells[0]) == table[0] and cells[1][16] == 12.0 and cells[1][3] == "11011119400501008X"
    rows = json.loads(files["json"].content)["rows"]
    assert [r["参保人姓名"] for r in rows] == ["王秀英", "王秀英", "王秀英", "李大爷"]
    assert rows[0]["金额(元)"] == 12.0 and rows[0]["长护参保编号"] == "LTC-2026-0001"
    trail = session.exec(select(AuditEvent.reason).where(AuditEvent.action == "export.download")).all()
    assert sorted(str(reason) for reason in trail) == [
        "ltci-monthly-claim 2026-10 csv",
        "ltci-monthly-claim 2026-10 json",
        "ltci-monthly-claim 2026-10 xlsx",
    ]


def test_a_closed_months_files_are_the_same_bytes_ever_after(client: TestClient, session: Session) -> None:
    m = the_month(session)
    manager = login(client, make_staff(session, center=m["center"], role=Role.manager))
    closed = client.post("/api/v1/months/2026-10/close?exclude_exceptions=true", headers=manager)
    assert closed.status_code in (200, 201), closed.text
    urls = [
        f"/api/v1/exports/{code}?month=2026-10&format={kind}"
        for code in ("ltci-monthly-claim", "resident-roster")
        for kind in ("csv", "xlsx", "json")
    ]
    before = [client.get(url, headers=manager).content for url in urls]
    check = client.get("/api/v1/exports/ltci-monthly-claim/problems?month=2026-10", headers=manager).json()
    assert check["closed"] is True and check["rows"] == 3  # the waiting visit was left out at the close
    # Later changes to the people and the catalogue do not reach the closed month's files.
    m["wang"].name = "王秀英（改）"
    session.add(m["wang"])
    cleaning = session.exec(
        select(ServiceOffering).where(ServiceOffering.center_id == m["center"].id, ServiceOffering.code == "cleaning")
    ).one()
    cleaning.ltci_code = BATH_CODE
    session.add(cleaning)
    session.commit()
    after = [client.get(url, headers=manager).content for url in urls]
    assert after == before
    # An open month reads live.
    open_month = client.get("/api/v1/exports/resident-roster?month=2026-11&format=json", headers=manager).json()
    assert "王秀英（改）" in [r["姓名"] for r in open_month["rows"]]


def test_the_subsidy_report_and_the_roster(client: TestClient, session: Session) -> None:
    center = make_center(session, division_code="110111")
    resident = make_resident(session, center=center, name="孙奶奶")
    session.add(
        Eligibility(
            center_id=center.id or 0, resident_id=resident.id or 0, group=EligibilityGroup.subsistence,
            starts_on=date(2026, 1, 1), document_ref="民低〔2026〕12号", created_at=datetime.now(UTC),
        )
    )  # fmt: skip
    session.commit()
    for day in (3, 4):
        make_service_record(
            session, resident=resident, service_on=date(2026, 10, day), month="2026-10",
            eligibility_group="subsistence", subsidy_fen=960, resident_fen=240,
        )  # fmt: skip
    manager = login(client, make_staff(session, center=center, role=Role.manager))
    report = client.get("/api/v1/exports/civil-affairs-subsidy?month=2026-10&format=json", headers=manager).json()
    assert report["rows"] == [
        {
            "行政区划代码": "110111",
            "所在区县": "北京市房山区",
            "服务机构": center.name,
            "姓名": "孙奶奶",
            "公民身份号码": resident.national_id,
            "性别": "2",
            "出生日期": "1940-05-01",
            "补贴对象类别": "低保",
            "认定文号": "民低〔2026〕12号",
            "服务次数": 2,
            "服务金额(元)": 24.0,
            "补贴金额(元)": 19.2,
            "个人支付(元)": 4.8,
        }
    ]
    roster = client.get("/api/v1/exports/resident-roster/problems?month=2026-10", headers=manager).json()
    assert {p["problem"] for p in roster["problems"]} == {"missing", "valid_assessment"}  # never assessed
    assert client.get("/api/v1/exports/nonesuch?month=2026-10", headers=manager).status_code == 404
    assert client.get("/api/v1/exports/resident-roster?month=2026-13", headers=manager).status_code == 422


def test_a_provinces_template_is_a_file_not_code(session: Session, tmp_path: Path) -> None:
    """A province's layout: other headers, other codes, a column it requires that a center lacks."""
    province = json.loads((SHIPPED / "resident-roster.json").read_text(encoding="utf-8"))
    province |= {"code": "hubei-roster", "version": "鄂2026", "sheet": "名册", "checks": []}
    province["columns"] = [
        {"name": "XM", "value": "resident.name", "required": True},
        {"name": "XB", "value": "resident.gender", "required": True, "codes": {"male": "M", "female": "F"}},
        {"name": "LXDH", "value": "resident.phone", "required": True, "pattern": "^1[0-9]{10}$"},
    ]
    (tmp_path / "hubei-roster.json").write_text(json.dumps(province, ensure_ascii=False), encoding="utf-8")
    known = templates(str(tmp_path))
    assert {"hubei-roster", "resident-roster"} <= set(known)
    center = make_center(session)
    make_resident(session, center=center, name="钱爷爷", gender="male", phone=None)
    export = service.build(session, known["hubei-roster"], center, "2026-11")
    assert export.header == ["XM", "XB", "LXDH"] and export.rows == [["钱爷爷", "M", None]]
    assert [(p.column, p.problem) for p in export.problems] == [("LXDH", "missing")]
    assert service.to_csv(export).decode("utf-8-sig").splitlines() == ["XM,XB,LXDH", "钱爷爷,M,"]
    broken = province | {"code": "broken", "columns": [{"name": "X", "value": "resident.salary"}]}
    (tmp_path / "broken.json").write_text(json.dumps(broken), encoding="utf-8")
    templates.cache_clear()
    try:
        templates(str(tmp_path))
        raise AssertionError("a template naming a field the rows lack must not load")
    except ValueError as error:
        assert "resident.salary" in str(error)
    finally:
        templates.cache_clear()
