"""Every web form and route, the way a careless or hostile user would use them: garbage in every
field, forged logins, redirects to other sites, pages that do not exist. Never a 500, never JSON."""

import re
from datetime import timedelta

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from sqlmodel import Session

from carecenter.web import PAGES
from tests.carecenter.alerts.scenario import build
from tests.carecenter.web.test_pages import login_form_token, web_login
from tests.conftest import Clock
from tests.factories import PASSWORD, make_alert, make_plan, make_visit

GARBAGE = ["", "x", "-1", "0", "1e309", "NaN", "2**70", "99999999999999999999", "<script>", "' OR 1=1 --", "长" * 5000]
FIELDS = [
    "latitude", "longitude", "service", "done", "notes", "note", "systolic", "diastolic", "heart_rate",
    "temperature", "blood_glucose", "outcome", "next", "visit_id", "worker_id", "week", "preferred_worker_id",
    "resident_id", "services", "weekdays", "every_n_days", "start_time", "duration_minutes", "starts_on", "ends_on",
    "name", "phone", "birth_date", "gender", "national_id", "care_level", "role", "username", "password", "serial",
    "kind", "priority", "relation", "language", "quiet_hours_start", "quiet_hours_end", "lang",
]  # fmt: skip


def _web_posts() -> list[str]:
    """Every POST route of the web UI's pages (the API and webhooks have their own tests)."""
    return sorted(
        route.path
        for page in PAGES
        for route in page.router.routes
        if isinstance(route, APIRoute) and "POST" in (route.methods or set())
    )


def _fill(path: str, ids: dict[str, int | None]) -> str:
    return re.sub(r"{(\w+)}", lambda m: str(ids.get(m.group(1), "residents")), path)


@pytest.mark.parametrize("value", GARBAGE)
def test_garbage_in_every_field_of_every_form_is_never_a_500(
    client: TestClient, session: Session, clock: Clock, value: str
) -> None:
    s = build(session, clock.now)
    visit = make_visit(session, resident=s.resident, start=clock.now + timedelta(minutes=5), worker_id=s.worker.id)
    alert = make_alert(session, resident=s.resident)
    plan = make_plan(session, resident=s.resident)
    ids = {
        "visit_id": visit.id,
        "alert_id": alert.id,
        "plan_id": plan.id,
        "resident_id": s.resident.id,
        "contact_id": s.daughter.id,
        "record_id": s.resident.id,
    }
    csrf = web_login(client, s.manager.username)
    posts = _web_posts()
    assert len(posts) >= 20  # the walk must not silently find nothing
    for path in posts:
        if path in ("/logout", "/login"):
            continue
        data = {field: value for field in FIELDS} | {"csrf": csrf}
        response = client.post(_fill(path, ids), data=data, follow_redirects=False)
        assert response.status_code < 500, (path, value, response.text[:300])
        assert not response.headers.get("content-type", "").startswith("application/json"), (path, value)


def test_login_without_the_login_form_token_is_refused(client: TestClient, session: Session, clock: Clock) -> None:
    s = build(session, clock.now)
    forged = client.post("/login", data={"username": s.worker.username, "password": PASSWORD})
    assert forged.status_code == 403 and "cc_session" not in client.cookies
    token = login_form_token(client)
    client.cookies.delete("cc_login", path="/login")  # a token copied into another browser
    copied = client.post("/login", data={"username": s.worker.username, "password": PASSWORD, "csrf": token})
    assert copied.status_code == 403 and "cc_session" not in client.cookies
    web_login(client, s.worker.username)
    assert "cc_session" in client.cookies


@pytest.mark.parametrize(
    ("target", "lands_on"),
    [
        ("/alerts", "/alerts"),
        ("//evil.example/steal", "/"),
        ("/\\evil.example", "/"),
        ("https://evil.example/", "/"),
        ("/\r\nLocation: https://evil.example", "/"),
        ("alerts", "/"),
    ],
)
def test_the_language_switch_goes_back_only_to_our_own_pages(
    client: TestClient, session: Session, clock: Clock, target: str, lands_on: str
) -> None:
    s = build(session, clock.now)
    csrf = web_login(client, s.worker.username)
    response = client.post("/lang", data={"csrf": csrf, "lang": "en", "next": target}, follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == lands_on


@pytest.mark.parametrize("path", ["/no-such-page", "/visits/999999", "/residents/abc", "/visits/abc"])
def test_a_missing_page_is_a_page_in_the_users_language(
    client: TestClient, session: Session, clock: Clock, path: str
) -> None:
    s = build(session, clock.now)
    web_login(client, s.worker.username)
    response = client.get(path)
    assert response.status_code in (404, 422)
    assert response.headers["content-type"].startswith("text/html")
    assert 'id="error-page"' in response.text and "返回首页" in response.text  # the worker reads Chinese
    assert '{"detail"' not in response.text


def test_another_centers_record_is_not_found_in_html(client: TestClient, session: Session, clock: Clock) -> None:
    here, there = build(session, clock.now), build(session, clock.now)
    web_login(client, here.manager.username)
    client.post("/lang", data={"csrf": web_login(client, here.manager.username), "lang": "en", "next": "/"})
    response = client.get(f"/residents/{there.resident.id}")
    assert response.status_code == 404
    assert "This page does not exist, or it is not yours to see." not in response.text  # a record, not a page
    assert "resident not found" in response.text and 'id="error-page"' in response.text


def test_a_care_worker_is_refused_the_managers_pages_in_html(
    client: TestClient, session: Session, clock: Clock
) -> None:
    s = build(session, clock.now)
    web_login(client, s.worker.username)
    response = client.get("/schedule")
    assert response.status_code == 403
    assert "您无权打开站长页面。" in response.text and 'id="error-page"' in response.text
