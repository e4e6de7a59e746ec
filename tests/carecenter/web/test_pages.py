"""The tablet pages through the app (fast); the real browser tests are in test_browser.py."""

import re
import shutil
from datetime import datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path
from zoneinfo import ZoneInfo

from fastapi.testclient import TestClient
from httpx import Response
from sqlmodel import Session, col, select

from carecenter import web
from carecenter.audit.models import AuditEvent
from carecenter.residents.service import contacts_public
from carecenter.visits.models import Visit
from tests.carecenter.alerts.scenario import build
from tests.conftest import Clock, Demo
from tests.factories import PASSWORD, login, make_center, make_device, make_resident, make_visit


def login_form_token(client: TestClient) -> str:
    """The login page's pre-session CSRF token (its cookie is kept by the client)."""
    match = re.search(r'name="csrf" value="([0-9a-f]+)"', client.get("/login").text)
    assert match
    return match.group(1)


def post_login(client: TestClient, username: str, *, follow_redirects: bool = True) -> Response:
    data = {"username": username, "password": PASSWORD, "csrf": login_form_token(client)}
    response: Response = client.post("/login", data=data, follow_redirects=follow_redirects)
    return response


def web_login(client: TestClient, username: str) -> str:
    """Log in through the form; returns the page's CSRF token."""
    response = post_login(client, username)
    assert response.status_code == 200
    match = re.search(r'name="csrf" value="([0-9a-f]+)"', response.text)
    assert match
    return match.group(1)


def test_pages_need_a_login_and_forms_need_the_csrf_token(client: TestClient, session: Session, clock: Clock) -> None:
    s = build(session, clock.now)
    visit = make_visit(session, resident=s.resident, start=clock.now + timedelta(minutes=20), worker_id=s.worker.id)
    assert client.get("/", follow_redirects=False).headers["location"] == "/login"
    csrf = web_login(client, s.worker.username)
    cookie = client.cookies.get("cc_session")
    assert cookie
    assert client.post(f"/visits/{visit.id}/check-in", data={}).status_code == 403
    assert client.post(f"/visits/{visit.id}/check-in", data={"csrf": "0" * 40}).status_code == 403
    assert client.post(f"/visits/{visit.id}/check-in", data={"csrf": csrf}).status_code == 200  # redirected back
    session.expire_all()
    assert session.get(Visit, visit.id).status == "in_progress"  # type: ignore[union-attr]


def test_the_session_cookie_is_httponly_and_samesite(client: TestClient, session: Session, clock: Clock) -> None:
    s = build(session, clock.now)
    response = post_login(client, s.worker.username, follow_redirects=False)
    cookie = next(c for c in response.headers.get_list("set-cookie") if c.startswith("cc_session="))
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Secure" in cookie  # PUBLIC_URL is https
    # As long as the session may last (12 h), counted from when the browser gets it: the test's
    # clock (or a tablet's) being off must not make the browser drop it at once.
    assert "Max-Age=43200" in cookie and "expires" not in cookie.lower()


def test_today_lists_my_visits_with_risks(client: TestClient, session: Session, clock: Clock) -> None:
    s = build(session, clock.now)
    s.resident.allergies = "青霉素"
    session.add(s.resident)
    session.commit()
    make_visit(session, resident=s.resident, start=clock.now + timedelta(hours=1), worker_id=s.worker.id)
    web_login(client, s.worker.username)
    page = client.get("/").text
    assert "今日上门" in page and "王秀英" in page and "过敏: 青霉素" in page and "11:00" in page


def test_a_wrong_vital_is_shown_next_to_its_field(client: TestClient, session: Session, clock: Clock) -> None:
    s = build(session, clock.now)
    visit = make_visit(session, resident=s.resident, start=clock.now, worker_id=s.worker.id)
    csrf = web_login(client, s.worker.username)
    client.post(f"/visits/{visit.id}/check-in", data={"csrf": csrf})
    response = client.post(f"/visits/{visit.id}/vitals", data={"csrf": csrf, "heart_rate": "300", "systolic": "120"})
    assert response.status_code == 422
    assert 'id="e-heart_rate">不能大于250。' in response.text  # in the care worker's language
    assert 'name="systolic" inputmode="decimal" value="120"' in response.text  # what was typed is kept


def test_the_resident_page_draws_a_chart_and_is_audited(client: TestClient, session: Session, clock: Clock) -> None:
    s = build(session, clock.now)
    for minute in range(5):
        s.post(client, clock.now - timedelta(minutes=minute), "vitals", event_id=f"h{minute}", heart_rate=70 + minute)
    web_login(client, s.worker.username)
    page = client.get(f"/residents/{s.resident.id}").text
    assert f"/residents/{s.resident.id}/vitals/heart_rate.svg" in page and 'href="tel:+8613900000001"' in page
    assert session.exec(select(AuditEvent).where(AuditEvent.action == "resident.read")).first() is not None


def test_the_language_is_switchable_per_user(client: TestClient, session: Session, clock: Clock) -> None:
    s = build(session, clock.now)
    csrf = web_login(client, s.worker.username)
    assert "今日上门" in client.get("/").text
    client.post("/lang", data={"csrf": csrf, "lang": "en", "next": "/"})
    assert ">Today<" in client.get("/").text


def test_the_board_lists_open_alerts_with_their_messages(client: TestClient, session: Session, clock: Clock) -> None:
    s = build(session, clock.now)
    s.post(client, clock.now, "sos")
    web_login(client, s.manager.username)
    rows = client.get("/board/rows").text
    assert "SOS紧急呼救" in rows and s.worker.name in rows and "排队中" in rows
    assert client.get("/", follow_redirects=False).headers["location"] == "/board"


def test_pages_escape_what_people_typed(client: TestClient, session: Session, clock: Clock) -> None:
    s = build(session, clock.now)
    s.resident.name = "<script>alert(1)</script>"
    session.add(s.resident)
    session.commit()
    make_visit(session, resident=s.resident, start=clock.now + timedelta(hours=1), worker_id=s.worker.id)
    web_login(client, s.worker.username)
    page = client.get("/").text
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;" in page


def test_the_week_grid_highlights_and_reassigns(client: TestClient, session: Session, clock: Clock) -> None:
    s = build(session, clock.now)
    tomorrow = clock.now + timedelta(days=1)
    unassigned = make_visit(session, resident=s.resident, start=tomorrow)
    make_visit(session, resident=s.resident, start=tomorrow + timedelta(minutes=30), worker_id=s.worker.id)
    late = make_visit(session, resident=s.resident, start=clock.now - timedelta(minutes=20), worker_id=s.on_duty.id)
    csrf = web_login(client, s.manager.username)
    page = client.get("/schedule").text
    assert f'is-unassigned" data-visit="{unassigned.id}"' in page
    assert f'is-late" data-visit="{late.id}"' in page
    clash = client.post(
        "/schedule/assign",
        data={"csrf": csrf, "visit_id": unassigned.id, "worker_id": s.worker.id},
        follow_redirects=True,
    )
    assert "已有上门服务" in clash.text
    client.post("/schedule/assign", data={"csrf": csrf, "visit_id": unassigned.id, "worker_id": s.on_duty.id})
    session.expire_all()
    assert session.get(Visit, unassigned.id).worker_id == s.on_duty.id  # type: ignore[union-attr]


class WeekGrid(HTMLParser):
    """The grid's cells: (row header, column index) -> the slots' (visit id, classes, text)."""

    def __init__(self) -> None:
        super().__init__()
        self.cells: dict[tuple[str, int], list[tuple[int, str, str]]] = {}
        self.row, self.column, self.text = "", -1, ""
        self.slot: tuple[int, str] | None = None
        self.in_header = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "tr":
            self.row, self.column = "", -1
        elif tag == "th" and values.get("scope") == "row":
            self.in_header = True
        elif tag == "td":
            self.column += 1
            self.cells.setdefault((self.row, self.column), [])
        elif tag == "a" and "data-visit" in values:
            self.slot, self.text = (int(values["data-visit"] or 0), values.get("class") or ""), ""

    def handle_endtag(self, tag: str) -> None:
        if tag == "th":
            self.in_header = False
        elif tag == "a" and self.slot is not None:
            self.cells[self.row, self.column].append((*self.slot, " ".join(self.text.split())))
            self.slot = None

    def handle_data(self, data: str) -> None:
        if self.in_header:
            self.row += data.strip()
        elif self.slot is not None:
            self.text += data


def test_the_week_grid_shows_what_the_schedule_api_says(client: TestClient, session: Session, clock: Clock) -> None:
    s = build(session, clock.now)  # the center is in Asia/Shanghai; the clock says 10:00 there
    zone = ZoneInfo("Asia/Shanghai")
    monday = clock.now.astimezone(zone).date() - timedelta(days=clock.now.astimezone(zone).weekday())
    other = make_resident(session, center=s.center, name="<b>李</b>桂兰")
    starts = [clock.now - timedelta(minutes=20), clock.now + timedelta(days=1, hours=5), clock.now - timedelta(days=1)]
    make_visit(session, resident=s.resident, start=starts[0], worker_id=s.worker.id)  # late
    make_visit(session, resident=other, start=starts[1])  # unassigned
    make_visit(session, resident=other, start=starts[2], worker_id=s.on_duty.id, status="completed")
    make_visit(session, resident=s.resident, start=clock.now + timedelta(days=9), worker_id=s.worker.id)  # next week
    web_login(client, s.manager.username)
    grid = WeekGrid()
    grid.feed(client.get(f"/schedule?week={monday}").text)
    api = client.get(
        "/api/v1/schedule",
        params={"from": str(monday), "to": str(monday + timedelta(days=6))},
        headers=login(client, s.manager),
    ).json()
    expected: dict[tuple[str, int], list[tuple[int, str, str]]] = {}
    for row in api:
        header = "未分配" if row["worker_id"] is None else row["worker_name"]
        for column, day in enumerate(row["days"]):
            assert day["date"] == str(monday + timedelta(days=column))
            slots = []
            for visit in day["visits"]:
                start = datetime.fromisoformat(visit["scheduled_start"]).astimezone(zone).strftime("%H:%M")
                name = "王秀英" if visit["resident_id"] == s.resident.id else "<b>李</b>桂兰"
                badge = "迟到" if visit["late"] else {"completed": "已完成"}.get(visit["status"], "")
                classes = f"slot st-{visit['status']}" + (" is-late" if visit["late"] else "")
                classes += " is-unassigned" if visit["worker_id"] is None else ""
                slots.append((visit["id"], classes, f"{start} {name}{badge}"))
            expected[header, column] = slots
    assert grid.cells == expected
    assert sum(len(slots) for slots in expected.values()) == 3, "the next week's visit is not on this week"
    assert [text for (_, _, text) in grid.cells["护理员甲", (starts[0].astimezone(zone).date() - monday).days]] == [
        "09:40 王秀英迟到"
    ]


def test_message_log_and_figures(client: TestClient, session: Session, clock: Clock) -> None:
    s = build(session, clock.now)
    s.post(client, clock.now, "sos")
    web_login(client, s.manager.username)
    log = client.get("/messages").text
    assert "紧急#" in log and "排队中" in log
    figures = client.get("/figures")
    assert figures.status_code == 200 and "<svg" in figures.text
    csv = client.get("/figures.csv")
    assert csv.headers["content-type"].startswith("text/csv")
    assert csv.text.startswith("\ufeffworker,planned,completed,missed,on_time,on_time_share,verified_share")


def test_the_figures_give_each_worker_a_share_under_the_share_heading(
    client: TestClient, session: Session, clock: Clock
) -> None:
    """Two completed visits, one checked in on time: 50%, as the heading says, not a count of 1
    (neither verified: 0%)."""
    s = build(session, clock.now)
    for late in (timedelta(0), timedelta(hours=1)):
        start = clock.now - timedelta(days=1, hours=3)
        make_visit(
            session,
            resident=s.resident,
            start=start,
            worker_id=s.worker.id,
            status="completed",
            checked_in_at=start + late,
            checked_out_at=start + late + timedelta(minutes=40),
        )
    web_login(client, s.manager.username)
    figures = client.get("/figures").text
    row = re.search(r"<tr><td>护理员甲</td>(.*?)</tr>", figures)
    assert row and re.findall(r"<td[^>]*>([^<]*)</td>", row.group(1)) == ["2", "2", "0", "50%", "0%"]


def test_care_workers_do_not_get_the_managers_pages(client: TestClient, session: Session, clock: Clock) -> None:
    s = build(session, clock.now)
    web_login(client, s.worker.username)
    for path in ("/schedule", "/messages", "/figures"):
        response = client.get(path)
        assert response.status_code == 403 and response.headers["content-type"].startswith("text/html"), path


def test_managers_create_and_edit_records_with_errors_next_to_fields(
    client: TestClient, session: Session, clock: Clock
) -> None:
    from carecenter.devices.models import Device
    from carecenter.residents.models import FamilyContact, Resident

    s = build(session, clock.now)
    csrf = web_login(client, s.manager.username)
    listed = client.get("/manage/residents", params={"q": "王"}).text
    assert "王秀英" in listed
    form = {
        "csrf": csrf,
        "name": "赵桂兰",
        "gender": "female",
        "birth_date": "1939-05-01",
        "phone": "12345",
        "care_level": "dependent",
        "living_situation": "alone",
        "mobility": "walking_aid",
        "status": "active",
        "dementia": "1",
    }
    bad = client.post("/manage/residents/new", data=form)
    assert bad.status_code == 422
    assert 'id="e-phone">手机号格式不正确' in bad.text
    assert 'value="赵桂兰"' in bad.text  # nothing typed is lost
    assert client.post("/manage/residents/new", data=form | {"phone": "138 0013 8000"}).status_code == 200
    created = session.exec(select(Resident).where(Resident.name == "赵桂兰")).one()
    assert (created.phone, created.dementia, created.care_level) == ("+8613800138000", True, "dependent")

    client.post(
        f"/manage/residents/{created.id}/edit", data={"csrf": csrf, "status": "hospitalized", "notes": "11月住院"}
    )
    session.expire_all()
    edited = session.get(Resident, created.id)
    assert edited is not None and (edited.status, edited.notes, edited.name) == ("hospitalized", "11月住院", "赵桂兰")

    contact = {
        "csrf": csrf,
        "name": "赵军",
        "relation": "son",
        "phone": "13900007777",
        "language": "zh-CN",
        "priority": "1",
        "sms_opt_in": "opted_in",
        "is_emergency_contact": "1",
    }
    assert client.post(f"/manage/residents/{created.id}/contacts/new", data=contact).status_code == 200
    assert session.exec(select(FamilyContact).where(FamilyContact.name == "赵军")).one().phone == "+8613900007777"

    device = client.post(
        "/manage/devices/new",
        data={"csrf": csrf, "kind": "watch", "serial": "WEB-0001", "reporting_interval_seconds": "300"},
    )
    assert device.status_code == 200 and 'id="shown-once"' in device.text and "dk_" in device.text
    assert session.exec(select(Device).where(Device.serial == "WEB-0001")).one().key_prefix in device.text


def test_care_workers_cannot_manage_records(client: TestClient, session: Session, clock: Clock) -> None:
    s = build(session, clock.now)
    web_login(client, s.worker.username)
    assert client.get("/manage/residents").status_code == 403


def test_a_care_plan_from_the_form(client: TestClient, session: Session, clock: Clock) -> None:
    from carecenter.visits.models import CarePlan

    s = build(session, clock.now)
    csrf = web_login(client, s.manager.username)
    base = {
        "csrf": csrf,
        "resident_id": str(s.resident.id),
        "start_time": "09:30",
        "duration_minutes": "45",
        "starts_on": "2026-11-25",
        "preferred_worker_id": str(s.worker.id),
    }
    missing = client.post("/care-plans", data=base | {"services": ["meals"]})
    assert missing.status_code == 422 and 'id="e-recurrence"' in missing.text  # neither weekdays nor every N days
    ok = client.post("/care-plans", data=base | {"services": ["meals", "bathing"], "weekdays": ["0", "3"]})
    assert ok.status_code == 200
    plan = session.exec(select(CarePlan)).one()
    assert plan.services == ["meals", "bathing"] and plan.recurrence["weekdays"] == [0, 3]
    assert session.exec(select(Visit).where(Visit.care_plan_id == plan.id)).first() is not None


def test_main_pages_stay_light_with_a_full_center(
    client: TestClient, session: Session, clock: Clock, demo: Demo
) -> None:
    """No page over ~200 KB before images, with the demo's 320 residents and two weeks of visits."""
    demo()
    web_login(client, "manager")
    for path in (
        "/board",
        "/schedule",
        "/manage/residents",
        "/manage/devices",
        "/messages",
        "/figures",
        "/care-plans",
        "/static/app.css",
        "/static/board.js",
    ):
        response = client.get(path)
        assert response.status_code == 200, path
        assert len(response.content) < 200_000, f"{path}: {len(response.content)} bytes"
    # The month to date is seeded too: this month's report is not a center that just opened.
    from carecenter.service_records.models import ServiceRecord

    this_month = clock.now.astimezone(ZoneInfo("Asia/Shanghai")).strftime("%Y-%m")
    recorded = session.exec(select(col(ServiceRecord.service_on)).where(ServiceRecord.month == this_month)).all()
    today = clock.now.astimezone(ZoneInfo("Asia/Shanghai")).date()
    assert today.day == 1 or (recorded and max(recorded) == today - timedelta(days=1) and min(recorded).day <= 3)


def test_contacts_plans_and_silent_devices_in_the_console(client: TestClient, session: Session, clock: Clock) -> None:
    from carecenter.residents.models import FamilyContact
    from carecenter.visits.models import CarePlan

    s = build(session, clock.now)
    s.watch.last_seen_at = clock.now - timedelta(hours=2)
    session.add(s.watch)
    plan = CarePlan(
        resident_id=s.resident.id or 0,
        center_id=s.center.id or 0,
        services=["meals"],
        recurrence={"weekdays": [2], "start_time": "10:00:00", "duration_minutes": 60},
        starts_on=clock.now.date(),
        created_at=clock.now,
    )
    session.add(plan)
    session.commit()
    csrf = web_login(client, s.manager.username)
    assert "⚠" in client.get("/manage/devices").text  # two hours without a reading
    edit = f"/manage/residents/{s.resident.id}/contacts/{s.son.id}/edit"
    assert 'name="phone"' in client.get(edit).text
    bad = client.post(edit, data={"csrf": csrf, "phone": "1"})
    assert bad.status_code == 422 and 'id="e-phone"' in bad.text
    client.post(edit, data={"csrf": csrf, "phone": "13900008888", "sms_opt_in": "opted_out"})
    session.expire_all()
    son = session.get(FamilyContact, s.son.id)
    assert son is not None
    assert (son.phone, contacts_public(session, [son])[0].sms_opt_in) == ("+8613900008888", "opted_out")
    client.post(f"/care-plans/{plan.id}/end", data={"csrf": csrf})
    session.expire_all()
    assert session.get(CarePlan, plan.id).active is False  # type: ignore[union-attr]


def test_resolving_from_the_board_keeps_the_note(client: TestClient, session: Session, clock: Clock) -> None:
    from carecenter.alerts.models import Alert

    s = build(session, clock.now)
    alert_id = s.post(client, clock.now, "sos").json()["alert_id"]
    csrf = web_login(client, s.manager.username)
    assert "老人档案" in client.get("/board").text and "电量%" in client.get("/manage/devices").text
    client.post(
        f"/alerts/{alert_id}/resolve", data={"csrf": csrf, "outcome": "false_alarm", "note": "误按", "next": "/board"}
    )
    session.expire_all()
    alert = session.get(Alert, alert_id)
    assert alert is not None and (alert.status, alert.outcome, alert.resolution_note) == (
        "resolved",
        "false_alarm",
        "误按",
    )


def test_a_months_line_is_thinned_to_even_stretches_of_time(clock: Clock) -> None:
    """A month of readings every 5 minutes becomes at most 360 means, oldest first, spanning the month."""
    from carecenter.web.charts import MAX_POINTS, thinned

    start = clock.now - timedelta(days=30)
    points = [(start + timedelta(minutes=5 * n), 60.0 + (n // 288) % 30) for n in range(30 * 288)]
    line = thinned(points)
    assert len(line) == MAX_POINTS
    assert line[0][0] - start < timedelta(hours=2) and clock.now - line[-1][0] < timedelta(hours=2)
    assert [at for at, _ in line] == sorted(at for at, _ in line) and line[0][1] < line[-1][1]


def test_the_devices_page_uses_the_centers_silence_grace(client: TestClient, session: Session, clock: Clock) -> None:
    s = build(session, clock.now)
    s.watch.last_seen_at = clock.now - timedelta(seconds=2 * s.watch.reporting_interval_seconds, minutes=20)
    session.add(s.watch)
    session.commit()
    web_login(client, s.manager.username)
    assert "⚠" in client.get("/manage/devices").text  # 20 min past two intervals: silent by the default 10
    s.center.alert_thresholds = {"silent_grace_minutes": 30}
    session.add(s.center)
    session.commit()
    assert "⚠" not in client.get("/manage/devices").text  # this center waits 30 minutes


def test_the_tablets_shell_version_follows_every_static_files_content(tmp_path: Path) -> None:
    shutil.copytree(web.STATIC, tmp_path / "static")
    before = web.shell_version(tmp_path / "static")
    assert before == web.shell_version(web.STATIC)
    (tmp_path / "static" / "app.css").write_text((web.STATIC / "app.css").read_text() + "\n.x{}")
    assert web.shell_version(tmp_path / "static") != before


def test_the_devices_list_searches_and_pages(client: TestClient, session: Session, clock: Clock) -> None:
    """Past one page (the demo's largest center has ~270 devices) the list goes on page by page,
    and its search box finds a serial, a model or the wearer's name."""
    s = build(session, clock.now)
    for n in range(55):
        make_device(session, center=s.center, serial=f"PG-{n:03d}")
    web_login(client, s.manager.username)
    first = client.get("/manage/devices").text
    assert "第 1 页，共 2 页" in first and first.count(">PG-0") == 50  # by serial: PG- before SN-
    assert 'rel="next" href="?page=2"' in first and 'rel="prev"' not in first
    second = client.get("/manage/devices", params={"page": 2}).text
    assert "第 2 页，共 2 页" in second and second.count(">PG-0") == 5 and 'rel="prev"' in second
    found = client.get("/manage/devices", params={"q": "pg-042"}).text
    assert found.count("PG-0") == 1 and "PG-042" in found and "page-of" not in found
    worn = client.get("/manage/devices", params={"q": "王秀英"}).text
    assert "PG-0" not in worn
    api = client.get("/api/v1/devices", params={"q": "PG-04"}, headers=login(client, s.manager))
    assert api.json()["total"] == 10


def test_a_care_worker_takes_a_visit_nobody_has_by_checking_in(
    client: TestClient, session: Session, clock: Clock
) -> None:
    """It is on their day with a word saying so; checking in makes it theirs (audited), and the
    manager's schedule shows whose it is. Another center's care worker still cannot."""
    from carecenter.audit.models import AuditEvent
    from carecenter.visits.models import Visit

    s = build(session, clock.now)
    visit = make_visit(session, resident=s.resident, start=clock.now - timedelta(minutes=5), worker_id=None)
    csrf = web_login(client, s.worker.username)
    day = client.get("/").text
    assert f'href="/visits/{visit.id}"' in day and "签到即接手" in day
    client.post(f"/visits/{visit.id}/check-in", data={"csrf": csrf})
    session.expire_all()
    taken = session.get(Visit, visit.id)
    assert taken is not None and (taken.worker_id, taken.status) == (s.worker.id, "in_progress")
    events = session.exec(select(AuditEvent).where(AuditEvent.action == "visit.take")).all()
    assert [(e.entity_id, e.actor_id) for e in events] == [(visit.id, s.worker.id)]
    schedule = client.get("/api/v1/schedule", headers=login(client, s.manager)).json()
    mine = next(w for w in schedule if w["worker_id"] == s.worker.id)
    assert visit.id in [v["id"] for day in mine["days"] for v in day["visits"]]


def test_the_resident_charts_have_axes_the_band_the_alerts_and_a_table(
    client: TestClient, session: Session, clock: Clock
) -> None:
    """Heart rate and blood pressure from the watch over the month: each chart is an SVG with a time
    axis, the value axis in its unit, the resident's threshold band (dashed edges) and the alert
    marked; the page gives the same day by day as a table. No reading: no chart."""
    import xml.etree.ElementTree as ET

    from carecenter.readings.models import ReadingHourly, hour_of

    s = build(session, clock.now)
    for days_ago, rate in ((20, 70), (10, 75)):  # older than a day: the hourly roll-ups
        hour = hour_of(clock.now - timedelta(days=days_ago))
        for vital, value in (("heart_rate", rate), ("systolic", 120 + days_ago), ("diastolic", 80)):
            resident_id = s.resident.id or 0
            session.add(
                ReadingHourly(
                    resident_id=resident_id,
                    vital=vital,
                    hour=hour,
                    minimum=value,
                    maximum=value,
                    total=value,
                    samples=1,
                )
            )
    session.commit()
    s.post(client, clock.now - timedelta(hours=5), "vitals", heart_rate=80, systolic=125, diastolic=82, event_id="v1")
    s.post(client, clock.now - timedelta(hours=2), "vitals", heart_rate=150, event_id="high-1")
    s.post(client, clock.now - timedelta(hours=1), "vitals", heart_rate=152, event_id="high-2")
    web_login(client, s.worker.username)
    page = client.get(f"/residents/{s.resident.id}").text
    assert f'src="/residents/{s.resident.id}/vitals/heart_rate.svg"' in page
    assert f'src="/residents/{s.resident.id}/vitals/blood_pressure.svg"' in page
    assert "vitals/temperature.svg" not in page  # no temperature was measured
    table = re.search(r'id="chart-heart_rate".*?<tbody>(.*?)</tbody>', page, re.S)
    assert table and re.search(r"<td class=\"num\">70 / 70 / 70</td>", table.group(1))
    svg = client.get(f"/residents/{s.resident.id}/vitals/heart_rate.svg")
    assert svg.status_code == 200 and svg.headers["content-type"].startswith("image/svg+xml")
    text = svg.text
    ET.fromstring(svg.content)  # noqa: S314 - our own document: well-formed
    assert "心率 (bpm)" in text and "心率：上限" in text and "心率：下限" in text and "告警" in text
    assert "stroke-dasharray" in text or "dasharray" in text  # the band's edges
    assert "<script" not in text and "http://kozea" not in text and "//kozea" not in text
    assert re.search(r">\d{2}-\d{2}<", text)  # dates on the time axis
    other = make_resident(session, center=make_center(session))
    assert client.get(f"/residents/{other.id}/vitals/heart_rate.svg").status_code == 404


def test_the_figures_show_twelve_weeks_of_trends_as_charts_and_a_table(
    client: TestClient, session: Session, clock: Clock
) -> None:
    """Alerts per week, the median answer time and the on-time share: a chart each (an SVG with
    its weeks on the axis) and one table of the same weeks."""
    s = build(session, clock.now)
    s.post(client, clock.now - timedelta(minutes=5), "sos", event_id="this-week")
    web_login(client, s.manager.username)
    page = client.get("/figures").text
    for what in ("alerts", "answer", "on_time"):
        assert f'src="/figures/trend/{what}.svg"' in page
    table = re.search(r'id="trends".*?<tbody>(.*?)</tbody>', page, re.S)
    assert table is not None
    rows = re.findall(r"<tr><td>([\d-]+)</td><td class=\"num\">([^<]*)</td>", table.group(1))
    assert len(rows) == 12 and rows[-1][1] == "1" and all(count == "0" for _, count in rows[:-1])
    chart = client.get("/figures/trend/alerts.svg")
    assert chart.status_code == 200 and chart.headers["content-type"].startswith("image/svg+xml")
    assert "每周告警数" in chart.text and rows[0][0][5:] in chart.text  # the first Monday, as MM-DD
    assert client.get("/figures/trend/nonsense.svg").status_code == 422


def test_a_saved_form_says_so_and_a_refused_one_does_not(client: TestClient, session: Session, clock: Clock) -> None:
    s = build(session, clock.now)
    visit = make_visit(session, resident=s.resident, start=clock.now + timedelta(minutes=5), worker_id=s.worker.id)
    csrf = web_login(client, s.worker.username)
    saved = client.post(f"/visits/{visit.id}/notes", data={"csrf": csrf, "notes": "午饭吃完"}, follow_redirects=False)
    assert saved.status_code == 303 and saved.headers["location"] == f"/visits/{visit.id}?saved=1"
    page = client.get(saved.headers["location"]).text
    assert 'id="toast"' in page and "已保存" in page and "午饭吃完" in page
    refused = client.post(f"/visits/{visit.id}/notes", data={"csrf": csrf, "notes": "长" * 5000})
    assert 'id="toast"' not in refused.text and 'class="error"' in refused.text
