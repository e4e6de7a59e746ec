"""Every page in a real browser, as each role and in both languages: axe-core finds no serious or
critical problem; on the care worker's pages every control is a 44 px target and nothing scrolls
sideways at 768 px; the response and family pages fit 360 px; text zoomed to 200 % loses nothing.
The README's screenshots are taken here, at tablet size.

axe-core (Deque's accessibility engine, from npm: tests/browser_tools/package.json) is injected
into the page by the test only; the app never serves it.
"""

import os
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, ViewportSize
from sqlmodel import Session

from carecenter.access import Actor, Role
from carecenter.alerts.service import escalate_due_alerts
from carecenter.family.service import family_url, share_family_page
from carecenter.messaging.outbound import AlertMessaging
from carecenter.staff.models import Language
from carecommon.clock import utcnow
from notifications.settings import SmsSettings
from tests.axe import AXE, install_axe
from tests.chromium import require_chromium
from tests.conftest import TEST_SECRET
from tests.factories import (
    PASSWORD,
    make_assessment,
    make_contact,
    make_plan,
    make_service_record,
    make_staff,
)

require_chromium()  # before the fixtures' module, which would be left half-imported where chromium is missing
from tests.carecenter.web.test_browser import (  # noqa: E402 F401 (fixtures)
    browser,
    link_path,
    log_in,
    press_sos,
    scenario,
    server,
)

README_SHOTS = Path(__file__).parents[3] / "docs" / "screenshots"
TABLET: ViewportSize = {"width": 768, "height": 1024}


@pytest.fixture(scope="session")
def axe_source() -> str:
    """axe-core as pinned in tests/browser_tools (the run started installing it: tests/axe.py)."""
    if not install_axe():
        if os.environ.get("CI"):
            raise RuntimeError("CI must install npm (see .ci/run)")
        pytest.skip("npm is not installed here: axe-core cannot be fetched")
    return AXE.read_text()


def serious_problems(page: Page, axe: str) -> list[str]:
    """axe-core's serious and critical violations on the page as it is now, one line each."""
    page.add_script_tag(content=axe)
    found: list[dict[str, Any]] = page.evaluate("() => axe.run(document, {resultTypes: ['violations']})")["violations"]
    return [
        f"{v['id']} ({v['impact']}): {v['help']} — {[n['target'] for n in v['nodes'][:3]]}"
        for v in found
        if v["impact"] in ("serious", "critical")
    ]


SMALL_TARGETS = """() => [...document.querySelectorAll('a, button, input, select, textarea, summary')]
  .filter(e => e.type !== 'hidden' && e.offsetParent !== null)
  .filter(e => !(e.tagName === 'A' && getComputedStyle(e).display === 'inline'
                 && e.closest('p, li, td, h1, h2, h3, span.meta, div.meta')))  // in a sentence: exempt
  .map(e => [e, (['checkbox', 'radio'].includes(e.type) && e.closest('label')) || e])
  .filter(([e, t]) => { const r = t.getBoundingClientRect(); return r.width < 44 || r.height < 44; })
  .map(([e, t]) => e.outerHTML.slice(0, 120))"""
SIDEWAYS = "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"


@pytest.fixture
def center(session: Session) -> dict[str, Any]:
    """One center with a record of each kind, and the paths of the pages that show them."""
    s, visit = scenario(session)
    manager, admin = s.manager, make_staff(session, center=None, role=Role.admin)
    r = s.resident
    ids = {
        "r": r.id,
        "v": visit.id,
        "c": s.daughter.id,
        "d": s.watch.id,
        "p": make_plan(session, resident=r).id,
        "a": make_assessment(session, resident=r, signed_at=None).id,
        "sr": make_service_record(session, resident=r).id,
    }
    make_contact(session, resident=r, phone="+8613900000009", priority=3)
    worker_pages = ["/", "/visits/{v}", "/alerts", "/residents/{r}", "/meals"]
    manager_pages = [
        "/board", "/board/wall", "/alerts", "/schedule", "/schedule/visits/{v}", "/care-plans", "/care-plans/{p}",
        "/manage/residents", "/manage/residents/new", "/manage/residents/{r}/edit", "/manage/staff", "/manage/devices",
        "/manage/devices/{d}", "/manage/devices/profiles", "/manage/services", "/manage/subsidy-rules",
        "/residents/{r}", "/manage/residents/{r}/contacts/new", "/manage/residents/{r}/contacts/{c}/edit", "/figures",
        "/messages", "/manage/templates", "/assessments", "/residents/{r}/assessments/new", "/assessments/{a}",
        "/reports/monthly", "/service-records", "/service-records/{sr}/adjust", "/welfare", "/meals",
        "/residents/{r}/statement", "/visit-exceptions", "/manage/residents/{r}/home-code",
    ]  # fmt: skip
    admin_pages = ["/manage/devices/unknown", "/board", "/manage/staff", "/manage/api-clients"]
    assessor_pages = ["/", "/assessments", "/residents/{r}/assessments/new", "/assessments/{a}", "/alerts"]
    assessor = make_staff(session, center=s.center, role=Role.assessor)
    return {
        "scenario": s,
        "people": {"care_worker": s.worker, "assessor": assessor, "manager": manager, "admin": admin},
        "pages": {
            "care_worker": [p.format(**ids) for p in worker_pages],
            "manager": [p.format(**ids) for p in manager_pages],
            "admin": [p.format(**ids) for p in admin_pages],
            "assessor": [p.format(**ids) for p in assessor_pages],
        },
    }


@pytest.mark.parametrize("language", ["zh-CN", "en"])
@pytest.mark.parametrize("role", ["care_worker", "assessor", "manager", "admin"])
def test_every_page_has_no_serious_accessibility_problem(
    browser: Browser,  # noqa: F811
    server: str,  # noqa: F811
    session: Session,
    center: dict[str, Any],
    axe_source: str,
    role: str,
    language: str,
) -> None:
    person = center["people"][role]
    person.language = Language(language)
    session.add(person)
    session.commit()
    worker = role in ("care_worker", "assessor")  # at the door, on a tablet
    context = browser.new_context(
        viewport=TABLET, base_url=server, bypass_csp=True,
        locale=language, geolocation={"latitude": 39.7601, "longitude": 116.2101}, permissions=["geolocation"],
    )  # fmt: skip
    page = context.new_page()
    log_in_as(page, person.username)
    if role == "admin":  # an admin picks the center to work on in the header
        page.locator("#center-pick").select_option(str(center["scenario"].center.id))
        page.locator("#working-center button").click()
    problems: dict[str, list[str]] = {}
    for path in center["pages"][role]:
        page.goto(path)
        assert page.locator("main").count() == 1, path
        found = serious_problems(page, axe_source)
        if worker:
            found += [f"a target under 44 px: {t}" for t in page.evaluate(SMALL_TARGETS)]
            if page.locator("#check-in").is_visible():  # the visit's other steps appear once checked in
                page.locator("#check-in").click()
                page.locator("#visit[data-status=in_progress]").wait_for()
                found += [f"checked in, a target under 44 px: {t}" for t in page.evaluate(SMALL_TARGETS)]
                found += [f"checked in: {p}" for p in serious_problems(page, axe_source)]
        if (sideways := page.evaluate(SIDEWAYS)) > 0:  # a tablet: the worker's and the manager's
            found.append(f"scrolls sideways by {sideways} px at 768 px")
        if found:
            problems[path] = found
    context.close()
    assert problems == {}


def log_in_as(page: Page, username: str) -> None:
    """The login form by its fields, in either language (test_browser's `log_in` reads its Chinese labels)."""
    page.goto("/login")
    page.locator("input[name=username]").fill(username)
    page.locator("input[name=password]").fill(PASSWORD)
    page.locator("form button[type=submit]").last.click()
    page.wait_for_load_state()


@pytest.fixture
def links(session: Session, server: str) -> dict[str, str]:  # noqa: F811
    """A response link (an SOS paged to the daughter) and a family page link."""
    s, _ = scenario(session)
    s.resident.consent_family_sharing = True
    session.add(s.resident)
    session.commit()
    alert_id = press_sos(server, s.key, "sos-checks")
    messaging = AlertMessaging(sms=SmsSettings(), public_url=server, link_secret=TEST_SECRET.encode())
    escalate_due_alerts(session, messaging, now=utcnow() + timedelta(minutes=6))
    actor = Actor(staff_id=s.manager.id, username=s.manager.username, role=Role.manager, center_id=s.center.id)
    link = share_family_page(
        session=session, actor=actor, messaging=messaging, resident_id=s.resident.id or 0,
        contact_id=s.daughter.id or 0, now=utcnow(),
    )  # fmt: skip
    session.commit()
    return {
        "respond": link_path(session, alert_id, f"contact:{s.daughter.id}"),
        "family": family_url("", link, TEST_SECRET.encode()),
    }


@pytest.mark.parametrize("language", ["zh-CN", "en"])
def test_the_pages_families_open_fit_a_small_phone_and_200_percent_text(
    browser: Browser,  # noqa: F811
    server: str,  # noqa: F811
    links: dict[str, str],
    axe_source: str,
    language: str,
) -> None:
    problems: dict[str, list[str]] = {}
    for name, path in links.items():
        for width, zoom in ((360, 1), (1280, 2)):  # 200 % zoom of a 1280 px window lays out 640 CSS px
            context = browser.new_context(
                viewport={"width": width // zoom, "height": 800 // zoom}, device_scale_factor=zoom,
                base_url=server, bypass_csp=True, locale=language,
            )  # fmt: skip
            page = context.new_page()
            page.goto(path)
            found = serious_problems(page, axe_source)
            if (sideways := page.evaluate(SIDEWAYS)) > 0:
                found.append(f"scrolls sideways by {sideways} px")
            if found:
                problems[f"{name} at {width} px, zoom {zoom}"] = found
            context.close()
    assert problems == {}


ONE_LINE = """() => [...document.querySelectorAll('.task-row')].filter(row => {
  const tops = [...row.children].filter(c => c.offsetParent !== null && c.type !== 'hidden')
    .map(c => c.getBoundingClientRect()).map(r => r.top + r.height / 2);
  return Math.max(...tops) - Math.min(...tops) > 8; }).map(row => row.textContent.trim())"""


@pytest.mark.parametrize(
    ("width", "height", "zoom"),
    [(768, 1024, 1), (1024, 768, 1), (360, 740, 1), (1024, 768, 2)],
    ids=["portrait", "landscape", "phone", "landscape-200-percent"],
)
def test_the_care_workers_visit_fits_a_tablet_a_phone_and_200_percent_text(
    browser: Browser,  # noqa: F811
    server: str,  # noqa: F811
    session: Session,
    width: int,
    height: int,
    zoom: int,
) -> None:
    """Every step there, nothing sideways; on a tablet each service's name, quantity and "done" on
    one line, and "not given" never broken over two lines."""
    s, visit = scenario(session)
    context = browser.new_context(
        viewport={"width": width // zoom, "height": height // zoom}, device_scale_factor=zoom, base_url=server,
        locale="zh-CN", geolocation={"latitude": 39.7601, "longitude": 116.2101}, permissions=["geolocation"],
    )  # fmt: skip
    page = context.new_page()
    log_in(page, s.worker.username)
    page.goto(f"/visits/{visit.id}")
    page.locator("#check-in").click()
    page.locator("#visit[data-status=in_progress]").wait_for()
    assert page.evaluate(SIDEWAYS) <= 0
    for step in ("arrive", "services", "vitals", "photo", "confirm", "leave"):
        assert page.locator(f"#step-{step}").is_visible(), step
        assert page.locator(f'ol.steps a[href="#step-{step}"]').is_visible(), step
    if width // zoom >= 768:
        assert page.evaluate(ONE_LINE) == []
    page.locator("details:has(button[data-not-given]) summary").first.click()
    button = page.locator("button[data-not-given]").first.bounding_box()
    assert button is not None and 44 <= button["height"] <= 56  # one line of text
    context.close()


@pytest.mark.parametrize(
    ("name", "role"), [("worker-visit", "care_worker"), ("board", "manager"), ("monthly-report", "manager")]
)
def test_the_readmes_screenshots_are_current(
    browser: Browser,  # noqa: F811
    server: str,  # noqa: F811
    session: Session,
    center: dict[str, Any],
    name: str,
    role: str,
) -> None:
    """docs/screenshots/*.png, at tablet size (768 x 1024), in Chinese: what the README shows."""
    s = center["scenario"]
    press_sos(server, s.key, "sos-shot")
    context = browser.new_context(
        viewport=TABLET, base_url=server, locale="zh-CN",
        geolocation={"latitude": 39.7601, "longitude": 116.2101}, permissions=["geolocation"],
    )  # fmt: skip
    page = context.new_page()
    log_in(page, center["people"][role].username)
    path = {"worker-visit": center["pages"]["care_worker"][1], "board": "/board", "monthly-report": "/reports/monthly"}
    page.goto(path[name])
    if name == "worker-visit":
        page.locator("#check-in").click()
        page.locator("#visit[data-status=in_progress]").wait_for()
    README_SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=README_SHOTS / f"{name}.png")
    context.close()
    assert (README_SHOTS / f"{name}.png").stat().st_size > 10_000
