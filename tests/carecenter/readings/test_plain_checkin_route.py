"""The plain route of `POST /api/v1/checkins` answers exactly as the documented route does.

Every request below is sent twice: through the app as it runs (the plain route first), and with
the plain route taken out (FastAPI's documented route alone). Status, body and the headers a
client reads must be the same; only the new reading's id differs.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlmodel import Session, func, select

from carecenter.api.checkin_route import PlainCheckinRoute
from carecenter.readings.models import Reading
from tests.carecenter.alerts.scenario import Scenario, build
from tests.conftest import Clock

LIMIT = 2_000_000  # the default max_request_bytes


@contextmanager
def _without_plain_route(app: FastAPI) -> Iterator[None]:
    routes = app.router.routes
    at = next(i for i, r in enumerate(routes) if isinstance(r, PlainCheckinRoute))
    route = routes.pop(at)
    try:
        yield
    finally:
        routes.insert(at, route)


def _cases(s: Scenario, clock: Clock) -> dict[str, dict[str, Any]]:
    """Requests as `client.request` arguments; `{e}` in a body's event id makes it unique per run."""
    now = clock.now.isoformat()
    key = {"X-Device-Key": s.key}
    reading = {"event_id": "{e}", "kind": "heartbeat", "recorded_at": now, "heart_rate": 72, "battery_pct": 80}
    return {
        "plain": {"json": reading, "headers": key},
        "sos": {"json": reading | {"kind": "sos", "latitude": 39.73, "longitude": 116.13}, "headers": key},
        "explicit nulls": {"json": reading | {"spo2": None, "device": None}, "headers": key},
        "charset": {
            "content": b'{"event_id": "{e}", "kind": "heartbeat", "recorded_at": "' + now.encode() + b'"}',
            "headers": key | {"Content-Type": "application/json; charset=utf-8"},
        },
        "whole number written 72.0": {"json": reading | {"heart_rate": 72.0}, "headers": key},
        "a time in another zone": {
            "json": reading | {"recorded_at": clock.now.astimezone().isoformat().replace("+00:00", "+08:00")},
            "headers": key,
        },
        "no key": {"json": reading, "headers": {}},
        "empty key": {"json": reading, "headers": {"X-Device-Key": ""}},
        "unknown key": {"json": reading, "headers": {"X-Device-Key": "dk_guess"}},
        "out of range": {"json": reading | {"spo2": 49}, "headers": key},
        "boolean for a number": {"json": reading | {"heart_rate": True}, "headers": key},
        "unknown field": {"json": reading | {"colour": "red"}, "headers": key},
        "naive time": {"json": reading | {"recorded_at": "2026-11-24T10:00:00"}, "headers": key},
        "too far ahead": {
            "json": reading | {"recorded_at": (clock.now + timedelta(minutes=6)).isoformat()},
            "headers": key,
        },
        "a list": {"json": [reading], "headers": key},
        "not JSON": {"content": b"{event_id: 1", "headers": key | {"Content-Type": "application/json"}},
        "not UTF-8": {"content": b'{"event_id": "\xff"}', "headers": key | {"Content-Type": "application/json"}},
        "a lone surrogate": {
            "content": b'{"event_id": "\\ud800", "kind": "heartbeat", "recorded_at": "' + now.encode() + b'"}',
            "headers": key | {"Content-Type": "application/json"},
        },
        "NaN": {
            "content": b'{"event_id": "{e}", "kind": "heartbeat", "heart_rate": NaN, "recorded_at": "'
            + now.encode()
            + b'"}',
            "headers": key | {"Content-Type": "application/json"},
        },
        "a form": {"data": {"event_id": "x", "kind": "sos"}, "headers": key},
        "no content type": {"content": b'{"event_id": "{e}"}', "headers": key},
        "a query": {"json": reading, "headers": key, "params": {"page": "1"}},
        "too large, no length": {
            "content": iter([b'{"event_id": "' + b"x" * (LIMIT // 2), b"x" * (LIMIT // 2) + b'"}']),
            "headers": key | {"Content-Type": "application/json"},
        },
        "another method": {"method": "GET", "headers": key},
    }


def _send(client: TestClient, label: str, case: dict[str, Any], run: str, path: str = "/api/v1/checkins") -> Any:
    case = dict(case)
    method = case.pop("method", "POST")
    headers = {"X-Case": label, "Accept-Language": "zh-CN"} | case.pop("headers")
    if isinstance(case.get("json"), dict):
        case["json"] = {
            k: (v.replace("{e}", f"{run}-{label}") if isinstance(v, str) else v) for k, v in case["json"].items()
        }
    if isinstance(case.get("content"), bytes):
        case["content"] = case["content"].replace(b"{e}", f"{run}-{label}".encode())
    return client.request(method, path, headers=headers, **case)


def _seen(response: Any, run: str) -> tuple[int, Any, dict[str, str | None]]:
    """What a client reads: status, body (this run's names and ids made neutral), headers."""
    try:
        body = response.json()
    except ValueError:
        body = response.text
    if isinstance(body, dict) and "reading_id" in body:
        body = body | {
            "reading_id": "id" if body["reading_id"] else None,
            "alert_id": "id" if body["alert_id"] else None,
        }
    text = str(body).replace(f"{run}-", "RUN-")
    names = ("content-type", "allow", "www-authenticate", "cache-control", "x-content-type-options")
    return response.status_code, text, {name: response.headers.get(name) for name in names}


def test_every_answer_is_the_documented_routes(
    client: TestClient, session: Session, clock: Clock, app: FastAPI, handed_over: list[str]
) -> None:
    s = build(session, clock.now)
    cases = _cases(s, clock)
    plain = {label: _seen(_send(client, label, case, "p"), "p") for label, case in cases.items()}
    again = _seen(_send(client, "plain", cases["plain"], "p"), "p")  # the same event once more
    with _without_plain_route(app):
        documented = {label: _seen(_send(client, label, case, "d"), "d") for label, case in _cases(s, clock).items()}
        documented_again = _seen(_send(client, "plain", cases["plain"], "d"), "d")
    for label in cases:
        assert plain[label] == documented[label], label
    assert again == documented_again and again[0] == 200 and "duplicate" in again[1]
    assert plain["plain"][0] == 201 and plain["sos"][0] == 201 and plain["too far ahead"][0] == 422
    assert plain["unknown key"][0] == 401 and plain["too large, no length"][0] == 413
    # What Python's JSON reader accepts and an answer cannot carry is refused, not a 500.
    assert plain["NaN"][0] == 422 and "'input': 'nan'" in plain["NaN"][1]
    assert plain["a lone surrogate"][0] == 422 and "'input': '?'" in plain["a lone surrogate"][1]
    assert plain["another method"][0] == 405 and plain["another method"][2]["allow"] == "POST"
    # Stored once per accepted request in each run: plain, sos, nulls, charset, 72.0, another zone, a query.
    assert session.exec(select(func.count()).select_from(Reading)).one() == 14
    # The plain route answered the plain cases itself (an unknown key and a reading the rules
    # refuse included); the rest went, body and all, to the documented route.
    taken = {"plain", "sos", "explicit nulls", "charset", "a time in another zone", "unknown key", "too far ahead"}
    # A GET never reaches it; an oversized body is answered 413 by the app's limit as it reads.
    assert set(handed_over) == set(cases) - taken - {"another method", "too large, no length"}


def test_the_plain_route_keeps_the_tests_clock_and_the_device_in_step(
    client: TestClient, session: Session, clock: Clock
) -> None:
    """`now` is the app's (a test's clock here): the device's last sign of life and battery follow it."""
    s = build(session, clock.now)
    clock.advance(minutes=3)
    response = s.post(client, clock.now, "heartbeat", event_id="later", battery_pct=41)
    assert response.status_code == 201, response.text
    session.refresh(s.watch)
    assert (s.watch.battery_pct, s.watch.last_seen_at) == (41, clock.now)
    assert response.headers["x-request-id"] and response.headers["cache-control"] == "no-store"
