"""`POST /api/v1/checkins` without the framework's per-request work, for a plainly valid reading.

A single check-in is the request a deployment sees most: thousands of wearables, one reading
each. FastAPI's machinery (route matching through every route, dependency resolution, pydantic
on the way in and on the way out) costs more CPU than storing the reading. This route sits first
in the router and takes only the plain case: a POST with no query, a device key, a JSON body
that msgspec reads as a reading `ReadingIn` would accept. It stores it through the same
check-in writer and answers the same JSON. Anything else (no key, a body the model refuses, an
unusual form of a value) goes, body and all, to the documented route, which answers as it
always did. The app's body limit applies here as everywhere: an oversized body is answered 413
as it is read. The documented route stays in the OpenAPI
document; errors raised here (an unknown key, a rejected reading) reach the app's error handlers
like any route's.
"""

from datetime import datetime
from typing import Any

import msgspec
from fastapi import FastAPI
from starlette.routing import BaseRoute, Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from carecenter.context import app_context
from carecenter.errors import InvalidField
from carecenter.ingest.fast import ItemAnswer, plainly_valid
from carecenter.readings.models import CheckinResult
from carecommon.clock import get_now

PATH = "/api/v1/checkins"
_JSON = b"application/json"
_DECLINED = "carecenter.plain_checkin_declined"  # in the scope: the router passes the plain route by


class _Answer(msgspec.Struct):
    """`CheckinAnswer` (the documented schema), field for field and in its order."""

    result: CheckinResult
    event_id: str | None
    reading_id: int | None
    alert_id: int | None
    reason: str | None


class PlainCheckinRoute(BaseRoute):
    """Matches only `POST /api/v1/checkins`; what it does not take goes through the router again,
    past itself, to the documented route."""

    def __init__(self, router: ASGIApp) -> None:
        self.router = router

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        if scope["type"] == "http" and scope["method"] == "POST" and scope["path"] == PATH and _DECLINED not in scope:
            return Match.FULL, {}
        return Match.NONE, {}  # another method goes on to the documented route's 405

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        key, json_body = _plain_headers(scope)
        body, complete = await _read_body(receive) if key and json_body else (b"", False)
        raw = _plain_reading(body) if complete and not scope.get("query_string") else None
        if key is None or raw is None:
            await self._documented(scope, _replay(body, complete, receive), send)
            return
        app: FastAPI = scope["app"]
        now: datetime = app.dependency_overrides.get(get_now, get_now)()
        answer = await app_context(app).checkins.submit(key, raw, now)
        if answer.result == CheckinResult.rejected:  # the documented route's words for it
            raise InvalidField(["body"], "The reading was rejected: {reason}", reason=answer.reason or "-")
        content = msgspec.json.encode(_answer(answer))
        status = 200 if answer.result == CheckinResult.duplicate else 201
        headers = [(b"content-type", _JSON), (b"content-length", str(len(content)).encode())]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": content})

    async def _documented(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.router({**scope, _DECLINED: True}, receive, send)


def install_plain_checkin_route(app: FastAPI) -> None:
    """Put the plain route before every other (the documented one stays where it is, for OpenAPI)."""
    app.router.routes.insert(0, PlainCheckinRoute(app.router))


def _plain_headers(scope: Scope) -> tuple[str | None, bool]:
    """The device key (None if absent or empty) and whether the body is declared JSON."""
    key, json_body = None, False
    for name, value in scope["headers"]:
        if name == b"x-device-key" and value:
            key = value.decode("latin-1")
        elif name == b"content-type":
            json_body = value.split(b";", 1)[0].strip().lower() == _JSON
    return key, json_body


async def _read_body(receive: Receive) -> tuple[bytes, bool]:
    """The body, and whether all of it was read (not when the client went away)."""
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return b"".join(chunks), False
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks), True


def _plain_reading(body: bytes) -> dict[str, Any] | None:
    """The reading as a dict if msgspec reads it and `ReadingIn` would accept it as it stands."""
    try:
        raw = msgspec.json.decode(body)
    except msgspec.DecodeError:
        return None
    return raw if isinstance(raw, dict) and plainly_valid(raw) is not None else None


def _replay(body: bytes, complete: bool, receive: Receive) -> Receive:
    """A receive that gives what was read first, then (if the body was not all read) the rest."""
    given = False

    async def replayed() -> Message:
        nonlocal given
        if not given:
            given = True
            return {"type": "http.request", "body": body, "more_body": not complete}
        return await receive()

    return replayed if (body or complete) else receive


def _answer(answer: ItemAnswer) -> _Answer:
    return _Answer(answer.result, answer.event_id, answer.reading_id, answer.alert_id, answer.reason)
