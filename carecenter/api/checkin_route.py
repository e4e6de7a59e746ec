"""`POST /api/v1/checkins` and `/checkins/batch` without the framework's per-request work, for plain requests.

A single check-in is the request a deployment sees most: thousands of wearables, one reading
each. FastAPI's machinery (route matching through every route, dependency resolution, pydantic
on the way in and on the way out) costs more CPU than storing the reading. This route sits first
in the router and takes only the plain case: a POST with no query, a device key, a JSON body
that msgspec reads as a reading `ReadingIn` would accept. It stores it through the same
check-in writer and answers the same JSON. A gateway's batch of 1,000 readings is the other
plain case: msgspec reads its body (`{"readings": [...]}`, up to 1,000) several times faster than
the standard library, and it is stored through the documented route's own `store_batch`, each
reading validated there as always.

Anything else (no key, a body the model refuses, an unusual form of a value) goes, body and
all, to the documented route, which answers as it always did. The app's body limit applies here
as everywhere: an oversized body is answered 413 as it is read. The documented routes stay in
the OpenAPI document; errors raised here (an unknown key, a rejected reading, the database
unavailable) reach the app's error handlers like any route's.
"""

from datetime import datetime
from typing import Annotated, Any

import msgspec
from fastapi import FastAPI
from starlette.concurrency import run_in_threadpool
from starlette.routing import BaseRoute, Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from carecenter.api.readings import store_batch
from carecenter.context import AppContext, app_context, request_session
from carecenter.errors import InvalidField
from carecenter.ingest.fast import ItemAnswer, plainly_valid
from carecenter.readings.models import MAX_BATCH, CheckinResult
from carecommon.clock import get_now

PATH = "/api/v1/checkins"
BATCH_PATH = "/api/v1/checkins/batch"
_JSON = b"application/json"
_DECLINED = "carecenter.plain_checkin_declined"  # in the scope: the router passes the plain route by


class _Answer(msgspec.Struct):
    """`CheckinAnswer` (the documented schema), field for field and in its order."""

    result: CheckinResult
    event_id: str | None
    reading_id: int | None
    alert_id: int | None
    reason: str | None


class _Batch(msgspec.Struct, forbid_unknown_fields=True):
    """`BatchIn` (the documented schema): the readings themselves are validated one by one."""

    readings: Annotated[list[Any], msgspec.Meta(max_length=MAX_BATCH)]


class PlainCheckinRoute(BaseRoute):
    """Matches only `POST /api/v1/checkins` and `/checkins/batch`; what it does not take goes
    through the router again, past itself, to the documented route."""

    def __init__(self, router: ASGIApp) -> None:
        self.router = router

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        if (
            scope["type"] == "http"
            and scope["method"] == "POST"
            and scope["path"] in (PATH, BATCH_PATH)
            and _DECLINED not in scope
        ):
            return Match.FULL, {}
        return Match.NONE, {}  # another method goes on to the documented route's 405

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        key, json_body = _plain_headers(scope)
        body, complete = await _read_body(receive) if key and json_body else (b"", False)
        plain = complete and not scope.get("query_string")
        batch = scope["path"] == BATCH_PATH
        raw = (_plain_batch(body) if batch else _plain_reading(body)) if plain else None
        if key is None or raw is None:
            await self._documented(scope, _replay(body, complete, receive), send)
            return
        app: FastAPI = scope["app"]
        now: datetime = app.dependency_overrides.get(get_now, get_now)()
        if isinstance(raw, _Batch):
            content = await run_in_threadpool(_store_batch, app_context(app), key, raw.readings, now)
            await _answer_json(send, 200, content)
            return
        answer = await app_context(app).checkins.submit(key, raw, now)
        if answer.result == CheckinResult.rejected:  # the documented route's words for it
            raise InvalidField(["body"], "The reading was rejected: {reason}", reason=answer.reason or "-")
        status = 200 if answer.result == CheckinResult.duplicate else 201
        await _answer_json(send, status, msgspec.json.encode(_answer(answer)))

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


def _plain_batch(body: bytes) -> _Batch | None:
    """The batch if msgspec reads it as `BatchIn` would accept it (its readings are checked later)."""
    try:
        return msgspec.json.decode(body, type=_Batch)
    except (msgspec.DecodeError, msgspec.ValidationError):
        return None


def _store_batch(context: AppContext, key: str, readings: list[Any], now: datetime) -> bytes:
    """The documented route's work, in a session of its own (run in the thread pool: it blocks)."""
    with request_session(context) as session:
        return store_batch(session, context, key, readings, now)


async def _answer_json(send: Send, status: int, content: bytes) -> None:
    headers = [(b"content-type", _JSON), (b"content-length", str(len(content)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": content})


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
