"""The paperwork in the console and on the tablet: assessing item by item, the level on the
resident's page and in the care plan, closing a month and downloading the report, group meals,
welfare visits, statements (also on the family page)."""

import io
import re
from datetime import date, timedelta

from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlmodel import Session, col, select

from carecenter.access import Role
from carecenter.assessments.models import Assessment
from carecenter.residents.models import LivingSituation
from carecenter.service_records.models import MonthClose, ServiceRecord
from carecenter.visits.models import Visit, VisitStatus
from tests.carecenter.web.test_pages import web_login
from tests.conftest import Clock
from tests.factories import (
    GBT_BEST,
    make_assessment,
    make_center,
    make_resident,
    make_service_record,
    make_staff,
    make_visit,
)

# Needs help bathing and dressing (2, 2), walks with a stick (3), stairs with help (1), cannot go
# out alone (B3.2: 3), taxi only (2): 90 - 4 - 3 - 1 - 1 = 81, mild; dementia raises it to moderate.
MODERATE = GBT_BEST | {"B1.3": "2", "B1.4": "2", "B2.3": "3", "B2.4": "1", "B3.2": "3", "B4.4": "2"}


def _form(answers: dict[str, str], csrf: str, **more: str) -> dict[str, str]:
    return {f"item-{code}": option for code, option in answers.items()} | {"csrf": csrf} | more


def test_an_assessor_fills_the_form_item_by_item_and_the_level_drives_the_care_plan(
    client: TestClient, session: Session, clock: Clock
) -> None:
    center = make_center(session)
    resident = make_resident(session, center=center, name="赵桂兰")
    assessor = make_staff(session, center=center, role=Role.assessor)
    csrf = web_login(client, assessor.username)
    form = client.get(f"/residents/{resident.id}/assessments/new")
    assert form.status_code == 200
    assert len(set(re.findall(r'name="item-(B\d\.\d)"', form.text))) == 26
    assert "床上体位转移" in form.text and "完全依赖他人协助，且不能给予配合" in form.text  # Chinese wording

    incomplete = {k: v for k, v in MODERATE.items() if k != "B4.5"}
    refused = client.post(
        f"/residents/{resident.id}/assessments/new",
        data=_form(incomplete, csrf, assessed_on="2026-11-24", reason="first", action="sign", flags="dementia"),
    )
    assert refused.status_code == 422 and "B4.5" in refused.text
    assert 'name="item-B1.3" value="2" checked' in refused.text  # what was chosen is kept
    assert session.exec(select(Assessment)).all() == []

    signed = client.post(
        f"/residents/{resident.id}/assessments/new",
        data=_form(MODERATE, csrf, assessed_on="2026-11-24", reason="first", action="sign", flags="dementia"),
    )
    assert signed.status_code == 200 and "/assessments/" in str(signed.url)
    assert "中度失能" in signed.text and 'id="total">81<' in signed.text

    manager = make_staff(session, center=center, role=Role.manager)
    web_login(client, manager.username)
    page = client.get(f"/residents/{resident.id}")
    assert "中度失能" in page.text and "自理能力: 28 / 32" in page.text
    plan_form = client.get(f"/care-plans?resident_id={resident.id}")
    checked = set(re.findall(r'name="services" value="(\w+)" checked', plan_form.text))
    assert checked == {"meals", "cleaning", "bathing", "medication", "health_check"}  # the level's categories


def test_care_workers_see_the_level_but_cannot_assess(client: TestClient, session: Session) -> None:
    center = make_center(session)
    resident = make_resident(session, center=center)
    done = make_assessment(session, resident=resident)
    web_login(client, make_staff(session, center=center).username)
    assert client.get(f"/residents/{resident.id}/assessments/new").status_code == 403
    assert client.get(f"/assessments/{done.id}").status_code == 200
    assert client.get("/assessments").status_code == 403


def test_a_manager_closes_the_month_and_downloads_the_report(client: TestClient, session: Session) -> None:
    center = make_center(session)
    resident = make_resident(session, center=center, name="钱大爷")
    make_service_record(session, resident=resident, service_on=date(2026, 10, 9), month="2026-10")
    csrf = web_login(client, make_staff(session, center=center, role=Role.manager).username)
    page = client.get("/reports/monthly?month=2026-10")
    assert page.status_code == 200 and 'id="total-amount">¥12.00<' in page.text
    closed = client.post("/reports/monthly/close", data={"month": "2026-10", "csrf": csrf})
    assert closed.status_code == 200 and 'id="closed"' in closed.text
    assert len(session.exec(select(MonthClose)).all()) == 1
    again = client.post("/reports/monthly/close", data={"month": "2026-10", "csrf": csrf})
    assert "已结账" in again.text and len(session.exec(select(MonthClose)).all()) == 1
    workbook = client.get("/reports/monthly.xlsx?month=2026-10")
    assert workbook.status_code == 200
    rows = list(load_workbook(io.BytesIO(workbook.content), read_only=True)["服务记录"].iter_rows(values_only=True))
    assert rows[1][3] == "钱大爷"
    assert client.get("/reports/monthly.csv?month=2026-10").text.count("\n") == 2


def test_a_care_worker_records_a_group_meal_once(client: TestClient, session: Session) -> None:
    center = make_center(session)
    people = [make_resident(session, center=center, name=f"食堂{n}") for n in range(3)]
    csrf = web_login(client, make_staff(session, center=center).username)
    page = client.get("/meals")
    batch = re.search(r'name="batch_id" value="(\w+)"', page.text)
    assert batch and "食堂0" in page.text
    form = {
        "csrf": csrf,
        "batch_id": batch.group(1),
        "service_code": "meals",
        "service_on": "2026-11-24",
        "quantity": "1",
        "resident_ids": [str(people[0].id), str(people[2].id)],
    }
    done = client.post("/meals", data=form)
    assert 'id="recorded">' in done.text
    client.post("/meals", data=form)  # sent twice (a double tap, a retry)
    recorded = session.exec(select(ServiceRecord.resident_id)).all()
    assert sorted(recorded) == sorted([people[0].id or 0, people[2].id or 0])
    bad = client.post("/meals", data=form | {"batch_id": "", "service_on": "2026-12-30"})
    assert "不能提前记录用餐" in bad.text  # back to the form with the reason, in Chinese


def test_welfare_visits_are_planned_for_those_not_seen(client: TestClient, session: Session, clock: Clock) -> None:
    center = make_center(session)
    worker = make_staff(session, center=center)
    lonely = make_resident(
        session, center=center, name="孤老", birth_date=date(1938, 2, 2), living_situation=LivingSituation.alone,
        primary_worker_id=worker.id,
    )  # fmt: skip
    seen = make_resident(
        session, center=center, name="常去", birth_date=date(1938, 2, 2), living_situation=LivingSituation.alone
    )
    make_visit(
        session, resident=seen, start=clock.now - timedelta(days=2), status=VisitStatus.completed,
        checked_in_at=clock.now - timedelta(days=2),
    )  # fmt: skip
    csrf = web_login(client, make_staff(session, center=center, role=Role.manager).username)
    page = client.get("/welfare")
    assert "孤老" in page.text and "常去" not in page.text
    client.post("/welfare/plan", data={"csrf": csrf})
    planned = session.exec(select(Visit).where(Visit.resident_id == lonely.id)).one()
    assert [(t.service, t.done) for t in planned.tasks] == [("welfare_visit", False)] and planned.worker_id == worker.id
    assert planned.scheduled_start > clock.now
    client.post("/welfare/plan", data={"csrf": csrf})  # planned already: nothing more
    assert len(session.exec(select(Visit).where(col(Visit.resident_id) == lonely.id)).all()) == 1


def test_the_statement_shows_what_the_resident_pays(client: TestClient, session: Session) -> None:
    center = make_center(session)
    resident = make_resident(session, center=center)
    make_service_record(session, resident=resident, amount_fen=5000, subsidy_fen=3500, resident_fen=1500)
    make_service_record(session, resident=resident, amount_fen=1200, subsidy_fen=0, resident_fen=1200)
    web_login(client, make_staff(session, center=center).username)  # a care worker: money is the managers'
    assert client.get(f"/residents/{resident.id}/statement?month=2026-11").status_code == 403
    assert "/statement?month=" not in client.get(f"/residents/{resident.id}").text
    web_login(client, make_staff(session, center=center, role=Role.manager).username)
    page = client.get(f"/residents/{resident.id}/statement?month=2026-11")
    assert page.status_code == 200
    assert re.search(r'class="resident-pays">¥27.00<', page.text)


def test_a_service_not_given_is_recorded_with_its_reason_from_the_visit_page(
    client: TestClient, session: Session, clock: Clock
) -> None:
    center = make_center(session)
    worker = make_staff(session, center=center)
    resident = make_resident(session, center=center)
    visit = make_visit(
        session, resident=resident, start=clock.now, worker_id=worker.id, status=VisitStatus.in_progress,
        checked_in_at=clock.now, tasks=[{"service": "bathing", "done": False}, {"service": "meals", "done": False}],
    )  # fmt: skip
    csrf = web_login(client, worker.username)
    page = client.get(f"/visits/{visit.id}")
    assert "助浴" in page.text and 'data-not-given="bathing"' in page.text
    not_given = {"csrf": csrf, "service": "bathing", "done": "0", "reason": "热水器坏了"}
    client.post(f"/visits/{visit.id}/task", data=not_given)
    client.post(f"/visits/{visit.id}/task", data={"csrf": csrf, "service": "meals", "done": "1", "quantity": "2"})
    client.post(f"/visits/{visit.id}/check-out", data={"csrf": csrf})
    found = {r.service_code: r for r in session.exec(select(ServiceRecord)).all()}
    assert (found["bathing"].delivered, found["bathing"].not_delivered_reason) == (False, "热水器坏了")
    assert (found["meals"].quantity, found["meals"].amount_fen) == (2.0, 2400)


def test_an_admin_names_the_center_of_the_report(client: TestClient, session: Session) -> None:
    center = make_center(session, name="窦店镇中心")
    make_service_record(
        session, resident=make_resident(session, center=center), service_on=date(2026, 10, 9), month="2026-10"
    )
    csrf = web_login(client, make_staff(session, center=None, role=Role.admin).username)
    assert client.get("/reports/monthly?month=2026-10").status_code == 422  # whose report?
    page = client.get(f"/reports/monthly?month=2026-10&center_id={center.id}")
    assert page.status_code == 200 and "窦店镇中心" in page.text
    assert f"monthly.xlsx?month=2026-10&amp;center_id={center.id}" in page.text
    closed = client.post("/reports/monthly/close", data={"month": "2026-10", "center_id": str(center.id), "csrf": csrf})
    assert 'id="closed"' in closed.text
    assert session.exec(select(MonthClose)).one().center_id == center.id


def test_the_report_writes_each_number_for_its_unit_and_the_locale(client: TestClient, session: Session) -> None:
    """Counts and whole quantities without decimals, thousands grouped, money in yuan with the sign;
    the count of residents is headed as one (not "resident records")."""
    center = make_center(session)
    resident = make_resident(session, center=center)
    for _ in range(2):
        make_service_record(
            session,
            resident=resident,
            quantity=506,
            amount_fen=61_725,
            resident_fen=61_725,
            service_on=date(2026, 10, 9),
            month="2026-10",
        )
    web_login(client, make_staff(session, center=center, role=Role.manager).username)
    page = client.get("/reports/monthly?month=2026-10").text
    assert "1,012" in page and "1012.0" not in page
    assert 'id="total-amount">¥1,234.50<' in page
    assert "服务老人数" in page and "<th>老人档案</th>" not in page
    client.cookies.clear()
