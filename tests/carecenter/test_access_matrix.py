"""Every API operation, called by every kind of caller: allowed or denied as the matrix says.

Callers: anonymous, a device (its key), a care worker and a manager of another center, a care
worker, a manager (of the records' center) and an admin. "Denied" is 401, 403 or 404 (another
center's records do not exist for you); "allowed" is anything else (a 422 for a body the
operation does not like still got past the door). Each call gets fresh records, so an allowed
DELETE cannot make the next caller's call look denied. A new operation must be added to ACCESS
or this test fails: nobody ships a route without deciding who may call it.
"""

import re
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from carecenter.access import Role
from carecenter.context import app_context
from carecenter.devices.models import DeviceProfile, DeviceProtocol
from carecenter.visits.models import Visit
from notifications.models import ProviderTemplate
from tests.carecenter.test_center_scoping import NOT_RECORDS, QUERIES, RECORD_PARAMS, body_for
from tests.factories import (
    jpeg_bytes,
    login,
    make_alert,
    make_api_client,
    make_assessment,
    make_center,
    make_contact,
    make_device,
    make_device_media,
    make_eligibility,
    make_message,
    make_photo,
    make_plan,
    make_resident,
    make_service_record,
    make_shift,
    make_staff,
    make_subsidy_rule,
    make_visit,
    offering_id,
)

CALLERS = ("anonymous", "device", "other_worker", "other_manager", "worker", "manager", "admin")
STAFF = {"worker", "manager", "admin", "other_worker", "other_manager"}  # other-center staff: lists only
WORKER_UP = {"worker", "manager", "admin"}
MANAGER_UP = {"manager", "admin"}

# Who may call what. Lists are open to other centers' staff: they see their own center's items.
ACCESS: dict[str, set[str]] = {
    "GET /api/v1/centers": STAFF,
    "POST /api/v1/centers": {"admin"},
    "GET /api/v1/centers/{center_id}": WORKER_UP,
    "PATCH /api/v1/centers/{center_id}": {"admin"},  # a center's settings are the district's
    "DELETE /api/v1/centers/{center_id}": {"admin"},
    "GET /api/v1/staff": STAFF,
    "POST /api/v1/staff": MANAGER_UP | {"other_manager"},  # hires into their own center
    "GET /api/v1/staff/me": STAFF,
    "GET /api/v1/staff/{staff_id}": WORKER_UP,
    "PATCH /api/v1/staff/{staff_id}": MANAGER_UP,
    "GET /api/v1/residents": STAFF,
    "POST /api/v1/residents": MANAGER_UP | {"other_manager"},
    "GET /api/v1/residents/{resident_id}": WORKER_UP,
    "PATCH /api/v1/residents/{resident_id}": MANAGER_UP,
    "DELETE /api/v1/residents/{resident_id}": MANAGER_UP,
    "PUT /api/v1/residents/{resident_id}/notes": WORKER_UP,
    "GET /api/v1/residents/{resident_id}/contacts": WORKER_UP,
    "POST /api/v1/residents/{resident_id}/contacts": MANAGER_UP,
    "PATCH /api/v1/residents/{resident_id}/contacts/{contact_id}": MANAGER_UP,
    "DELETE /api/v1/residents/{resident_id}/contacts/{contact_id}": MANAGER_UP,
    "GET /api/v1/residents/{resident_id}/readings": WORKER_UP,
    "GET /api/v1/audit-events": MANAGER_UP | {"other_manager"},
    "GET /api/v1/notifications": MANAGER_UP | {"other_manager"},
    "POST /api/v1/notifications/test": MANAGER_UP | {"other_manager"},
    "GET /api/v1/notifications/{message_id}/events": MANAGER_UP,
    "GET /api/v1/notifications/templates": MANAGER_UP | {"other_manager"},  # the district's templates
    "PUT /api/v1/notifications/templates/{provider}/{kind}": {"admin"},
    "DELETE /api/v1/notifications/templates/{provider}/{kind}": {"admin"},
    "GET /api/v1/devices": STAFF,  # care workers check a resident's watch (battery, last seen)
    "POST /api/v1/devices": MANAGER_UP | {"other_manager"},
    "GET /api/v1/devices/{device_id}": WORKER_UP,
    "PATCH /api/v1/devices/{device_id}": MANAGER_UP,
    "DELETE /api/v1/devices/{device_id}": MANAGER_UP,
    "POST /api/v1/devices/{device_id}/rotate-key": MANAGER_UP,
    "POST /api/v1/devices/{device_id}/revoke": MANAGER_UP,
    "GET /api/v1/residents/{resident_id}/contacts/{contact_id}/family-link": WORKER_UP,
    "POST /api/v1/residents/{resident_id}/contacts/{contact_id}/reachable": MANAGER_UP,
    "POST /api/v1/residents/{resident_id}/contacts/{contact_id}/family-link": MANAGER_UP,
    "DELETE /api/v1/residents/{resident_id}/contacts/{contact_id}/family-link": MANAGER_UP,
    "GET /api/v1/devices/unknown": {"admin"},  # ids nobody registered, and their addresses, belong to no center
    "POST /api/v1/devices/{device_id}/commands": MANAGER_UP,
    "POST /api/v1/devices/{device_id}/confirm-connection": MANAGER_UP,
    "GET /api/v1/devices/{device_id}/commands": WORKER_UP,
    "GET /api/v1/devices/{device_id}/media": WORKER_UP,  # a resident's voice message reaches their carers
    "GET /api/v1/devices/{device_id}/media/{media_id}": WORKER_UP,
    "GET /api/v1/devices/{device_id}/profile": WORKER_UP,
    "GET /api/v1/device-profiles": MANAGER_UP | {"other_manager"},  # models, not a center's records
    "PUT /api/v1/device-profiles": {"admin"},  # the district's devices
    "DELETE /api/v1/device-profiles": {"admin"},
    "POST /api/v1/checkins": {"device"},
    "POST /api/v1/checkins/batch": {"device"},
    "GET /api/v1/alerts": STAFF,
    "GET /api/v1/alerts/stats": STAFF,
    "GET /api/v1/alerts/{alert_id}": WORKER_UP,
    "POST /api/v1/alerts/{alert_id}/acknowledge": WORKER_UP,
    "POST /api/v1/alerts/{alert_id}/on-site": WORKER_UP,
    "POST /api/v1/alerts/{alert_id}/resolve": WORKER_UP,
    "POST /api/v1/alerts/{alert_id}/escalate": MANAGER_UP,
    "GET /api/v1/centers/{center_id}/escalation-policy": WORKER_UP,
    "PUT /api/v1/centers/{center_id}/escalation-policy": MANAGER_UP,
    "GET /api/v1/duty-shifts": STAFF,
    "POST /api/v1/duty-shifts": MANAGER_UP | {"other_manager"},
    "DELETE /api/v1/duty-shifts/{shift_id}": MANAGER_UP,
    "GET /api/v1/care-plans": STAFF,
    "POST /api/v1/care-plans": MANAGER_UP,
    "GET /api/v1/care-plans/{plan_id}": WORKER_UP,
    "PATCH /api/v1/care-plans/{plan_id}": MANAGER_UP,
    "GET /api/v1/visits": STAFF,
    "POST /api/v1/visits": MANAGER_UP,
    "GET /api/v1/visits/stats": STAFF,
    "GET /api/v1/schedule": STAFF,
    "GET /api/v1/visits/{visit_id}": WORKER_UP,
    "POST /api/v1/visits/{visit_id}/assign": MANAGER_UP,
    "POST /api/v1/visits/{visit_id}/check-in": WORKER_UP,
    "POST /api/v1/visits/{visit_id}/check-out": WORKER_UP,
    "POST /api/v1/visits/{visit_id}/cancel": MANAGER_UP,
    "POST /api/v1/visits/{visit_id}/tasks": WORKER_UP,
    "PUT /api/v1/visits/{visit_id}/notes": WORKER_UP,
    "POST /api/v1/visits/{visit_id}/concern": WORKER_UP,
    "POST /api/v1/visits/{visit_id}/vitals": WORKER_UP,
    "POST /api/v1/visits/{visit_id}/correct-times": MANAGER_UP,
    "GET /api/v1/visit-exceptions": MANAGER_UP | {"other_manager"},  # their own center's queue
    "POST /api/v1/visits/{visit_id}/exception": MANAGER_UP,
    "GET /api/v1/residents/{resident_id}/home-code": MANAGER_UP,
    "POST /api/v1/residents/{resident_id}/home-code": MANAGER_UP,
    "DELETE /api/v1/residents/{resident_id}/home-code": MANAGER_UP,
    "GET /api/v1/welfare-visits/due": STAFF,
    "POST /api/v1/welfare-visits/plan": MANAGER_UP | {"other_manager"},  # plans in their own center
    "GET /api/v1/assessment-forms": STAFF,
    "GET /api/v1/assessment-forms/{code}": STAFF,
    "POST /api/v1/assessments": MANAGER_UP,  # and assessors (tests/carecenter/assessments)
    "GET /api/v1/assessments/due": STAFF,
    "GET /api/v1/assessments/{assessment_id}": WORKER_UP,
    "PATCH /api/v1/assessments/{assessment_id}": MANAGER_UP,
    "POST /api/v1/assessments/{assessment_id}/sign": MANAGER_UP,
    "GET /api/v1/residents/{resident_id}/assessments": WORKER_UP,
    "GET /api/v1/services": STAFF,
    "POST /api/v1/services": MANAGER_UP | {"other_manager"},
    "PATCH /api/v1/services/{offering_id}": MANAGER_UP,
    "GET /api/v1/residents/{resident_id}/eligibility": WORKER_UP,
    "POST /api/v1/residents/{resident_id}/eligibility": MANAGER_UP,
    "POST /api/v1/residents/{resident_id}/eligibility/{eligibility_id}/end": MANAGER_UP,
    "GET /api/v1/subsidy-rules": STAFF,
    "POST /api/v1/subsidy-rules": MANAGER_UP | {"other_manager"},
    "POST /api/v1/subsidy-rules/{rule_id}/end": MANAGER_UP,
    "GET /api/v1/service-records": MANAGER_UP | {"other_manager"},
    "POST /api/v1/service-records/bulk-meals": WORKER_UP,
    "POST /api/v1/service-records/{record_id}/adjust": MANAGER_UP,
    "POST /api/v1/months/{month}/close": MANAGER_UP | {"other_manager"},  # their own center's month
    "GET /api/v1/reports/monthly": MANAGER_UP | {"other_manager"},
    "GET /api/v1/residents/{resident_id}/statement": MANAGER_UP,  # money: the managers'
    "POST /api/v1/tablet/actions": STAFF,  # always 200: each action answered (another center's visit: conflict)
    "POST /api/v1/visits/{visit_id}/photos": WORKER_UP,
    "GET /api/v1/visits/{visit_id}/photos": WORKER_UP,
    "GET /api/v1/photos/{photo_id}": WORKER_UP,
    "POST /api/v1/visits/{visit_id}/confirmation": WORKER_UP,
    "GET /api/v1/visits/{visit_id}/signature": WORKER_UP,
    "POST /api/v1/visits/{visit_id}/medications": WORKER_UP,
    "GET /api/v1/residents/{resident_id}/medications": WORKER_UP,
    "GET /api/v1/export-templates": MANAGER_UP | {"other_manager"},  # layouts, not a center's records
    "GET /api/v1/exports/{template_code}": MANAGER_UP | {"other_manager"},  # their own center's month
    "GET /api/v1/exports/{template_code}/problems": MANAGER_UP | {"other_manager"},
    "GET /api/v1/api-clients": {"admin"},  # the district's receiving systems
    "POST /api/v1/api-clients": {"admin"},
    "DELETE /api/v1/api-clients/{client_id}": {"admin"},
    "GET /fhir/R4/metadata": set(CALLERS),  # the CapabilityStatement, public as FHIR expects
    # The records themselves: a receiving system's token only, never a person's or a device's
    # (the clients' own access: tests/carecenter/fhir).
    "GET /fhir/R4/{resource_type}": set(),
    "GET /fhir/R4/{resource_type}/{resource_id}": set(),
}
NAMES_A_RESIDENT = {
    "POST /api/v1/care-plans",
    "POST /api/v1/visits",
    "POST /api/v1/assessments",
    "POST /api/v1/service-records/bulk-meals",
}
# Not in the matrix: logging in and out (tests/carecenter/auth), the Twilio webhooks (signature:
# tests/notifications/test_webhooks.py) and the response links (signed token: test_links.py).
ELSEWHERE = ("/api/v1/auth/", "/webhooks/", "/r/", "/healthz", "/readyz")


def callers(client: TestClient, session: Session) -> tuple[Any, int, dict[str, dict[str, str]]]:
    """The center, its care worker who is the caller, and every staff caller's headers (logged in once)."""
    here, there = make_center(session), make_center(session)
    people = {
        "worker": make_staff(session, center=here),
        "manager": make_staff(session, center=here, role=Role.manager),
        "admin": make_staff(session, center=None, role=Role.admin),
        "other_worker": make_staff(session, center=there),
        "other_manager": make_staff(session, center=there, role=Role.manager),
    }
    headers = {name: login(client, person) for name, person in people.items()}
    assert people["worker"].id is not None
    return here, people["worker"].id, headers


def records(session: Session, here: Any, visiting: int, store: Any) -> tuple[dict[str, Any], str]:
    """Fresh records of the center (the visit is the calling care worker's), and a device key of it."""
    worker = make_staff(session, center=here)
    resident = make_resident(session, center=here, primary_worker_id=worker.id)
    device, key = make_device(session, center=here, resident=resident, protocol="watch-tcp")
    now = datetime.now(UTC)
    ids = {
        "center": here.id,
        "staff": worker.id,
        "resident": resident.id,
        "contact": make_contact(session, resident=resident).id,
        "device": device.id,
        "alert": make_alert(session, resident=resident).id,
        "shift": make_shift(session, center=here, staff=[worker], starts_at=now + timedelta(days=1)).id,
        "plan": make_plan(session, resident=resident).id,
        "visit": make_visit(
            session,
            resident=resident,
            start=now - timedelta(minutes=5),
            worker_id=visiting,
            confirmation_signature=store.put(jpeg_bytes()),
        ).id,
        "assessment": make_assessment(session, resident=resident, signed_at=None).id,
        "offering": offering_id(session, here),
        "eligibility": make_eligibility(session, resident=resident).id,
        "rule": make_subsidy_rule(session, center=here).id,
        "record": make_service_record(session, resident=resident).id,
    }
    visit = session.get(Visit, ids["visit"])
    assert visit is not None
    ids["photo"] = make_photo(session, visit=visit, store=store).id
    ids["media"] = make_device_media(session, device=device, store=store).id
    ids["message"] = make_message(session, center=here).id
    ids["api_client"] = make_api_client(session, centers=[here]).id
    if session.get(ProviderTemplate, ("aliyun", "alert.critical")) is None:
        session.add(ProviderTemplate(provider="aliyun", kind="alert.critical", code="SMS_100"))  # for DELETE
        session.commit()
    if session.exec(select(DeviceProfile).where(DeviceProfile.model == "matrix")).first() is None:
        session.add(DeviceProfile(protocol=DeviceProtocol.gt06, model="matrix", updated_at=now))  # for DELETE
        session.commit()
    return ids, key


def creation_body(path: str, ids: dict[str, Any]) -> dict[str, Any] | None:
    """A valid body for the operations that create, so that the role check, not validation, answers."""
    unique = uuid.uuid4().hex[:8]
    now = datetime.now(UTC)
    bodies: dict[str, dict[str, Any]] = {
        "/api/v1/centers": {"name": f"中心{unique}", "town": "新镇", "district": "房山区"},
        "/api/v1/staff": {
            "name": "新员工",
            "phone": "13900004444",
            "username": f"u{unique}",
            "password": "long-enough-pw",
        },
        "/api/v1/residents": {"name": "新居民", "gender": "male", "birth_date": "1941-05-06"},
        "/api/v1/notifications/test": {"to": "13800138000"},
        "/api/v1/devices": {"kind": "watch", "serial": f"SN-{unique}"},
        "/api/v1/devices/{device_id}/commands": {"kind": "locate"},
        "/api/v1/duty-shifts": {
            "starts_at": (now + timedelta(days=3)).isoformat(),
            "ends_at": (now + timedelta(days=3, hours=8)).isoformat(),
            "staff_ids": [ids["staff"]],
        },
        "/api/v1/care-plans": {
            "resident_id": ids["resident"],
            "services": ["meals"],
            "starts_on": (now + timedelta(days=1)).date().isoformat(),
            "recurrence": {"weekdays": [1], "start_time": "10:00", "duration_minutes": 60},
        },
        "/api/v1/visits": {"resident_id": ids["resident"], "scheduled_start": (now + timedelta(days=2)).isoformat()},
        "/api/v1/assessments": {"resident_id": ids["resident"], "assessed_on": "2026-11-20", "reason": "first"},
        "/api/v1/services": {
            "code": f"s{unique}",
            "name_zh": "理发",
            "name_en": "Haircut",
            "category": "other",
            "unit": "time",
            "unit_price_fen": 1000,
        },
        "/api/v1/subsidy-rules": {"group": "subsistence", "share_percent": 50, "starts_on": "2026-11-01"},
        "/api/v1/service-records/bulk-meals": {
            "service_code": "meals",
            "service_on": "2026-11-20",
            "resident_ids": [ids["resident"]],
        },
    }
    return bodies.get(path)


def call(client: TestClient, made: tuple[dict[str, Any], str], headers: dict[str, str], method: str, path: str) -> int:
    ids, key = made
    url = path + QUERIES.get(path, "")
    for param in re.findall(r"{(\w+)}", path):
        value = NOT_RECORDS[param] if param in NOT_RECORDS else ids[RECORD_PARAMS[param]]
        url = url.replace("{" + param + "}", str(value))
    if headers.get("X-Device-Key") == "":
        headers = {"X-Device-Key": key}
    body = (creation_body(path, ids) if method == "POST" else None) or body_for(method, path)
    if path.startswith("/api/v1/checkins"):
        reading = {"event_id": uuid.uuid4().hex, "kind": "heartbeat", "recorded_at": datetime.now(UTC).isoformat()}
        body = {"readings": [reading]} if path.endswith("/batch") else reading
    files = {"photo": ("p.jpg", jpeg_bytes(), "image/jpeg")} if path.endswith("/photos") and method == "POST" else None
    if path.endswith("/tablet/actions"):
        at = datetime.now(UTC).isoformat()
        body = {"actions": [{"key": uuid.uuid4().hex, "kind": "notes", "visit_id": ids["visit"], "at": at}]}
    status: int = client.request(method, url, headers=headers, json=None if files else body, files=files).status_code
    return status


def _operations(app: FastAPI) -> list[str]:
    return [
        f"{method.upper()} {path}"
        for path, found in app.openapi()["paths"].items()
        if not path.startswith(ELSEWHERE)
        for method in found
    ]


def test_every_operation_is_in_the_matrix(app: FastAPI) -> None:
    assert sorted(set(_operations(app)) - set(ACCESS)) == [], "decide who may call these: add them to ACCESS"


PARTS = 8  # the operations in eight parts, which run in parallel


@pytest.mark.parametrize("part", range(PARTS))
def test_every_operation_allows_exactly_its_callers(
    client: TestClient, session: Session, app: FastAPI, part: int
) -> None:
    operations = _operations(app)[part::PARTS]
    here, visiting, staff = callers(client, session)
    headers_of = staff | {"anonymous": {}, "device": {"X-Device-Key": ""}}  # the device's key: per call
    wrong = []
    for operation in operations:
        method, path = operation.split(" ", 1)
        made = None
        for caller in CALLERS:
            # Each caller meets the records as they were made: what an allowed write changed (a
            # resident deleted, a visit checked in) is made again for the next one.
            made = made or records(session, here, visiting, app_context(client.app).media)
            status = call(client, made, headers_of[caller], method, path)
            # Naming another center's resident in a body is answered like a wrong field: 422.
            refused_field = status == 422 and caller.startswith("other_") and operation in NAMES_A_RESIDENT
            allowed = status not in (401, 403, 404) and not refused_field
            assert status < 500, f"{caller} {operation}: {status}"
            if allowed and method != "GET":
                made = None
            if allowed != (caller in ACCESS[operation]):
                wrong.append(f"{caller:>13} {operation}: {status}")
    assert wrong == [], "\n" + "\n".join(wrong)
