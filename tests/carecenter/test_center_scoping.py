"""Walks every API route as staff of center A against records of center B: always 404.

A new API route with a path parameter must be added to RECORD_PARAMS, or this test fails, so
no route escapes the check. (Response links under /r/ are authorised by their signed token
instead; tests/notifications/test_links.py covers them.)
"""

import re
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlmodel import Session

from carecenter.access import Role
from carecenter.context import app_context
from tests.factories import (
    jpeg_bytes,
    login,
    make_alert,
    make_api_client,
    make_assessment,
    make_center,
    make_contact,
    make_device,
    make_eligibility,
    make_message,
    make_plan,
    make_proof,
    make_resident,
    make_service_record,
    make_shift,
    make_staff,
    make_subsidy_rule,
    make_visit,
    offering_id,
)

# Which record of center B each path parameter names.
RECORD_PARAMS = {
    "center_id": "center",
    "staff_id": "staff",
    "resident_id": "resident",
    "contact_id": "contact",
    "device_id": "device",
    "alert_id": "alert",
    "shift_id": "shift",
    "plan_id": "plan",
    "visit_id": "visit",
    "assessment_id": "assessment",
    "offering_id": "offering",
    "eligibility_id": "eligibility",
    "rule_id": "rule",
    "record_id": "record",
    "photo_id": "photo",
    "media_id": "media",
    "message_id": "message",
    "client_id": "api_client",
}
# Path parameters that name no record of a center: the form's code, and the month a manager closes
# (always of their own center).
NOT_RECORDS = {
    "code": "gbt-42195-2022",
    "month": "2026-10",
    "provider": "aliyun",
    "kind": "alert.critical",
    "resource_type": "Patient",  # the FHIR API: read by its clients only (tests/carecenter/fhir)
    "resource_id": "1",
    "template_code": "ltci-monthly-claim",  # an export's layout; the center is the caller's own
}
QUERIES = {  # operations that need a query parameter to get past validation
    "/api/v1/service-records": "?month=2026-11",
    "/api/v1/reports/monthly": "?month=2026-11",
    "/api/v1/residents/{resident_id}/statement": "?month=2026-11",
    "/api/v1/device-profiles": "?protocol=gt06&model=matrix",
    "/api/v1/visit-exceptions": "?month=2026-11",
    "/api/v1/exports/{template_code}": "?month=2026-11",
    "/api/v1/exports/{template_code}/problems": "?month=2026-11",
}

BODIES_BY_SUFFIX: dict[str, dict[str, Any]] = {
    "/{kind}": {"code": "SMS_100"},
    "/escalate": {"step": 1},
    "/device-profiles": {"protocol": "gt06", "model": "matrix"},
    "/resolve": {"outcome": "other"},
    "/contacts": {"name": "新人", "relation": "son", "phone": "13900003333"},
    "/notes": {"notes": "笔记"},
    "/assign": {"worker_id": None},
    "/cancel": {"reason": "家属取消"},
    "/tasks": {"service": "meals", "done": True},
    "/concern": {"note": "情绪低落"},
    "/vitals": {"heart_rate": 70},
    "/commands": {"kind": "locate"},
    "/correct-times": {"reason": "忘记签到", "checked_in_at": "2026-11-24T09:00:00+08:00"},
    "/exception": {"decision": "approve", "reason": "家中无信号"},
    "/eligibility": {"group": "subsistence", "starts_on": "2026-11-01", "document_ref": "民低12号"},
    "/end": {"ends_on": "2026-12-31"},
    "/adjust": {"quantity": 2, "reason": "多送一份"},
    "/confirmation": {"kind": "could_not_sign", "signer": "家属", "reason": "手抖"},
    "/medications": {"index": 0, "outcome": "given"},
    "/tablet/actions": {
        "actions": [{"key": "abcdefgh1", "kind": "notes", "visit_id": 1, "at": "2026-11-24T02:00:00Z"}]
    },
}


def body_for(method: str, path: str) -> dict[str, Any] | None:
    """A valid body, so that validation cannot answer before the scoping check does."""
    for suffix, body in BODIES_BY_SUFFIX.items():
        if path.endswith(suffix):
            return body
    return {"model": "X1"} if method == "PATCH" else ({} if method in ("POST", "PUT") else None)


def _routes_with_ids(app: FastAPI) -> list[tuple[str, str]]:
    """Every (method, path) with a path parameter, from the app's own OpenAPI description."""
    return [
        (method.upper(), path)
        for path, operations in app.openapi()["paths"].items()
        if path.startswith("/api/") and "{" in path
        for method in operations
    ]


MISSING_ID = 2_000_000_000  # an id no record has


@pytest.mark.parametrize("role", [Role.care_worker, Role.manager])
def test_records_of_another_center_are_not_found(
    client: TestClient, session: Session, app: FastAPI, role: Role
) -> None:
    center_a, center_b = make_center(session), make_center(session)
    b_resident = make_resident(session, center=center_b)
    b_staff = make_staff(session, center=center_b)
    b_records = {
        "center": center_b.id,
        "staff": b_staff.id,
        "resident": b_resident.id,
        "contact": make_contact(session, resident=b_resident).id,
        "device": make_device(session, center=center_b, resident=b_resident)[0].id,
        "alert": make_alert(session, resident=b_resident).id,
        "shift": make_shift(session, center=center_b, staff=[b_staff], starts_at=datetime.now(UTC)).id,
        "plan": make_plan(session, resident=b_resident).id,
        "visit": make_visit(session, resident=b_resident, start=datetime.now(UTC), worker_id=b_staff.id).id,
        "assessment": make_assessment(session, resident=b_resident).id,
        "offering": offering_id(session, center_b),
        "eligibility": make_eligibility(session, resident=b_resident).id,
        "rule": make_subsidy_rule(session, center=center_b).id,
        "record": make_service_record(session, resident=b_resident).id,
    }
    b_records["photo"], b_records["media"] = make_proof(
        session, visit_id=b_records["visit"], device_id=b_records["device"], store=app_context(app).media
    )
    b_records["message"] = make_message(session, center=center_b).id
    b_records["api_client"] = make_api_client(session, centers=[center_b]).id
    headers = login(client, make_staff(session, center=center_a, role=role))
    routes = _routes_with_ids(app)
    assert len(routes) >= 10
    for method, path in routes:
        params = re.findall(r"{(\w+)}", path)
        unknown = [p for p in params if p not in RECORD_PARAMS and p not in NOT_RECORDS]
        assert not unknown, f"{method} {path}: map {unknown} in RECORD_PARAMS"
        if all(p in NOT_RECORDS for p in params):
            continue
        url = missing = path + QUERIES.get(path, "")
        for param in params:
            url = url.replace("{" + param + "}", str(b_records[RECORD_PARAMS[param]]))
            missing = missing.replace("{" + param + "}", str(MISSING_ID))
        files = (
            {"photo": ("p.jpg", jpeg_bytes(), "image/jpeg")} if path.endswith("/photos") and method == "POST" else None
        )
        body = None if files else body_for(method, path)
        response = client.request(method, url, headers=headers, json=body, files=files)
        # Not found, as a record that does not exist; or a route this role may not call at all, the
        # same 403 for any id: either way the id of another center's record reveals nothing.
        assert response.status_code in (403, 404), f"{role} {method} {url}: {response.status_code} {response.text}"
        absent = client.request(method, missing, headers=headers, json=body, files=files)
        assert (response.status_code, response.json()) == (absent.status_code, absent.json()), f"{method} {path}"


@pytest.mark.parametrize("role", [Role.care_worker, Role.manager])
def test_lists_and_filters_never_show_another_center(client: TestClient, session: Session, role: Role) -> None:
    center_a, center_b = make_center(session), make_center(session)
    make_resident(session, center=center_a)
    make_resident(session, center=center_b)
    make_staff(session, center=center_b)
    headers = login(client, make_staff(session, center=center_a, role=role))
    for path in ("/api/v1/residents", "/api/v1/staff", "/api/v1/centers"):
        items = client.get(path, headers=headers).json()["items"]
        assert items, path
        assert {item.get("center_id", item["id"]) for item in items} == {center_a.id}, path
    for path in ("/api/v1/residents", "/api/v1/staff"):
        assert client.get(path, params={"center_id": center_b.id}, headers=headers).status_code == 404
