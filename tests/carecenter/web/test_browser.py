"""A real browser (Debian's Chromium, driven by Playwright) against a real server process."""

import io
import re
import socket
import threading
import time
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
import uvicorn
import zxingcpp
from PIL import Image
from sqlmodel import Session, select

from carecenter import web
from carecenter.access import Actor, Role
from carecenter.alerts.models import Alert
from carecenter.alerts.service import escalate_due_alerts
from carecenter.family.service import family_url, share_family_page
from carecenter.family.wechat import CONFIRM
from carecenter.messaging.outbound import AlertMessaging
from carecenter.residents.models import FamilyContact
from carecenter.residents.sharing import WeChatBinding
from carecenter.visits.models import Visit, VisitPhoto
from carecommon.clock import utcnow
from notifications.links import link_url, sign_link_id
from notifications.models import ResponseLink
from notifications.settings import SmsSettings
from tests.carecenter.alerts.scenario import Scenario, build
from tests.chromium import CHROMIUM, require_chromium
from tests.conftest import TEST_SECRET, make_app, make_settings
from tests.factories import PASSWORD, jpeg_bytes, make_service_record, make_staff, make_visit

CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    # A camera for the tablet's QR scan: Chromium's own test pattern, allowed without a prompt.
    "--use-fake-device-for-media-stream",
    "--use-fake-ui-for-media-stream",
]

require_chromium()

from playwright.sync_api import Browser, Page, ViewportSize, expect, sync_playwright  # noqa: E402
from playwright.sync_api import Error as PlaywrightError  # noqa: E402


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_FLAGS)
        yield browser
        browser.close()


@pytest.fixture
def server(database_url: str, db: Any) -> Iterator[str]:
    """The app under uvicorn on a free local port (once per test, on SQLite: one run is enough)."""
    if not database_url.startswith("sqlite"):
        pytest.skip("the browser tests run once, on SQLite")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    base = f"http://127.0.0.1:{port}"
    app = make_app(make_settings(database_url, public_url=base))
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60  # building the app on a loaded machine (browsers, other workers)
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.started, "the test server did not start"
    yield base
    server.should_exit = True
    thread.join(10)


@pytest.fixture(scope="session")
def screenshots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("screenshots")


def open_page(browser: Browser, base: str) -> Page:
    context = browser.new_context(
        viewport={"width": 768, "height": 1024},  # the care worker's tablet, portrait
        base_url=base,
        locale="zh-CN",
        geolocation={"latitude": 39.7601, "longitude": 116.2101},
        permissions=["geolocation"],
    )
    return context.new_page()


def log_in(page: Page, username: str) -> None:
    page.goto("/login")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()


def press_sos(server: str, key: str, event_id: str) -> int:
    """The resident's watch sends an SOS; the new alert's id. The wait allows for a loaded machine
    (five test workers and their browsers on two cores): the point here is the page, not latency."""
    body = {"event_id": event_id, "kind": "sos", "recorded_at": utcnow().isoformat()}
    answer = httpx.post(f"{server}/api/v1/checkins", json=body, headers={"X-Device-Key": key}, timeout=30)
    assert answer.status_code == 201, answer.text
    return int(answer.json()["alert_id"])


def soon_today(now: datetime) -> datetime:
    """Ten minutes from now, or ten minutes ago where that would be tomorrow in the center's zone
    already: the care worker's page shows the local day (this test runs on the real clock)."""
    zone = ZoneInfo("Asia/Shanghai")
    later = now + timedelta(minutes=10)
    return later if later.astimezone(zone).date() == now.astimezone(zone).date() else now - timedelta(minutes=10)


def scenario(session: Session) -> tuple[Scenario, Visit]:
    s = build(session, utcnow())
    visit = make_visit(
        session,
        resident=s.resident,
        start=soon_today(utcnow()),
        worker_id=s.worker.id,
        tasks=[{"service": "meals", "done": False}, {"service": "medication", "done": False}],
    )
    return s, visit


def test_a_care_worker_does_a_visit(browser: Browser, server: str, session: Session, screenshots: Path) -> None:
    s, visit = scenario(session)
    page = open_page(browser, server)
    log_in(page, s.worker.username)
    expect(page.get_by_role("heading", name="今日上门")).to_be_visible()
    page.screenshot(path=screenshots / "worker-today.png")
    page.get_by_role("link", name="王秀英").click()
    page.locator("#check-in").click()
    expect(page.locator("#visit-status")).to_have_text("服务中")
    page.locator("button[data-task=meals]").click()
    page.locator("button[data-task=medication]").click()
    expect(page.locator(".task.done")).to_have_count(2)
    page.get_by_label("备注").fill("精神很好，午饭吃完")
    page.locator("form[action$='/notes'] button").click()
    page.screenshot(path=screenshots / "worker-visit.png", full_page=True)
    page.locator("#check-out").click()
    expect(page.get_by_role("heading", name="今日上门")).to_be_visible()
    session.expire_all()
    done = session.get(Visit, visit.id)
    assert done is not None and done.status == "completed" and done.notes == "精神很好，午饭吃完"
    assert done.check_in_distance_m is not None and done.check_in_distance_m < 50 and not done.far_from_home
    assert [t.done for t in done.tasks] == [True, True]


def test_a_manager_sees_an_sos_arrive_and_acknowledges_it(
    browser: Browser, server: str, session: Session, screenshots: Path
) -> None:
    s, _ = scenario(session)
    page = open_page(browser, server)
    log_in(page, s.manager.username)
    expect(page.get_by_role("heading", name="告警看板")).to_be_visible()
    expect(page.locator("tr[data-alert]")).to_have_count(0)
    press_sos(server, s.key, "browser-sos")
    row = page.locator("tr[data-alert]")
    expect(row).to_have_count(1, timeout=10_000)  # no reload: the event stream brings it
    expect(row).to_contain_text("SOS紧急呼救")
    expect(row).to_contain_text(s.worker.name)
    # At a tablet's 1024 px the kind and the resident's name each stay on one line.
    page.set_viewport_size({"width": 1024, "height": 768})
    lines = "td => { const r = document.createRange(); r.selectNodeContents(td); return r.getClientRects().length; }"
    assert row.locator("td.kind").evaluate(lines) == 1
    assert row.locator("td.who a").evaluate("a => a.getClientRects().length") == 1
    page.screenshot(path=screenshots / "manager-board.png")
    row.locator("button[data-ack]").click()
    expect(page.locator("tr[data-alert] .st")).to_have_text("已接警")
    session.expire_all()
    alert = session.exec(select(Alert)).one()
    assert (alert.status, alert.acknowledged_via, alert.acknowledged_by) == ("acknowledged", "tablet", s.manager.id)
    for name, path in (
        ("schedule", "/schedule"),
        ("residents", "/manage/residents"),
        ("figures", "/figures"),
        ("messages", "/messages"),
        ("resident", f"/residents/{s.resident.id}"),
    ):
        page.goto(path)
        expect(page.locator("h1")).to_be_visible()
        page.screenshot(path=screenshots / f"manager-{name}.png")


def test_switching_language(browser: Browser, server: str, session: Session, screenshots: Path) -> None:
    s, _ = scenario(session)
    page = open_page(browser, server)
    log_in(page, s.worker.username)
    page.get_by_label("语言").select_option("en")
    page.locator("#lang-go").click()
    expect(page.get_by_role("heading", name="Today")).to_be_visible()
    expect(page.get_by_role("link", name="Alerts")).to_be_visible()
    page.screenshot(path=screenshots / "worker-today-en.png")


def test_validation_errors_appear_next_to_the_field(browser: Browser, server: str, session: Session) -> None:
    s, visit = scenario(session)
    page = open_page(browser, server)
    log_in(page, s.worker.username)
    page.goto(f"/visits/{visit.id}")
    page.locator("#check-in").click()
    expect(page.locator("#visit")).to_have_attribute("data-status", "in_progress")  # before the next form
    page.get_by_label("心率 (bpm)").fill("300")
    page.get_by_label("收缩压 (mmHg)").fill("135")
    page.locator("form[action$='/vitals'] button").click()
    expect(page.locator("#e-heart_rate")).to_contain_text("不能大于250", timeout=15_000)  # queued; in her language
    expect(page.get_by_label("收缩压 (mmHg)")).to_have_value("135")


def test_a_form_post_without_the_csrf_token_is_refused(browser: Browser, server: str, session: Session) -> None:
    s, visit = scenario(session)
    page = open_page(browser, server)
    log_in(page, s.worker.username)
    status = page.evaluate(
        "id => fetch(`/visits/${id}/check-in`, {method: 'POST', body: new URLSearchParams({latitude: '1'})})"
        ".then(r => r.status)",
        visit.id,
    )
    assert status == 403
    session.expire_all()
    assert session.get(Visit, visit.id).status == "scheduled"  # type: ignore[union-attr]


@pytest.mark.parametrize("role", ["staff", "family"])
def test_the_response_page_on_a_phone(
    browser: Browser, server: str, session: Session, screenshots: Path, role: str
) -> None:
    """390 px wide (a phone): the story and the buttons fit, and answering works without a script."""
    s, _ = scenario(session)
    alert_id = press_sos(server, s.key, f"sos-{role}")
    if role == "family":  # step 2 pages the family
        messaging = AlertMessaging(sms=SmsSettings(), public_url=server, link_secret=TEST_SECRET.encode())
        escalate_due_alerts(session, messaging, now=utcnow() + timedelta(minutes=6))
        session.commit()
    ref = f"staff:{s.worker.id}" if role == "staff" else f"contact:{s.daughter.id}"
    path = link_path(session, alert_id, ref)
    for language in ("zh-CN", "en"):
        link = session.exec(select(ResponseLink).where(ResponseLink.recipient_ref == ref)).one()
        link.language = language
        session.add(link)
        session.commit()
        context = browser.new_context(viewport={"width": 390, "height": 844}, java_script_enabled=False)
        page = context.new_page()
        page.goto(server + path)
        width = page.locator("body").bounding_box()
        assert width is not None and width["width"] <= 390
        first = page.locator("button").first
        expect(first).to_be_visible()
        box = first.bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 390  # no sideways scrolling
        page.screenshot(path=screenshots / f"respond-{role}-{language}.png", full_page=True)
        context.close()
    context = browser.new_context(viewport={"width": 390, "height": 844}, java_script_enabled=False)
    page = context.new_page()
    page.goto(server + path)
    page.locator("button").first.click()  # take charge / I'm going: a plain form post
    expect(page.locator("#answered")).to_be_visible()
    context.close()


def link_path(session: Session, alert_id: int, ref: str) -> str:
    link = session.exec(
        select(ResponseLink).where(ResponseLink.alert_id == alert_id, ResponseLink.recipient_ref == ref)
    ).one()
    return link_url("", link, TEST_SECRET.encode())


def test_an_assessor_assesses_on_the_tablet_and_the_manager_downloads_the_report(
    browser: Browser, server: str, session: Session, screenshots: Path
) -> None:
    s, _ = scenario(session)
    assessor = make_staff(session, center=s.center, role=Role.assessor)
    page = open_page(browser, server)
    page.set_viewport_size({"width": 1024, "height": 768})
    log_in(page, assessor.username)
    page.goto(f"/residents/{s.resident.id}")
    page.locator("#new-assessment").click()
    items = page.locator(".item")
    expect(items).to_have_count(26)
    for n in range(26):
        items.nth(n).locator("input[type=radio]").first.check()  # the best option of each item
    page.locator("#item-B2\\.3 input[value='2']").check()  # walks with a little support: 90 - 2
    page.screenshot(path=screenshots / "assessor-form.png", full_page=True)
    page.locator("#sign").click()
    expect(page.locator("#level")).to_have_text("轻度失能")
    expect(page.locator("#total")).to_have_text("88")
    page.screenshot(path=screenshots / "assessor-result.png")
    make_service_record(session, resident=s.resident, service_on=date(2026, 10, 9), month="2026-10")
    manager = open_page(browser, server)
    log_in(manager, s.manager.username)
    manager.goto("/reports/monthly?month=2026-10")
    with manager.expect_download() as download:
        manager.locator("#xlsx").click()
    assert download.value.suggested_filename.endswith("2026-10.xlsx")
    manager.locator("#close-month").click()
    expect(manager.locator("#closed")).to_be_visible()
    manager.screenshot(path=screenshots / "manager-report.png", full_page=True)


def until(page: Page, script: str, timeout: float = 15) -> None:
    """Poll `script` (which may return a promise: evaluate waits for it) until it is true."""
    deadline = time.monotonic() + timeout
    while True:
        try:  # not yet true while the page is still loading (its scripts not there yet)
            if page.evaluate(f"() => Promise.resolve().then({script}).catch(() => false)"):
                return
        except PlaywrightError:  # between two pages (a redirect after logging in)
            pass
        assert time.monotonic() < deadline, f"never true: {script}"
        time.sleep(0.1)


def _queue(page: Page) -> list[dict[str, Any]]:
    waiting: list[dict[str, Any]] = page.evaluate("() => CCQueue.all()")
    return waiting


def test_a_whole_visit_without_a_signal_arrives_once_when_it_comes_back(
    browser: Browser, server: str, session: Session, screenshots: Path, tmp_path: Path
) -> None:
    s, visit = scenario(session)
    s.resident.consent_service_photos = True
    session.add(s.resident)
    other = make_visit(
        session, resident=s.resident, start=soon_today(utcnow()) + timedelta(minutes=90), worker_id=s.worker.id
    )
    session.commit()
    photo = tmp_path / "service.jpg"
    photo.write_bytes(jpeg_bytes((1200, 900)))
    page = open_page(browser, server)
    log_in(page, s.worker.username)  # the day's list: its visit pages are kept for the road
    expect(page.get_by_role("heading", name="今日上门")).to_be_visible()
    until(page, "() => navigator.serviceWorker.controller?.state === 'activated'")
    until(page, f"() => caches.open('carecenter-pages').then(c => c.match('/visits/{visit.id}')).then(Boolean)")

    page.context.set_offline(True)
    page.goto(f"/visits/{visit.id}")  # from the service worker's cache
    assert page.locator("#check-in").count() == 1, page.content()[:3000]
    page.locator("#check-in").click()
    expect(page.locator("#sync-state")).to_contain_text("离线")
    page.locator("button[data-task=meals]").click()
    page.locator("button[data-task=medication]").click()
    expect(page.locator(".task.done")).to_have_count(2)
    page.get_by_label("备注").fill("没有信号，一切正常")
    page.locator("form[action$='/notes'] button").click()
    state = page.locator("#step-leave .step-state")  # each step says so, in words and with an icon
    expect(state).to_contain_text("已排队：有信号时发送")
    assert state.locator("svg").count() == 1
    expect(page.locator('ol.steps li[data-step="step-leave"]')).to_have_class(re.compile(r"\bdone\b"))
    page.locator("#photo").set_input_files(str(photo))
    page.locator("form[data-queue=photo] button").click()
    expect(page.locator("#photos .thumbs img")).to_have_count(1)
    page.locator("#signature-pad").scroll_into_view_if_needed()
    pad = page.locator("#signature-pad").bounding_box()
    assert pad is not None
    page.mouse.move(pad["x"] + 20, pad["y"] + 60)
    page.mouse.down()
    for step in range(1, 12):
        page.mouse.move(pad["x"] + 20 + step * 25, pad["y"] + 60 + (step % 3) * 15)
    page.mouse.up()
    page.locator("#signature-save").click()
    page.locator("#check-out").click()
    expect(page.locator("#sync-state")).to_contain_text("7")  # offline — 7 actions waiting
    page.screenshot(path=screenshots / "worker-offline.png", full_page=True)
    waiting = _queue(page)
    assert [a["kind"] for a in waiting] == ["check_in", "task", "task", "notes", "photo", "confirm", "check_out"]
    assert session.get(Visit, visit.id, populate_existing=True).status == "scheduled"  # type: ignore[union-attr]  # nothing arrived yet

    page.context.set_offline(False)  # the signal is back: sent in order, once
    until(page, "() => CCQueue.all().then(q => q.length === 0)")
    expect(page.locator("#sync-state")).to_have_text("已全部保存")
    done = session.get(Visit, visit.id, populate_existing=True)
    assert done is not None and done.status == "completed" and done.recorded_offline
    assert done.notes == "没有信号，一切正常" and [t.done for t in done.tasks] == [True, True]
    assert done.confirmation == "signature" and done.confirmation_signature
    assert done.checked_in_at is not None and done.check_in_received_at is not None
    assert done.checked_in_at < done.check_in_received_at  # the tablet's time, kept beside the server's
    photos = session.exec(select(VisitPhoto).where(VisitPhoto.visit_id == visit.id)).all()
    assert len(photos) == 1 and photos[0].recorded_offline

    replayed = page.evaluate(
        """(actions) => fetch('/sync', {method: 'POST', headers: {'Content-Type': 'application/json',
             'X-CSRF-Token': document.querySelector('meta[name=csrf]').content},
             body: JSON.stringify({actions: actions.map(a => ({key: a.key, kind: a.kind, visit_id: a.visit_id,
               at: a.at, offline: a.offline, data: a.data}))})}).then(r => r.json())""",
        waiting,
    )
    assert {r["result"] for r in replayed} == {"duplicate"}  # the same queue again: nothing twice
    assert len(session.exec(select(VisitPhoto).where(VisitPhoto.visit_id == visit.id)).all()) == 1

    # The next visit is given to someone else while the tablet is offline: what was entered stays.
    page.goto(f"/visits/{other.id}")
    page.context.set_offline(True)
    page.get_by_label("备注").fill("钥匙在邻居家")
    page.locator("form[action$='/notes'] button").click()
    colleague = make_staff(session, center=s.center)
    moved = session.get(Visit, other.id, populate_existing=True)
    assert moved is not None
    moved.worker_id = colleague.id
    session.add(moved)
    session.commit()
    page.context.set_offline(False)
    expect(page.locator("#sync-state")).to_contain_text("未保存", timeout=15_000)
    kept = session.get(Visit, other.id, populate_existing=True)
    assert kept is not None and kept.notes == "" and kept.conflict_notes[0].entered["notes"] == "钥匙在邻居家"


def test_a_queue_waits_through_an_expired_session_for_the_same_worker(
    browser: Browser, server: str, session: Session
) -> None:
    s, visit = scenario(session)
    page = open_page(browser, server)
    log_in(page, s.worker.username)
    page.goto(f"/visits/{visit.id}")
    page.context.set_offline(True)
    page.get_by_label("备注").fill("记得带药")
    page.locator("form[action$='/notes'] button").click()
    expect(page.locator("#sync-state")).to_contain_text("1")
    page.context.clear_cookies()  # the session ends while the tablet is offline
    page.context.set_offline(False)
    expect(page.locator("#sync-state")).to_contain_text("重新登录")
    assert len(_queue(page)) == 1
    colleague = make_staff(session, center=s.center)
    log_in(page, colleague.username)  # someone else on this tablet: the queue is not theirs to send
    page.wait_for_timeout(500)
    assert len(_queue(page)) == 1
    page.context.clear_cookies()
    log_in(page, s.worker.username)  # the same worker again: sent as them
    until(page, "() => CCQueue.all().then(q => q.length === 0)")
    assert session.get(Visit, visit.id, populate_existing=True).notes == "记得带药"  # type: ignore[union-attr]


# WeChat's in-app browser on Android (its X5/XWeb core is Chromium): the user agent WeChat sends,
# and the viewport left under its title bar on a 414 px wide phone.
WECHAT_UA = (
    "Mozilla/5.0 (Linux; Android 13; V2183A Build/TP1A.220624.014; wv) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Version/4.0 Chrome/116.0.0.0 Mobile Safari/537.36 XWEB/1160043 MMWEBSDK/20231002 MMWEBID/2585 "
    "MicroMessenger/8.0.43.2480(0x28002B51) WeChat/arm64 Weixin NetType/WIFI Language/zh_CN ABI/arm64"
)
WECHAT_VIEWPORT: ViewportSize = {"width": 414, "height": 736}


def in_wechat(browser: Browser) -> Page:
    return browser.new_context(viewport=WECHAT_VIEWPORT, user_agent=WECHAT_UA, locale="zh-CN").new_page()


def fits_and_blocks_nothing(page: Page) -> None:
    """No sideways scrolling, and nothing WeChat's browser blocks: downloads, new windows, pop-ups."""
    assert page.evaluate("document.documentElement.scrollWidth") <= WECHAT_VIEWPORT["width"]
    assert page.locator("a[download], a[target=_blank], form[target=_blank]").count() == 0
    assert "window.open" not in page.content()


def test_the_family_pages_work_inside_wechat(
    browser: Browser, server: str, session: Session, screenshots: Path
) -> None:
    """A family member opens, inside WeChat, the family page, an alert's response page and the
    WeChat confirmation, and answers on the last two with a tap."""
    s, _ = scenario(session)
    manager = make_staff(session, center=s.center, role=Role.manager)
    s.resident.consent_family_sharing = True
    session.add(s.resident)
    session.commit()
    messaging = AlertMessaging(sms=SmsSettings(), public_url=server, link_secret=TEST_SECRET.encode())
    actor = Actor(staff_id=manager.id, username=manager.username, role=Role.manager, center_id=s.center.id)
    link = share_family_page(
        session=session, actor=actor, messaging=messaging, resident_id=s.resident.id or 0,
        contact_id=s.daughter.id or 0, now=utcnow(),
    )  # fmt: skip
    session.commit()
    page = in_wechat(browser)
    page.goto(server + family_url("", link, TEST_SECRET.encode()))
    expect(page.get_by_role("heading", name="王秀英")).to_be_visible()
    fits_and_blocks_nothing(page)
    page.screenshot(path=screenshots / "wechat-family.png", full_page=True)

    alert_id = press_sos(server, s.key, "sos-wechat")
    escalate_due_alerts(session, messaging, now=utcnow() + timedelta(minutes=6))  # step 2 pages the daughter
    session.commit()
    page.goto(server + link_path(session, alert_id, f"contact:{s.daughter.id}"))
    fits_and_blocks_nothing(page)
    page.locator("button").first.click()  # I'm going
    expect(page.locator("#answered")).to_be_visible()
    page.screenshot(path=screenshots / "wechat-respond.png", full_page=True)

    binding = WeChatBinding(contact_id=s.daughter.id or 0, openid="oWeChatBrowserTest", created_at=utcnow())
    session.add(binding)
    session.commit()
    page.goto(f"{server}/w/{sign_link_id(binding.id or 0, TEST_SECRET.encode(), CONFIRM)}")
    fits_and_blocks_nothing(page)
    page.locator("#confirm").click()
    expect(page.locator("#done")).to_be_visible()
    session.expire_all()
    assert session.get(FamilyContact, s.daughter.id).wechat_openid == "oWeChatBrowserTest"  # type: ignore[union-attr]


def test_a_new_version_of_the_tablets_scripts_reaches_the_tablet_on_its_next_load(
    browser: Browser, server: str, session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    s, _visit = scenario(session)
    page = open_page(browser, server)
    log_in(page, s.worker.username)
    until(page, "() => navigator.serviceWorker.controller?.state === 'activated'")
    first = f"carecenter-shell-{web.shell_version(web.STATIC)}"
    until(page, f"() => caches.keys().then(names => names.includes('{first}'))")

    monkeypatch.setattr(web, "shell_version", lambda directory: "0123456789abcdef")  # the assets changed
    page.reload()  # the browser compares sw.js on a load: a new worker, which fetches the files again
    until(page, "() => caches.keys().then(names => names.includes('carecenter-shell-0123456789abcdef'))")
    until(page, f"() => caches.keys().then(names => !names.includes('{first}'))")  # the old shell is gone
    shell = page.evaluate(
        "() => caches.open('carecenter-shell-0123456789abcdef').then(c => c.keys()).then(k => k.map(r => r.url))"
    )
    assert any(url.endswith("/static/queue.js") for url in shell) and any(url.endswith("/app.css") for url in shell)


def test_the_next_visit_is_checked_into_from_the_day_page(
    browser: Browser, server: str, session: Session, screenshots: Path
) -> None:
    """The next visit on top, its key facts one tap away, one large button: the check-in goes
    through the tablet's queue like the visit page's and opens the visit."""
    s, visit = scenario(session)
    s.resident.access_notes = "钥匙在邻居王家"
    session.add(s.resident)
    session.commit()
    page = open_page(browser, server)
    log_in(page, s.worker.username)
    card = page.locator("#next-visit")
    expect(card).to_contain_text("王秀英")
    page.locator("#key-facts summary").click()
    expect(page.locator("#key-facts")).to_contain_text("钥匙在邻居王家")
    box = page.locator("#check-in-next").bounding_box()
    assert box is not None and box["height"] >= 44 and box["width"] >= 200  # a gloved thumb finds it
    page.screenshot(path=screenshots / "worker-next-visit.png")
    page.locator("#check-in-next").click()
    page.wait_for_url(f"**/visits/{visit.id}")
    deadline = time.monotonic() + 15
    while True:
        session.expire_all()
        if session.get(Visit, visit.id).status == "in_progress":  # type: ignore[union-attr]
            break
        assert time.monotonic() < deadline, "the queued check-in never reached the server"
        time.sleep(0.2)


# Linux Chromium has no BarcodeDetector (Chrome on Android tablets has): this one answers with the
# code the test gives it once the camera's video plays, so the page's scanning (the button, the
# camera, the field, the queue) runs for real; reading the printed card is zxing-cpp's part below.
FAKE_DETECTOR = """
window.BarcodeDetector = class {
  constructor(options) { window.__scanFormats = options.formats; }
  detect(video) {
    const playing = video.readyState >= 2 && video.videoWidth > 0 && video.srcObject !== null;
    return Promise.resolve(playing && window.__homeCode ? [{ rawValue: window.__homeCode, format: "qr_code" }] : []);
  }
};
"""


def test_a_printed_home_code_is_scanned_at_the_door_and_verifies_the_visit(
    browser: Browser, server: str, session: Session, screenshots: Path
) -> None:
    s, visit = scenario(session)
    manager = open_page(browser, server)
    log_in(manager, s.manager.username)
    manager.goto(f"/residents/{s.resident.id}")
    manager.locator("#home-code").click()
    expect(manager.locator("#no-code")).to_be_visible()
    manager.locator("#print-code").click()
    card = manager.locator("#home-code figure svg")
    expect(card).to_be_visible()
    code = manager.locator("#code-text").inner_text().strip()
    manager.screenshot(path=screenshots / "manager-home-code.png")
    read = zxingcpp.read_barcodes(Image.open(io.BytesIO(card.screenshot())))
    assert [r.text for r in read] == [code]  # the printed picture holds the code printed under it

    # Indoors, the tablet's position 4 km off: the home code alone verifies each end.
    context = browser.new_context(
        viewport={"width": 768, "height": 1024},
        base_url=server,
        locale="zh-CN",
        geolocation={"latitude": 39.80, "longitude": 116.21},
        permissions=["geolocation", "camera"],
    )
    context.add_init_script(FAKE_DETECTOR + f"window.__homeCode = {code!r};")
    page = context.new_page()
    log_in(page, s.worker.username)
    page.goto(f"/visits/{visit.id}")
    arrive = page.locator("#step-arrive")
    arrive.locator("details.home-code summary").click()
    arrive.get_by_role("button", name="扫码").click()
    expect(page.locator("#code-in")).to_have_value(code, timeout=10_000)
    expect(arrive.locator("video.scanner")).to_be_hidden()  # the camera is let go once read
    page.locator("#check-in").click()
    expect(page.locator("#visit-status")).to_have_text("服务中")
    page.locator("button[data-task=meals]").click()
    page.locator("button[data-task=medication]").click()
    leave = page.locator("form[data-queue=check_out]")
    leave.locator("details.home-code summary").click()
    page.locator("#code-out").fill(code.lower())  # typed from under the picture
    page.locator("#check-out").click()
    deadline = time.monotonic() + 15
    while True:
        session.expire_all()
        done = session.get(Visit, visit.id)
        assert done is not None
        if done.status == "completed":
            break
        assert time.monotonic() < deadline, "the queued check-out never reached the server"
        time.sleep(0.2)
    assert (done.check_in_method, done.check_out_method) == ("home_code", "home_code")
    assert done.exception is None and done.check_in_distance_m is not None and done.check_in_distance_m > 3000
    context.close()
