"""One definition of each visit action, one way to apply it: the JSON API, the form posts and the
tablet's queue are adapters, and the same input is taken (or refused) the same way by each."""

import re
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any, get_args

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlmodel import Session

from carecenter.visits.actions import ACTIONS
from carecenter.visits.models import Visit
from carecenter.visits.sync import Kind
from tests.carecenter.alerts.scenario import build
from tests.carecenter.web.test_pages import web_login
from tests.conftest import Clock
from tests.factories import login, make_visit

STATIC = Path(__file__).parents[3] / "carecenter" / "web" / "static"
TASKS = [{"service": "meals", "done": False}]
# The JSON route of each action, and its method.
ROUTES = {
    "check_in": ("post", "check-in"),
    "check_out": ("post", "check-out"),
    "task": ("post", "tasks"),
    "notes": ("put", "notes"),
    "vitals": ("post", "vitals"),
    "concern": ("post", "concern"),
    "confirm": ("post", "confirmation"),
    "medication": ("post", "medications"),
    "correction": ("post", "correct-times"),
}


def test_each_action_is_defined_once_and_every_adapter_speaks_it(app: FastAPI) -> None:
    """The tablet's kinds are actions; the page script serialises exactly those; each JSON route's
    body is the action's own model (the photo route takes a file and builds a Photo)."""
    assert set(get_args(Kind)) == set(ACTIONS) - {"correction"}
    script = (STATIC / "offline.js").read_text()
    body = script[script.index("function dataOf(") : script.index("function shown(")]
    assert set(re.findall(r'case "([a-z_]+)"', body)) == set(get_args(Kind))
    schema = app.openapi()
    for kind, (method, path) in ROUTES.items():
        operation = schema["paths"][f"/api/v1/visits/{{visit_id}}/{path}"][method]
        ref = operation["requestBody"]["content"]["application/json"]["schema"]["$ref"]
        assert ref.rsplit("/", 1)[-1] == ACTIONS[kind].__name__, kind


def _queued(kind: str, visit_id: int, clock: Clock, **data: Any) -> dict[str, Any]:
    at = clock.now.isoformat()
    return {"key": uuid.uuid4().hex, "kind": kind, "visit_id": visit_id, "at": at, "offline": True, "data": data}


def test_a_concern_is_taken_and_refused_alike_by_the_api_the_form_and_the_queue(
    client: TestClient, session: Session, clock: Clock
) -> None:
    """A note of 1,001 characters is refused whole by each (never cut); an empty one is a concern
    without a note (no "-" made up by one adapter)."""
    s = build(session, clock.now)
    visits = [
        make_visit(
            session, resident=s.resident, start=clock.now - timedelta(hours=1), worker_id=s.worker.id, tasks=TASKS
        )
        for _ in range(3)
    ]
    api_visit, form_visit, queue_visit = (v.id or 0 for v in visits)
    too_long = "担心" * 500 + "!"
    api = login(client, s.worker)
    refused = client.post(f"/api/v1/visits/{api_visit}/concern", json={"note": too_long}, headers=api)
    assert refused.status_code == 422 and refused.json()["detail"][0]["loc"] == ["body", "note"]
    queued = client.post(
        "/api/v1/tablet/actions", json={"actions": [_queued("concern", queue_visit, clock, note=too_long)]}, headers=api
    )
    assert queued.json()[0]["result"] == "refused" and "note" in queued.json()[0]["fields"]
    csrf = web_login(client, s.worker.username)
    client.post(f"/visits/{form_visit}/concern", data={"csrf": csrf, "note": too_long})
    session.expire_all()
    assert [session.get(Visit, v).concern for v in (api_visit, form_visit)] == [False, False]  # type: ignore[union-attr]
    # Empty: a concern without a note, through each adapter.
    assert client.post(f"/api/v1/visits/{api_visit}/concern", json={}, headers=api).status_code == 200
    client.post(f"/visits/{form_visit}/concern", data={"csrf": csrf, "note": ""})
    done = client.post(
        "/api/v1/tablet/actions", json={"actions": [_queued("concern", queue_visit, clock, note="")]}, headers=api
    )
    assert done.json()[0]["result"] == "done"
    session.expire_all()
    for visit_id in (api_visit, form_visit, queue_visit):
        visit = session.get(Visit, visit_id)
        assert visit is not None and (visit.concern, visit.concern_note) == (True, None), visit_id


def test_the_device_time_counts_alike_for_every_action(client: TestClient, session: Session, clock: Clock) -> None:
    """Vitals measured an hour ago are kept at that time whether posted or queued; a time outside
    the window is refused by both, after the visit is known to be the worker's."""
    s = build(session, clock.now)
    visit = make_visit(session, resident=s.resident, start=clock.now - timedelta(hours=1), worker_id=s.worker.id)
    api = login(client, s.worker)
    assert client.post(f"/api/v1/visits/{visit.id}/check-in", json={}, headers=api).status_code == 200
    earlier = clock.now - timedelta(minutes=30)
    posted = client.post(
        f"/api/v1/visits/{visit.id}/vitals", json={"heart_rate": 72, "at": earlier.isoformat()}, headers=api
    )
    assert posted.status_code == 201, posted.text
    assert posted.json()["recorded_at"].startswith(earlier.isoformat()[:19])
    stale = (clock.now - timedelta(days=2)).isoformat()
    late = client.post(f"/api/v1/visits/{visit.id}/vitals", json={"heart_rate": 72, "at": stale}, headers=api)
    assert late.status_code == 422 and late.json()["detail"][0]["loc"] == ["body", "at"]
    other = client.post("/api/v1/visits/999999/vitals", json={"heart_rate": 72, "at": stale}, headers=api)
    assert other.status_code == 404  # no such visit: that, before the time
