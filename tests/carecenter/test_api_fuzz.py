"""Schemathesis against the app's own OpenAPI description, as each kind of caller, every check on.

Generated requests (valid and invalid) for every operation: never a 5xx; every status, media type
and header answered is documented and matches its schema; schema-invalid requests are refused and
schema-valid ones accepted; a 405 lists the path's methods. The schema states what the validators
check (text patterns, whole-number ranges, strict date-times); the custom formats it names are
taught to the generator below. SCHEMATHESIS_EXAMPLES sets how many requests each operation gets
per caller (CI: 8; a longer run: 100). An operation the caller's role may not call (the access
matrix, tests/carecenter/test_access_matrix.py) gets one: its route turns the caller away before
it reads a parameter or the body, so every input has the same answer.

Some rules are not JSON Schema's to state: one field against another (a shift ends after it
starts) or against the database (the resident must exist in the caller's center). Those
operations answer 422 naming the field for some schema-valid bodies; they are listed in
CROSS_FIELD_RULES with the rule, and only the "schema-valid is accepted" check is off for them.
"""

import os
from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis.core.result import Ok
from schemathesis.specs.openapi.checks import positive_data_acceptance
from sqlmodel import Session

from carecenter.access import Role
from carecenter.context import app_context
from carecenter.fields import NATIONAL_ID_FORMAT, PHONE_FORMAT, TIME_ZONE_FORMAT, national_id_check_char
from tests.carecenter.test_access_matrix import ACCESS
from tests.factories import login, make_center, make_device, make_resident, make_staff, make_visit

EXAMPLES = int(os.environ.get("SCHEMATHESIS_EXAMPLES", "8"))
# Logging in and out would change who the caller is halfway through; tests/carecenter/auth covers them.
SKIPPED = ("/api/v1/auth/token", "/api/v1/auth/logout")
CALLERS = ("anonymous", "device", Role.care_worker, Role.manager, Role.admin)
MATRIX_NAME = {"anonymous": "anonymous", "device": "device", Role.care_worker: "worker", Role.manager: "manager",
               Role.admin: "admin"}  # fmt: skip
CROSS_FIELD_RULES = {
    "POST /api/v1/care-plans": "weekdays or every_n_days; ends_on not before starts_on; the resident exists",
    "PATCH /api/v1/care-plans/{plan_id}": "weekdays or every_n_days; ends_on not before starts_on",
    "POST /api/v1/duty-shifts": "ends after it starts, at most 24 hours; its staff are of the center",
    "PUT /api/v1/centers/{center_id}/escalation-policy": "the first step at 0 minutes, steps forward in time",
    "POST /api/v1/visits/{visit_id}/correct-times": "a check-in or check-out time; out not before in",
    "GET /api/v1/schedule": "at most 31 days; `to` not before `from`",
    "POST /api/v1/visits": "the resident (and worker) exist in the caller's center",
    "POST /api/v1/residents": "born between 1900 and today; latitude with longitude; the care worker exists",
    "PATCH /api/v1/residents/{resident_id}": "born between 1900 and today; latitude with longitude",
    "POST /api/v1/residents/{resident_id}/contacts": "quiet hours start and end together, not equal",
    "PATCH /api/v1/residents/{resident_id}/contacts/{contact_id}": "quiet hours start and end together",
    "POST /api/v1/staff": "a center for care workers and managers, none for admins; not a common password",
    "PATCH /api/v1/staff/{staff_id}": "not a common password; a manager cannot make admins",
    "POST /api/v1/devices": "the resident it is given to exists in the caller's center",
    "PATCH /api/v1/devices/{device_id}": "the resident it is given to exists in the device's center",
    "POST /api/v1/visits/{visit_id}/assign": "the worker is an active care worker of the center",
    "POST /api/v1/checkins": "recorded within the last 7 days and at most 5 minutes ahead of the server",
    "GET /api/v1/visits/stats": "`to` not before `from`, dates the center's calendar holds",
    # A real phone number and an IANA time zone are formats of our own: the generator, on a schema
    # this wide, does not always keep to them.
    "POST /api/v1/centers": "a phone number that exists; an IANA time zone; providers set up on this server; "
    "a division code GB/T 2260 has",
    "PATCH /api/v1/centers/{center_id}": "a phone number that exists; an IANA time zone; providers set up here; "
    "a division code GB/T 2260 has",
    "POST /api/v1/notifications/test": "a number of this country, or one already in the system (staff, family)",
    "PUT /api/v1/notifications/templates/{provider}/{kind}": "a kind the providers send; fields naming its parameters",
    "POST /api/v1/assessments": "the resident exists in the caller's center; items, options, flags and risk events "
    "the form has; not dated ahead; every item answered to sign",
    "PATCH /api/v1/assessments/{assessment_id}": "items, options, flags and risk events the form has; not dated ahead",
    "POST /api/v1/assessments/{assessment_id}/sign": "every item answered",
    "POST /api/v1/residents/{resident_id}/eligibility": "ends_on not before starts_on",
    "POST /api/v1/residents/{resident_id}/eligibility/{eligibility_id}/end": "not before it started",
    "POST /api/v1/subsidy-rules": "ends_on not before starts_on",
    "POST /api/v1/subsidy-rules/{rule_id}/end": "not before it started",
    "POST /api/v1/service-records/bulk-meals": "a meal service of the center; its residents, each once; not ahead",
    "POST /api/v1/service-records/{record_id}/adjust": "a quantity or delivered; a delivered service has a quantity",
    "POST /api/v1/visits/{visit_id}/confirmation": "a signature drawn, or a reason; a real PNG",
    "POST /api/v1/visits/{visit_id}/medications": "a dose the visit has; a reason when held, refused or not available",
    "POST /api/v1/visits/{visit_id}/photos": "a real JPEG or PNG; the resident consented",
}
# An admin belongs to no center, so an admin names the center a new record (or a figure) is for.
ADMIN_NAMES_THE_CENTER = {
    "POST /api/v1/devices",
    "POST /api/v1/residents",
    "POST /api/v1/duty-shifts",
    "POST /api/v1/notifications/test",
    "GET /api/v1/visits/stats",
    "GET /api/v1/schedule",
    "GET /api/v1/alerts/stats",
    "GET /api/v1/assessments/due",
    "GET /api/v1/welfare-visits/due",
    "POST /api/v1/welfare-visits/plan",
    "POST /api/v1/services",
    "POST /api/v1/subsidy-rules",
    "POST /api/v1/service-records/bulk-meals",
    "POST /api/v1/months/{month}/close",
    "GET /api/v1/reports/monthly",
    "GET /api/v1/visit-exceptions",
}

# The custom formats the schema names, as the generator should make them (valid values).
schemathesis.openapi.format(
    PHONE_FORMAT,
    st.sampled_from(["13800138000", "+8613912345678", "010 6552 9988", "+44 20 7946 0958"])
    | st.from_regex(r"\A1(3[0-9]|5[0-35-9]|8[0-9])[0-9]{8}\Z"),
)
schemathesis.openapi.format(
    NATIONAL_ID_FORMAT,
    st.from_regex(r"\A11010[1-9](19[4-9][0-9])(0[1-9]|1[0-2])(0[1-9]|1[0-9]|2[0-8])[0-9]{3}\Z").map(
        lambda first17: first17 + national_id_check_char(first17)
    ),
)
schemathesis.openapi.format(TIME_ZONE_FORMAT, st.sampled_from(["Asia/Shanghai", "Asia/Urumqi", "UTC", "Europe/Paris"]))


@pytest.fixture
def caller(client: TestClient, session: Session, request: pytest.FixtureRequest) -> dict[str, str]:
    """The headers of the caller this test runs as; records exist for it to find."""
    center = make_center(session)
    resident = make_resident(session, center=center)
    _, key = make_device(session, center=center, resident=resident)
    if request.param == "anonymous":
        return {}
    if request.param == "device":
        return {"X-Device-Key": key}
    staff = make_staff(session, center=None if request.param == Role.admin else center, role=request.param)
    return login(client, staff)


_SCHEMAS: dict[str, Any] = {}


def loaded_schema(app: FastAPI) -> Any:
    """The app's OpenAPI description, read and parsed once per worker (2 s a time): every test's app
    serves the same one; each test's requests go to its own app."""
    key = app_context(app).settings.database_url
    if key not in _SCHEMAS:
        _SCHEMAS[key] = schemathesis.openapi.from_asgi("/openapi.json", app).exclude(path=list(SKIPPED))
    schema = _SCHEMAS[key]
    schema.app = app
    return schema


@pytest.mark.parametrize("caller", CALLERS, indirect=True)
def test_no_answer_is_a_server_error_or_breaks_its_schema(
    app: FastAPI, caller: dict[str, str], request: pytest.FixtureRequest
) -> None:
    caller_role = request.node.callspec.params["caller"]
    schema = loaded_schema(app)
    failures: list[str] = []
    for found in schema.get_all_operations():
        assert isinstance(found, Ok), found  # the app's own description must be valid
        operation = found.ok()
        assert operation.app is app  # this test's app, not the one the schema was first read from
        name = f"{operation.method.upper()} {operation.path}"
        is_admin = caller_role == Role.admin
        ruled = name in CROSS_FIELD_RULES or (is_admin and name in ADMIN_NAMES_THE_CENTER)
        exempt = [positive_data_acceptance] if ruled else []

        turned_away = name in ACCESS and MATRIX_NAME[caller_role] not in ACCESS[name]

        @given(case=operation.as_strategy())
        @settings(
            max_examples=1 if turned_away else EXAMPLES,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            database=None,
            phases=[Phase.generate],  # report what fails; shrinking it would take minutes
        )
        def check(case: Any) -> None:
            response = case.call(headers=caller)
            where = f"{case.method} {case.formatted_path}"
            assert response.status_code < 500, f"{where}: {response.status_code} {response.text[:300]}"
            case.validate_response(response, headers=caller, excluded_checks=exempt)  # noqa: B023 - run in this pass

        try:
            check()
        except (Exception, BaseExceptionGroup) as exc:  # every operation is tried; all failures reported together
            failures.append(f"{operation.method.upper()} {operation.path}: {exc}"[:900])
    assert failures == [], "\n".join(failures)


# What a run of every check found once, kept as cases of their own.


def test_a_body_that_is_not_utf8_json_is_a_422_like_any_unreadable_body(client: TestClient, session: Session) -> None:
    staff = make_staff(session, center=make_center(session), role=Role.manager)
    headers = login(client, staff) | {"Content-Type": "application/json"}
    for body in (b'{"name": "\xff\xfe"}', b"\xc3\x28", b'{"name": '):
        answer = client.post("/api/v1/residents", content=body, headers=headers)
        assert answer.status_code == 422, (body, answer.text)
        assert answer.json()["detail"][0]["type"] == "json_invalid"


@pytest.mark.parametrize(
    ("path", "allowed"),
    [("/api/v1/assessments/due", "GET"), ("/api/v1/devices/unknown", "GET"), ("/api/v1/staff/me", "GET")],
)
def test_a_literal_segment_is_not_taken_for_an_id_a_method_it_lacks_is_405(
    client: TestClient, session: Session, path: str, allowed: str
) -> None:
    staff = make_staff(session, center=make_center(session), role=Role.manager)
    headers = login(client, staff)
    for method in ("PATCH", "DELETE"):
        answer = client.request(method, path, json={}, headers=headers)
        assert answer.status_code == 405, (method, path, answer.text)
        assert answer.headers["Allow"] == allowed
    assert client.patch("/api/v1/devices/12x", json={}, headers=headers).status_code == 404  # no such device path


def test_a_local_time_is_a_time_of_day_without_an_offset_in_and_out(client: TestClient, session: Session) -> None:
    center = make_center(session)
    staff = make_staff(session, center=center, role=Role.manager)
    resident = make_resident(session, center=center)
    headers = login(client, staff)
    schema = client.get("/openapi.json").json()["components"]["schemas"]["FamilyContactPublic"]["properties"]
    [local] = [s for s in schema["quiet_hours_start"]["anyOf"] if s.get("type") == "string"]
    assert "format" not in local and local["pattern"].startswith("^([01]")
    body = {"name": "李华", "relation": "daughter", "phone": "13800138011", "quiet_hours_start": "22:00"}
    created = client.post(
        f"/api/v1/residents/{resident.id}/contacts", json=body | {"quiet_hours_end": "07:00"}, headers=headers
    )
    assert created.status_code == 201, created.text
    assert created.json()["quiet_hours_start"] == "22:00:00"
    for wrong in ("22:00+08:00", "25:00", 79200, "10pm"):
        refused = client.post(
            f"/api/v1/residents/{resident.id}/contacts",
            json=body | {"quiet_hours_start": wrong, "quiet_hours_end": "07:00"},
            headers=headers,
        )
        assert refused.status_code == 422, (wrong, refused.text)


def test_a_boolean_is_true_or_false_and_a_whole_number_is_a_number(
    client: TestClient, session: Session, clock: Any
) -> None:
    center = make_center(session)
    manager = make_staff(session, center=center, role=Role.manager)
    worker = make_staff(session, center=center)
    resident = make_resident(session, center=center)
    visit = make_visit(session, resident=resident, start=clock.now, worker_id=worker.id)
    headers = login(client, manager)
    policy_url = f"/api/v1/centers/{center.id}/escalation-policy"
    policy = client.get(policy_url, headers=headers).json()
    for wrong in (False, True):
        refused = client.put(policy_url, json=policy | {"nearest_responder_m": wrong}, headers=headers)
        assert refused.status_code == 422, refused.text
        assert refused.json()["detail"][0]["loc"][-1] == "nearest_responder_m"
    assert client.put(policy_url, json=policy | {"nearest_responder_m": 500}, headers=headers).status_code == 200

    body = {"code": "bath_x", "name_zh": "助浴", "name_en": "Bathing", "category": "bathing", "unit": "bath"}
    offering = client.post("/api/v1/services", json=body | {"unit_price_fen": 5000}, headers=headers)
    assert offering.status_code == 201, offering.text
    service_url = f"/api/v1/services/{offering.json()['id']}"
    for number in (0, 1):
        assert client.patch(service_url, json={"active": number}, headers=headers).status_code == 422
    assert client.patch(service_url, json={"active": False}, headers=headers).json()["active"] is False

    action = {
        "key": "tablet-key-0001",
        "kind": "notes",
        "visit_id": visit.id,
        "at": clock.now.isoformat(),
        "data": {"notes": "好"},
    }
    tablet = login(client, worker)
    refused = client.post("/api/v1/tablet/actions", json={"actions": [action | {"offline": 0}]}, headers=tablet)
    assert refused.status_code == 422 and refused.json()["detail"][0]["loc"][-1] == "offline", refused.text
    done = client.post("/api/v1/tablet/actions", json={"actions": [action | {"offline": True}]}, headers=tablet)
    assert done.status_code == 200 and done.json()[0]["result"] == "done", done.text
