"""Schemathesis against the app's own OpenAPI description, as each kind of caller.

Generated requests (valid and invalid) for every operation: the answer is never a 5xx, and a
documented answer matches its documented schema. SCHEMATHESIS_EXAMPLES sets how many requests
each operation gets per caller (CI: 8; a longer run: 100).
"""

import os
from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.core.result import Ok
from schemathesis.specs.openapi.checks import response_schema_conformance
from sqlmodel import Session

from carecenter.staff.models import Role
from tests.factories import login, make_center, make_device, make_resident, make_staff

EXAMPLES = int(os.environ.get("SCHEMATHESIS_EXAMPLES", "8"))
# Logging in and out would change who the caller is halfway through; tests/carecenter/auth covers them.
SKIPPED = ("/api/v1/auth/token", "/api/v1/auth/logout")
CALLERS = ("anonymous", "device", Role.care_worker, Role.manager, Role.admin)


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


@pytest.mark.parametrize("caller", CALLERS, indirect=True)
def test_no_answer_is_a_server_error_or_breaks_its_schema(app: FastAPI, caller: dict[str, str]) -> None:
    schema = schemathesis.openapi.from_asgi("/openapi.json", app).exclude(path=list(SKIPPED))
    failures: list[str] = []
    for found in schema.get_all_operations():
        assert isinstance(found, Ok), found  # the app's own description must be valid
        operation = found.ok()

        @given(case=operation.as_strategy())
        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            database=None,
            phases=[Phase.generate],  # report what fails; shrinking it would take minutes
        )
        def check(case: Any) -> None:
            response = case.call(headers=caller)
            where = f"{case.method} {case.formatted_path}"
            assert response.status_code < 500, f"{where}: {response.status_code} {response.text[:300]}"
            case.validate_response(response, checks=[response_schema_conformance])

        try:
            check()
        except Exception as exc:  # every operation is tried; all failures are reported together
            failures.append(f"{operation.method.upper()} {operation.path}: {exc!r}"[:700])
    assert failures == [], "\n".join(failures)
