"""The payers' files in the console: listed on the monthly report with how many rows fail, each
template's page listing what to fix, and its files downloaded from there."""

import io
import re

from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlmodel import Session

from carecenter.access import Role
from tests.carecenter.exports.test_exports import the_month
from tests.carecenter.web.test_pages import web_login
from tests.factories import make_staff


def test_a_manager_sees_what_fails_and_downloads_the_claim(client: TestClient, session: Session) -> None:
    m = the_month(session)
    web_login(client, make_staff(session, center=m["center"], role=Role.manager).username)
    report = client.get("/reports/monthly?month=2026-10")
    assert 'id="export-ltci-monthly-claim"' in report.text
    claim = re.search(r'id="export-ltci-monthly-claim">[^<]+</a>:(.*?)</li>', report.text, re.S)
    assert claim is not None and "4 行" in claim[1] and "3 行不符合接收方规则" in claim[1]  # rows 2, 3 and 4
    page = client.get("/reports/exports/ltci-monthly-claim?month=2026-10")
    assert page.status_code == 200
    assert "该次上门服务未通过核验，正在异常队列中等待处理" in page.text and "服务项目代码" in page.text
    assert "近 12 个月内没有已签字的能力评估" in page.text and "李大爷" in page.text
    workbook = client.get("/reports/exports/ltci-monthly-claim/file.xlsx?month=2026-10")
    assert workbook.status_code == 200 and "attachment" in workbook.headers["content-disposition"]
    rows = list(load_workbook(io.BytesIO(workbook.content), read_only=True)["结算明细"].iter_rows(values_only=True))
    assert len(rows) == 5
    assert client.get("/reports/exports/ltci-monthly-claim/file.exe?month=2026-10").status_code == 422
    assert client.get("/reports/exports/nonesuch?month=2026-10").status_code == 404
