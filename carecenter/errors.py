"""Domain errors that carry their HTTP status, their words in every language, and the handlers.

A domain error holds an English msgid with `{name}` placeholders and its parameters; it is
put into words in the caller's language only when answered (`text(language)`). Validation
errors (pydantic's) are put into words the same way, from their error type, naming the field.
"""

import html
import json
import logging
import math
import re
import threading
import time
import weakref
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, Response
from sqlalchemy.exc import DataError, IntegrityError, OperationalError, StatementError
from starlette.exceptions import HTTPException

from carecenter.words import field_name
from carecommon.i18n import N_, Word, gettext, language_of, negotiate

log = logging.getLogger(__name__)


class DomainError(Exception):
    """Base of the errors services raise; the message is for a person to act on."""

    status_code = 400

    def __init__(self, message: str, **params: object) -> None:
        self.msgid, self.params = message, params
        super().__init__(self.message)

    @property
    def message(self) -> str:
        """The message in English (logs, the command line)."""
        return self.text("en")

    def text(self, language: str | None) -> str:
        """The message in `language`; parameters that are words are translated with it."""
        params = {k: gettext(v, language) if isinstance(v, Word) else v for k, v in self.params.items()}
        return gettext(self.msgid, language).format(**params)

    def headers(self) -> dict[str, str] | None:
        return None

    def body(self, language: str | None) -> dict[str, object]:
        return {"detail": self.text(language)}


class NotFound(DomainError):
    status_code = 404


class Conflict(DomainError):
    status_code = 409


class Forbidden(DomainError):
    status_code = 403


class NotAuthenticated(DomainError):
    status_code = 401

    def headers(self) -> dict[str, str] | None:
        return {"WWW-Authenticate": "Bearer"}


class TooManyAttempts(DomainError):
    status_code = 429

    def __init__(self, message: str, retry_after_seconds: int, **params: object) -> None:
        super().__init__(message, **params)
        self.retry_after_seconds = retry_after_seconds

    def headers(self) -> dict[str, str] | None:
        return {"Retry-After": str(self.retry_after_seconds)}


class InvalidField(DomainError):
    """Input that passed the schema but not the domain; shaped like FastAPI's 422."""

    status_code = 422

    def __init__(self, loc: Sequence[str | int], message: str, **params: object) -> None:
        super().__init__(message, **params)
        self.loc = list(loc)

    @property
    def field(self) -> str:
        return str(self.loc[-1]) if self.loc else "_"

    def body(self, language: str | None) -> dict[str, object]:
        msg = named_field(self.loc, self.text(language), language)
        return {"detail": [{"loc": self.loc, "msg": msg, "type": "value_error"}]}


# -- validation messages ------------------------------------------------------------------------
# pydantic's error types (https://docs.pydantic.dev/latest/errors/validation_errors/) as words;
# `{…}` takes the error's ctx. Our own validators raise ValueError(N_("…")): that msgid is the text.
VALIDATION_MESSAGES: dict[str, str] = {
    "missing": N_("This field is required."),
    "string_too_short": N_("Enter at least {min_length} characters."),
    "string_too_long": N_("Enter at most {max_length} characters."),
    "too_short": N_("Give at least {min_length}."),
    "too_long": N_("Give at most {max_length}."),
    "int_parsing": N_("Enter a whole number."),
    "int_type": N_("Enter a whole number."),
    "int_from_float": N_("Enter a whole number."),
    "float_parsing": N_("Enter a number."),
    "float_type": N_("Enter a number."),
    "finite_number": N_("Enter a number."),
    "greater_than": N_("Must be more than {gt}."),
    "greater_than_equal": N_("Must be at least {ge}."),
    "less_than": N_("Must be less than {lt}."),
    "less_than_equal": N_("Must be at most {le}."),
    "bool_parsing": N_("Must be true or false."),
    "bool_type": N_("Must be true or false."),
    "date_parsing": N_("Enter a date as YYYY-MM-DD."),
    "date_type": N_("Enter a date as YYYY-MM-DD."),
    "date_from_datetime_parsing": N_("Enter a date as YYYY-MM-DD."),
    "date_from_datetime_inexact": N_("Enter a date as YYYY-MM-DD."),
    "time_parsing": N_("Enter a time as HH:MM."),
    "time_type": N_("Enter a time as HH:MM."),
    "datetime_parsing": N_("Enter a date and time with its time zone (ISO 8601)."),
    "datetime_type": N_("Enter a date and time with its time zone (ISO 8601)."),
    "datetime_from_date_parsing": N_("Enter a date and time with its time zone (ISO 8601)."),
    "timezone_aware": N_("Enter a date and time with its time zone (ISO 8601)."),
    "enum": N_("Choose one of: {expected}."),
    "literal_error": N_("Choose one of: {expected}."),
    "string_type": N_("Enter text."),
    "string_pattern_mismatch": N_("The format is not valid."),
    "list_type": N_("Give a list."),
    "dict_type": N_("Give an object."),
    "model_type": N_("Give an object."),
    "model_attributes_type": N_("Give an object."),
    "json_invalid": N_("The request body is not valid JSON."),
    "extra_forbidden": N_("This field is not expected."),
    "uuid_parsing": N_("The format is not valid."),
}
FALLBACK_MESSAGE = N_("This value is not valid.")


def validation_message(error: Mapping[str, Any], language: str | None) -> str:
    """One pydantic error as words in `language` (without the field's name)."""
    ctx = error.get("ctx") or {}
    if error.get("type") == "value_error" and "error" in ctx:
        return gettext(str(ctx["error"]), language)
    msgid = VALIDATION_MESSAGES.get(str(error.get("type")), FALLBACK_MESSAGE)
    values = {k: int(v) if isinstance(v, float) and v.is_integer() else v for k, v in ctx.items()}
    try:
        return gettext(msgid, language).format(**{k: v for k, v in values.items() if isinstance(v, str | int | float)})
    except (KeyError, IndexError):
        return gettext(FALLBACK_MESSAGE, language)


def _field_of(loc: Sequence[Any]) -> str | None:
    """The innermost field an error location names (`["body", "recurrence", "weekdays", 0]` -> weekdays)."""
    names = [p for p in loc if isinstance(p, str) and p not in ("body", "query", "path", "header", "cookie")]
    return names[-1] if names else None


def named_field(loc: Sequence[Any], message: str, language: str | None) -> str:
    """`message` prefixed with the name of the field it is about, in `language`."""
    field = _field_of(loc)
    if field is None:
        return message
    return gettext(N_("{field}: {message}"), language).format(field=field_name(field, language), message=message)


def field_errors(errors: Sequence[Mapping[str, Any]], language: str | None) -> dict[str, str]:
    """Validation errors by the field a form shows them next to ("_" for the form as a whole)."""
    found: dict[str, str] = {}
    for error in errors:
        found.setdefault(_field_of(error.get("loc", ())) or "_", validation_message(error, language))
    return found


def request_language(request: Request) -> str:
    """The language to answer in: the logged-in user's, else Accept-Language, else the default
    (English for the JSON API, whose integrators read logs; Chinese for pages)."""
    chosen = getattr(request.state, "language", None)
    if chosen:
        return str(chosen)
    negotiated = negotiate(request.headers.get("accept-language"))
    if negotiated:
        return negotiated
    return "en" if request.url.path.startswith(("/api/", "/webhooks/", "/fhir/")) else language_of(None)


class ThrottledLog:
    """At most one line per interval for a recurring failure, saying how many it stands for.

    A database outage under load fails hundreds of requests a second; the person on call needs
    to see that it happens and how often, not two thousand identical lines.
    """

    def __init__(self, logger: logging.Logger, *, every_seconds: float) -> None:
        self.logger, self.every = logger, every_seconds
        self._last = -math.inf
        self._held = 0
        self._lock = threading.Lock()

    def warning(self, message: str, *args: object) -> None:
        with self._lock:
            now = time.monotonic()
            if now - self._last < self.every:
                self._held += 1
                return
            held, self._held, self._last = self._held, 0, now
        suffix = f" (and {held} more like it since the last such line)" if held else ""
        self.logger.warning(message + suffix, *args)


def is_api(request: Request) -> bool:
    return request.url.path.startswith(("/api/", "/webhooks/", "/metrics", "/healthz", "/readyz", "/docs", "/openapi"))


def is_fhir(request: Request) -> bool:
    return request.url.path.startswith("/fhir/")


class FhirResponse(JSONResponse):
    """FHIR's own JSON media type (https://hl7.org/fhir/R4/http.html#mime-type)."""

    media_type = "application/fhir+json"


# An HTTP status as FHIR's issue type (https://hl7.org/fhir/R4/valueset-issue-type.html).
ISSUE_TYPES = {
    400: "invalid",
    401: "login",
    403: "forbidden",
    404: "not-found",
    405: "not-supported",
    409: "conflict",
    413: "too-costly",
    422: "invalid",
    429: "throttled",
    503: "transient",
}


def operation_outcome(status_code: int, text: str, headers: dict[str, str] | None = None) -> JSONResponse:
    """The FHIR API's error: an OperationOutcome with the message as its diagnostics."""
    issue = {
        "severity": "error" if status_code < 500 else "fatal",
        "code": ISSUE_TYPES.get(status_code, "exception"),
        "diagnostics": text,
    }
    body = {"resourceType": "OperationOutcome", "issue": [issue]}
    return FhirResponse(body, status_code=status_code, headers=headers)


ErrorPage = Callable[[Request, int, str], Response]  # the web UI's error page, given at composition


class _ErrorJSON(JSONResponse):
    """An error's JSON. A 422 repeats what was sent, and what JSON lets a client send is more than
    a JSON answer can carry: half a surrogate pair ("\\ud800") is answered as '?', and NaN or
    Infinity (which Python's reader accepts) as text, rather than failing the answer."""

    def render(self, content: Any) -> bytes:
        return json.dumps(_finite(content), ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode(
            "utf-8", "replace"
        )


REPEATED_INPUT_LIMIT = 2000  # characters of JSON: a 422 repeats what was sent up to this


def _too_long_to_repeat(value: Any) -> bool:
    if isinstance(value, str | bytes):
        return len(value) > REPEATED_INPUT_LIMIT
    if isinstance(value, list | tuple | dict):
        return len(json.dumps(value, default=str)) > REPEATED_INPUT_LIMIT
    return False


def _finite(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, dict):
        return {key: _finite(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_finite(item) for item in value]
    return value


def answer(
    request: Request,
    status_code: int,
    body: dict[str, Any],
    text: str,
    headers: dict[str, str] | None = None,
    *,
    page: ErrorPage | None = None,
) -> Response:
    """JSON for the API (an OperationOutcome for the FHIR API); for a browser, the web UI's error
    page (or a bare one without it)."""
    if is_fhir(request):
        return operation_outcome(status_code, text, headers)
    if is_api(request):
        return _ErrorJSON(jsonable_encoder(body), status_code=status_code, headers=headers)
    if page is not None:
        response: Response = page(request, status_code, text)
        if headers:
            response.headers.update(headers)
        return response
    bare = f'<!doctype html><meta charset="utf-8"><p>{html.escape(text)}</p><p><a href="/">↩</a></p>'
    return HTMLResponse(bare, status_code=status_code, headers=headers)


NOT_FOUND = N_("This page does not exist, or it is not yours to see.")
METHOD_NOT_ALLOWED = N_("This address does not take that method.")
TOO_LARGE = N_("The request is too large: send at most {limit} bytes.")
CONFLICT_RACE = N_(
    "This conflicts with a record that was just saved (for example a taken username); reload and try again."
)
UNAVAILABLE = N_("The database is busy or unavailable; nothing was saved. Please retry shortly.")
OUT_OF_RANGE = N_("A number in the request is out of range.")
INTERNAL = N_("Internal error; it has been logged.")


_PATH_METHODS: "weakref.WeakKeyDictionary[Any, list[tuple[re.Pattern[str], list[str]]]]" = weakref.WeakKeyDictionary()


def documented_methods(request: Request) -> list[str]:
    """The methods the OpenAPI document lists for this request's path (none for pages)."""
    templates = _PATH_METHODS.get(request.app)
    if templates is None:
        templates = [
            (re.compile("^" + re.sub(r"\\{[^/]+?\\}", "[^/]+", re.escape(path)) + "$"), sorted(m.upper() for m in ops))
            for path, ops in request.app.openapi().get("paths", {}).items()
        ]
        _PATH_METHODS[request.app] = templates
    return next((methods for pattern, methods in templates if pattern.match(request.url.path)), [])


UNPARSABLE_BODY = "There was an error parsing the body"  # FastAPI's words for a body it could not decode


def install_error_handlers(app: FastAPI, page: ErrorPage | None = None) -> None:
    """Map domain errors to their status; anything else is a bug answered with a plain 500. A
    browser gets `page` (the web UI's error page) where one is given."""

    def _answer(
        request: Request, status_code: int, body: dict[str, Any], text: str, headers: dict[str, str] | None = None
    ) -> Response:
        return answer(request, status_code, body, text, headers, page=page)

    @app.exception_handler(DomainError)
    async def _domain_error(request: Request, exc: DomainError) -> Response:
        language = request_language(request)
        return _answer(request, exc.status_code, exc.body(language), exc.text(language), exc.headers())

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> Response:
        language = request_language(request)
        errors = [
            {**error, "msg": named_field(error.get("loc", ()), validation_message(error, language), language)}
            for error in exc.errors()
        ]
        for error in errors:
            error.get("ctx", {}).pop("error", None)  # a ValueError object; its words are in msg
            if _too_long_to_repeat(error.get("input")):
                del error["input"]  # 1,001 readings would come back whole: the location says where
        return _answer(request, 422, {"detail": errors}, "; ".join(str(e["msg"]) for e in errors))

    @app.exception_handler(HTTPException)
    async def _http(request: Request, exc: HTTPException) -> Response:
        language = request_language(request)
        if exc.status_code == 400 and exc.detail == UNPARSABLE_BODY:
            # A body that is not UTF-8 (or a form that does not parse): the 422 a JSON syntax error gets.
            unreadable = {"type": "json_invalid", "loc": ("body", 0), "msg": "JSON decode error", "input": {}}
            return await _invalid(request, RequestValidationError([unreadable]))
        if exc.status_code == 404:
            text = gettext(NOT_FOUND, language)
            detail: object = exc.detail if is_api(request) else text
        elif exc.status_code == 413 and isinstance(limit := getattr(request.app, "max_request_bytes", None), int):
            # A body sent without its length, found too large as it is read (one with a length
            # never gets here: security.ContentLengthLimit answers it first, in the same words).
            text = gettext(TOO_LARGE, language).format(limit=limit)
            detail = text
        elif exc.status_code == 405:
            text = gettext(METHOD_NOT_ALLOWED, language)
            detail = exc.detail
            allowed = documented_methods(request)
            if allowed:  # every method of the path, not only those of the first route that matched
                return _answer(request, 405, {"detail": detail}, text, {"Allow": ", ".join(allowed)})
        else:
            text, detail = str(exc.detail), exc.detail
        return _answer(request, exc.status_code, {"detail": detail}, text, dict(exc.headers or {}) or None)

    @app.exception_handler(IntegrityError)
    async def _integrity(request: Request, exc: IntegrityError) -> Response:
        # Services check first; this catches the race where two requests pass the check together.
        log.warning("integrity error on %s %s: %s", request.method, request.url.path, exc.orig)
        text = gettext(CONFLICT_RACE, request_language(request))
        return _answer(request, 409, {"detail": text}, text)

    outage_log = ThrottledLog(log, every_seconds=10)

    @app.exception_handler(OperationalError)
    async def _database_unavailable(request: Request, exc: OperationalError) -> Response:
        # A deadlock, a lost connection, a database restarting: nothing was committed; try again.
        outage_log.warning("database error on %s %s: %s", request.method, request.url.path, exc.orig)
        text = gettext(UNAVAILABLE, request_language(request))
        return _answer(request, 503, {"detail": text}, text, {"Retry-After": "2"})

    @app.exception_handler(OverflowError)
    @app.exception_handler(DataError)
    async def _out_of_range(request: Request, exc: Exception) -> Response:
        # A number no column can hold (an id of 2**70, say): the request's fault, nothing was saved.
        log.info("value out of range on %s %s: %s", request.method, request.url.path, exc)
        text = gettext(OUT_OF_RANGE, request_language(request))
        return _answer(request, 422, {"detail": [{"loc": ["request"], "msg": text, "type": "value_error"}]}, text)

    @app.exception_handler(StatementError)
    async def _statement(request: Request, exc: StatementError) -> Response:
        # A value the driver cannot send (a date-time beyond the calendar in UTC, say) is the
        # request's fault; any other statement error is a bug.
        if isinstance(exc.orig, OverflowError):
            return await _out_of_range(request, exc)
        return await _unexpected(request, exc)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        if is_fhir(request):
            return operation_outcome(500, gettext(INTERNAL, request_language(request)))
        return JSONResponse({"detail": gettext(INTERNAL, request_language(request))}, status_code=500)
