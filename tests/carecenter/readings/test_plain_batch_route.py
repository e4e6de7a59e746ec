"""The plain route of `POST /api/v1/checkins/batch` answers exactly as the documented route does.

As for single check-ins (test_plain_checkin_route.py): every request is sent through the app as
it runs and again with the plain route taken out; status, body and the headers a client reads
must be the same, only the new readings' ids differ. The cases are what a careless or hostile
gateway sends: JSON the standard library reads and msgspec does not, or reads differently.
"""

import json
from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlmodel import Session, func, select

from carecenter.readings.models import Reading
from tests.carecenter.alerts.scenario import Scenario, build
from tests.carecenter.readings.test_plain_checkin_route import LIMIT, _seen, _send, _without_plain_route
from tests.conftest import Clock

PATH = "/api/v1/checkins/batch"
JSON = {"Content-Type": "application/json"}


def _cases(s: Scenario, clock: Clock) -> dict[str, dict[str, Any]]:
    """Requests as `client.request` arguments; `{e}` in a body makes its event ids unique per run."""
    now = clock.now.isoformat()
    key = {"X-Device-Key": s.key}
    beat = {"event_id": "{e}-1", "kind": "heartbeat", "recorded_at": now, "heart_rate": 72}

    def body(*readings: Any, **extra: Any) -> bytes:
        return json.dumps({"readings": list(readings), **extra}, ensure_ascii=False).encode()

    return {
        "plain": {"content": body(beat, beat | {"event_id": "{e}-2", "kind": "sos"}), "headers": key | JSON},
        "a repeat within the batch": {"content": body(beat, beat), "headers": key | JSON},
        "some refused": {
            "content": body(
                beat,
                beat | {"event_id": "{e}-2", "spo2": 49},
                beat | {"event_id": "{e}-3", "colour": "red"},
                "a string",
                None,
                beat | {"event_id": "{e}-4", "recorded_at": "2026-11-24T10:00:00"},
                beat | {"event_id": "{e}-5", "heart_rate": 72.0},
                beat | {"event_id": "{e}-6", "device": "someone-else"},
            ),
            "headers": key | JSON,
        },
        "empty": {"content": body(), "headers": key | JSON},
        "charset": {"content": body(beat), "headers": key | {"Content-Type": "application/json; charset=utf-8"}},
        "no key": {"content": body(beat), "headers": JSON},
        "empty key": {"content": body(beat), "headers": {"X-Device-Key": ""} | JSON},
        "unknown key": {"content": body(beat), "headers": {"X-Device-Key": "dk_guess"} | JSON},
        "1,001 readings": {
            "content": body(*(beat | {"event_id": f"{{e}}-{i}"} for i in range(1001))),
            "headers": key | JSON,
        },
        "an unknown field": {"content": body(beat, colour="red"), "headers": key | JSON},
        "readings not a list": {"content": b'{"readings": {"a": 1}}', "headers": key | JSON},
        "no readings": {"content": b"{}", "headers": key | JSON},
        "a list": {"content": b"[]", "headers": key | JSON},
        "not JSON": {"content": b'{"readings": [', "headers": key | JSON},
        "not UTF-8": {"content": b'{"readings": ["\xff"]}', "headers": key | JSON},
        "NaN": {"content": b'{"readings": [{"event_id": "{e}-1", "heart_rate": NaN}]}', "headers": key | JSON},
        "a huge number": {"content": b'{"readings": [{"heart_rate": 1' + b"0" * 40 + b"}]}", "headers": key | JSON},
        "a lone surrogate": {"content": b'{"readings": [{"event_id": "\\ud800"}]}', "headers": key | JSON},
        "a key twice": {
            "content": b'{"readings": [], "readings": [{"event_id": "{e}-1", "kind": "heartbeat", "recorded_at": "'
            + now.encode()
            + b'"}]}',
            "headers": key | JSON,
        },
        "a form": {"data": {"readings": "x"}, "headers": key},
        "no content type": {"content": body(beat), "headers": key},
        "a query": {"content": body(beat), "headers": key | JSON, "params": {"page": "1"}},
        "too large, no length": {
            "content": iter([b'{"readings": ["' + b"x" * (LIMIT // 2), b"x" * (LIMIT // 2) + b'"]}']),
            "headers": key | JSON,
        },
        "another method": {"method": "GET", "headers": key},
    }


def _seen_batch(response: Any, run: str) -> tuple[int, Any, dict[str, str | None]]:
    """`_seen`, with each item's reading and alert ids made neutral."""
    try:
        body = response.json()
    except ValueError:
        return _seen(response, run)
    if isinstance(body, dict) and isinstance(body.get("results"), list):
        for item in body["results"]:
            item["reading_id"] = "id" if item.get("reading_id") else None
            item["alert_id"] = "id" if item.get("alert_id") else None
    response.json = lambda: body
    return _seen(response, run)


def test_every_answer_is_the_documented_routes(
    client: TestClient, session: Session, clock: Clock, app: FastAPI, handed_over: list[str]
) -> None:
    s = build(session, clock.now)
    cases = _cases(s, clock)
    plain = {label: _seen_batch(_send(client, label, case, "P0", PATH), "P0") for label, case in cases.items()}
    again = _seen_batch(_send(client, "plain", cases["plain"], "P0", PATH), "P0")  # the same batch once more
    with _without_plain_route(app):
        documented = {
            label: _seen_batch(_send(client, label, case, "D0", PATH), "D0") for label, case in _cases(s, clock).items()
        }
        documented_again = _seen_batch(_send(client, "plain", cases["plain"], "D0", PATH), "D0")
    for label in cases:
        assert plain[label] == documented[label], label
    assert again == documented_again
    assert plain["plain"][0] == 200 and "'accepted': 2" in plain["plain"][1] and "'duplicate': 2" in again[1]
    assert "'accepted': 1" in plain["a repeat within the batch"][1]
    assert "'accepted': 2, 'duplicate': 0, 'rejected': 6" in plain["some refused"][1]
    assert plain["unknown key"][0] == 401 and plain["no key"][0] == 401 and plain["1,001 readings"][0] == 422
    assert "'input'" not in plain["1,001 readings"][1] and len(plain["1,001 readings"][1]) < 500  # not sent back
    assert plain["too large, no length"][0] == 413 and plain["another method"][0] == 405
    assert plain["no content type"][0] == 422 and plain["a lone surrogate"][0] == 200
    # Per run: plain 2, a repeat 1, some refused 2, charset 1, a key twice 1, a query 1.
    assert session.exec(select(func.count()).select_from(Reading)).one() == 2 * 8
    taken = {
        "plain",
        "a repeat within the batch",
        "some refused",
        "empty",
        "charset",
        "unknown key",
        "a key twice",
        "a huge number",
    }
    assert set(handed_over) == set(cases) - taken - {"another method", "too large, no length"}
