"""Every web page and form, opened by every kind of caller: allowed or denied as the table says.

Like the API's matrix (tests/carecenter/test_access_matrix.py), for the routes of
`carecenter.web.PAGES`. "Denied" is the login page (no session), 403 or 404 (another center's
records do not exist for you); "allowed" is anything else (a 422 or a redirect back with a
message still got past the door). Forms are posted with valid values and the caller's own CSRF
token, so the role and the record decide, not validation. A new page fails this test until
someone decides who may open it.
"""

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from sqlmodel import Session

from carecenter.access import Role
from carecenter.context import app_context
from carecenter.web import PAGES
from carecenter.web.deps import web_user
from tests.carecenter.web.test_pages import web_login
from tests.factories import (
    jpeg_bytes,
    make_alert,
    make_api_client,
    make_assessment,
    make_center,
    make_contact,
    make_device,
    make_eligibility,
    make_plan,
    make_proof,
    make_resident,
    make_service_record,
    make_staff,
    make_visit,
)

CALLERS = ("anonymous", "device", "other_worker", "other_manager", "worker", "manager", "admin")
STAFF = {"worker", "manager", "admin", "other_worker", "other_manager"}  # pages of their own center
WORKER_UP = {"worker", "manager", "admin"}  # records of this center
MANAGERS = {"manager", "admin", "other_manager"}  # manager pages that show the caller's own center
MANAGER_UP = {"manager", "admin"}  # this center's records, managers only

WEB_ACCESS: dict[str, set[str]] = {
    "GET /login": set(CALLERS),
    "POST /lang": STAFF,
    "GET /": STAFF,
    "GET /visits/{visit_id}": WORKER_UP,
    "POST /visits/{visit_id}/check-in": WORKER_UP,
    "POST /visits/{visit_id}/check-out": WORKER_UP,
    "POST /visits/{visit_id}/task": WORKER_UP,
    "POST /visits/{visit_id}/notes": WORKER_UP,
    "POST /visits/{visit_id}/concern": WORKER_UP,
    "POST /visits/{visit_id}/vitals": WORKER_UP,
    "GET /alerts": STAFF,
    "GET /board": STAFF,
    "GET /board/rows": STAFF,
    "GET /board/wall": STAFF,
    "POST /center": {"admin"},  # the center an admin works on
    "GET /board/events": STAFF,
    "POST /alerts/{alert_id}/acknowledge": WORKER_UP,
    "POST /alerts/{alert_id}/on-site": WORKER_UP,
    "POST /alerts/{alert_id}/resolve": WORKER_UP,
    "POST /alerts/{alert_id}/escalate": MANAGER_UP,
    "GET /residents/{resident_id}": WORKER_UP,
    "GET /residents/{resident_id}/vitals/{sign}.svg": WORKER_UP,
    "GET /manage/residents/{resident_id}/contacts/new": MANAGER_UP,
    "POST /manage/residents/{resident_id}/contacts/new": MANAGER_UP,
    "GET /manage/residents/{resident_id}/contacts/{contact_id}/edit": MANAGER_UP,
    "POST /manage/residents/{resident_id}/contacts/{contact_id}/edit": MANAGER_UP,
    "GET /schedule": MANAGERS,
    "GET /schedule/visits/{visit_id}": MANAGER_UP,
    "POST /schedule/assign": MANAGER_UP,
    "GET /care-plans": MANAGERS,
    "POST /care-plans": MANAGERS,  # for their own center; another center's resident is a field error (422)
    "GET /care-plans/{plan_id}": MANAGER_UP,
    "POST /care-plans/{plan_id}/end": MANAGER_UP,
    "POST /care-plans/{plan_id}/worker": MANAGER_UP,
    "GET /manage/{kind}": MANAGERS,
    "GET /manage/{kind}/new": MANAGERS,
    "POST /manage/{kind}/new": MANAGERS,
    "GET /manage/{kind}/{record_id}/edit": MANAGER_UP,
    "POST /manage/{kind}/{record_id}/edit": MANAGER_UP,
    "POST /manage/residents/{resident_id}/contacts/{contact_id}/family-link": MANAGER_UP,
    "POST /manage/residents/{resident_id}/contacts/{contact_id}/reachable": MANAGER_UP,
    "GET /manage/devices/unknown": {"admin"},  # ids nobody registered: no center yet
    "GET /manage/devices/{device_id}": MANAGER_UP,
    "POST /manage/devices/{device_id}/commands": MANAGER_UP,
    "POST /manage/devices/{device_id}/confirm-connection": MANAGER_UP,
    "GET /manage/devices/{device_id}/media/{media_id}": MANAGER_UP,
    "GET /manage/devices/profiles": MANAGERS,  # models, not a center's records
    "GET /manage/devices/profiles/form": {"admin"},
    "POST /manage/devices/profiles/form": {"admin"},
    "GET /figures": MANAGERS,
    "GET /figures/trend/{what}.svg": MANAGERS,
    "GET /figures.csv": MANAGERS,
    "GET /messages": MANAGERS,
    "GET /manage/templates": MANAGERS,  # the district's templates
    "POST /manage/templates": {"admin"},
    "GET /manage/residents/{resident_id}/contacts/{contact_id}/wechat-code": MANAGER_UP,
    "POST /manage/residents/{resident_id}/contacts/{contact_id}/wechat-unbind": MANAGER_UP,
    "GET /assessments": MANAGERS,  # and assessors (tests/carecenter/web/test_paperwork_pages.py)
    "GET /residents/{resident_id}/assessments/new": MANAGER_UP,
    "POST /residents/{resident_id}/assessments/new": MANAGER_UP,
    "GET /assessments/{assessment_id}": WORKER_UP,
    "POST /assessments/{assessment_id}": MANAGER_UP,
    "GET /reports/monthly": MANAGERS,  # an admin names the center (?center_id=): 422 without
    "GET /reports/monthly.xlsx": MANAGERS,
    "GET /reports/monthly.csv": MANAGERS,
    "POST /reports/monthly/close": MANAGERS,
    "GET /service-records": MANAGERS,
    "GET /service-records/{service_record_id}/adjust": MANAGER_UP,
    "POST /service-records/{service_record_id}/adjust": MANAGER_UP,
    "GET /meals": STAFF,
    "POST /meals": STAFF,  # for their own center; another center's resident is a field error
    "GET /welfare": MANAGERS,
    "POST /welfare/plan": MANAGERS,
    "POST /residents/{resident_id}/eligibility": MANAGER_UP,
    "POST /residents/{resident_id}/eligibility/{eligibility_id}/end": MANAGER_UP,
    "GET /residents/{resident_id}/statement": MANAGER_UP,  # money: the managers'
    "POST /sync": STAFF,  # each action answered (another center's visit: conflict)
    "POST /visits/{visit_id}/photo": WORKER_UP,
    "POST /visits/{visit_id}/confirm": WORKER_UP,
    "POST /visits/{visit_id}/medication": WORKER_UP,
    "GET /photos/{photo_id}": WORKER_UP,
    "GET /visits/{visit_id}/signature": WORKER_UP,
    "POST /care-plans/{plan_id}/medications": MANAGER_UP,
    "POST /care-plans/{plan_id}/medications/{index}/remove": MANAGER_UP,
    "GET /manage/residents/{resident_id}/home-code": MANAGER_UP,
    "POST /manage/residents/{resident_id}/home-code": MANAGER_UP,
    "GET /reports/exports/{template_code}": MANAGERS,  # their own center's month
    "GET /reports/exports/{template_code}/file.{file_format}": MANAGERS,
    "GET /manage/api-clients": {"admin"},  # the district's receiving systems
    "POST /manage/api-clients": {"admin"},
    "POST /manage/api-clients/{client_id}/revoke": {"admin"},
    "GET /visit-exceptions": MANAGERS,  # their own center's queue (an admin names the center)
    "POST /visit-exceptions/{visit_id}": MANAGER_UP,
}
# Logging in and out change the caller's session: tests/carecenter/web/test_pages.py and
# test_web_hostile.py cover them.
# The response link's and the family page have no login: their signed tokens are the key (test_respond_page.py,
# test_family_page.py, test_links.py).
# The WeChat confirmation and the family page's code likewise (tests/carecenter/family/test_wechat.py).
ELSEWHERE = {
    "POST /login",
    "POST /logout",
    "GET /r/{token}",
    "POST /r/{token}",
    "GET /f/{token}",
    "GET /f/{token}/wechat",
    "GET /w/{token}",
    "POST /w/{token}",
}


def _routes() -> list[tuple[str, APIRoute]]:
    return [
        (f"{method} {route.path_format}", route)
        for page in PAGES
        for route in page.router.routes
        if isinstance(route, APIRoute)
        for method in sorted(route.methods or ())
    ]


def _form(operation: str, ids: dict[str, Any]) -> dict[str, Any]:
    """Values the form accepts, so that the door (role, record), not validation, answers."""
    unique = uuid.uuid4().hex[:8]
    today = datetime.now(UTC).date()
    monday = today - timedelta(days=today.weekday())
    forms: dict[str, dict[str, Any]] = {
        "POST /lang": {"lang": "zh-CN", "next": "/"},
        "POST /center": {"center_id": ids["center_id"], "next": "/board"},
        "POST /visits/{visit_id}/task": {"service": "meals", "done": "1"},
        "POST /visits/{visit_id}/notes": {"notes": "ok"},
        "POST /visits/{visit_id}/concern": {"note": "ok"},
        "POST /visits/{visit_id}/vitals": {"heart_rate": "72"},
        "POST /alerts/{alert_id}/resolve": {"outcome": "false_alarm"},
        "POST /alerts/{alert_id}/escalate": {"step": "1"},
        "POST /manage/residents/{resident_id}/contacts/new": {
            "name": "家属",
            "relation": "son",
            "phone": "13900001111",
        },
        "POST /manage/residents/{resident_id}/contacts/{contact_id}/edit": {"name": "家属"},
        "POST /schedule/assign": {"visit_id": ids["visit_id"], "worker_id": "", "week": monday.isoformat()},
        "POST /care-plans": {
            "resident_id": ids["resident_id"],
            "services": "meals",
            "weekdays": "1",
            "start_time": "10:00",
            "starts_on": (today + timedelta(days=1)).isoformat(),
        },
        "POST /care-plans/{plan_id}/worker": {"preferred_worker_id": ""},
        "POST /manage/{kind}/new": {"name": f"新居民{unique}", "gender": "male", "birth_date": "1941-05-06"},
        "POST /manage/{kind}/{record_id}/edit": {"notes": "ok"},
        "POST /manage/devices/{device_id}/commands": {"kind": "locate"},
        "POST /manage/devices/profiles/form": {"protocol": "gt06", "model": "web-matrix"},
        "POST /manage/residents/{resident_id}/contacts/{contact_id}/family-link": {"share": "0"},
        "POST /residents/{resident_id}/assessments/new": {"assessed_on": today.isoformat(), "reason": "first"},
        "POST /assessments/{assessment_id}": {"notes": "ok"},
        "POST /reports/monthly/close": {"month": "2026-10"},
        "POST /visit-exceptions/{visit_id}": {"decision": "approve", "reason": "到访属实"},
        "POST /manage/api-clients": {"name": f"平台{unique}", "center_ids": ids["center_id"]},
        "POST /service-records/{service_record_id}/adjust": {"quantity": "2", "reason": "多送一份"},
        "POST /meals": {
            "service_code": "meals",
            "service_on": today.isoformat(),
            "resident_ids": ids["resident_id"],
        },
        "POST /residents/{resident_id}/eligibility": {
            "group": "subsistence",
            "starts_on": "2026-11-01",
            "document_ref": "民低12号",
        },
        "POST /residents/{resident_id}/eligibility/{eligibility_id}/end": {"ends_on": "2026-12-31"},
        "POST /visits/{visit_id}/confirm": {"kind": "could_not_sign", "signer": "家属", "reason": "手抖"},
        "POST /visits/{visit_id}/medication": {"index": "0", "outcome": "given"},
        "POST /care-plans/{plan_id}/medications": {"name": "降压药", "times": "08:00"},
        "POST /manage/templates": {"provider": "aliyun", "kind": "alert.critical", "code": "SMS_100"},
    }
    return forms.get(operation, {})


def _denied(status: int, location: str) -> bool:
    return status in (401, 403, 404) or (status in (302, 303, 307) and location.endswith("/login"))


def test_every_page_is_in_the_matrix() -> None:
    operations = {operation for operation, _ in _routes()} - ELSEWHERE
    assert sorted(operations - set(WEB_ACCESS)) == [], "decide who may open these: add them to WEB_ACCESS"
    assert sorted(set(WEB_ACCESS) - operations) == []


PARTS = 6  # the pages in six parts, which run in parallel


def _records(session: Session, app: FastAPI, here: Any, worker_id: int | None) -> dict[str, Any]:
    """Fresh records of the center for one caller's request (the visit is the care worker's)."""
    resident = make_resident(session, center=here, primary_worker_id=worker_id)
    ids = {
        "visit_id": make_visit(
            session, resident=resident, start=datetime.now(UTC) + timedelta(minutes=5), worker_id=worker_id
        ).id,
        "alert_id": make_alert(session, resident=resident).id,
        "plan_id": make_plan(session, resident=resident).id,
        "resident_id": resident.id,
        "center_id": here.id,
        "contact_id": make_contact(session, resident=resident).id,
        "record_id": resident.id,
        "device_id": make_device(session, center=here, resident=resident, protocol="watch-tcp")[0].id,
        "kind": "residents",
        "sign": "heart_rate",
        "what": "alerts",
        "assessment_id": make_assessment(session, resident=resident, signed_at=None).id,
        "service_record_id": make_service_record(session, resident=resident).id,
        "eligibility_id": make_eligibility(session, resident=resident).id,
        "index": 0,
        "template_code": "ltci-monthly-claim",
        "client_id": make_api_client(session, centers=[here]).id,
        "file_format": "xlsx",
    }  # fmt: skip
    ids["photo_id"], ids["media_id"] = make_proof(
        session, visit_id=ids["visit_id"], device_id=ids["device_id"], store=app_context(app).media
    )
    return ids


@pytest.mark.parametrize("part", range(PARTS))
def test_every_page_allows_exactly_its_callers(app: FastAPI, client: TestClient, session: Session, part: int) -> None:
    routes = _routes()[part::PARTS]
    here, there = make_center(session), make_center(session)
    people = {
        "worker": make_staff(session, center=here),
        "manager": make_staff(session, center=here, role=Role.manager),
        "admin": make_staff(session, center=None, role=Role.admin),
        "other_worker": make_staff(session, center=there),
        "other_manager": make_staff(session, center=there, role=Role.manager),
    }
    browsers: dict[str, TestClient] = {}
    tokens: dict[str, str] = {}
    for caller in CALLERS:
        browser = TestClient(app, base_url="https://testserver")
        if caller in people:
            tokens[caller] = web_login(browser, people[caller].username)
        if caller == "device":
            browser.headers["X-Device-Key"] = "not-a-session"
        browsers[caller] = browser
    wrong = []
    for operation, route in routes:
        if operation in ELSEWHERE:
            continue
        method, path = operation.split(" ", 1)
        ids = None
        for caller in CALLERS:
            # Each caller meets the records as they were made: what an allowed write changed is
            # made again for the next one.
            ids = ids or _records(session, app, here, people["worker"].id)
            url = path.format(**ids)
            if operation == "GET /board/events" and caller in WEB_ACCESS[operation]:
                # An endless event stream: whoever may open it is decided by its dependency.
                assert any(d.call is web_user for d in route.dependant.dependencies)
                continue
            data = _form(operation, ids) | {"csrf": tokens.get(caller, "")}
            files = {"photo": ("p.jpg", jpeg_bytes(), "image/jpeg")} if operation.endswith("/photo") else None
            headers = {"X-CSRF-Token": tokens.get(caller, "")}  # what a page's script sends (the tablet's queue)
            response = browsers[caller].request(
                method,
                url,
                data=data if method == "POST" else None,
                files=files,
                headers=headers,
                follow_redirects=False,
            )
            assert response.status_code < 500, f"{caller} {operation}: {response.status_code}"
            allowed = not _denied(response.status_code, response.headers.get("location", ""))
            if allowed and method != "GET":
                ids = None
            if allowed != (caller in WEB_ACCESS[operation]):
                wrong.append(f"{caller:>13} {operation}: {response.status_code} {response.headers.get('location', '')}")
    for browser in browsers.values():
        browser.close()
    assert wrong == [], "\n" + "\n".join(wrong)
