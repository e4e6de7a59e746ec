"""Domain errors that carry their HTTP status, and the one handler that maps them."""

import html
import logging
import math
import threading
import time
from collections.abc import Sequence

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from sqlalchemy.exc import DataError, IntegrityError, OperationalError

log = logging.getLogger(__name__)


class DomainError(Exception):
    """Base of the errors services raise; the message is for a person to act on."""

    status_code = 400

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def headers(self) -> dict[str, str] | None:
        return None

    def body(self) -> dict[str, object]:
        return {"detail": self.message}


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

    def __init__(self, message: str, retry_after_seconds: int) -> None:
        super().__init__(message)
        self.retry_after_seconds = retry_after_seconds

    def headers(self) -> dict[str, str] | None:
        return {"Retry-After": str(self.retry_after_seconds)}


class InvalidField(DomainError):
    """Input that passed the schema but not the domain; shaped like FastAPI's 422."""

    status_code = 422

    def __init__(self, loc: Sequence[str | int], message: str) -> None:
        super().__init__(message)
        self.loc = list(loc)

    def body(self) -> dict[str, object]:
        return {"detail": [{"loc": self.loc, "msg": self.message, "type": "value_error"}]}


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


def install_error_handlers(app: FastAPI) -> None:
    """Map domain errors to their status; anything else is a bug answered with a plain 500."""

    @app.exception_handler(DomainError)
    async def _domain_error(request: Request, exc: DomainError) -> Response:
        if request.url.path.startswith(("/api/", "/webhooks/")):
            return JSONResponse(exc.body(), status_code=exc.status_code, headers=exc.headers())
        page = f'<!doctype html><meta charset="utf-8"><p>{html.escape(exc.message)}</p><p><a href="/">↩</a></p>'
        return HTMLResponse(page, status_code=exc.status_code, headers=exc.headers())

    @app.exception_handler(IntegrityError)
    async def _integrity(request: Request, exc: IntegrityError) -> JSONResponse:
        # Services check first; this catches the race where two requests pass the check together.
        log.warning("integrity error on %s %s: %s", request.method, request.url.path, exc.orig)
        return JSONResponse(
            {
                "detail": "This conflicts with a record that was just saved (for example a taken username); "
                "reload and try again."
            },
            status_code=409,
        )

    outage_log = ThrottledLog(log, every_seconds=10)

    @app.exception_handler(OperationalError)
    async def _database_unavailable(request: Request, exc: OperationalError) -> JSONResponse:
        # A deadlock, a lost connection, a database restarting: nothing was committed; try again.
        outage_log.warning("database error on %s %s: %s", request.method, request.url.path, exc.orig)
        return JSONResponse(
            {"detail": "The database is busy or unavailable; nothing was saved. Please retry shortly."},
            status_code=503,
            headers={"Retry-After": "2"},
        )

    @app.exception_handler(OverflowError)
    @app.exception_handler(DataError)
    async def _out_of_range(request: Request, exc: Exception) -> JSONResponse:
        # A number no column can hold (an id of 2**70, say): the request's fault, nothing was saved.
        log.info("value out of range on %s %s: %s", request.method, request.url.path, exc)
        message = "a number in the request is out of range"
        return JSONResponse({"detail": [{"loc": ["request"], "msg": message, "type": "value_error"}]}, status_code=422)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return JSONResponse({"detail": "Internal error; it has been logged."}, status_code=500)
